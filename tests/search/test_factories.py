"""Spaces of a user's model family, with a condition and constraints; pruned budgeted search; optuna's tools."""

import optuna
import pytest

import sys

from ftd_nas.cli import main
from ftd_nas.errors import ConfigError, InputError, UntrustedCodeError
from ftd_nas.search import SearchSpace, parse_space, run_search
from ftd_nas.search.architecture import ArchitectureRecord
from ftd_nas.search.factories import admissible, build_candidate, cost
from tests.conftest import malicious_factory, search_config

USER_SPACE = """\
name: mlp
model: tests.search.user_factory:tiny_mlp
axes:
  hidden: [8, 16, 32]
  norm: [none, batch]
  width_multiplier: [1, 2]
conditions:
  width_multiplier: {norm: [batch]}
constraints:
  max_params: 5000
  exclude:
    - {hidden: 8, norm: none}
"""
DIGITS = (1, (16, 16), 10)


def _params(hidden, batchnorm):  # Linear(256, h) [+ BatchNorm(h)] + Linear(h, 10)
    return 256 * hidden + hidden + 2 * hidden * batchnorm + 10 * hidden + 10


def test_conditions_exclusions_and_limits_shape_the_space(tmp_path, capsys):
    space = parse_space(USER_SPACE, "mlp.yaml")
    ids = {"-".join(f"{k}={v}" for k, v in p.items()) for p in space.candidates()}
    # none: 16, 32 (8 excluded), without the multiplier; batch: 3 x 2 multipliers
    assert len(space) == 8 and "hidden=16-norm=none" in ids and "hidden=8-norm=batch-width_multiplier=2" in ids
    within = admissible(space, DIGITS)
    assert all(cost(build_candidate(space, p, DIGITS), DIGITS)["num_params"] == _params(
        p["hidden"] * p.get("width_multiplier", 1), p["norm"] == "batch") for p in space.candidates())
    # a hidden layer of 16 fits in 5,000 parameters (4,282; 4,314 with batchnorm), one of 32 does not (8,554)
    assert sorted((p["hidden"] * p.get("width_multiplier", 1), p["norm"]) for p in within) == [
        (8, "batch"), (16, "batch"), (16, "batch"), (16, "none")]
    path = tmp_path / "mlp.yaml"
    path.write_text(USER_SPACE)
    assert main(["search", "--space", str(path), "--show", "--dataset", "digits"]) == 0
    shown = capsys.readouterr().out
    assert "8 candidates after exclusions" in shown and "4 candidates within {'max_params': 5000}" in shown
    assert "only when norm in ['batch']" in shown


def test_a_user_factory_space_runs_and_records_each_candidates_cost(tmp_path, digits):
    path = tmp_path / "mlp.yaml"
    path.write_text(USER_SPACE)
    summary = run_search(search_config(path, tmp_path / "run", proxy="random:2", epochs=2), dataset=digits)
    assert summary["complete"] == 4 == summary["candidates"]
    for row in summary["rows"]:
        assert row["num_params"] <= 5000 and row["macs"] > 0
    assert (tmp_path / "run" / "results.csv").read_text().splitlines()[0].startswith(
        "candidate,hidden,norm,width_multiplier,state")
    study = optuna.load_study(study_name=summary["study"], storage=f"sqlite:///{tmp_path / 'run' / 'study.db'}")
    trial = next(t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE)
    assert set(trial.params) <= {"hidden", "norm", "width_multiplier"}  # readable in optuna's own tools
    assert {"candidate", "val_acc", "test_acc", "num_params", "macs", "seconds", "repeat"} <= set(trial.user_attrs)


