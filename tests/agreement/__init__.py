import numpy as np


def noisy_truth(n=40, repeats=3, noise=0.02, seed=0):
    """A truth whose candidates rise evenly in accuracy, measured `repeats` times with Gaussian noise: (the signal,
    one array of repeats per candidate)."""
    rng = np.random.default_rng(seed)
    signal = np.linspace(0.3, 0.7, n)
    return signal, [signal[i] + noise * rng.standard_normal(repeats) for i in range(n)]
