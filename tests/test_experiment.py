"""ftd_nas/experiment.py: each step's command, and the scripts' stages as they were before the builder.

tests/fixtures/stage_lists.json was taken from the scripts before they used the builder (paths under OUT). The
nas_table commands are the same to the character; the others spell some options in another order, which
`stages.same_command` (what decides whether a finished stage's record still holds) treats as the same command.
"""

import json
import shlex
import sys
from pathlib import Path
from unittest import mock

import pytest

from ftd_nas.cli import main
from ftd_nas.errors import ConfigError
from ftd_nas.experiment import ExperimentPlan, ExperimentSettings
from ftd_nas.stages import Stage, StageFailed, run_stages, same_command

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
import bench_cpu_chain  # noqa: E402
import experiment_nas_cpu  # noqa: E402
import nas_table  # noqa: E402
import reproduce  # noqa: E402

SNAPSHOT = json.loads((REPO / "tests" / "fixtures" / "stage_lists.json").read_text())
OUT = Path("OUT")


def rows(stages: list[Stage]) -> list[list]:
    return [[s.name, shlex.join(s.args({}) if callable(s.args) else s.args), s.workers] for s in stages]


def plan(**settings) -> ExperimentPlan:
    return ExperimentPlan(ExperimentSettings(**{"dataset": "digits", "zca": True, "width": 8, "depth": 2,
                                                "device": "cpu", **settings}), OUT)


def test_a_method_is_distilled_or_selected_as_the_registry_says():
    p = plan()
    gsam = p.experts("gsam", 2, 4, 0.3, workers=2)
    ftd = p.proxy("ftd", 2, seed=1, extra=["--iterations", "3"])
    assert gsam == OUT / "experts" / "gsam" and ftd == OUT / "proxies" / "ftd.safetensors"
    # trajectory matching reads its experts' folder, which supplies the network and preprocessing
    assert p.stages[1].args == ["distill", "--method", "ftd", "--experts", "OUT/experts/gsam", "--dataset", "digits",
                                "--ipc", "2", "--iterations", "3", "--seed", "1", "--out", str(ftd), "--no-progress",
                                "--device", "cpu"]
    p.proxy("dm", 2, file="dm_s0")
    assert p.stages[2].args == ["distill", "--method", "dm", "--ipc", "2", "--dataset", "digits", "--zca", "--width",
                                "8", "--depth", "2", "--out", "OUT/proxies/dm_s0.safetensors", "--no-progress",
                                "--device", "cpu"]
    p.proxy("herding", 2, extra=["--epochs", "1"])
    assert p.stages[3].args[:2] == ["select", "--method"] and p.stages[3].name == "select-herding"
    assert p.stages[0].args[:4] == ["experts", "--dataset", "digits", "--zca"] and p.stages[0].workers == 2
    with pytest.raises(ConfigError, match="--method"):
        p.proxy("nonsense", 2)


def test_experts_of_the_plan_are_where_their_method_reads_them():
    p = plan()
    p.experts("sgd", 2, 4, 1.0, to="elsewhere/sgd")
    p.proxy("mtt", 2)
    assert p.stages[1].args[3:5] == ["--experts", "elsewhere/sgd"]


def test_a_proxy_file_search_takes_only_the_datas_location_real_and_random_take_its_preprocessing():
    p = plan(data_root="data")
    p.search("convnet-tiny", OUT / "proxies" / "ftd.safetensors", epochs=3, name="search-ftd")
    p.search("convnet-tiny", "real", epochs=2, repeats=2, workers=2, name="truth", run="truth")
    p.search("convnet-tiny", "random:2", epochs=3, seed=1, name="search-random", run="random")
    file, real, random = (stage.args for stage in p.stages)
    assert "--zca" not in file and file[5:9] == ["--dataset", "digits", "--data-root", "data"]
    assert real[5:10] == ["--dataset", "digits", "--data-root", "data", "--zca"] and "--repeats" in real
    assert "--zca" in random and random[random.index("--seed") + 1] == "1"
    assert "--width" not in file + real + random  # the space says the networks
    assert [s.workers for s in p.stages] == [1, 2, 1]


def test_a_training_free_search_reads_the_real_data_and_may_preprocess_it_otherwise_than_the_plan():
    p = plan()
    zc = p.search("convnet-tiny", "zc:synflow", name="zc-synflow", run="zc-synflow")
    plain = p.search("convnet-tiny", "zc:snip", name="zc-snip", run="zc-snip", zca=False)
    assert zc == OUT / "search" / "zc-synflow" and plain == OUT / "search" / "zc-snip"
    with_zca, without = p.stages[0].args, p.stages[1].args
    # zc:NAME is no proxy file: it takes the plan's preprocessing (ZCA here) unless the step says otherwise
    assert with_zca[4:9] == ["zc:synflow", "--dataset", "digits", "--zca", "--out"] and "--epochs" not in with_zca
    assert without[4:8] == ["zc:snip", "--dataset", "digits", "--out"]
    standard = p.search("convnet-tiny", "zc:jacov", name="zc-jacov", run="zc-jacov", zca=False, normalize="cifar10")
    assert p.stages[2].args[4:10] == ["zc:jacov", "--dataset", "digits", "--normalize", "cifar10", "--out"]
    assert standard == OUT / "search" / "zc-jacov"
    for override in ({"zca": False}, {"normalize": "cifar10"}):
        with pytest.raises(ConfigError, match="fixes its own preprocessing"):
            p.search("convnet-tiny", OUT / "proxies" / "ftd.safetensors", name="search-ftd", **override)


