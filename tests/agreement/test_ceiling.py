import numpy as np
import pytest

from ftd_nas.agreement import noise_ceiling
from tests.agreement import noisy_truth as _truth


def test_ceiling_of_identical_repeats_is_one():
    ceiling = noise_ceiling({f"c{i}": [0.1 * i] * 3 for i in range(20)}, ks=(5, 10), samples=100)
    assert ceiling["rho"] == pytest.approx(1.0) and ceiling["ci"] == [pytest.approx(1.0), pytest.approx(1.0)]
    assert ceiling["topk"]["5"]["rho"] == pytest.approx(1.0) and ceiling["repeats"] == {"min": 3, "max": 3}


def test_ceiling_of_independent_random_scores_is_near_zero():
    rng = np.random.default_rng(1)
    ceiling = noise_ceiling({f"c{i}": list(rng.random(4)) for i in range(300)}, samples=200)
    assert abs(ceiling["rho"]) < 0.2 and ceiling["ci"][0] < 0 < ceiling["ci"][1]


def test_ceiling_needs_repeats():
    assert noise_ceiling({"a": [0.5], "b": [0.6], "c": [0.7]}) is None


def test_ceiling_falls_as_the_truth_gets_noisier():
    quiet = noise_ceiling(dict(enumerate(_truth(noise=0.01)[1])), samples=50)["rho"]
    loud = noise_ceiling(dict(enumerate(_truth(noise=0.2)[1])), samples=50)["rho"]
    assert 0.9 < quiet <= 1 and loud < quiet - 0.3
