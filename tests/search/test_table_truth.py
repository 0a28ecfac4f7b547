"""A published table as a ground truth (`ftd-nas truth`): from a CSV or a NATS-Bench-style archive, matched to a
space, refused clearly when it does not fit, read without running any code, and accepted by report and verify
wherever a real-data run is."""

import bz2
import json
import os
import pickle
from collections import OrderedDict
from dataclasses import replace

import numpy as np
import pytest

from ftd_nas.data.family import CIFAR10_CLASSES, dataset_family
from ftd_nas.errors import ConfigError, InputError
from ftd_nas.records import RecordError
from ftd_nas.search import SearchConfig, load_run, load_space, run_search
from ftd_nas.plain_pickle import PlainPickleError, loads_plain
from ftd_nas.search.report import build_report, write_report
from ftd_nas.search.table_truth import TableTruthConfig, make_table_truth
from ftd_nas.search.truth import load_truth
from ftd_nas.search.truth_record import read_truth_table
from ftd_nas.search.verify import VerifyConfig, run_verify
from ftd_nas.search.verify_check import coverage_check
from tests.conftest import search_config

from .conftest import rep_space

ID, ACC = "ArchitectureString", "CIFAR10TestAccuracy200Epochs"  # the shared NAS-Bench-201 table's columns


def write_table(path, rows: dict, header=(ACC, "Other", ID)) -> str:
    """A CSV like ../shared/datasets/nats_bench_tss.csv: `rows` maps an id to its accuracy (any text)."""
    lines = [",".join(header)] + [",".join({ID: c, ACC: str(v), "Other": "1"}[h] for h in header)
                                  for c, v in rows.items()]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def write_archive(folder, rows: dict, meta: bool = True) -> str:
    """A NATS-Bench topology archive in the benchmark's layout (`nats_archive.py`), holding `rows` (id -> percent)
    for hp 200 on cifar10 over two seeds, with the OrderedDicts and numpy scalars the real files contain."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = list(rows)

    def save(name, data):
        (folder / name).write_bytes(bz2.compress(pickle.dumps(data, protocol=4)))

    if meta:
        save("meta.pickle.pbz2", {"meta_archs": ids, "total_archs": len(ids), "arch2infos": None,
                                  "evaluated_indexes": set()})
    for index, (arch, value) in enumerate(rows.items()):
        def result(acc, epochs=200):
            return {"name": "cifar10", "epochs": epochs, "params": np.float64(0.37), "flop": 15.6, "seed": "0777",
                    "eval_acc1es": OrderedDict([("ori-test@0", 10.0), (f"ori-test@{epochs - 1}", acc)]),
                    "net_state_dict": None}
        results = {"arch_index": index, "arch_str": arch, "clear_net_done": False,
                   "dataset_seed": {"cifar10": [777, 888], "cifar100": [777]},
                   "all_results": {("cifar10", 777): result(value - 0.25), ("cifar10", 888): result(value + 0.25),
                                   ("cifar100", 777): result(1.0)}}
        save(f"{index:06d}.pickle.pbz2", OrderedDict([("12", {**results, "all_results": {}}), ("200", results)]))
    return str(folder)


def space_ids(space) -> list[str]:
    space = load_space(str(space))
    return [space.candidate_id(p) for p in space.candidates()]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, digits):
    """A 2-epoch real-data truth and two random-subset searches of the 12-candidate space on digits."""
    root = tmp_path_factory.mktemp("runs")
    space = rep_space(root)
    out = {"space": str(space)}
    for name, proxy, epochs in (("truth", "real", 2), ("r3", "random:3", 10), ("r1", "random:1", 10)):
        run_search(search_config(space, root / name, proxy=proxy, epochs=epochs), dataset=digits)
        out[name] = str(root / name)
    return out


def percent_table(runs, tmp_path, drop=()) -> str:
    """The real-data truth's own test accuracies as a published table would give them (percent), less `drop`."""
    truth = load_truth(runs["truth"])
    return write_table(tmp_path / "table.csv", {r.candidate: 100 * r.test_acc for r in truth.rows
                                                if r.candidate not in drop})


