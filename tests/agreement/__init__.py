import numpy as np


def noisy_truth(n=40, repeats=3, noise=0.02, seed=0):
    """A truth whose candidates rise evenly in accuracy, measured `repeats` times with Gaussian noise: (the signal,
    one array of repeats per candidate)."""
    rng = np.random.default_rng(seed)
    signal = np.linspace(0.3, 0.7, n)
    return signal, [signal[i] + noise * rng.standard_normal(repeats) for i in range(n)]


def candidates(n, rng, truth_noise=0.4):
    """A simulated space: each candidate's latent quality, a second trait proxies may weigh by seed, and a truth
    measured with noise."""
    quality, trait = rng.standard_normal(n), rng.standard_normal(n)
    return quality, trait, quality + truth_noise * rng.standard_normal(n)


def proxies(quality, trait, count, rng, noise=0.8, seed_effect=0.5, bias=0.0):
    """`count` proxies of one method: each ranks by quality plus a seed-drawn weight on the trait (what makes one
    distilled set favour, say, wide networks) plus its own noise per candidate."""
    weight = bias + seed_effect * rng.standard_normal((count, 1))
    return quality + weight * trait + noise * rng.standard_normal((count, len(quality)))
