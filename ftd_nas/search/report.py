"""`ftd-nas report`: compare the rankings of one or more search runs with a ground truth: a real-data run, or a
published table imported by `ftd-nas truth` (`truth.py` decides which runs either may judge)."""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path


from ftd_nas.agreement import (FAILED, format_interval, format_value, noise_ceiling, of_noise_free,
                               rank_agreement)
from ftd_nas.errors import ConfigError
from ftd_nas.figures.ranking import accuracy_scatter, group_intervals, rank_scatter, topk_curves
from ftd_nas.io import atomic_path, write_json
from ftd_nas.proxy_methods import display_name
from ftd_nas.records import RecordError
from ftd_nas.search.candidates_table import read_candidates, write_candidates
from ftd_nas.search.comparisons import ALPHA, default_family, inference, parse_primary
from ftd_nas.search.report_record import ReportRecord, read_report
from ftd_nas.search.results import FAIL, PROXY_SCORE, PRUNED, ZC, ranking_metric
from ftd_nas.search.runner import SearchRun, load_run
from ftd_nas.search.truth import Truth, load_truth


def run_label(run: SearchRun) -> str:
    """The default label: the proxy's method and IPC; a real-data run used as a proxy is early stopping; a
    training-free run is its scorer's name."""
    ident = run.record.identity.source
    if ident["kind"] == "proxy":
        return f"{display_name(ident['method'])} IPC {ident['ipc']}"
    if ident["kind"] == ZC:
        return f"{ident['scorer']} (training-free)"
    if ident["kind"] == "real":
        return f"Early stopping ({run.record.identity.recipe.epochs} epochs)"
    return f"Random IPC {ident['ipc']}"


def _scores(run: SearchRun | Truth, metric: str) -> dict[str, float]:
    """Each finished candidate's finite score: the truth, where a candidate without one is unknown, not last."""
    return {r.candidate: s for r in run.rows if (s := r.score(metric)) is not None and math.isfinite(s)}


def _proxy_scores(run: SearchRun, metric: str) -> dict[str, float]:
    """A proxy run's scores: FAILED (ranked last, never dropped) for a candidate that failed, was pruned or scored
    NaN; a finished one without the metric is unknown and left out."""
    finite = _scores(run, metric)
    return {r.candidate: finite.get(r.candidate, FAILED) for r in run.rows
            if not r.complete or r.score(metric) is not None}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "run"


MIN_COMMON = 5  # fewer candidates in common with the truth do not make a ranking


def coverage(run: SearchRun | Truth, space_size: int) -> dict:
    """How much of the space a run has finished, failed (or pruned) and still lacks."""
    finished = sum(r.complete for r in run.rows)
    failed = sum(r.state in (FAIL, PRUNED) for r in run.rows)
    return {"space": space_size, "finished": finished, "failed": failed, "missing": space_size - finished - failed}


def _scope_text(scope: frozenset[str] | None, size: int) -> str:
    return f"all {size} candidates" if scope is None else f"{len(scope)} candidates"


def _coverage_text(c: dict) -> str:
    return f"{c['finished']} finished, {c['failed']} failed or pruned, {c['missing']} missing of {c['space']}"


def _repeat_values(run: SearchRun | Truth, metric: str) -> dict[str, list[float]]:
    """Per finished candidate, the finite metric of each finished repeat."""
    repeats = {r.candidate: [v for v in r.repeat_scores(metric) if math.isfinite(v)] for r in run.rows}
    return {c: v for c, v in repeats.items() if v}


def _spread(run: SearchRun | Truth, metric: str) -> dict[str, float]:
    return {r.candidate: r.spread(metric) for r in run.rows if r.spread(metric) is not None}