def table_truth(runs, tmp_path, table, out="truth_table", **kw):
    config = TableTruthConfig(space=runs["space"], out=str(tmp_path / out), table=table,
                              **{"dataset_family": "digits", **kw})
    return make_table_truth(config), str(tmp_path / out)


def test_a_table_of_the_truths_own_numbers_reports_as_the_trained_truth_does(runs, tmp_path):
    record, folder = table_truth(runs, tmp_path, percent_table(runs, tmp_path))
    assert record.scale == "percent" and record.scale_detected and record.covered == 12 and record.missing == []
    assert record.source.kind == "csv" and record.source.name == "table.csv" and len(record.source.sha256) == 64
    assert read_truth_table(folder) == record
    trained = build_report([runs["r3"], runs["r1"]], runs["truth"], ks=(3, 5), bootstrap=50)
    table = build_report([runs["r3"], runs["r1"]], folder, ks=(3, 5), bootstrap=50)
    for a, b in zip(trained["runs"], table["runs"]):
        assert a["agreement"]["spearman"] == pytest.approx(b["agreement"]["spearman"])
        assert a["agreement"]["regret"] == pytest.approx(b["agreement"]["regret"])
    assert table["truth_scores"] == pytest.approx(trained["truth_scores"])  # stored as fractions, as runs store
    assert table["noise_ceiling"] is None and table["truth_recipe"] == {}
    assert table["truth_source"]["kind"] == "table" and table["truth_source"]["dataset_family"] == "digits"
    written = write_report(table, tmp_path / "rep")
    text = written["table"]
    assert "Truth: published table table.csv" in text and "compares rankings, not accuracies" in text
    assert "the named dataset digits" in text
    assert "a published table gives one value per candidate" in text and "(published values)" in text
    data = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert data["format_version"] == 4 and data["truth_source"]["table"] == record.source.to_dict()
    assert data["noise_ceiling"] is None


def test_an_archive_gives_the_same_truth_as_its_table_and_runs_no_code(runs, tmp_path):
    values = {c: 50.0 + i for i, c in enumerate(space_ids(runs["space"]))}
    from_csv, _ = table_truth(runs, tmp_path, write_table(tmp_path / "t.csv", values), out="csv")
    archive = write_archive(tmp_path / "NATS-tss-v1_0-3ffb9-simple", values)
    config = TableTruthConfig(space=runs["space"], out=str(tmp_path / "arch"), archive=archive,
                              dataset_family="digits", archive_dataset="cifar10", progress=False)
    from_archive = make_table_truth(config)
    assert from_archive.rows == pytest.approx(from_csv.rows) and from_archive.scale == "percent"
    assert from_archive.source.kind == "nats-archive" and from_archive.source.id_column == "arch_str"
    assert from_archive.source.accuracy_column.startswith("200/cifar10/ori-test")
    report = build_report([runs["r3"]], str(tmp_path / "arch"), ks=(3,), bootstrap=20)
    assert report["runs"][0]["agreement"]["n"] == 12
    # the meta file is optional, but when present it must agree with the architecture files
    write_archive(tmp_path / "no_meta", values, meta=False)
    assert make_table_truth(replace(config, archive=str(tmp_path / "no_meta"), out=str(tmp_path / "b"))).rows == \
        from_archive.rows
    (tmp_path / "NATS-tss-v1_0-3ffb9-simple" / "meta.pickle.pbz2").write_bytes(bz2.compress(pickle.dumps(
        {"meta_archs": list(reversed(values))})))
    with pytest.raises(InputError, match="000000.pickle.pbz2.*lists"):
        make_table_truth(replace(config, out=str(tmp_path / "c")))


class _System:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _Opens:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.parametrize("payload", ["system", "open", "nested"])
def test_a_malicious_pickle_runs_no_code_and_gets_a_clear_error(tmp_path, payload):
    marker = tmp_path / "PWNED"
    evil = {"system": _System(f"touch {marker}"), "open": _Opens(marker),
            "nested": {"200": {"arch_str": "x", "all_results": [_Opens(marker)]}}}[payload]
    with pytest.raises(PlainPickleError, match="refusing (posix|os|builtins|io)"):
        loads_plain(pickle.dumps(evil), "evil.pickle")
    assert not marker.exists()
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "000000.pickle.pbz2").write_bytes(bz2.compress(pickle.dumps({"200": evil})))
    with pytest.raises(PlainPickleError, match="000000.pickle.pbz2.*refusing"):
        make_table_truth(TableTruthConfig(space=str(rep_space(tmp_path)), out=str(tmp_path / "t"),
                                          archive=str(archive), progress=False))
    assert not marker.exists() and not (tmp_path / "t").exists()


