"""Rank-correlation figures (PNG and PDF): proxy vs real accuracy, rank vs rank, top-k bars across proxies."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ftd_nas.agreement import aligned, rank_positions
from ftd_nas.figures.save import new_figure, save_figure


def accuracy_scatter(proxy: dict, truth: dict, agreement: dict, label: str, stem: Path, note: str = "",
                     proxy_err: dict | None = None, truth_err: dict | None = None,
                     proxy_name: str = "proxy validation accuracy",
                     truth_name: str = "real-data test accuracy", proxy_percent: bool = True) -> list[str]:
    """Proxy vs real accuracy per candidate; error bars: the std over each candidate's repeats (when it has some).
    A candidate that failed on the proxy (FAILED, ranked last by the statistics) has no accuracy to place: the
    title counts them. A proxy score that is not an accuracy (a training-free score) is drawn as it is
    (`proxy_percent` False)."""
    names, p, t = aligned(proxy, truth)
    failed = int(np.sum(~np.isfinite(p)))
    kept = np.isfinite(p)
    names, p, t = [n for n, keep in zip(names, kept) if keep], p[kept], t[kept]
    fig, ax = new_figure(figsize=(5, 4.5))
    px = 100 if proxy_percent else 1
    xerr = px * np.array([(proxy_err or {}).get(n) or 0.0 for n in names])
    yerr = 100 * np.array([(truth_err or {}).get(n) or 0.0 for n in names])
    if xerr.any() or yerr.any():
        ax.errorbar(px * p, 100 * t, xerr=xerr, yerr=yerr, fmt="none", ecolor="grey", alpha=0.5, lw=0.8)
    ax.scatter(px * p, 100 * t, s=18, alpha=0.75, edgecolor="none")
    if agreement.get("picked") in proxy:
        ax.scatter([px * proxy[agreement["picked"]]], [100 * truth[agreement["picked"]]], s=80, facecolor="none",
                   edgecolor="red", label=f"picked (regret {100 * agreement['regret']:.1f} pts)")
        ax.legend(loc="lower right", fontsize=8)
    ax.set_xlabel(f"{proxy_name} (%)" if proxy_percent else proxy_name)
    ax.set_ylabel(f"{truth_name} (%)")
    if not proxy_percent and len(p) and p.min() > 0 and p.max() / p.min() > 100:
        ax.set_xscale("log")  # scores spanning decades (synflow's) would crowd into one corner on a linear axis
    shown = note or f"{agreement['n']} architectures"
    shown += f"; {failed} failed on the proxy, ranked last, not drawn" if failed else ""
    ax.set_title(f"{label}: Spearman ρ = {agreement['spearman']:.2f}, Kendall τ = {agreement['kendall']:.2f}\n"
                 f"({shown})", fontsize=10)
    ax.grid(alpha=0.3)
    return save_figure(fig, stem)


def rank_scatter(proxy: dict, truth: dict, agreement: dict, label: str, stem: Path, note: str = "",
                 proxy_name: str = "proxy accuracy", truth_name: str = "real-data accuracy") -> list[str]:
    _, p, t = aligned(proxy, truth)
    rp, rt = rank_positions(p), rank_positions(t)
    fig, ax = new_figure(figsize=(4.8, 4.5))
    ax.scatter(rt, rp, s=18, alpha=0.75, edgecolor="none")
    ax.plot([1, len(p)], [1, len(p)], color="grey", lw=0.8, ls="--")
    ax.set_xlabel(f"rank by {truth_name} (1 = best)")
    ax.set_ylabel(f"rank by {proxy_name} (1 = best)")
    ax.set_title(f"{label}: ρ = {agreement['spearman']:.2f}" + (f"\n({note})" if note else ""), fontsize=10)
    ax.grid(alpha=0.3)
    return save_figure(fig, stem)


def _bound_line(ax, ceiling: dict | None, x0: float, x1: float) -> None:
    """The most a noiseless proxy reaches against this truth, sqrt(reliability) (see agreement.ceiling)."""
    if ceiling is not None and ceiling.get("bound"):
        ax.hlines(ceiling["bound"], x0, x1, color="grey", lw=1, ls="--",
                  label=f"noiseless proxy ≈ {ceiling['bound']:.2f} (√ reliability)")


def draw_interval(ax, x: float, value: float | None, ci: list | None, color: str = "black",
                  hollow: bool = False) -> None:
    """A point and its interval drawn from its bounds, so any interval is drawn, even one that does not contain
    its point (a percentile bootstrap's can miss it; the report says so where it happens). `hollow`: an open
    marker, for a second estimate of the same thing beside the first."""
    if ci is not None and ci[0] is not None:
        ax.vlines(x, ci[0], ci[1], color=color, lw=1.5, zorder=4, linestyles="dashed" if hollow else "solid")
        ax.hlines([ci[0], ci[1]], x - 0.12, x + 0.12, color=color, lw=1.5, zorder=4)
    if value is not None:
        ax.scatter([x], [value], zorder=5, **({"facecolors": "white", "edgecolors": color} if hollow else
                                              {"color": color}))


def group_intervals(groups: dict[str, dict], ceiling: dict | None, stem: Path, note: str = "") -> list[str]:
    """Spearman rho per group: its proxies (dots), the group's estimate with its 95% interval, the bound."""
    labels = list(groups)
    fig, ax = new_figure(figsize=(1.8 + 1.2 * len(labels), 4))
    for i, label in enumerate(labels):
        g = groups[label]
        values = [v for v in g["per_proxy"].get("spearman", []) if v is not None and np.isfinite(v)]
        ax.scatter([i] * len(values), values, s=14, color=f"C{i}", alpha=0.6, zorder=3)
        estimate = g["metrics"].get("spearman", {})
        draw_interval(ax, i, estimate.get("value"), estimate.get("ci"))
    _bound_line(ax, ceiling, -0.5, len(labels) - 0.5)
    ax.set_xticks(np.arange(len(labels)), labels)
    ax.set_xlim(-0.5, len(labels) - 0.5)
    ax.set_ylabel("Spearman ρ with real-data ranking")
    ax.set_title("ρ per group: proxies (dots), estimate with 95% interval" + (f"\n{note}" if note else ""),
                 fontsize=9)
    if ceiling is not None and ceiling.get("bound"):
        ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="y", alpha=0.3)
    return save_figure(fig, stem)


