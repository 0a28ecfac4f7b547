"""scripts/nb201.py: its stages (the proxies made by nas_table.py's commands, the training-free runs on data
without ZCA, reused proxies taken in after the stages that need none), its space files and the published values
beside the table; and the quick scale end to end (slow)."""

import json
import shlex
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import CIFAR_SUBSET, NATS_BENCH_CSV

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import nas_table  # noqa: E402
import nb201  # noqa: E402
import reproduce  # noqa: E402

from ftd_nas.errors import InputError  # noqa: E402

OUT = Path("OUT")


def commands(stages) -> dict[str, list[str]]:
    """Each stage's arguments; a stage whose arguments depend on the record (nas_table's early stopping) is left
    out."""
    return {s.name: s.args for s in stages if not callable(s.args)}


def test_the_space_files_are_unique_nb201_cells_in_the_scales_networks_with_seeded_samples(tmp_path):
    paths = nb201.write_spaces(nb201.SCALES["cpu"], tmp_path)
    spaces = {name: yaml.safe_load(path.read_text()) for name, path in paths.items()}
    builtin = yaml.safe_load((REPO / "search_spaces" / "nb201.yaml").read_text())
    for name, space in spaces.items():
        # unique cells, but the published frame: every cell, duplicates included, as the correlations were published
        assert space["model"] == "nb201" and space["unique"] is (name != "zc-published")
        assert space["axes"] == builtin["axes"]  # the same axes in the same order: the same enumeration
    assert spaces["zc-published"]["fixed"] == {"C": 16, "N": 5}
    assert spaces["zc-published"]["sample"] == {"size": 500, "seed": 0}
    assert spaces["zc"]["fixed"] == {"C": 16, "N": 5} and spaces["zc"]["sample"] == {"size": 1000, "seed": 0}
    assert spaces["trained"]["fixed"] == {"C": 8, "N": 1} and spaces["trained"]["sample"] == {"size": 200, "seed": 0}
    assert spaces["zc-common"]["fixed"] == {"C": 16, "N": 5} and spaces["zc-common"]["sample"] == {"size": 200,
                                                                                                   "seed": 0}
    gpu = nb201.write_spaces(nb201.SCALES["gpu"], tmp_path / "gpu")
    assert "sample" not in yaml.safe_load(gpu["zc"].read_text())  # the gpu scale scores every unique cell
    quick = nb201.write_spaces(nb201.SCALES["quick"], tmp_path / "quick")
    assert "zc-common" not in quick  # the same sample for both: one set of training-free runs serves both reports


@pytest.mark.slow  # enumerates the unique classes of 15,625 cells for each space
def test_the_trained_cells_are_the_common_training_free_runs_cells_and_inside_the_larger_sample(tmp_path):
    from ftd_nas.search.space import load_space

    spaces = {name: load_space(str(path)) for name, path in nb201.write_spaces(nb201.SCALES["cpu"], tmp_path).items()}
    ids = {name: {space.candidate_id(p) for p in space.candidates()} for name, space in spaces.items()}
    assert len(ids["zc"]) == 1000 and len(ids["trained"]) == 200
    assert ids["trained"] == ids["zc-common"] < ids["zc"]  # one report's candidates, nested in the other's


