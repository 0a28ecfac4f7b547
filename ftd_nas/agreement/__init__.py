"""Rank agreement between a proxy's ranking of candidates and the real-data one: every statistic, interval and
interval format the reports, `verify` and the scripts use, each defined once.

One room per idea: `statistics` (Spearman, Kendall tau-b, top k both ways, precision at k, regret, each top k
and pick expected over the orders of ties; FAILED, the score that ranks a failed candidate last), `intervals`
(the bootstrap over candidates, the percentile interval, the Fisher-z interval), `batched` (Spearman, Kendall and
their bootstrap over many rows at once), `bound` (how many of a population can beat a stratified sample),
`summary` (one proxy's agreement as the report keeps it), `ceiling` (the truth's reliability and the bound it
sets), `paired` (groups of proxies and their differences, with the design that says what varies),
`multiplicity` (Holm over a declared family, the minimum detectable difference) and `formatting` (the one way a
value and its interval are written). Only numpy and scipy are needed, so scripts can import it without torch or
optuna.
"""

from ftd_nas.agreement.batched import bootstrap_rows, kendall_rows, spearman_rows
from ftd_nas.agreement.bound import beat_sample_bound, miss_chances
from ftd_nas.agreement.ceiling import noise_ceiling, of_noise_free
from ftd_nas.agreement.formatting import format_interval, format_value
from ftd_nas.agreement.intervals import (bootstrap, fisher_interval, joined_with_perfect, perfect_agreement_interval,
                                        percentile_interval)
from ftd_nas.agreement.multiplicity import holm, minimum_detectable
from ftd_nas.agreement.paired import CANDIDATES, PROXIES, Comparison, Estimate, better, compare_groups
from ftd_nas.agreement.statistics import (FAILED, HIGHER_IS_BETTER, READINGS, agreement_metrics, aligned, best_first,
                                          expected_top_k, kendall, kendall_half, metric_names, picked_accuracy,
                                          precision_at_k, rank_positions, regret, spearman, top_k_chances, top_k_sets)
from ftd_nas.agreement.summary import rank_agreement

__all__ = ["CANDIDATES", "Comparison", "Estimate", "FAILED", "HIGHER_IS_BETTER", "PROXIES", "READINGS",
           "agreement_metrics", "aligned", "beat_sample_bound", "best_first", "better", "bootstrap",
           "bootstrap_rows", "compare_groups", "expected_top_k", "fisher_interval", "joined_with_perfect", "format_interval",
           "format_value", "holm", "kendall", "kendall_half", "kendall_rows", "metric_names", "minimum_detectable",
           "miss_chances",
           "noise_ceiling", "of_noise_free", "percentile_interval", "perfect_agreement_interval", "picked_accuracy", "precision_at_k",
           "rank_agreement", "rank_positions", "regret", "spearman", "spearman_rows", "top_k_chances",
           "top_k_sets"]
