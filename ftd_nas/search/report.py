"""`ftd-nas report`: compare the rankings of one or more search runs with a ground-truth run."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from ftd_nas.errors import ConfigError
from ftd_nas.figures.ranking import accuracy_scatter, rank_scatter, topk_bars
from ftd_nas.io import atomic_path, write_json
from ftd_nas.records import diff_settings, format_diff
from ftd_nas.search.ranking import rank_agreement
from ftd_nas.search.runner import SearchRun, load_run


def run_label(run: SearchRun) -> str:
    ident = run.record.identity.source
    if ident["kind"] == "proxy":
        return f"{ident['method'].upper()} IPC {ident['ipc']}"
    return "Real" if ident["kind"] == "real" else f"Random IPC {ident['ipc']}"


def _scores(run: SearchRun, metric: str) -> dict[str, float]:
    return {r["candidate"]: r[metric] for r in run.rows if r["state"] == "COMPLETE" and r[metric] is not None}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "run"


MIN_COMMON = 5  # fewer candidates in common with the truth do not make a ranking


def coverage(run: SearchRun, space_size: int) -> dict:
    """How much of the space a run has finished, failed and still lacks."""
    finished = sum(r["state"] == "COMPLETE" for r in run.rows)
    failed = sum(r["state"] == "FAIL" for r in run.rows)
    return {"space": space_size, "finished": finished, "failed": failed, "missing": space_size - finished - failed}


def _coverage_text(c: dict) -> str:
    return f"{c['finished']} finished, {c['failed']} failed, {c['missing']} missing of {c['space']}"


def build_report(run_dirs: list[str], truth_dir: str, proxy_metric: str = "val_acc", truth_metric: str = "test_acc",
                 ks=(5, 10, 20), bootstrap: int = 1000, storage: str | None = None,
                 allow_partial: bool = False) -> dict:
    """Rank agreement of each run with the truth run; reads the runs' studies without writing to them.

    Every metric is computed on the candidates both runs finished; with fewer than MIN_COMMON of them, or
    under half of the space, the report is refused unless `allow_partial` (and then marked partial).
    """
    if not run_dirs:
        raise ConfigError("give at least one search run to compare with the truth")
    if not ks or min(ks) < 2:
        raise ConfigError(f"--ks takes top-k sizes >= 2 (a rank correlation needs two), got {list(ks)}")
    truth_run = load_run(truth_dir, storage)
    truth_identity = truth_run.record.identity
    if truth_identity.source["kind"] != "real":
        raise ConfigError(f"--truth {truth_dir!r} is not a real-data run (it trained on "
                          f"{run_label(truth_run)}); make one with `ftd-nas search --proxy real`")
    space_size = _space_size(truth_identity.space)
    truth = _scores(truth_run, truth_metric)
    truth_coverage = {**coverage(truth_run, space_size), "usable": len(truth)}
    entries, labels, slugs, partial = {}, set(), set(), []
    for run_dir in run_dirs:
        run = load_run(run_dir, storage)
        identity = run.record.identity
        diff = diff_settings({"space": truth_identity.space, "data": truth_identity.data.settings()},
                             {"space": identity.space, "data": identity.data.settings()})
        if diff:
            raise ConfigError(f"{run_dir!r} and the truth run {truth_dir!r} differ in their space or real data "
                              f"({format_diff(diff)}; truth vs run): compare runs over the same space, dataset and "
                              "validation split")
        label = run_label(run)
        while label in labels:
            label += "'"
        labels.add(label)
        slug = _slug(Path(run_dir).resolve().name)  # figures are named after the run they describe
        while slug in slugs:
            slug += "_"
        slugs.add(slug)
        scores = _scores(run, proxy_metric)
        agreement = rank_agreement(scores, truth, ks, bootstrap)
        cov = {**coverage(run, space_size), "common": agreement["n"]}
        if agreement["n"] < max(MIN_COMMON, (space_size + 1) // 2):
            partial.append(f"{label} ({run_dir}): {agreement['n']} candidates in common with the truth "
                           f"(run: {_coverage_text(cov)}; truth: {_coverage_text(truth_coverage)})")
        seconds = [r["seconds"] for r in run.rows if r["seconds"] is not None]
        entries[label] = {
            "run": run_dir, "slug": slug, "source": identity.source, "recipe": identity.recipe.to_dict(),
            "scores": scores, "agreement": agreement, "coverage": cov,
            "failed": [{"candidate": r["candidate"], "reason": r["fail_reason"]}
                       for r in run.rows if r["state"] == "FAIL"],
            "complete": len(scores), "space_size": space_size,
            "seconds_per_candidate": sum(seconds) / len(seconds) if seconds else None,
            "seconds_total": sum(seconds)}
    if partial and not allow_partial:
        raise ConfigError("too few candidates for a ranking (at least " + str(MIN_COMMON) + " and half the space "
                          "must be finished by both the run and the truth): " + "; ".join(partial)
                          + ". Finish the searches (re-run them to resume) or pass --allow-partial")
    return {"truth": truth_dir, "truth_metric": truth_metric, "proxy_metric": proxy_metric, "ks": list(ks),
            "truth_scores": truth, "truth_coverage": truth_coverage, "truth_recipe": truth_identity.recipe.to_dict(),
            "space": truth_identity.space, "proxies": entries, "partial": partial,
            "inputs": {"runs": [str(Path(r).resolve()) for r in run_dirs], "truth": str(Path(truth_dir).resolve()),
                       "proxy_metric": proxy_metric, "truth_metric": truth_metric, "ks": list(ks),
                       "allow_partial": allow_partial}}


def _space_size(space: dict) -> int:
    n = 1
    for values in space["axes"].values():
        n *= len(values)
    return n


def _fmt(v, pct=False) -> str:
    if v is None or v != v:
        return "-"
    return f"{100 * v:.1f}" if pct else f"{v:.2f}"


def coverage_lines(report: dict) -> list[str]:
    """Who finished what, on how many common candidates each metric stands, and whether the report is partial."""
    t = report["truth_coverage"]
    lines = [f"Coverage: truth {report['truth']}: {_coverage_text(t)}. Each metric is computed on the candidates a "
             "run and the truth both finished (column n).", ""]
    if report["partial"]:
        lines += ["**PARTIAL REPORT** (--allow-partial): too few candidates for a trustworthy ranking in "
                  + "; ".join(report["partial"]) + ".", ""]
    return lines


def markdown_table(report: dict) -> str:
    ks = report["ks"]
    lines = coverage_lines(report)
    for way, title in (("by_real", "top k = the k best architectures by real-data accuracy"),
                       ("by_proxy", "top k = the k best architectures by proxy accuracy")):
        lines += [f"Spearman correlation with the real-data ranking ({title}).", ""]
        head = ["proxy", "n"] + [f"top {k}" for k in ks] + ["all (95% CI)", "Kendall τ", "P@10",
                                                             "picked: real acc", "regret", "s / cand.", "total min",
                                                             "finished / failed / missing"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for label, e in report["proxies"].items():
            a = e["agreement"]
            ci = a["spearman_ci95"]
            c = e["coverage"]
            cells = [label, str(a["n"])] + [_fmt(a["topk"].get(str(k), {}).get(way, {}).get("spearman")) for k in ks]
            cells += [f"{_fmt(a['spearman'])} [{_fmt(ci[0])}, {_fmt(ci[1])}]", _fmt(a["kendall"]),
                      _fmt(a["topk"].get("10", {}).get("precision")), _fmt(a["picked_real_acc"], True),
                      _fmt(a["regret"], True), _fmt(e["seconds_per_candidate"]),
                      f"{e['seconds_total'] / 60:.1f}", f"{c['finished']} / {c['failed']} / {c['missing']}"]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    failures = [(label, f) for label, e in report["proxies"].items() for f in e["failed"]]
    if failures:
        lines += ["Failed candidates:", ""] + [f"- {label}: {f['candidate']}: {f['reason']}" for label, f in failures]
    return "\n".join(lines) + "\n"


CSV_COLUMNS = ["proxy", "run", "n_common", "finished", "failed", "missing", "space_size", "spearman", "spearman_lo",
               "spearman_hi", "kendall", "kendall_lo", "kendall_hi", "picked", "picked_real_acc", "best",
               "best_real_acc", "regret", "seconds_per_candidate", "seconds_total"]


def _check_replaceable(out: Path, report: dict, overwrite: bool) -> list[str]:
    """A report folder is refreshed for the same inputs; one of other runs is replaced only with --overwrite.
    Returns the figures of the report being replaced."""
    existing = out / "report.json"
    if not existing.exists():
        return []
    try:
        old = json.loads(existing.read_text())
    except (OSError, ValueError):
        old = {}
    if not overwrite and old.get("inputs") != report["inputs"]:
        raise ConfigError(f"{str(out)!r} holds a report of other runs or settings; pass --overwrite to replace it, "
                          "or choose another --out")
    return [f for f in old.get("figures", []) if isinstance(f, str)]


def write_report(report: dict, out: str | Path, overwrite: bool = False) -> dict:
    """report.json, report.csv, report.md and the figures; returns the paths written."""
    out = Path(out)
    replaced = _check_replaceable(out, report, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for label, e in report["proxies"].items():
        a = e["agreement"]
        c = e["coverage"]
        row = {"proxy": label, "run": e["run"], "n_common": a["n"], "finished": c["finished"], "failed": c["failed"],
               "missing": c["missing"], "space_size": e["space_size"],
               "spearman": a["spearman"], "spearman_lo": a["spearman_ci95"][0], "spearman_hi": a["spearman_ci95"][1],
               "kendall": a["kendall"], "kendall_lo": a["kendall_ci95"][0], "kendall_hi": a["kendall_ci95"][1],
               "picked": a["picked"], "picked_real_acc": a["picked_real_acc"], "best": a["best"],
               "best_real_acc": a["best_real_acc"], "regret": a["regret"],
               "seconds_per_candidate": e["seconds_per_candidate"], "seconds_total": e["seconds_total"]}
        for k, t in a["topk"].items():
            for way in ("by_real", "by_proxy"):
                row[f"top{k}_{way}_spearman"] = t[way]["spearman"]
                row[f"top{k}_{way}_kendall"] = t[way]["kendall"]
            row[f"precision_at_{k}"] = t["precision"]
        rows.append(row)
    columns = CSV_COLUMNS + sorted({k for r in rows for k in r} - set(CSV_COLUMNS))
    with atomic_path(out / "report.csv") as tmp:
        with open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
    summary = {label: {"spearman": e["agreement"]["spearman"], "kendall": e["agreement"]["kendall"],
                       "topk": e["agreement"]["topk"], **{k: v for k, v in e.items() if k != "scores"}}
               for label, e in report["proxies"].items()}
    figures = []
    partial = " (PARTIAL)" if report["partial"] else ""
    for label, e in report["proxies"].items():
        slug, note = e["slug"], f"{e['agreement']['n']} of {e['space_size']} candidates{partial}"
        figures += accuracy_scatter(e["scores"], report["truth_scores"], e["agreement"], label, out / f"scatter_{slug}",
                                    note=note)
        figures += rank_scatter(e["scores"], report["truth_scores"], e["agreement"], label, out / f"ranks_{slug}",
                                note=note)
    agreements = {label: e["agreement"] for label, e in report["proxies"].items()}
    counts = ", ".join(f"{label}: n = {e['agreement']['n']}" for label, e in report["proxies"].items())
    figures += topk_bars(agreements, out / "topk_by_real", "by_real", note=counts + partial)
    figures += topk_bars(agreements, out / "topk_by_proxy", "by_proxy", note=counts + partial)
    for stale in set(replaced) - set(figures):  # only files the replaced report listed, and only in this folder
        if Path(stale).parent.resolve() == out.resolve():
            Path(stale).unlink(missing_ok=True)
    table = markdown_table(report)
    with atomic_path(out / "report.md") as tmp:
        tmp.write_text(table)
    write_json(out / "report.json", {"spearman": {l: s["spearman"] for l, s in summary.items()},
                                     "kendall": {l: s["kendall"] for l, s in summary.items()},
                                     "topk": {l: s["topk"] for l, s in summary.items()},
                                     "proxies": summary, "truth": report["truth"],
                                     "truth_metric": report["truth_metric"], "proxy_metric": report["proxy_metric"],
                                     "space": report["space"], "truth_coverage": report["truth_coverage"],
                                     "truth_recipe": report["truth_recipe"], "partial": report["partial"],
                                     "figures": figures, "inputs": report["inputs"]})
    return {"table": table, "figures": figures, "dir": str(out)}
