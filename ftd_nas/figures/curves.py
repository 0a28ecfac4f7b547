"""Learning curves (PNG and PDF): distillation loss and learned lr per iteration, training loss and accuracy per epoch.

Sources are read from what the commands already write: a distillation's `log.jsonl` (or its work directory, or
the proxy file whose `PROXY.run` directory holds it), an experts directory (one history per expert) and a
`ftd-nas train --json` record. Several sources of one kind share a figure, so FTD and MTT (or SGD and GSAM
experts) can be compared at a glance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ftd_nas.errors import InputError
from ftd_nas.figures.save import new_figure, save_figure

DISTILLATION, TRAINING = "distillation", "training"


@dataclass
class CurveSource:
    """One labelled run: distillation log rows, or one training history per run (experts, repeats)."""

    label: str
    kind: str  # distillation | training
    rows: list[dict] | None = None
    histories: list[list[dict]] | None = None


def _distillation_log(path: Path) -> Path | None:
    for candidate in (path, path / "log.jsonl", path.with_name(path.name + ".run") / "log.jsonl"):
        if candidate.is_file() and candidate.name == "log.jsonl":
            return candidate
    return None


def _read_log(log: Path) -> list[dict]:
    rows = []
    for number, line in enumerate(log.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            rows.append({"it": int(row["it"]), "loss": float(row["loss"]), "syn_lr": float(row["syn_lr"])})
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{str(log)!r} line {number} is not a distillation log record ({exc})") from None
    if not rows:
        raise InputError(f"{str(log)!r} has no iterations yet; run (or resume) the distillation first")
    return rows


def load_curves(path: str | Path, label: str | None = None) -> CurveSource:
    """Read a distillation log / work dir / proxy file, an experts directory or a `train --json` record."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{str(path)!r} does not exist; give a distillation work directory or proxy file, an "
                          "experts directory or a `ftd-nas train --json` record")
    log = _distillation_log(path)
    if log is not None:
        name = path.name if path.name != "log.jsonl" else path.parent.name
        default = name.removesuffix(".run").removesuffix(".safetensors")
        return CurveSource(label or default, DISTILLATION, rows=_read_log(log))
    if path.is_dir() and any(path.glob("*.safetensors")):
        from ftd_nas.experts import ExpertDirectory

        experts = ExpertDirectory(path)
        histories = [experts[i].record.history for i in range(len(experts))]
        optimizer = experts.record.train.optimizer
        name = path.name if path.name == optimizer else f"{path.name}, {optimizer}"
        return CurveSource(label or f"{name} ({len(histories)} experts)", TRAINING, histories=histories)
    if path.is_file() and path.suffix == ".json":
        try:
            history = json.loads(path.read_text())["history"]
        except (ValueError, KeyError, TypeError):
            raise InputError(f"{str(path)!r} is not a training record with a 'history' "
                              "(write one with `ftd-nas train --json OUT`)") from None
        return CurveSource(label or path.stem, TRAINING, histories=[history])
    raise InputError(f"cannot find learning curves in {str(path)!r}: expected a distillation log.jsonl (or its "
                      "work directory or proxy file), an experts directory or a `ftd-nas train --json` record")


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last `window` values at each point (fewer at the start)."""
    sums = np.cumsum(np.insert(np.asarray(values, dtype=float), 0, 0.0))
    idx = np.arange(1, len(values) + 1)
    start = np.maximum(idx - window, 0)
    return (sums[idx] - sums[start]) / (idx - start)


def band(histories: list[list[dict]], key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Epochs where every run recorded `key`, and the mean, min and max over runs there."""
    per_run = [{r["epoch"]: r[key] for r in h if r.get(key) is not None} for h in histories]
    epochs = sorted(set.intersection(*(set(p) for p in per_run))) if per_run else []
    values = np.array([[p[e] for e in epochs] for p in per_run], dtype=float).reshape(len(per_run), len(epochs))
    return np.array(epochs), values.mean(0), values.min(0), values.max(0)


def _finish(fig):
    """Grid and legend on every panel, tight layout."""
    for ax in fig.axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def distillation_figure(sources: list[CurveSource], smooth: int | None = None):
    """Matching loss (faint raw, bold moving average) and the learned lr, per iteration."""
    fig, (ax_loss, ax_lr) = new_figure(1, 2, figsize=(10, 3.8))
    for i, src in enumerate(sources):
        color = f"C{i}"
        it = np.array([r["it"] for r in src.rows])
        loss = np.array([r["loss"] for r in src.rows])
        window = smooth or max(1, len(loss) // 25)
        ax_loss.plot(it, loss, color=color, alpha=0.25, linewidth=0.8)
        ax_loss.plot(it, moving_average(loss, window), color=color, label=f"{src.label} (mean of {window})")
        ax_lr.plot(it, [r["syn_lr"] for r in src.rows], color=color, label=src.label)
    ax_loss.set(xlabel="iteration", ylabel="trajectory-matching loss", title="matching loss")
    ax_lr.set(xlabel="iteration", ylabel="learned lr (syn_lr)", title="learned learning rate")
    return _finish(fig)


def training_figure(sources: list[CurveSource]):
    """Train loss, and train (solid) / validation (dashed) accuracy per epoch; bands span the runs of a source."""
    fig, (ax_loss, ax_acc) = new_figure(1, 2, figsize=(10, 3.8))
    for i, src in enumerate(sources):
        color = f"C{i}"
        for ax, key, style in ((ax_loss, "train_loss", "-"), (ax_acc, "train_acc", "-"), (ax_acc, "val_acc", "--")):
            epochs, mean, low, high = band(src.histories, key)
            if not len(epochs):
                continue
            ax.plot(epochs, mean, style, color=color, label=f"{src.label} {key.split('_')[0]}")
            if len(src.histories) > 1:
                ax.fill_between(epochs, low, high, color=color, alpha=0.15, linewidth=0)
    shaded = " (mean; shaded: min to max over runs)" if any(len(s.histories) > 1 for s in sources) else ""
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="training loss" + shaded)
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy (train solid, validation dashed)")
    return _finish(fig)


FIGURES = {DISTILLATION: distillation_figure, TRAINING: training_figure}


def curve_paths(sources: list[CurveSource], stem: str | Path) -> list[str]:
    """The files `write_curves` will write for these sources."""
    stem = Path(stem)
    kinds = [kind for kind in FIGURES if any(s.kind == kind for s in sources)]
    return [str(stem.with_name(f"{stem.name}-{kind}{ext}")) for kind in kinds for ext in (".png", ".pdf")]


def write_curves(sources: list[CurveSource], stem: str | Path) -> list[str]:
    """One figure per kind present, as STEM-distillation.{png,pdf} and STEM-training.{png,pdf}."""
    stem, written = Path(stem), []
    for kind, make in FIGURES.items():
        chosen = [s for s in sources if s.kind == kind]
        if chosen:
            written += save_figure(make(chosen), stem.with_name(f"{stem.name}-{kind}"))
    return written
