"""Make and write matplotlib figures (PNG and PDF) without pyplot: no global state and no GUI backend, so
importing ftd-nas never touches matplotlib's settings and figures work on a server without a display."""

from __future__ import annotations

from pathlib import Path


def new_figure(nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] = (5, 4)):
    """(figure, axes) like `pyplot.subplots`, as a standalone Figure that needs no backend to be chosen."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols)


def save_figure(fig, stem: str | Path) -> list[str]:
    """Save `fig` as STEM.png and STEM.pdf (each atomically: a reader never sees half a figure, and a symbolic link
    at the path is replaced, never written through) and return the two paths."""
    from ftd_nas.io import atomic_path

    stem = Path(stem)
    paths = [str(stem.with_name(stem.name + ext)) for ext in (".png", ".pdf")]
    for path in paths:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=Path(path).suffix[1:], dpi=150, bbox_inches="tight")
    return paths