def test_plain_data_reads_and_numpy_scalars_stay_opaque():
    data = {"a": [1, 2.5, "s", b"b", None, True, (1, 2), {3}, frozenset({4})], "o": OrderedDict(x=1),
            "n": np.float64(0.5)}
    for protocol in (2, 4):
        back = loads_plain(pickle.dumps(data, protocol=protocol), "plain")
        assert back["a"] == data["a"] and back["o"] == {"x": 1} and type(back["o"]) is dict
        assert "not plain data" in repr(back["n"])  # numpy ran nothing: the value is not read


def test_unknown_ids_are_refused_naming_the_line_or_counted_when_allowed(runs, tmp_path):
    rows = {c: 0.5 for c in space_ids(runs["space"])}
    table = write_table(tmp_path / "t.csv", {**rows, "d9-w4-relu-none-avgpool": 0.4, "|none~0|+|x|": 0.3})
    with pytest.raises(InputError, match=r"t.csv', line 14: 'd9-w4-relu-none-avgpool' is no candidate.*1 more"
                                         r".*--allow-unknown"):
        table_truth(runs, tmp_path, table)
    record, _ = table_truth(runs, tmp_path, table, allow_unknown=True)
    assert record.unknown == 2 and record.unknown_examples == ["d9-w4-relu-none-avgpool", "|none~0|+|x|"]
    assert record.covered == 12 and record.scale == "fraction" and record.scale_detected


H = f"{ACC},Other,{ID}"  # the header of the bad tables below; `{0}` and `{1}` are two candidate ids of the space


@pytest.mark.parametrize("text, kw, error", [
    ("Acc,Other,Name\n50,1,{0}\n", {}, r"t.csv' has no column 'ArchitectureString' \(--id-column\); its columns are "
                                        r"'Acc', 'Other', 'Name'"),
    (H + "\n50,1,{0}\n", {"accuracy_column": "Missing"}, r"no column 'Missing' \(--accuracy-column\)"),
    (H + "\n50,1,{0}\nn/a,1,{1}\n", {}, r"t.csv', line 3: column 'CIFAR10TestAccuracy200Epochs' holds 'n/a', not a "
                                        "number"),
    (H + "\n50,1,{0}\nnan,1,{1}\n", {}, r"line 3: column 'CIFAR10TestAccuracy200Epochs' holds 'nan', not a finite"),
    (H + "\n50,1,{0}\n60,1\n", {}, r"line 3: 2 fields where the header has 3"),
    (H + "\n50,1,{0}\n60,1, \n", {}, r"line 3: column 'ArchitectureString' is empty"),
    (H + "\n50,1,x=1\n60,1,y=2\n", {}, r"covers none of the 12 candidates of the space 'rep' \(its first id: "
                                       r"'x=1'\); the space's ids look like 'd1-w4-relu"),
    (H + "\n50,1,{0}\n60,1,{0}\n", {}, r"line 3: 'd1-w4-relu-instancenorm-avgpool' is given twice \(also at "
                                       r".*line 2"),
    (H + "\n50,1,{0}\n101,1,{1}\n", {}, r"line 3: accuracy 101.0 is outside \[0, 100\] of the percent scale"),
    (H + "\n50,1,{0}\n", {"scale": "fraction"}, r"line 2: accuracy 50.0 is outside \[0, 1\] of the fraction "
                                                  r"scale \(--scale\)"),
], ids=["no-id-column", "no-accuracy-column", "not-a-number", "nan", "short-row", "empty-id", "covers-none",
        "twice", "over-100", "percent-as-fraction"])
def test_bad_tables_are_refused_naming_file_column_and_line(runs, tmp_path, text, kw, error):
    table = tmp_path / "t.csv"
    table.write_text(text.format(*space_ids(runs["space"])))
    with pytest.raises(InputError, match=error):
        table_truth(runs, tmp_path, str(table), **kw)
    assert not (tmp_path / "truth_table").exists()


