import math

import pytest
import torch

from ftd_nas.gsam import GSAM


def _quadratic_step(w0, a, lr, rho, alpha, momentum=0.0):
    """One optimizer step on L(w) = 0.5 * sum(a * w^2), whose gradient is a * w."""
    w = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    a_t = torch.tensor(a, dtype=torch.float64)
    opt = GSAM([w], torch.optim.SGD([w], lr=lr, momentum=momentum), rho=rho, alpha=alpha)

    def closure():
        opt.zero_grad()
        loss = 0.5 * (a_t * w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().tolist()


def _hand_gsam(w, a, lr, rho, alpha):
    g = [ai * wi for ai, wi in zip(a, w)]
    norm = math.sqrt(sum((abs(wi) * gi) ** 2 for wi, gi in zip(w, g)))
    e = [rho * wi * wi * gi / (norm + 1e-12) for wi, gi in zip(w, g)]
    gp = [ai * (wi + ei) for ai, wi, ei in zip(a, w, e)]
    coef = sum(gi * gpi for gi, gpi in zip(g, gp)) / sum(gpi * gpi for gpi in gp)
    g_perp = [gi - coef * gpi for gi, gpi in zip(g, gp)]
    d = [gpi - alpha * gperp for gpi, gperp in zip(gp, g_perp)]
    return [wi - lr * di for wi, di in zip(w, d)]


@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
def test_gsam_step_matches_a_hand_computation(alpha):
    w0, a = [1.0, -2.0, 0.5], [1.0, 3.0, -4.0]
    got = _quadratic_step(w0, a, lr=0.1, rho=0.05, alpha=alpha)
    assert got == pytest.approx(_hand_gsam(w0, a, lr=0.1, rho=0.05, alpha=alpha), rel=1e-12, abs=1e-14)


def test_alpha_changes_the_step_and_rho_zero_is_plain_sgd():
    w0, a = [1.0, -2.0, 0.5], [1.0, 3.0, -4.0]
    assert _quadratic_step(w0, a, 0.1, 0.05, 0.0) != _quadratic_step(w0, a, 0.1, 0.05, 1.0)
    sgd = [wi - 0.1 * ai * wi for wi, ai in zip(w0, a)]
    assert _quadratic_step(w0, a, 0.1, 0.0, 0.7) == pytest.approx(sgd, rel=1e-12)


def test_weights_return_from_the_perturbation_before_the_base_step():
    # With lr 0 the base step is a no-op, so the weights must be exactly where they started.
    w0, a = [0.3, -1.2], [2.0, 5.0]
    assert _quadratic_step(w0, a, lr=0.0, rho=0.5, alpha=1.0) == pytest.approx(w0, abs=1e-15)


def test_closure_is_called_twice_and_required():
    w = torch.nn.Parameter(torch.ones(2))
    opt = GSAM([w], torch.optim.SGD([w], lr=0.1), rho=0.01)
    calls = []

    def closure():
        calls.append(1)
        opt.zero_grad()
        loss = (w ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    assert len(calls) == 2
    with pytest.raises(ValueError, match="closure"):
        opt.step(None)
