"""Rank-correlation figures (PNG and PDF): proxy vs real accuracy, rank vs rank, top-k bars across proxies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.stats import rankdata

from ftd_nas.figures.save import new_figure, save_figure


def _pairs(proxy: dict, truth: dict) -> tuple[np.ndarray, np.ndarray]:
    names = sorted(set(proxy) & set(truth))
    return np.array([proxy[n] for n in names]), np.array([truth[n] for n in names])


def accuracy_scatter(proxy: dict, truth: dict, agreement: dict, label: str, stem: Path, note: str = "",
                     proxy_name: str = "proxy validation accuracy",
                     truth_name: str = "real-data test accuracy") -> list[str]:
    p, t = _pairs(proxy, truth)
    fig, ax = new_figure(figsize=(5, 4.5))
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
    p, t = _pairs(proxy, truth)
    rp, rt = rankdata(-p), rankdata(-t)
    fig, ax = new_figure(figsize=(4.8, 4.5))
    ax.scatter(rt, rp, s=18, alpha=0.75, edgecolor="none")
    ax.plot([1, len(p)], [1, len(p)], color="grey", lw=0.8, ls="--")
    ax.set_xlabel("rank by real-data accuracy (1 = best)")
    ax.set_ylabel("rank by proxy accuracy (1 = best)")
    ax.set_title(f"{label}: ρ = {agreement['spearman']:.2f}" + (f"\n({note})" if note else ""), fontsize=10)
    ax.grid(alpha=0.3)
    return save_figure(fig, stem)


def topk_bars(agreements: dict[str, dict], stem: Path, way: str = "by_real", note: str = "") -> list[str]:
    """Grouped bars: Spearman rho over the top k (and the whole space) for each proxy."""
    labels = list(agreements)
    ks = sorted({int(k) for a in agreements.values() for k in a["topk"]})
    groups = [f"top {k}" for k in ks] + ["all"]
    fig, ax = new_figure(figsize=(1.6 + 1.3 * len(groups), 4))
    width = 0.8 / max(len(labels), 1)
    for i, label in enumerate(labels):
        a = agreements[label]
        values = [a["topk"].get(str(k), {}).get(way, {}).get("spearman", np.nan) for k in ks] + [a["spearman"]]
        x = np.arange(len(groups)) + (i - (len(labels) - 1) / 2) * width
        ax.bar(x, np.nan_to_num(values), width, label=label)
    ax.set_xticks(np.arange(len(groups)), groups)
    ax.axhline(0, color="black", lw=0.6)
    ax.set_ylabel("Spearman ρ with real-data ranking")
    way_text = "k best by real accuracy" if way == "by_real" else "k best by proxy accuracy"
    ax.set_title(f"Rank correlation over the top k ({way_text})" + (f"\n{note}" if note else ""), fontsize=9)
    ax.set_ylim(-1, 1)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return save_figure(fig, stem)
