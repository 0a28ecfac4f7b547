"""Write a matplotlib figure as PNG and PDF (the headless Agg backend, so it works on servers)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def save_figure(fig, stem: str | Path) -> list[str]:
    """Save `fig` as STEM.png and STEM.pdf, close it, and return the two paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [str(stem.with_name(stem.name + ext)) for ext in (".png", ".pdf")]
    for path in paths:
        fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)
    return paths