def test_the_config_refuses_what_the_cli_refuses(tmp_path):
    with pytest.raises(ConfigError, match="--table FILE.csv or as --archive DIR"):
        TableTruthConfig(space="s", out="o")
    with pytest.raises(ConfigError, match="--table FILE.csv or as --archive DIR"):
        TableTruthConfig(space="s", out="o", table="t.csv", archive="a")
    with pytest.raises(ConfigError, match="--dataset-family 'CIFAR 10'"):
        TableTruthConfig(space="s", out="o", table="t.csv", dataset_family="CIFAR 10")
    with pytest.raises(ConfigError, match="--metric"):
        TableTruthConfig(space="s", out="o", table="t.csv", metric="train_acc")
    with pytest.raises(ConfigError, match="--scale"):
        TableTruthConfig(space="s", out="o", table="t.csv", scale="permille")


def test_a_table_judges_runs_of_its_space_and_dataset_family_only(runs, tmp_path):
    table = percent_table(runs, tmp_path)
    _, cifar = table_truth(runs, tmp_path, table, out="cifar", dataset_family="cifar10")
    with pytest.raises(ConfigError, match=r"on the named dataset digits: the family digits, and the truth table .* "
                                          r"was measured on cifar10.*by its class names"):
        build_report([runs["r3"]], cifar, ks=(3,), bootstrap=10)
    narrow = tmp_path / "narrow.yaml"
    narrow.write_text(open(runs["space"]).read().replace("width: [4, 8, 16]", "width: [4, 8]"))
    make_table_truth(TableTruthConfig(space=str(narrow), out=str(tmp_path / "narrow"), table=table,
                                      dataset_family="digits", allow_unknown=True))
    with pytest.raises(ConfigError, match=r"searched 4 candidates that the truth table .* does not have in its space "
                                          r".*\(e\.g\. 'd1-w16-.*ftd-nas truth --space"):
        build_report([runs["r3"]], str(tmp_path / "narrow"), ks=(3,), bootstrap=10)
    _, folder = table_truth(runs, tmp_path, table)
    with pytest.raises(ConfigError, match="has test_acc only .*--truth-metric test_acc"):
        build_report([runs["r3"]], folder, truth_metric="val_acc", ks=(3,), bootstrap=10)


def test_a_table_judges_a_run_over_part_of_its_space_on_that_part(runs, tmp_path, digits):
    """A table imported over a wider space (here 16 candidates) judges a run over 12 of them on those 12: its
    regret from their best, its coverage of them, the difference named; runs over different parts are refused."""
    wide = tmp_path / "wide.yaml"
    wide.write_text(open(runs["space"]).read().replace("width: [4, 8, 16]", "width: [4, 8, 16, 32]"))
    ids = space_ids(wide)
    rows = {c: 100 * r.test_acc for r in load_truth(runs["truth"]).rows for c in [r.candidate]}
    rows.update({c: 99.0 for c in ids if "-w32-" in c})  # the wider space holds the best candidates
    table = write_table(tmp_path / "wide.csv", rows)
    make_table_truth(TableTruthConfig(space=str(wide), out=str(tmp_path / "wide"), table=table,
                                      dataset_family="digits"))
    report = build_report([runs["r3"], runs["r1"]], str(tmp_path / "wide"), ks=(3,), bootstrap=20)
    narrow = build_report([runs["r3"], runs["r1"]], runs["truth"], ks=(3,), bootstrap=20)
    assert set(report["truth_scores"]) == set(narrow["truth_scores"]) and len(report["truth_scores"]) == 12
    for a, b in zip(report["runs"], narrow["runs"]):
        assert a["agreement"]["regret"] == pytest.approx(b["agreement"]["regret"])  # not from the 99 % ones
        assert a["coverage"]["space"] == 12 and a["coverage"]["missing"] == 0
        assert a["space_differences"] == ["the run searched 12 of the table's 16 candidates"]
    assert report["truth_coverage"]["space"] == 12 and not report["partial"]
    text = write_report(report, tmp_path / "rep")["table"]
    assert "The runs' space differs from the table's: the run searched 12 of the table's 16 candidates (all runs)" \
        in text
    sampled = tmp_path / "sampled.yaml"
    sampled.write_text(open(runs["space"]).read() + "sample: {size: 6, seed: 1}\n")
    run_search(search_config(sampled, tmp_path / "s6", proxy="random:1", epochs=2), dataset=digits)
    with pytest.raises(ConfigError, match=r"searched other candidates of the truth table than .* \(6 candidates vs "
                                          r"12 candidates\): a report compares runs over the same candidates"):
        build_report([runs["r3"], str(tmp_path / "s6")], str(tmp_path / "wide"), ks=(3,), bootstrap=20)
    checked = coverage_check(load_run(runs["r3"]), load_truth(str(tmp_path / "wide")), sample=4, draws=5, tops=(2,))
    assert checked["candidates"] == 12  # verify's coverage, checked against a table over a wider space
    alone = build_report([str(tmp_path / "s6")], str(tmp_path / "wide"), ks=(3,), bootstrap=20)
    assert len(alone["truth_scores"]) == 6 and alone["runs"][0]["space_differences"] == [
        "the run searched 6 of the table's 16 candidates (a sample of seed 1)"]


