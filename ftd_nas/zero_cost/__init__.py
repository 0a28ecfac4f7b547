"""Training-free ("zero-cost") proxies: scores of an untrained network from one minibatch (or none) that predict
how well it will train, higher = better. One module per family of definitions (gradients.py: synflow, snip,
grad_norm; jacobian.py: jacov; activations.py: naswot; size.py: params, flops); registry.py names them, holds the
configuration each runs with, and runs one (`score_network`).

    >>> from ftd_nas.zero_cost import score_network
    >>> score_network(net, "synflow", input_shape=(3, 32, 32))  # doctest: +SKIP
"""

from ftd_nas.zero_cost.registry import REGISTRY, RULES, Rule, ZeroCostConfig, score_network, zero_cost_config

__all__ = ["REGISTRY", "RULES", "Rule", "ZeroCostConfig", "score_network", "zero_cost_config"]
