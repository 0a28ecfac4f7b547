import numpy as np
import pytest

from ftd_nas.agreement import noise_ceiling, of_noise_free, spearman_rows
from tests.agreement import noisy_truth as _truth
from tests.agreement.calibration import reliability


def _repeats(quality, noise, k, rng):
    return quality[:, None] + noise * rng.standard_normal((len(quality), k))


def test_identical_repeats_are_perfectly_reliable():
    ceiling = noise_ceiling({f"c{i}": [0.1 * i] * 3 for i in range(20)}, samples=100)
    assert ceiling["rho"] == pytest.approx(1.0) and ceiling["ci"] == [pytest.approx(1.0), pytest.approx(1.0)]
    assert ceiling["bound"] == pytest.approx(1.0) and ceiling["repeats"]["min"] == ceiling["repeats"]["max"] == 3


def test_a_truth_that_ranks_nothing_is_undefined_never_minus_one():
    ceiling = noise_ceiling({f"c{i}": [0.5, 0.5, 0.5] for i in range(10)}, samples=50)
    assert ceiling["rho"] is None and ceiling["bound"] is None and ceiling["ci"] == [None, None]
    assert of_noise_free(0.7, ceiling) is None


def test_independent_random_scores_are_unreliable_and_have_no_bound():
    rng = np.random.default_rng(1)
    ceiling = noise_ceiling({f"c{i}": list(rng.random(4)) for i in range(300)}, samples=200)
    assert abs(ceiling["rho"]) < 0.2 and ceiling["ci"][0] < 0 < ceiling["ci"][1]


def test_reliability_needs_repeats():
    assert noise_ceiling({"a": [0.5], "b": [0.6], "c": [0.7]}) is None


def test_reliability_falls_as_the_truth_gets_noisier():
    quiet = noise_ceiling(dict(enumerate(_truth(noise=0.01)[1])), samples=50)["rho"]
    loud = noise_ceiling(dict(enumerate(_truth(noise=0.2)[1])), samples=50)["rho"]
    assert 0.9 < quiet <= 1 and loud < quiet - 0.3


def test_a_noiseless_proxy_reaches_the_bound_not_the_reliability():
    """sqrt(r) is what a proxy ranking exactly by the noise-free quality reaches against the noisy truth; r itself
    is lower, which is why calling r the most a proxy can reach was wrong."""
    rng = np.random.default_rng(3)
    quality = rng.standard_normal(400)
    repeats = _repeats(quality, 0.8, 3, rng)
    ceiling = noise_ceiling(dict(enumerate(repeats.tolist())), samples=50)
    reached = spearman_rows(quality, repeats.mean(1))
    assert ceiling["rho"] < reached - 0.03 and ceiling["bound"] == pytest.approx(reached, abs=0.03)
    assert of_noise_free(reached, ceiling) == pytest.approx(1, abs=0.04)


@pytest.mark.parametrize("noise", [0.5, 1.2])  # reliability of a 3-repeat truth about 0.90 and 0.65
def test_reliability_of_three_repeats_is_unbiased_and_its_interval_holds_its_level(noise):
    """The target is what the estimate claims: the Spearman between this truth and an independent one of the same
    size over the same candidates; the interval (a bootstrap over candidates) covers its expected value over spaces
    like this one. The old split-half estimate (one 1-vs-2 split per bootstrap sample) was biased low with 3
    repeats and its interval over-wide."""
    result = reliability(150, noise)
    assert result["mean_estimate"] == pytest.approx(result["target"], abs=0.02)
    assert abs(result["coverage"] - 0.95) <= 0.05
