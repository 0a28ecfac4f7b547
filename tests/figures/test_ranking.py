"""The rank-correlation figures say what they plot: a training-free score is not an accuracy, a score spanning
decades gets a log axis, and a published truth is named as such."""

import pytest

from ftd_nas.figures import ranking


@pytest.fixture
def drawn(monkeypatch):
    """The figures drawn, instead of saved."""
    figures = []
    monkeypatch.setattr(ranking, "save_figure", lambda fig, stem: figures.append(fig) or [str(stem)])
    return figures


TRUTH = {"a": 0.5, "b": 0.6, "c": 0.7, "d": 0.8}
AGREEMENT = {"spearman": 1.0, "kendall": 1.0, "n": 4, "picked": "d", "regret": 0.0}


def test_a_score_spanning_decades_is_drawn_on_a_log_axis_and_named(drawn):
    synflow = {"a": 1e2, "b": 1e5, "c": 1e9, "d": 1e12}
    ranking.accuracy_scatter(synflow, TRUTH, AGREEMENT, "synflow", "s", proxy_percent=False,
                             proxy_name="synflow score", truth_name="published test accuracy")
    ranking.rank_scatter(synflow, TRUTH, AGREEMENT, "synflow", "r", proxy_name="synflow score",
                         truth_name="published accuracy")
    scatter, ranks = (fig.axes[0] for fig in drawn)
    assert scatter.get_xscale() == "log" and scatter.get_xlabel() == "synflow score"
    assert scatter.get_ylabel() == "published test accuracy (%)"
    assert ranks.get_xlabel() == "rank by published accuracy (1 = best)"
    assert ranks.get_ylabel() == "rank by synflow score (1 = best)"


@pytest.mark.parametrize("proxy, percent", [
    ({"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.4}, True),  # accuracies: percent, linear
    ({"a": -3.0, "b": 1.0, "c": 2e3, "d": 5e4}, False),  # a score with negatives has no log axis
    ({"a": 10.0, "b": 20.0, "c": 30.0, "d": 900.0}, False),  # under two decades: linear
])
def test_other_proxies_keep_a_linear_axis(drawn, proxy, percent):
    ranking.accuracy_scatter(proxy, TRUTH, AGREEMENT, "p", "s", proxy_percent=percent)
    assert drawn[0].axes[0].get_xscale() == "linear"
