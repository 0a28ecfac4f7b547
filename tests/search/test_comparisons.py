import numpy as np
import pytest

from ftd_nas.agreement import FAILED
from ftd_nas.errors import ConfigError
from ftd_nas.search.comparisons import DEFAULT_FAMILY, Family, default_family, inference, parse_primary


def _run(name, label, scores, kind="proxy", method="ftd", images=100):
    return {"name": name, "label": label, "scores": scores, "train_images": images,
            "source": {"kind": kind, **({"method": method} if kind == "proxy" else {})}}


TRUTH = {f"c{i}": 0.1 + 0.05 * i for i in range(10)}  # c9 is the space's best


def test_the_default_family_is_each_method_against_the_random_subset_of_its_size():
    runs = [_run("FTD", "FTD", {}), _run("FTD (s1)", "FTD", {}), _run("DM", "DM", {}, method="dm"),
            _run("Herding 50", "Herding 50", {}, method="herding", images=500),
            _run("Random", "Random", {}, kind="random"), _run("Random sel", "Random sel", {}, method="random"),
            _run("Random 50", "Random 50", {}, kind="random", images=500),
            _run("Early", "Early", {}, kind="real", images=4000)]
    family = default_family(runs)
    assert sorted(family.pairs) == [("DM", "Random"), ("DM", "Random sel"), ("FTD", "Random"),
                                    ("FTD", "Random sel"), ("Herding 50", "Random 50")]
    assert family.metric == "spearman" and family.declared_by == DEFAULT_FAMILY
    assert default_family([_run("FTD", "FTD", {}), _run("MTT", "MTT", {}, method="mtt")]).pairs == []


def test_declared_comparisons_name_known_groups_and_a_known_metric():
    family = parse_primary(["B vs A"], ["A", "B"], "kendall", ks=(5,))
    assert family == Family([("B", "A")], "kendall", "the user (--primary)")
    for texts, metric, match in ((["A vs C"], "spearman", "no group labelled 'C'; the groups are 'A', 'B'"),
                                 (["A versus B"], "spearman", "separated by ' vs '"),
                                 (["A vs A"], "spearman", "compares a group with itself"),
                                 (["A vs B"], "top7_by_real", "not a metric of this report")):
        with pytest.raises(ConfigError, match=match):
            parse_primary(texts, ["A", "B"], metric, ks=(5,))


def test_a_failed_candidate_counts_ranked_last_and_regret_is_against_the_space_best():
    """Proxy a ranks perfectly but failed the space's best candidate; b ranks perfectly too and also lacks
    nothing. a's failure counts (ranked last, pick c8), and its regret is against c9 even though the group
    comparison's candidates are those all runs have."""
    perfect = dict(TRUTH)
    failed_best = {**TRUTH, "c9": FAILED}
    runs = [_run("a", "A", failed_best), _run("b", "B", perfect, kind="random")]
    out = inference(runs, TRUTH, max(TRUTH.values()), ks=(3,), samples=50, seed=0, family=default_family(runs))
    a, b = out["groups"]["A"]["metrics"], out["groups"]["B"]["metrics"]
    assert out["candidates"] == 10 and a["regret"]["value"] == pytest.approx(0.05) and b["regret"]["value"] == 0
    assert a["spearman"]["value"] < b["spearman"]["value"] == pytest.approx(1)
    (primary,) = [c for c in out["comparisons"] if c["role"] == "primary"]
    assert (primary["a"], primary["b"]) == ("A", "B") and primary["delta"]["value"] < 0
    assert primary["delta"]["design"] == "candidates" and "verdict" in primary and primary["mdd"] > 0
    assert out["family"]["size"] == 1 and out["detectable"]["spearman"]["median_mdd"] is not None


def test_holm_over_the_family_adjusts_what_a_single_test_would_claim():
    """Two methods clearly better than random, one not: the adjusted p-values are Holm's of the raw ones, and
    only what survives is called supported."""
    rng = np.random.default_rng(0)
    names = [f"c{i}" for i in range(40)]
    truth = dict(zip(names, rng.standard_normal(40)))
    t = np.array(list(truth.values()))

    def proxies(label, noise, kind="proxy", method="ftd"):
        return [_run(f"{label}{i}", label, dict(zip(names, t + noise * rng.standard_normal(40))), kind, method)
                for i in range(5)]

    runs = proxies("good", 0.2) + proxies("also", 0.3, method="dm") + proxies("same", 1.0, method="mtt") + \
        proxies("Random", 1.0, kind="random")
    out = inference(runs, truth, max(truth.values()), ks=(), samples=50, seed=0, family=default_family(runs))
    primary = {c["a"]: c for c in out["comparisons"] if c["role"] == "primary"}
    raw = sorted(c["p"] for c in primary.values())
    adjusted = sorted(c["p_holm"] for c in primary.values())
    assert adjusted[0] == pytest.approx(min(1, 3 * raw[0]))
    assert primary["good"]["supported"] and primary["also"]["supported"] and not primary["same"]["supported"]
    assert "not distinguishable" in primary["same"]["verdict"] and "above Random" in primary["good"]["verdict"]
    assert all(c["role"] == "exploratory" for c in out["comparisons"] if c["metric"] != "spearman")