def build_report(run_dirs: list[str], truth_dir: str, proxy_metric: str = "val_acc", truth_metric: str = "test_acc",
                 ks=(5, 10, 20), bootstrap: int = 1000, storage: str | None = None, allow_partial: bool = False,
                 labels: list[str] | None = None, seed: int = 0, primary: list[str] | None = None,
                 primary_metric: str = "spearman") -> dict:
    """Rank agreement of each run with the truth (a real-data run or a published table: `load_truth`), grouped by
    label, with the truth's reliability (a table has none: one value per candidate), the
    declared comparisons of the groups (`primary`, "A vs B"; default each method against the random subset of the
    same size) corrected for their number, and the exploratory rest; reads the runs' studies without writing.

    Runs with the same label (default: method and IPC) form a group, e.g. proxies distilled with different seeds.
    A run ranks by `proxy_metric`, except a training-free run (zc:NAME), which has only its score and ranks by that
    (`ranking_metric`; each run's entry names its metric). Every metric of a run is computed on the candidates it
    and the truth both finished; with fewer than MIN_COMMON of them, or under half of the space, the report is
    refused unless `allow_partial` (and then marked partial). The comparisons use the candidates every run and the
    truth finished.
    """
    if not run_dirs:
        raise ConfigError("give at least one search run to compare with the truth")
    if labels is not None and len(labels) != len(run_dirs):
        raise ConfigError(f"{len(run_dirs)} runs but {len(labels)} --label values; give one label per run")
    if not ks or min(ks) < 2:
        raise ConfigError(f"--ks takes top-k sizes >= 2 (a rank correlation needs two), got {list(ks)}")
    ground = load_truth(truth_dir, storage)
    if any(Path(r).resolve() == Path(truth_dir).resolve() for r in run_dirs):
        raise ConfigError(f"{truth_dir!r} is the truth and one of the runs: compare other runs with it")
    space_size = ground.space_size
    truth = ground.scores(truth_metric)
    truth_coverage = {**coverage(ground, space_size), "usable": len(truth),
                      "repeats": sum(r.repeats for r in ground.rows)}
    runs, slugs, names, partial, scope = [], set(), set(), [], None
    for i, run_dir in enumerate(run_dirs):
        run = load_run(run_dir, storage)
        identity = run.record.identity
        judged = ground.judge(identity, run_dir)
        if runs and judged.scope != scope:
            raise ConfigError(f"{run_dir!r} searched other candidates of the truth table than {runs[0]['run']!r} "
                              f"({_scope_text(judged.scope, ground.space_size)} vs "
                              f"{_scope_text(scope, ground.space_size)}): "
                              "a report compares runs over the same candidates; report them separately, or search "
                              "the same space (its network settings may differ)")
        if not runs and judged.scope is not None:
            # runs over part of a table's space are judged on their candidates alone (regret from their best)
            scope, space_size = judged.scope, len(judged.scope)
            truth = {c: v for c, v in truth.items() if c in scope}
        label = labels[i] if labels else run_label(run)
        folder = Path(run_dir).resolve().name
        name = label if label not in names else f"{label} ({folder})"
        while name in names:
            name += "'"
        names.add(name)
        slug = _slug(folder)  # figures are named after the run they describe
        while slug in slugs:
            slug += "_"
        slugs.add(slug)
        metric = ranking_metric(identity.source, proxy_metric)
        scores = _proxy_scores(run, metric)
        agreement = rank_agreement(scores, truth, ks, bootstrap)
        cov = {**coverage(run, space_size), "common": agreement["n"]}
        if agreement["n"] < max(MIN_COMMON, (space_size + 1) // 2):
            partial.append(f"{name} ({run_dir}): {agreement['n']} candidates in common with the truth "
                           f"(run: {_coverage_text(cov)}; truth: {_coverage_text(truth_coverage)})")
        seconds = [r.seconds for r in run.rows if r.seconds is not None]
        runs.append({
            "name": name, "label": label, "run": run_dir, "slug": slug, "source": identity.source,
            "recipe": identity.recipe.to_dict(), "metric": metric, "scores": scores, "spread": _spread(run, metric),
            "agreement": agreement, "coverage": cov,
            "failed": [{"candidate": r.candidate, "reason": r.fail_reason} for r in run.rows if r.state == FAIL],
            "space_size": space_size, "seconds_per_candidate": sum(seconds) / len(seconds) if seconds else None,
            "seconds_total": sum(seconds), "train_images": run.record.train_images,
            "creation_seconds": run.record.proxy_seconds, "data": judged.data,
            "space_differences": list(judged.differences)})
    if partial and not allow_partial:
        raise ConfigError("too few candidates for a ranking (at least " + str(MIN_COMMON) + " and half the space "
                          "must be finished by both the run and the truth): " + "; ".join(partial)
                          + ". Finish the searches (re-run them to resume) or pass --allow-partial")
    truth_repeats = _repeat_values(ground, truth_metric)
    if scope is not None:  # the truth as far as the runs' candidates go (a table: one value each)
        truth_repeats = {c: v for c, v in truth_repeats.items() if c in scope}
        truth_coverage = {"space": space_size, "finished": len(truth), "failed": 0, "missing": space_size - len(truth),
                          "usable": len(truth), "repeats": len(truth)}
    return {"truth": truth_dir, "truth_metric": truth_metric, "proxy_metric": proxy_metric, "ks": list(ks),
            "truth_scores": truth, "truth_repeats": truth_repeats, "truth_spread": _spread(ground, truth_metric),
            "truth_coverage": truth_coverage, "truth_recipe": ground.recipe,
            "truth_source": {**ground.source, "description": ground.description},
            "space": ground.space, "runs": runs, "partial": partial,
            **group_statistics(runs, truth, truth_repeats, ks, bootstrap, seed, primary, primary_metric),
            "inputs": {"runs": [str(Path(r).resolve()) for r in run_dirs], "truth": str(Path(truth_dir).resolve()),
                       "labels": labels, "proxy_metric": proxy_metric, "truth_metric": truth_metric,
                       "ks": list(ks), "bootstrap": bootstrap, "allow_partial": allow_partial,
                       "primary": primary, "primary_metric": primary_metric}}


def group_statistics(runs: list[dict], truth: dict[str, float], truth_repeats: dict[str, list[float]], ks,
                     bootstrap: int, seed: int, primary: list[str] | None, primary_metric: str) -> dict:
    """The report's inference over its runs: groups, the declared family (default: each method against the random
    subset of its size) and the exploratory rest, what each metric could detect, and the truth's reliability."""
    group_labels = list(dict.fromkeys(r["label"] for r in runs))
    family = parse_primary(primary or [], group_labels, primary_metric, ks)
    if not primary:
        family = default_family(runs, primary_metric)
    found = inference(runs, truth, max(truth.values()), ks, bootstrap, seed, family)
    return {"groups": found["groups"], "comparisons": found["comparisons"], "comparison_candidates":
            found["candidates"], "family": found["family"], "detectable": found["detectable"],
            "noise_ceiling": noise_ceiling(truth_repeats, bootstrap, seed=seed)}


def report_from_candidates(path: str | Path, ks=(5, 10, 20), bootstrap: int = 1000, seed: int = 0,
                           primary: list[str] | None = None, primary_metric: str = "spearman") -> dict:
    """A report's statistics recomputed from its candidates.csv alone (no studies): each run's agreement and the
    group statistics, in the shapes `build_report` gives them (without costs, coverage or figures)."""
    table = read_candidates(path)
    runs = [{**run, "agreement": rank_agreement(run["scores"], table.truth, ks, bootstrap)} for run in table.runs]
    return {"ks": list(ks), "runs": runs, "truth_scores": table.truth, "truth_repeats": table.truth_repeats,
            "inputs": {"bootstrap": bootstrap},
            **group_statistics(runs, table.truth, table.truth_repeats, ks, bootstrap, seed, primary, primary_metric)}


def conclusion_lines(report: dict) -> list[str]:
    """What the report concludes: the groups, the declared family, the exploratory rest and what the design could
    detect."""
    return group_lines(report) + family_lines(report) + exploratory_lines(report) + detectable_lines(report)


PERCENT = {"digits": 1, "scale": 100}  # accuracies and regret, in points


def truth_lines(report: dict) -> list[str]:
    """What the truth is, and for a published table what the runs' data is to it (its publisher measured on its own
    copy of the dataset family, with its own training)."""
    source = report.get("truth_source") or {}
    if not source:
        return []
    if source["kind"] != "table":
        return [f"Truth: {source['description']}.", ""]
    data = "; ".join(sorted({e["data"] for e in report["runs"]}))
    differences = {}
    for e in report["runs"]:
        for text in e.get("space_differences", []):
            differences.setdefault(text, []).append(e["name"])
    spaces = [f"{text} ({'all runs' if len(names) == len(report['runs']) else ', '.join(names)})"
              for text, names in differences.items()]
    return [f"Truth: {source['description']}. The runs scored their candidates on {data}; the table's numbers come "
            f"from its publisher's own training on its copy of {source['dataset_family']}: the report compares "
            "rankings, not accuracies." + (f" The runs' space differs from the table's: {'; '.join(spaces)}."
                                           if spaces else ""), ""]


def coverage_lines(report: dict) -> list[str]:
    """Who finished what, on how many common candidates each metric stands, and whether the report is partial."""
    t = report["truth_coverage"]
    made = "published values" if (report.get("truth_source") or {}).get("kind") == "table" else \
        f"{t['repeats']} trainings"
    lines = [f"Coverage: truth {report['truth']}: {_coverage_text(t)} ({made}). Each metric of a "
             "run is computed on the candidates the truth finished and the run finished or failed (column n; a failure "
             f"ranks last); the groups on the {report['comparison_candidates']} candidates all runs have.", ""]
    if report["partial"]:
        lines += ["**PARTIAL REPORT** (--allow-partial): too few candidates for a trustworthy ranking in "
                  + "; ".join(report["partial"]) + ".", ""]
    return lines


def ceiling_lines(report: dict) -> list[str]:
    ceiling = report["noise_ceiling"]
    if ceiling is None and (report.get("truth_source") or {}).get("kind") == "table":
        return ["Truth reliability: not measured; a published table gives one value per candidate (no repeats to "
                "compare), so how well its ranking agrees with itself cannot be estimated here, and there is no bound "
                "for the column ρ/√r.", ""]
    if ceiling is None:
        return ["Truth reliability: not measured; the truth has one training per candidate. Run it with --repeats 3 "
                "(or more) to learn how well the real-data ranking agrees with itself.", ""]
    if ceiling["rho"] is None:
        return ["Truth reliability: undefined (the truth's repeats rank no candidate above another).", ""]
    low, high = ceiling["repeats"]["min"], ceiling["repeats"]["max"]
    bound = (f"A proxy ranking exactly as the noise-free truth would reaches about √r = "
             f"{format_value(ceiling['bound'])} against this truth: that is the ceiling, and the column ρ/√r "
             "estimates a proxy's agreement with the noise-free ranking (above 1 only by chance). "
             if ceiling["bound"] else "The truth does not agree with itself: no proxy can be judged against it. ")
    repeats = low if low == high else f"{low}-{high}"
    return [f"Truth reliability r = {format_interval(ceiling['rho'], ceiling['ci'])} ({repeats} repeats per "
            "candidate; Spearman between every pair of repeats, stepped up to the truth's size with Spearman-Brown; "
            "95% bootstrap interval over candidates): how well another real-data run of the same "
            f"size would agree with this truth. {bound}Top-k ceilings are not given: they cannot be estimated "
            "without bias from these repeats.", ""]


def interval_warnings(report: dict) -> list[str]:
    """Every estimate lying outside its own interval: there the percentile bootstrap is biased and its interval
    should not be trusted."""
    found = []

    def check(where: str, value, ci) -> None:
        if value is not None and value == value and ci and ci[0] is not None and not ci[0] <= value <= ci[1]:
            found.append(f"{where}: {format_interval(value, ci)}")

    for e in report["runs"]:
        a = e["agreement"]
        check(f"{e['name']} Spearman", a["spearman"], a["spearman_ci95"])
        check(f"{e['name']} Kendall", a["kendall"], a["kendall_ci95"])
        check(f"{e['name']} Kendall over the better half", a.get("kendall_half"), a.get("kendall_half_ci95"))
        for k, t in a["topk"].items():
            for way in ("by_real", "by_proxy"):
                check(f"{e['name']} top {k} {way}", t[way]["spearman"], t[way].get("spearman_ci95"))
    ceiling = report["noise_ceiling"]
    if ceiling:
        check("truth reliability", ceiling["rho"], ceiling["ci"])
    return found


def markdown_table(report: dict) -> str:
    ks, ceiling = report["ks"], report["noise_ceiling"]
    lines = truth_lines(report) + coverage_lines(report) + ceiling_lines(report)
    for way, title in (("by_real", "top k = the k best architectures by real-data accuracy"),
                       ("by_proxy", "top k = the k best architectures by proxy accuracy")):
        lines += [f"Spearman correlation with the real-data ranking, per run ({title}; ties count at their "
                  "expected value over tie orders; a candidate that failed on the proxy ranks last).", ""]
        head = ["run", "n"] + [f"top {k}" for k in ks] + ["all (95% CI)", "ρ/√r", "Kendall τ", "τ better half",
                                                           "P@10", "picked: real acc", "regret", "images",
                                                           "creation min", "s / cand.", "search min",
                                                           "finished / failed / missing"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for e in report["runs"]:
            a, c = e["agreement"], e["coverage"]
            cells = [e["name"], str(a["n"])] + [format_value(a["topk"].get(str(k), {}).get(way, {}).get("spearman"))
                                                for k in ks]
            cells += [format_interval(a["spearman"], a["spearman_ci95"]),
                      format_value(of_noise_free(a["spearman"], ceiling)),
                      format_value(a["kendall"]), format_value(a.get("kendall_half")),
                      format_value(a["topk"].get("10", {}).get("precision")),
                      format_value(a["picked_real_acc"], **PERCENT), format_value(a["regret"], **PERCENT),
                      str(e["train_images"] or "-"),
                      f"{e['creation_seconds'] / 60:.1f}" if e["creation_seconds"] is not None else "-",
                      format_value(e["seconds_per_candidate"]), f"{e['seconds_total'] / 60:.1f}",
                      f"{c['finished']} / {c['failed']} / {c['missing']}"]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    outside = interval_warnings(report)
    if outside:
        lines += ["**Estimates outside their own 95% interval** (the percentile bootstrap is biased there; do not "
                  "read those intervals as coverage): " + "; ".join(outside) + ".", ""]
    lines += conclusion_lines(report)
    failures = [(e["name"], f) for e in report["runs"] for f in e["failed"]]
    if failures:
        lines += ["Failed candidates (ranked last by every metric):", ""]
        lines += [f"- {name}: {f['candidate']}: {f['reason']}" for name, f in failures]
    return "\n".join(lines) + "\n"


DESIGN_TEXT = {"proxies": "a group of several proxies has the t interval over its proxies (the space and the truth "
                          "fixed; what varies is the method's proxies)",
               "candidates": "a group of one proxy has a normal interval from a bootstrap over candidates (it "
                             "describes this proxy, not its method, over candidates like these; a comparison with "
                             "such a group is made the same way)"}


def _metrics_shown(ks) -> list[str]:
    return ["spearman", "kendall", "kendall_half", *(f"top{k}_by_real" for k in ks), "regret"]


def group_lines(report: dict) -> list[str]:
    """Each group's estimate and 95% interval per metric, on the same candidates, and how each interval was made."""
    ks, ceiling = report["ks"], report["noise_ceiling"]
    metrics = _metrics_shown(ks)
    designs = sorted({e["design"] for g in report["groups"].values() for e in g["metrics"].values()})
    lines = [f"Groups on the {report['comparison_candidates']} candidates every run and the truth have: each metric "
             "as the mean over the group's proxies with its 95% interval: "
             + "; ".join(f"{DESIGN_TEXT[d]}" for d in designs) + ".", ""]
    head = ["group", "proxies", *metrics, "ρ/√r"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, g in report["groups"].items():
        cells = [label, str(g["proxies"])]
        for m in metrics:
            e = g["metrics"].get(m, {})
            cells.append(format_interval(e.get("value"), e.get("ci"), **(PERCENT if m == "regret" else {})))
        cells.append(format_value(of_noise_free(g["metrics"]["spearman"]["value"], ceiling)))
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def family_lines(report: dict) -> list[str]:
    """The declared comparisons and their Holm-corrected verdicts."""
    family = report["family"]
    if not family["pairs"]:
        return ["Primary comparisons: none declared, and no random-subset group of a method's size to compare "
                "with by default; pass --primary \"A vs B\" to declare some. Everything below is exploratory.", ""]
    primary = [c for c in report["comparisons"] if c["role"] == "primary"]
    lines = [f"Primary comparisons ({family['size']}, declared by {family['declared_by']}, on {family['metric']}; "
             f"Holm-corrected: the chance of any false claim among them is at most {ALPHA:.0%}):", ""]
    lines += [f"- {c['verdict']}" for c in primary]
    return lines + [""]


def exploratory_lines(report: dict) -> list[str]:
    """Every other pair and metric, with raw intervals and no verdict."""
    rest = [c for c in report["comparisons"] if c["role"] == "exploratory"]
    if not rest:
        return []
    metrics = [m for m in _metrics_shown(report["ks"]) if any(c["metric"] == m for c in rest)]
    pairs = list(dict.fromkeys((c["a"], c["b"]) for c in rest))
    cell = {(c["a"], c["b"], c["metric"]): c["shown"] + (" †" if _excludes_zero(c) else "") for c in rest}
    lines = ["Exploratory differences (a minus b, raw 95% intervals, no correction: not findings; † marks an "
             "interval that excludes 0, which with this many comparisons can happen by chance):", ""]
    head = ["a vs b", *metrics]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join([f"{a} vs {b}"] + [cell.get((a, b, m), "") for m in metrics]) + " |"
              for a, b in pairs]
    return lines + [""]


def _excludes_zero(c: dict) -> bool:
    lo, hi = c["delta"]["ci"]
    return lo is not None and (lo > 0 or hi < 0)


def detectable_lines(report: dict) -> list[str]:
    """What the design could detect: per metric, the median and largest minimum detectable difference."""
    rows = [(m, d) for m, d in report["detectable"].items() if d["median_mdd"] is not None]
    if not rows:
        return []
    lines = ["What this design could detect: the smallest true difference found 80% of the time (two-sided; at "
             "5% divided by the family's size for the primary comparisons, 5% otherwise), from each comparison's "
             "standard error. A difference smaller than this going unnoticed says nothing about its absence.", ""]
    lines += ["| metric | median | largest |", "|---|---|---|"]
    for m, d in rows:
        style = PERCENT if m == "regret" else {}
        unit = " pts" if m == "regret" else ""
        lines.append(f"| {m} | {format_value(d['median_mdd'], **style)}{unit} | "
                     f"{format_value(d['max_mdd'], **style)}{unit} |")
    return lines + [""]


CSV_COLUMNS = ["run_name", "group", "run", "n_common", "finished", "failed", "missing", "space_size", "spearman",
               "spearman_lo", "spearman_hi", "spearman_of_noise_free", "kendall", "kendall_lo", "kendall_hi",
               "kendall_half", "kendall_half_lo", "kendall_half_hi", "picked",
               "picked_real_acc", "best", "best_real_acc", "regret", "train_images", "creation_seconds",
               "seconds_per_candidate", "seconds_total"]


def _check_replaceable(out: Path, report: dict, overwrite: bool) -> list[str]:
    """A report folder is refreshed for the same inputs; one of other runs is replaced only with --overwrite.
    Returns the figures of the report being replaced."""
    existing = out / "report.json"
    if not existing.exists():
        return []
    try:
        old = read_report(existing)
    except RecordError:  # unreadable or not a report: nothing to refresh, and nothing of its own to delete
        old = None
    if not overwrite and (old is None or old.inputs != report["inputs"]):
        raise ConfigError(f"{str(out)!r} holds a report of other runs or settings; pass --overwrite to replace it, "
                          "or choose another --out")
    return old.figures if old is not None else []


def write_report(report: dict, out: str | Path, overwrite: bool = False) -> dict:
    """report.json, report.csv, report.md and the figures; returns the paths written."""
    out = Path(out)
    replaced = _check_replaceable(out, report, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    ceiling = report["noise_ceiling"]
    for e in report["runs"]:
        a, c = e["agreement"], e["coverage"]
        row = {"run_name": e["name"], "group": e["label"], "run": e["run"], "n_common": a["n"],
               "finished": c["finished"], "failed": c["failed"], "missing": c["missing"], "space_size": e["space_size"],
               "spearman": a["spearman"], "spearman_lo": a["spearman_ci95"][0], "spearman_hi": a["spearman_ci95"][1],
               "spearman_of_noise_free": of_noise_free(a["spearman"], ceiling),
               "kendall": a["kendall"], "kendall_lo": a["kendall_ci95"][0], "kendall_hi": a["kendall_ci95"][1],
               "kendall_half": a["kendall_half"], "kendall_half_lo": a["kendall_half_ci95"][0],
               "kendall_half_hi": a["kendall_half_ci95"][1],
               "picked": a["picked"], "picked_real_acc": a["picked_real_acc"], "best": a["best"],
               "best_real_acc": a["best_real_acc"], "regret": a["regret"], "train_images": e["train_images"],
               "creation_seconds": e["creation_seconds"], "seconds_per_candidate": e["seconds_per_candidate"],
               "seconds_total": e["seconds_total"]}
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
    write_candidates(report, out / "candidates.csv")
    figures = []
    partial = " (PARTIAL)" if report["partial"] else ""
    truth_kind = "published" if (report.get("truth_source") or {}).get("kind") == "table" else "real-data"
    for e in report["runs"]:
        slug, note = e["slug"], f"{e['agreement']['n']} of {e['space_size']} candidates{partial}"
        trained = e.get("metric") != PROXY_SCORE
        score = {} if trained else {"proxy_name": f"{e['source']['scorer']} score"}
        figures += accuracy_scatter(e["scores"], report["truth_scores"], e["agreement"], e["name"],
                                    out / f"scatter_{slug}", note=note, proxy_err=e["spread"],
                                    truth_err=report["truth_spread"], proxy_percent=trained,
                                    truth_name=f"{truth_kind} test accuracy", **score)
        figures += rank_scatter(e["scores"], report["truth_scores"], e["agreement"], e["name"], out / f"ranks_{slug}",
                                note=note, truth_name=f"{truth_kind} accuracy", **score)
    note = f"{report['comparison_candidates']} common candidates{partial}"
    figures += group_intervals(report["groups"], ceiling, out / "groups_spearman", note=note)
    figures += topk_curves(report["groups"], ceiling, report["ks"], out / "topk_by_real", "by_real", note=note)
    figures += topk_curves(report["groups"], None, report["ks"], out / "topk_by_proxy", "by_proxy", note=note)
    for stale in set(replaced) - set(figures):  # only files the replaced report listed, and only in this folder
        if Path(stale).parent.resolve() == out.resolve():
            Path(stale).unlink(missing_ok=True)
    table = markdown_table(report)
    with atomic_path(out / "report.md") as tmp:
        tmp.write_text(table)
    write_json(out / "report.json", ReportRecord.from_report(report, figures).to_dict())
    return {"table": table, "figures": figures, "dir": str(out)}