def test_a_table_judges_cells_trained_in_a_reduced_network(tmp_path, digits):
    """nb201's C and N size the network, not the cell: a run of sampled unique cells in a smaller network than the
    table's is judged by the table, and the report says both."""
    from tests.search.test_space import NB201

    table_space, run_space = tmp_path / "table.yaml", tmp_path / "run.yaml"
    table_space.write_text(NB201.replace("C: 4", "C: 16").replace("N: 1", "N: 5"))
    run_space.write_text(NB201 + "unique: true\nsample: {size: 6, seed: 0}\n")
    table = write_table(tmp_path / "t.csv", {c: 30.0 + i / 2 for i, c in enumerate(space_ids(table_space))})
    make_table_truth(TableTruthConfig(space=str(table_space), out=str(tmp_path / "truth"), table=table,
                                      dataset_family="digits"))
    run_search(search_config(run_space, tmp_path / "run", proxy="random:1", epochs=1), dataset=digits)
    report = build_report([str(tmp_path / "run")], str(tmp_path / "truth"), ks=(3,), bootstrap=20)
    assert report["runs"][0]["space_differences"] == [
        "network settings C [4] (table: [16]), N [1] (table: [5]): the run trained its cells in another network "
        "than the table's publisher",
        "the run searched 6 of the table's 64 candidates (one per isomorphism class, a sample of seed 0)"]
    assert len(report["truth_scores"]) == 6 and report["comparison_candidates"] == 6
    convnet = tmp_path / "convnet.yaml"
    convnet.write_text("axes: {depth: [1], width: [4], act: [relu], norm: [none], pool: [avgpool]}\n")
    run_search(search_config(convnet, tmp_path / "conv", proxy="random:1", epochs=1), dataset=digits)
    with pytest.raises(ConfigError, match="searched convnet candidates and the truth table .* covers nb201"):
        build_report([str(tmp_path / "conv")], str(tmp_path / "truth"), ks=(3,), bootstrap=20, allow_partial=True)
    with pytest.raises(ConfigError, match="searched convnet candidates"):
        coverage_check(load_run(tmp_path / "conv"), load_truth(str(tmp_path / "truth")), sample=1, tops=(1,))


def _fingerprint(name, classes):
    from ftd_nas.data.fingerprint import DataFingerprint

    return DataFingerprint(name=name, classes=classes, num_classes=len(classes), channels=3, image_size=(32, 32),
                           mean=(0.5,) * 3, std=(0.25,) * 3, zca=False, zca_eps=None, val_fraction=0.1, split_seed=0,
                           num_train=90, num_val=10, num_test=10, train_sha256=None)


@pytest.mark.parametrize("name, classes, family", [
    ("cifar10", CIFAR10_CLASSES, "cifar10"),  # a named dataset: the family of its name
    ("digits", tuple("0123456789"), "digits"),
    ("npz:cifar10_subset.npz", CIFAR10_CLASSES, "cifar10"),  # a file: by its class names
    ("folder:my_images", CIFAR10_CLASSES, "cifar10"),
    ("npz:cifar10.npz", tuple("0123456789"), None),  # its name is no evidence
    ("npz:c10.npz", CIFAR10_CLASSES[::-1], None),  # the labels mean other classes
    ("cifar10", tuple("0123456789"), None),  # a named dataset whose classes are not its family's
])
def test_the_dataset_family_rule(name, classes, family):
    assert dataset_family(_fingerprint(name, classes))[0] == family