def test_a_truth_step_imports_a_table_or_an_archive():
    p = plan()
    truth = p.truth("nb201", table="../shared/datasets/nats_bench_tss.csv")
    assert truth == OUT / "truth"
    assert p.stages[0].args == ["truth", "--table", "../shared/datasets/nats_bench_tss.csv", "--space", "nb201",
                                "--out", "OUT/truth", "--no-progress"]
    p.truth(OUT / "spaces" / "s.yaml", archive="NATS-tss", id_column="arch", accuracy_column="acc",
            dataset_family="cifar100", name="truth-c100", to=OUT / "truth-c100")
    assert p.stages[1].args == ["truth", "--archive", "NATS-tss", "--space", "OUT/spaces/s.yaml", "--id-column",
                                "arch", "--accuracy-column", "acc", "--dataset-family", "cifar100", "--out",
                                "OUT/truth-c100", "--no-progress"]
    for sources in ({}, {"table": "a.csv", "archive": "b"}):
        with pytest.raises(ConfigError, match="exactly one"):
            p.truth("nb201", name="other", **sources)


def test_search_epochs_may_depend_on_the_record():
    p = plan()
    p.search("convnet-tiny", "real", epochs=lambda record: record["epochs"], name="early", run="early")
    args = p.stages[0].args
    assert callable(args) and args({"epochs": 5})[args({"epochs": 5}).index("--epochs") + 1] == "5"


def test_report_and_curves_commands():
    p = plan()
    p.report([("a", "FTD"), ("b", "FTD")], "truth", ks=(3, 5), bootstrap=100)
    assert p.stages[0].args == ["report", "a", "b", "--label", "FTD", "--label", "FTD", "--truth", "truth", "--out",
                                "OUT/report", "--ks", "3,5", "--bootstrap", "100", "--overwrite"]
    with pytest.raises(ConfigError, match="label every run"):
        p.report([("a", "FTD"), ("b", None)], "truth", name="other")
    p.curves([("x.safetensors", "FTD"), ("experts/sgd", "SGD experts")], "OUT/report/curves")
    assert p.stages[-1].args == ["curves", "x.safetensors", "experts/sgd", "--label", "FTD", "--label", "SGD experts",
                                 "--out", "OUT/report/curves", "--overwrite"]
    with pytest.raises(ConfigError, match="two stages named"):
        p.report([("a", None)], "truth")


def test_settings_are_checked():
    with pytest.raises(ConfigError, match="dataset"):
        ExperimentSettings("")
    with pytest.raises(ConfigError, match="width"):
        ExperimentSettings("digits", width=0)
    s = ExperimentSettings("digits", quiet=False)
    assert s.run() == [] and s.net() == [] and s.data() == ["--dataset", "digits"]


def test_same_command_ignores_the_order_of_options_only():
    assert same_command("report a b --label X --label Y --ks 3 --out o",
                        "report a b --out o --ks 3 --label X --label Y")
    assert not same_command("report a b --label X --label Y", "report a b --label Y --label X")
    assert not same_command("report a b --out o", "report b a --out o")
    assert not same_command("search --epochs 5 --seed 0", "search --epochs 5 --seed 1")


# The snapshot and docs/*/experiment.json predate --normalize: their CIFAR-10 subset was normalised by its own
# statistics, which `--normalize file` asks for (the subset declares no constants, so it is also what no option did).
def made_before_normalize(settings: dict) -> dict:
    return dict(settings, normalize="file") if settings.get("normalize") else settings


def without_normalize_file(command: str) -> str:
    return command.replace(" --normalize file", "")


def relative(command: str) -> str:
    """The command as run from the repository, whether its folders were given as /work/main/runs/... or runs/..."""
    return command.replace("/work/main/", "")


def same_as_recorded(recorded: str, command: str) -> bool:
    recorded, command = relative(recorded), relative(command)
    return same_command(recorded, command) or same_command(recorded, without_normalize_file(command))


