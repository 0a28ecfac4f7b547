"""Rank agreement between a proxy's ranking of candidates and the real-data one: every statistic, interval and
interval format the reports, `verify` and the scripts use, each defined once.

One room per idea: `statistics` (Spearman, Kendall tau-b, top k both ways, precision at k, regret, each top k
and pick expected over the orders of ties; FAILED, the score that ranks a failed candidate last), `intervals`
(the bootstrap over candidates, the percentile interval, the Fisher-z interval), `summary` (one proxy's agreement
as the report keeps it), `ceiling` (the truth's split-half noise ceiling), `paired` (paired comparisons of groups
of proxies) and `formatting` (the one way a value and its interval are written). Only numpy and scipy are
needed, so scripts can import it without torch or optuna.
"""

from ftd_nas.agreement.ceiling import noise_ceiling
from ftd_nas.agreement.formatting import format_interval, format_value
from ftd_nas.agreement.intervals import bootstrap, fisher_interval, percentile_interval
from ftd_nas.agreement.paired import paired_bootstrap, verdict
from ftd_nas.agreement.statistics import (FAILED, HIGHER_IS_BETTER, READINGS, agreement_metrics, aligned, best_first,
                                          expected_top_k, kendall, metric_names, picked_accuracy, precision_at_k,
                                          rank_positions, regret, spearman, top_k_chances, top_k_sets)
from ftd_nas.agreement.summary import rank_agreement

__all__ = ["FAILED", "HIGHER_IS_BETTER", "READINGS", "agreement_metrics", "aligned", "best_first", "bootstrap",
           "expected_top_k", "fisher_interval", "format_interval", "format_value", "kendall", "metric_names",
           "noise_ceiling", "paired_bootstrap", "percentile_interval", "picked_accuracy", "precision_at_k",
           "rank_agreement", "rank_positions", "regret", "spearman", "top_k_chances", "top_k_sets", "verdict"]