def test_the_truth_folder_is_its_own_and_replaced_only_with_overwrite(runs, tmp_path):
    table = percent_table(runs, tmp_path)
    record, folder = table_truth(runs, tmp_path, table)
    assert table_truth(runs, tmp_path, table)[0].settings() == record.settings()  # the same import: refreshed
    other = write_table(tmp_path / "other.csv", {c: 0.5 for c in space_ids(runs["space"])})
    config = TableTruthConfig(space=runs["space"], out=folder, table=other, dataset_family="digits")
    with pytest.raises(ConfigError, match="holds a truth of another table or settings; pass --overwrite"):
        make_table_truth(config)
    assert read_truth_table(folder) == record
    assert make_table_truth(config, overwrite=True).source.name == "other.csv"
    with pytest.raises(ConfigError, match="is a search run folder"):
        make_table_truth(replace(config, out=runs["r3"]), overwrite=True)
    data = json.loads((tmp_path / "truth_table" / "truth.json").read_text())
    (tmp_path / "truth_table" / "truth.json").write_text(json.dumps({**data, "rows": {**data["rows"], "x": 1.5}}))
    with pytest.raises(RecordError, match="outside \\[0, 1\\]"):
        load_truth(folder)


def test_verify_looks_a_table_up_instead_of_training(runs, tmp_path, digits):
    record, folder = table_truth(runs, tmp_path, percent_table(runs, tmp_path))
    real = SearchConfig(space=runs["space"], proxy="real", out=folder, dataset="digits", device="cpu",
                        progress=False)
    summary = run_verify(runs["r3"], VerifyConfig(top=2, sample=4, bootstrap=50), real, tmp_path / "v", digits)
    best = max((c for c in summary.verified), key=lambda v: v.real_val_acc)
    assert summary.pick.candidate == best.candidate and summary.pick.val_acc == summary.pick.test_acc
    assert summary.pick.test_acc == pytest.approx(record.rows[summary.pick.candidate])
    assert summary.cost.candidate_epochs == 0 and len(summary.verified) == 6
    assert not (tmp_path / "truth_table" / "run.json").exists()  # nothing was trained into the truth folder
    text = (tmp_path / "v" / "verify.md").read_text()
    assert "looked up, not trained: published table table.csv" in text and "parameters not counted" in text
    _, cifar = table_truth(runs, tmp_path, percent_table(runs, tmp_path), out="cifar", dataset_family="cifar10")
    with pytest.raises(ConfigError, match="measured on cifar10"):
        run_verify(runs["r3"], VerifyConfig(top=2, sample=4), replace(real, out=cifar), tmp_path / "v2", digits)


@pytest.mark.slow
def test_a_cifar10_table_judges_a_search_on_the_cifar10_subset(tmp_path, cifar_subset_path):
    """The case the feature is for: proxies made from the shared CIFAR-10 subset, judged against a table measured
    on the full CIFAR-10 (the subset is of family cifar10 by its class names, not by its file name)."""
    from ftd_nas.data import load_dataset

    data = load_dataset(f"npz:{cifar_subset_path}")
    space = rep_space(tmp_path)
    run_search(replace(search_config(space, tmp_path / "run", proxy="random:1", epochs=1),
                       dataset=f"npz:{cifar_subset_path}"), dataset=data)
    table = write_table(tmp_path / "nb.csv", {c: 60.0 + i for i, c in enumerate(space_ids(space))})
    make_table_truth(TableTruthConfig(space=str(space), out=str(tmp_path / "truth"), table=table))  # cifar10
    report = build_report([str(tmp_path / "run")], str(tmp_path / "truth"), ks=(3,), bootstrap=20)
    text = write_report(report, tmp_path / "rep")["table"]
    assert "on npz:cifar10_subset.npz, whose 10 class names are cifar10's (family cifar10)" in text
    assert "measured on cifar10" in text and "its copy of cifar10: the report compares rankings" in text