def test_the_scripts_differ_from_the_folders_made_before_normalize_only_in_the_constants():
    # the default normalises the subset by CIFAR-10's constants wherever the other made it use its own statistics
    for default, before in ((experiment_nas_cpu.FULL, made_before_normalize(experiment_nas_cpu.FULL)),
                            (nas_table.SCALES["cpu"], made_before_normalize(nas_table.SCALES["cpu"]))):
        module = experiment_nas_cpu if default is experiment_nas_cpu.FULL else nas_table
        with mock.patch.object(nas_table, "early_epochs", lambda out, s: 7):
            now, then = rows(module.stages(default, OUT)), rows(module.stages(before, OUT))
        assert [[n, c.replace("--normalize cifar10", "--normalize file"), w] for n, c, w in now] == then
        assert sum("--normalize cifar10" in c for _, c, _ in now) >= 4  # experts or truth, subsets, searches


@pytest.mark.parametrize("key", SNAPSHOT["nas_table"])
def test_nas_table_stages_are_as_before(key):
    scale, seeds = key.rsplit("-", 1)
    with mock.patch.object(nas_table, "early_epochs", lambda out, s: 7):
        after = rows(nas_table.stages(made_before_normalize(nas_table.SCALES[scale]), OUT, int(seeds)))
    assert [[n, without_normalize_file(c), w] for n, c, w in after] == SNAPSHOT["nas_table"][key]


def assert_same_commands(after: list[list], before: list[list]) -> None:
    assert [[name, workers] for name, _, workers in after] == [[name, workers] for name, _, workers in before]
    for (name, new, _), (_, old, _) in zip(after, before):
        assert same_command(old, new), name


@pytest.mark.parametrize("scale", ["quick", "full"])
def test_experiment_nas_cpu_stages_are_as_before(scale):
    s = made_before_normalize(experiment_nas_cpu.QUICK if scale == "quick" else experiment_nas_cpu.FULL)
    after = [[n, without_normalize_file(c), w] for n, c, w in rows(experiment_nas_cpu.stages(s, OUT))]
    assert_same_commands(after, SNAPSHOT["experiment_nas_cpu"][scale])


@pytest.mark.parametrize("scale", ["quick", "full"])
def test_bench_cpu_chain_commands_are_as_before(scale):
    s = bench_cpu_chain.QUICK if scale == "quick" else bench_cpu_chain.FULL
    before = [c.removeprefix("PYTHON -m ftd_nas ") for c in SNAPSHOT["bench_cpu_chain"][scale] if " -m ftd_nas " in c]
    after = [shlex.join(stage.args) for stage in bench_cpu_chain.stages(s, OUT)]
    assert len(after) == len(before) and all(same_command(b, a) for a, b in zip(after, before))


@pytest.mark.parametrize("name", SNAPSHOT["reproduce"])
def test_reproduce_commands_are_as_before(name):
    after = reproduce.nas_commands("DATA") if name == "nas720" else reproduce.commands(name, "DATA", 100, "checkpoint")
    before = SNAPSHOT["reproduce"][name]
    assert len(after) == len(before) and all(same_command(b, shlex.join(a)) for a, b in zip(after, before))


def test_the_committed_records_still_hold_for_the_scripts_commands():
    # docs/*/experiment.json: finished runs of both scripts (runs/ of this repository, named absolute or relative);
    # none of their stages would warn
    table = json.loads((REPO / "docs" / "nas_table" / "experiment.json").read_text())["stages"]
    with mock.patch.object(nas_table, "early_epochs", lambda out, s: 1):  # what that run measured
        stages = nas_table.stages(made_before_normalize(nas_table.SCALES["cpu"]), Path("/work/main/runs/nas_table_cpu"))
        commands = {s.name: "ftd-nas " + " ".join(s.args({}) if callable(s.args) else s.args) for s in stages}
    assert all(same_as_recorded(entry["command"], commands[name]) for name, entry in table.items())
    assert set(commands) == set(table)
    nas_cpu = json.loads((REPO / "docs" / "experiment_nas_cpu" / "experiment.json").read_text())["stages"]
    stages = experiment_nas_cpu.stages(made_before_normalize(experiment_nas_cpu.FULL), Path("/work/main/runs/nas_cpu"))
    assert [s.name for s in stages] == list(nas_cpu)
    assert all(same_as_recorded(nas_cpu[s.name]["command"], "ftd-nas " + " ".join(s.args)) for s in stages)


def test_an_in_process_stage_writes_its_output_to_its_log_and_fails_like_a_subprocess(tmp_path):
    run_stages([Stage("spaces", ["search", "--list-spaces"])], tmp_path, {}, main=main)
    assert "convnet-tiny" in (tmp_path / "logs" / "spaces.log").read_text()
    with pytest.raises(StageFailed, match="exit code"):
        run_stages([Stage("bad", ["evaluate", str(tmp_path / "missing.safetensors"), "--dataset", "digits"])],
                   tmp_path, {}, main=main)
    with pytest.raises(StageFailed, match="exit code 2"):  # a usage error does not end this process
        run_stages([Stage("usage", ["search", "--no-such-option"])], tmp_path, {}, main=main)
    with pytest.raises(ValueError, match="one worker"):
        run_stages([Stage("two", ["search", "--list-spaces"], workers=2)], tmp_path, {}, main=main)
