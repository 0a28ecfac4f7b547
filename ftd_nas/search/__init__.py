"""Architecture search on proxies: search spaces, the optuna-backed worker loop, report and verify."""

from ftd_nas.search.recipe import SearchRecipe
from ftd_nas.search.record import SearchIdentity, SearchRunRecord
from ftd_nas.search.results import CandidateResult, SearchSummary
from ftd_nas.search.runner import Search, SearchConfig, SearchRun, collect_results, load_run, run_search
from ftd_nas.search.space import SearchSpace, available_spaces, candidate_id, load_space, parse_space

__all__ = ["CandidateResult", "Search", "SearchConfig", "SearchIdentity", "SearchRecipe", "SearchRun", "SearchRunRecord",
           "SearchSpace", "SearchSummary", "available_spaces", "candidate_id", "collect_results", "load_run",
           "load_space", "parse_space", "run_search"]
