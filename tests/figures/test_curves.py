import json

import numpy as np
import pytest

from ftd_nas.errors import InputError
from ftd_nas.figures.curves import (DISTILLATION, TRAINING, band, distillation_figure, load_curves, moving_average,
                                    training_figure, write_curves)


def _log(path, losses, lrs):
    path.mkdir(parents=True, exist_ok=True)
    rows = [{"it": i + 1, "loss": loss, "syn_lr": lr, "expert": 0, "start_epoch": 0, "seconds": 0.1}
            for i, (loss, lr) in enumerate(zip(losses, lrs))]
    (path / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_moving_average_matches_a_hand_computation():
    assert np.allclose(moving_average(np.array([1.0, 2.0, 3.0, 4.0]), 2), [1.0, 1.5, 2.5, 3.5])
    assert np.allclose(moving_average(np.array([3.0, 1.0, 2.0]), 5), [3.0, 2.0, 2.0])


def test_band_spans_runs_on_the_epochs_all_of_them_reached():
    runs = [[{"epoch": 1, "train_loss": 2.0, "val_acc": None}, {"epoch": 2, "train_loss": 1.0},
             {"epoch": 3, "train_loss": 0.5}],
            [{"epoch": 1, "train_loss": 4.0}, {"epoch": 2, "train_loss": 3.0}]]  # stopped after two epochs
    epochs, mean, low, high = band(runs, "train_loss")
    assert epochs.tolist() == [1, 2] and mean.tolist() == [3.0, 2.0]
    assert low.tolist() == [2.0, 1.0] and high.tolist() == [4.0, 3.0]
    assert len(band(runs, "val_acc")[0]) == 0  # never recorded: nothing to draw


def test_a_distillation_is_found_from_its_log_work_dir_or_proxy_file(tmp_path):
    work = _log(tmp_path / "ftd.safetensors.run", [0.9, 0.5], [0.01, 0.012])
    (tmp_path / "ftd.safetensors").write_bytes(b"")
    for path in (work / "log.jsonl", work, tmp_path / "ftd.safetensors"):
        src = load_curves(path)
        assert (src.kind, src.label) == (DISTILLATION, "ftd")
        assert [r["loss"] for r in src.rows] == [0.9, 0.5] and [r["syn_lr"] for r in src.rows] == [0.01, 0.012]
    assert load_curves(work, "FTD").label == "FTD"


def test_distillation_figure_draws_the_smoothed_loss_and_the_learned_lr(tmp_path):
    losses, lrs = [1.0, 0.8, 0.9, 0.4, 0.5, 0.2], [0.01, 0.011, 0.012, 0.012, 0.013, 0.014]
    fig = distillation_figure([load_curves(_log(tmp_path / "a.run", losses, lrs))], smooth=3)
    ax_loss, ax_lr = fig.axes
    raw, smooth = ax_loss.lines
    assert raw.get_ydata().tolist() == losses
    assert np.allclose(smooth.get_ydata(), [1.0, 0.9, 0.9, 0.7, 0.6, 0.3666666])
    assert ax_lr.lines[0].get_ydata().tolist() == lrs


def test_experts_and_training_records_give_training_curves(tmp_path, sgd_experts):
    experts = load_curves(sgd_experts)
    assert experts.kind == TRAINING and len(experts.histories) == 2 and "2 experts" in experts.label
    record = tmp_path / "run.json"
    history = [{"epoch": 1, "train_loss": 2.0, "train_acc": 0.2}, {"epoch": 2, "train_loss": 1.5, "train_acc": 0.4,
                                                                    "val_acc": 0.35}]
    record.write_text(json.dumps({"history": history, "test_acc": 0.3}))
    single = load_curves(record)
    fig = training_figure([experts, single])
    ax_loss, ax_acc = fig.axes
    expected = np.mean([[r["train_loss"] for r in h] for h in experts.histories], axis=0)
    assert np.allclose(ax_loss.lines[0].get_ydata(), expected)
    assert ax_loss.lines[1].get_ydata().tolist() == [2.0, 1.5]
    val_line = [line for line in ax_acc.lines if line.get_label() == "run val"]
    assert val_line and val_line[0].get_ydata().tolist() == [0.35]


def test_write_curves_makes_one_figure_per_kind_present(tmp_path, sgd_experts):
    files = write_curves([load_curves(_log(tmp_path / "a.run", [1.0, 0.5], [0.01, 0.01]))], tmp_path / "out" / "c")
    assert sorted(p.rsplit("/", 1)[1] for p in files) == ["c-distillation.pdf", "c-distillation.png"]
    files = write_curves([load_curves(sgd_experts)], tmp_path / "out" / "c")
    assert all((tmp_path / "out" / f"c-training{ext}").stat().st_size > 1000 for ext in (".png", ".pdf"))


def test_unreadable_sources_are_explained(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_curves(tmp_path / "missing")
    with pytest.raises(InputError, match="cannot find learning curves"):
        load_curves(tmp_path)
    bad = tmp_path / "bad.run"
    bad.mkdir()
    (bad / "log.jsonl").write_text('{"it": 1, "loss": 0.5, "syn_lr": 0.01}\n{"it": 2}\n')
    with pytest.raises(InputError, match="line 2 is not a distillation log record"):
        load_curves(bad)
    (bad / "log.jsonl").write_text("")
    with pytest.raises(InputError, match="no iterations yet"):
        load_curves(bad)
    (tmp_path / "other.json").write_text('{"accuracy": 1}')
    with pytest.raises(InputError, match="ftd-nas train --json"):
        load_curves(tmp_path / "other.json")