def test_the_stages_import_the_truth_score_without_zca_and_make_the_proxies_as_nas_table_does():
    s = nb201.SCALES["cpu"]
    before, after = nb201.stages(s, OUT)
    cmd = commands(before + after)
    assert cmd["truth"] == ["truth", "--table", "../shared/datasets/nats_bench_tss.csv", "--space", "nb201", "--out",
                            "OUT/truth", "--no-progress"]
    for name in nb201.SCORERS:
        for run, space in ((f"zc-{name}", "zc"), (f"common-zc-{name}", "zc-common")):
            args = cmd[run]
            assert args[:5] == ["search", "--space", f"OUT/spaces/{space}.yaml", "--proxy", f"zc:{name}"]
            assert "--zca" not in args and "--epochs" not in args  # published on normalised data; nothing trained
            assert args[args.index("--normalize") + 1] == "cifar10"  # by CIFAR-10's constants, as published
    assert nb201.PUBLISHED_SCORERS == ("synflow", "snip", "grad_norm", "jacov")  # those with a confirmed value
    for name in nb201.PUBLISHED_SCORERS:
        args = cmd[f"published-zc-{name}"]
        assert args[:5] == ["search", "--space", "OUT/spaces/zc-published.yaml", "--proxy", f"zc:{name}"]
    published = cmd["report-published"]
    assert published[1:5] == [f"OUT/search/published-zc-{name}" for name in nb201.PUBLISHED_SCORERS]
    assert "--zca" in cmd["search-early"] and cmd["search-early"][cmd["search-early"].index("--epochs") + 1] == "1"
    # every proxy is made by the very command nas_table.py's cpu scale runs (its definitions, not a copy)
    table = commands(nas_table.stages(nas_table.SCALES["cpu"], OUT))
    made = [name for name in cmd if name.startswith(("experts-", "distill-", "select-"))]
    assert sorted(made) == sorted(["experts-gsam", "experts-sgd", "select-random", "select-herding", "distill-dsa",
                                   "distill-dm", "distill-mtt", "distill-ftd"])
    assert all(cmd[name] == table[name] for name in made)
    for method in nb201.METHODS:
        args = cmd[f"search-{method}"]
        assert args[4] == f"OUT/proxies/{method}.safetensors" and "--zca" not in args  # the file fixes it
        assert args[args.index("--epochs") + 1] == "40"
    # the reports: every run over the trained sample against the truth, and the training-free runs over theirs
    report = cmd["report"]
    assert report[report.index("--truth") + 1] == "OUT/truth"
    assert [report[i + 1] for i, a in enumerate(report) if a == "--label"] == list(nb201.labels(s).values())
    assert report[1:8] == [f"OUT/search/common-zc-{name}" for name in nb201.SCORERS]
    zc = cmd["report-zc"]
    assert zc[1:8] == [f"OUT/search/zc-{name}" for name in nb201.SCORERS] and zc.count("--label") == 7
    # the proxy searches wait for the proxies; everything else can run before them
    assert {st.name for st in after} == {f"search-{m}" for m in nb201.METHODS} | {"report", "report-zc",
                                                                                  "report-published"}


def test_reused_proxies_replace_their_making_and_are_searched_from_the_copies_in_out():
    before, after = nb201.stages(nb201.SCALES["cpu"], OUT, reuse=True)
    cmd = commands(before + after)
    assert not [n for n in cmd if n.startswith(("experts-", "distill-", "select-"))]
    assert [st.name for st in before] == ["truth", *(f"zc-{n}" for n in nb201.SCORERS),
                                          *(f"common-zc-{n}" for n in nb201.SCORERS),
                                          *(f"published-zc-{n}" for n in nb201.PUBLISHED_SCORERS), "search-early"]
    for method in nb201.METHODS:
        assert cmd[f"search-{method}"][4] == f"OUT/proxies/reused/{method}.safetensors"


