"""Rank agreement between a proxy's ranking of candidates and the real-data one: every statistic, interval and
interval format the reports, `verify` and the scripts use, each defined once.

One room per idea: `statistics` (Spearman, Kendall tau-b, top k both ways, precision at k, regret),
`intervals` (the bootstrap over candidates, the percentile interval, the Fisher-z interval), `batched` (Spearman,
Kendall and their bootstrap over many rows at once), `bound` (how many of a population can beat a stratified
sample), `summary` (one proxy's agreement as the report keeps it), `ceiling` (the truth's split-half noise
ceiling), `paired` (paired comparisons of groups of proxies) and `formatting` (the one way a value and its
interval are written). Only numpy and scipy are needed, so scripts can import it without torch or
optuna.
"""

from ftd_nas.agreement.batched import bootstrap_rows, kendall_rows, spearman_rows
from ftd_nas.agreement.bound import beat_sample_bound, miss_chances
from ftd_nas.agreement.ceiling import noise_ceiling
from ftd_nas.agreement.formatting import format_interval, format_value
from ftd_nas.agreement.intervals import bootstrap, fisher_interval, percentile_interval
from ftd_nas.agreement.paired import paired_bootstrap, verdict
from ftd_nas.agreement.statistics import (HIGHER_IS_BETTER, READINGS, agreement_metrics, aligned, best_first, kendall,
                                          metric_names, precision_at_k, rank_positions, regret, spearman, top_k)
from ftd_nas.agreement.summary import rank_agreement

__all__ = ["HIGHER_IS_BETTER", "READINGS", "agreement_metrics", "aligned", "beat_sample_bound", "best_first",
           "bootstrap", "bootstrap_rows", "fisher_interval", "format_interval", "format_value", "kendall",
           "kendall_rows", "metric_names", "miss_chances", "noise_ceiling", "paired_bootstrap", "percentile_interval",
           "precision_at_k", "rank_agreement", "rank_positions", "regret", "spearman", "spearman_rows", "top_k",
           "verdict"]
