"""Rank-correlation figures (PNG and PDF): proxy vs real accuracy, rank vs rank, top-k bars across proxies."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ftd_nas.agreement import aligned, rank_positions
from ftd_nas.figures.save import new_figure, save_figure


def accuracy_scatter(proxy: dict, truth: dict, agreement: dict, label: str, stem: Path, note: str = "",
                     proxy_err: dict | None = None, truth_err: dict | None = None,
                     proxy_name: str = "proxy validation accuracy",
                     truth_name: str = "real-data test accuracy") -> list[str]:
    """Proxy vs real accuracy per candidate; error bars: the std over each candidate's repeats (when it has some)."""
    names, p, t = aligned(proxy, truth)
    fig, ax = new_figure(figsize=(5, 4.5))
    xerr = 100 * np.array([(proxy_err or {}).get(n) or 0.0 for n in names])
    yerr = 100 * np.array([(truth_err or {}).get(n) or 0.0 for n in names])
    if xerr.any() or yerr.any():
        ax.errorbar(100 * p, 100 * t, xerr=xerr, yerr=yerr, fmt="none", ecolor="grey", alpha=0.5, lw=0.8)
    ax.scatter(100 * p, 100 * t, s=18, alpha=0.75, edgecolor="none")
    if agreement.get("picked") in proxy:
        ax.scatter([100 * proxy[agreement["picked"]]], [100 * truth[agreement["picked"]]], s=80, facecolor="none",
                   edgecolor="red", label=f"picked (regret {100 * agreement['regret']:.1f} pts)")
        ax.legend(loc="lower right", fontsize=8)
    ax.set_xlabel(f"{proxy_name} (%)")
    ax.set_ylabel(f"{truth_name} (%)")
    ax.set_title(f"{label}: Spearman ρ = {agreement['spearman']:.2f}, Kendall τ = {agreement['kendall']:.2f}\n"
                 f"({note or str(agreement['n']) + ' architectures'})", fontsize=10)
    ax.grid(alpha=0.3)
    return save_figure(fig, stem)


def rank_scatter(proxy: dict, truth: dict, agreement: dict, label: str, stem: Path, note: str = "") -> list[str]:
    _, p, t = aligned(proxy, truth)
    rp, rt = rank_positions(p), rank_positions(t)
    fig, ax = new_figure(figsize=(4.8, 4.5))
    ax.scatter(rt, rp, s=18, alpha=0.75, edgecolor="none")
    ax.plot([1, len(p)], [1, len(p)], color="grey", lw=0.8, ls="--")
    ax.set_xlabel("rank by real-data accuracy (1 = best)")
    ax.set_ylabel("rank by proxy accuracy (1 = best)")
    ax.set_title(f"{label}: ρ = {agreement['spearman']:.2f}" + (f"\n({note})" if note else ""), fontsize=10)
    ax.grid(alpha=0.3)
    return save_figure(fig, stem)


def _ceiling_band(ax, ceiling: dict | None, x0: float, x1: float, label: str = "noise ceiling") -> None:
    if ceiling is not None and ceiling["ci"][0] is not None:
        ax.axhspan(ceiling["ci"][0], ceiling["ci"][1], color="grey", alpha=0.2, lw=0)
        ax.hlines(ceiling["rho"], x0, x1, color="grey", lw=1, ls="--", label=f"{label} {ceiling['rho']:.2f}")


def group_intervals(groups: dict[str, dict], ceiling: dict | None, stem: Path, note: str = "") -> list[str]:
    """Spearman rho per group: its runs (dots), their mean with the paired-bootstrap 95% interval, the ceiling."""
    labels = list(groups)
    fig, ax = new_figure(figsize=(1.8 + 1.2 * len(labels), 4))
    for i, label in enumerate(labels):
        g = groups[label]
        values = [v for v in g["summary"]["spearman"]["values"] if v is not None]
        ax.scatter([i] * len(values), values, s=14, color=f"C{i}", alpha=0.6, zorder=3)
        boot = g["bootstrap"].get("spearman")
        mean = g["summary"]["spearman"]["mean"]
        if boot and boot["ci"][0] is not None:
            ax.errorbar([i], [boot["value"]], yerr=[[boot["value"] - boot["ci"][0]], [boot["ci"][1] - boot["value"]]],
                        fmt="o", color="black", capsize=6, zorder=4)
        elif mean is not None:
            ax.scatter([i], [mean], color="black", zorder=4)
    _ceiling_band(ax, ceiling, -0.5, len(labels) - 0.5)
    ax.set_xticks(np.arange(len(labels)), labels)
    ax.set_xlim(-0.5, len(labels) - 0.5)
    ax.set_ylabel("Spearman ρ with real-data ranking")
    ax.set_title("ρ per group: runs (dots), mean with 95% interval" + (f"\n{note}" if note else ""), fontsize=9)
    if ceiling is not None:
        ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="y", alpha=0.3)
    return save_figure(fig, stem)


def topk_curves(groups: dict[str, dict], ceiling: dict | None, ks, stem: Path, way: str = "by_real",
                note: str = "") -> list[str]:
    """Rank correlation over the top k (and the whole space) per group, with 95% interval bands."""
    ks = sorted(ks)
    xs, ticks = list(range(len(ks) + 1)), [f"top {k}" for k in ks] + ["all"]
    fig, ax = new_figure(figsize=(1.6 + 1.1 * len(xs), 4))
    for i, (label, g) in enumerate(groups.items()):
        keys = [f"top{k}_{way}" for k in ks] + ["spearman"]
        boot = g["bootstrap"]
        values = [boot[key]["value"] if key in boot else g["summary"][key]["mean"] for key in keys]
        ax.plot(xs, np.array(values, dtype=float), marker="o", color=f"C{i}", label=label)
        if all(key in boot and boot[key]["ci"][0] is not None for key in keys):
            ax.fill_between(xs, [boot[key]["ci"][0] for key in keys], [boot[key]["ci"][1] for key in keys],
                            color=f"C{i}", alpha=0.15, lw=0)
    if ceiling is not None and way == "by_real":
        levels = [ceiling["topk"].get(str(k), {}).get("rho", np.nan) for k in ks] + [ceiling["rho"]]
        ax.plot(xs, np.array(levels, dtype=float), color="grey", ls="--", label="noise ceiling")
    ax.set_xticks(xs, ticks)
    ax.axhline(0, color="black", lw=0.6)
    ax.set_ylim(-1, 1.05)
    ax.set_ylabel("Spearman ρ with real-data ranking")
    way_text = "k best by real accuracy" if way == "by_real" else "k best by proxy accuracy"
    ax.set_title(f"Rank correlation over the top k ({way_text})" + (f"\n{note}" if note else ""), fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save_figure(fig, stem)