def test_a_reused_proxy_is_found_where_either_experiment_writes_it(tmp_path):
    cpu, table = tmp_path / "nas_cpu", tmp_path / "nas_table_cpu"
    for path in (cpu / "proxies" / "ftd_s0.safetensors", table / "proxies" / "ftd.safetensors",
                 table / "proxies" / "dm.safetensors", cpu / "proxies" / "mtt_s0.safetensors.run" / "state"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    assert nb201.find_proxy([cpu, table], "ftd") == cpu / "proxies" / "ftd_s0.safetensors"  # the first folder wins
    assert nb201.find_proxy([table, cpu], "ftd") == table / "proxies" / "ftd.safetensors"
    assert nb201.find_proxy([cpu, table], "dm") == table / "proxies" / "dm.safetensors"
    assert nb201.find_proxy([cpu, table], "mtt") is None  # a distillation still running has only its .run folder
    with pytest.raises(InputError, match="no finished proxy of random, herding, dsa, mtt"):
        nb201.reuse_proxies([cpu, table], tmp_path / "out", 10, {"stages": {}})


def test_a_reused_proxy_is_copied_in_once_checked_and_brings_its_experts_time(tmp_path, monkeypatch):
    from ftd_nas.cli import main

    source = tmp_path / "nas_table_cpu"
    assert main(["select", "--method", "random", "--ipc", "2", "--width", "8", "--depth", "2", "--out",
                 str(source / "proxies" / "random.safetensors"), "--no-progress", "--device", "cpu"]) == 0
    (source / "experiment.json").write_text(json.dumps({"stages": {"experts-sgd": {"done": True, "seconds": 42.0,
                                                                                  "command": "ftd-nas experts"}}}))
    monkeypatch.setattr(nb201, "METHODS", ("random",))
    monkeypatch.setitem(nas_table.EXPERTS, "random", "experts-sgd")  # as if it matched SGD experts, like MTT
    out, record = tmp_path / "out", {"stages": {}}
    with pytest.raises(InputError, match="a random proxy at IPC 2, not random at IPC 10"):
        nb201.reuse_proxies([source], out, 10, record)
    nb201.reuse_proxies([tmp_path / "elsewhere", source], out, 2, record)
    copy = nb201.reused_path(out, "random")
    assert copy.read_bytes() == (source / "proxies" / "random.safetensors").read_bytes()
    assert record["reused_proxies"]["random"]["source"] == str((source / "proxies" / "random.safetensors").resolve())
    assert record["stages"]["experts-sgd"] == {"done": True, "seconds": 42.0, "command": "ftd-nas experts",
                                               "reused_from": str(source.resolve())}
    (source / "proxies" / "random.safetensors").unlink()  # the copy the searches trained on is kept from now on
    nb201.reuse_proxies([source], out, 2, record)
    assert copy.is_file()


def test_the_training_free_table_sets_each_score_beside_its_published_value_or_says_there_is_none():
    assert set(nb201.PUBLISHED) == set(nb201.SCORERS)
    for value, source in nb201.PUBLISHED.values():
        assert source and (value is None or 0 < value < 1)
    s = nb201.SCALES["cpu"]

    def row(method, spearman, published):
        return {"method": method, "kind": "training-free", "network": "C16 N5", "n": 1000, "spearman": spearman,
                "spearman_ci": [spearman - 0.02, spearman + 0.02], "kendall": 0.5, "kendall_ci": [0.45, 0.55],
                "kendall_half": 0.2, "kendall_half_ci": [0.1, 0.3],
                **{f"top{k}_{w}{x}": (0.1 if not x else [0.0, 0.2]) for k in s["ks"]
                   for w in ("by_real", "by_proxy") for x in ("", "_ci")},
                "regret_pts": 1.5, "regret_ci_pts": [1.0, 2.0], "creation_min": 0.0, "seconds_per_candidate": 0.5,
                "search_min": 10.0, "images": 64, "published_spearman": published,
                "published_source": nb201.PUBLISHED[method][1]}

    # the gap is taken in the published frame (a sample of all cells), not over the unique cells
    text = nb201.markdown([row("synflow", 0.70, 0.737)], s, [row("synflow", 0.70, 0.737), row("naswot", 0.8, None)],
                          [row("synflow", 0.75, 0.737)])
    synflow = next(line for line in text.splitlines() if line.startswith("| synflow | 0.700"))
    assert "| 0.750 [0.730, 0.770] | 0.737 | +0.013 |" in synflow
    naswot = next(line for line in text.splitlines() if line.startswith("| naswot"))
    assert "| - | not confirmed | - |" in naswot


def test_reproduce_hands_nb201_its_own_options(monkeypatch):
    seen = []
    monkeypatch.setattr(nb201, "main", seen.append)
    monkeypatch.setattr(sys, "argv", ["reproduce.py", "nb201", "--scale", "quick", "--out", "x"])
    reproduce.main()
    assert seen == [["--scale", "quick", "--out", "x"]]


@pytest.mark.slow
def test_the_quick_scale_runs_end_to_end_and_resumes_without_redoing_anything(tmp_path, monkeypatch, capsys):
    if not (CIFAR_SUBSET.is_file() and NATS_BENCH_CSV.is_file()):
        pytest.skip(f"the quick scale needs {CIFAR_SUBSET} and {NATS_BENCH_CSV}")
    monkeypatch.chdir(REPO)  # the scale names ../shared/datasets/... relative to the repository root
    out, figures = tmp_path / "out", tmp_path / "figures"
    nb201.main(["--scale", "quick", "--out", str(out), "--figures", str(figures)])
    record = json.loads((out / "experiment.json").read_text())
    assert all(entry["done"] for entry in record["stages"].values())
    table = (out / "table.md").read_text()
    for label in nb201.labels(nb201.SCALES["quick"]).values():
        assert f"| {label} |" in table
    assert not [name for name in record["stages"] if name.startswith("common-zc-")]  # one sample: runs shared
    assert (figures / "spearman.png").is_file() and (figures / "candidates-zc.csv").is_file()
    attempts = {name: entry["attempts"] for name, entry in record["stages"].items()}
    capsys.readouterr()
    nb201.main(["--scale", "quick", "--out", str(out)])  # everything finished: nothing runs again
    again = json.loads((out / "experiment.json").read_text())
    assert {name: entry["attempts"] for name, entry in again["stages"].items()} == attempts
    assert shlex.split(again["stages"]["zc-synflow"]["command"])[1:3] == ["search", "--space"]