@pytest.mark.parametrize("text, message", [
    (USER_SPACE.replace("{norm: [batch]}", "{norm: [layer]}"), "line 8: the condition of 'width_multiplier' allows"),
    (USER_SPACE.replace("{norm: [batch]}", "{depth: [1]}"), "names 'depth', which must be an axis listed before"),
    (USER_SPACE.replace("max_params: 5000", "max_params: -1"), "line 10: max_params must be a finite number >= 1"),
    (USER_SPACE.replace("max_params: 5000", "max_flops: 5"), "line 10: unknown constraint 'max_flops'"),
    (USER_SPACE.replace("{hidden: 8, norm: none}", "{hidden: 9}"), "exclude names hidden=9"),
    (USER_SPACE.replace("tests.search.user_factory:tiny_mlp", "not a factory"), "line 2: model 'not a factory'"),
])
def test_invalid_conditions_and_constraints_name_the_key_and_line(text, message):
    with pytest.raises(InputError, match=message):
        parse_space(text, "bad.yaml")


def test_a_factory_that_returns_no_model_fails_its_candidates_clearly():
    space = parse_space(USER_SPACE.replace("tiny_mlp", "not_a_model"), "x.yaml")
    with pytest.raises(ConfigError, match="returned a str, not a torch.nn.Module"):
        build_candidate(space, space.candidates()[0], DIGITS)
    with pytest.raises(ConfigError, match="cannot be imported"):
        build_candidate(parse_space(USER_SPACE.replace("user_factory", "no_such_module"), "x.yaml"),
                        {"hidden": 8, "norm": "none"}, DIGITS)


def test_a_factory_read_from_a_file_is_never_imported_unless_the_user_trusts_it(tmp_path, monkeypatch, digits):
    monkeypatch.syspath_prepend(str(tmp_path))  # the hostile module is importable: only the refusal stops it
    name, marker = malicious_factory(tmp_path)
    recorded = parse_space(USER_SPACE.replace("tests.search.user_factory:tiny_mlp", name), "mlp.yaml").to_dict()
    space = SearchSpace.from_dict(recorded, "the space recorded in 'received/run.json'")  # as verify reads a run
    params = space.candidates()[0]
    refused = [lambda: build_candidate(space, params, DIGITS), lambda: admissible(space, DIGITS),
               lambda: run_search(search_config("unused", tmp_path / "run"), dataset=digits, space=space),
               lambda: ArchitectureRecord(model=name, params=params, channels=1, image_size=(16, 16),
                                          num_classes=10).build()]
    for attempt in refused:
        with pytest.raises(UntrustedCodeError, match=r"names the model factory .*pass --trust-factory"):
            attempt()
    assert not marker.exists() and name.split(":")[0] not in sys.modules
    assert not (tmp_path / "run").exists()  # refused before anything was written
    # the user's own space file, or the user's explicit trust, imports it: the module above was a real threat
    trusted = SearchSpace.from_dict(recorded, "trusted", trusted=True)
    assert build_candidate(trusted, params, DIGITS) is not None and marker.exists()


LARGE_SPACE = """\
name: large
axes:
  depth: [1, 2]
  width: [{widths}]
  act: [relu, sigmoid, leakyrelu]
  norm: [none, instancenorm]
  pool: [avgpool, maxpool]
""".format(widths=", ".join(str(w) for w in range(4, 1004)))


@pytest.mark.slow
def test_pruned_budgeted_search_over_a_large_space_trains_fewer_epochs(tmp_path, digits):
    path = tmp_path / "large.yaml"
    path.write_text(LARGE_SPACE)
    assert len(parse_space(path.read_text())) == 24000
    epochs, trials = 6, 10
    summary = run_search(search_config(path, tmp_path / "run", proxy="random:2", epochs=epochs, sampler="tpe",
                                       n_trials=trials, pruner="median", report_every=1), dataset=digits)
    assert summary["trained"] + summary["pruned"] + summary["duplicate"] == trials and summary["pruned"] > 0
    trained_epochs = sum(r["epochs_trained"] for r in summary["rows"])
    assert trained_epochs < trials * epochs  # the same trials unpruned would train every epoch
    assert {r["state"] for r in summary["rows"]} <= {"COMPLETE", "PRUNED"}