def topk_curves(groups: dict[str, dict], ceiling: dict | None, ks, stem: Path, way: str = "by_real",
                note: str = "") -> list[str]:
    """Rank correlation over the top k (and the whole space) per group, with 95% interval bands where every
    point has one; the noiseless bound only over the whole space (top-k bounds cannot be estimated unbiased)."""
    ks = sorted(ks)
    xs, ticks = list(range(len(ks) + 1)), [f"top {k}" for k in ks] + ["all"]
    fig, ax = new_figure(figsize=(1.6 + 1.1 * len(xs), 4))
    for i, (label, g) in enumerate(groups.items()):
        points = [g["metrics"].get(key, {}) for key in [f"top{k}_{way}" for k in ks] + ["spearman"]]
        ax.plot(xs, np.array([p.get("value") for p in points], dtype=float), marker="o", color=f"C{i}", label=label)
        if all(p.get("ci") and p["ci"][0] is not None for p in points):
            ax.fill_between(xs, [p["ci"][0] for p in points], [p["ci"][1] for p in points], color=f"C{i}",
                            alpha=0.15, lw=0)
    if ceiling is not None and ceiling.get("bound"):
        ax.scatter([xs[-1]], [ceiling["bound"]], marker="_", s=400, color="grey",
                   label=f"noiseless proxy ≈ {ceiling['bound']:.2f}")
    ax.set_xticks(xs, ticks)
    ax.axhline(0, color="black", lw=0.6)
    ax.set_ylim(-1, 1.05)
    ax.set_ylabel("Spearman ρ with real-data ranking")
    way_text = "k best by real accuracy" if way == "by_real" else "k best by proxy accuracy"
    ax.set_title(f"Rank correlation over the top k ({way_text})" + (f"\n{note}" if note else ""), fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save_figure(fig, stem)
