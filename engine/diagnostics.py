"""Numbers that show what is happening inside a network while it trains.

- :func:`activation_stats` summarises one layer's activations over a batch: mean, standard
  deviation, the share of dead units (ReLU family: never active in the batch) and the share of
  saturated values (tanh |a| > 0.97; sigmoid a < 0.03 or a > 0.97), where the gradient vanishes.
- :func:`grad_norms` gives the L2 norm of each node's parameter gradients (exploding or vanishing
  gradients show up here).
"""

import numpy as np


def activation_stats(kind, a):
    """Statistics of one layer's activations over a batch.

    kind : activation kind ("relu", "tanh", "sigmoid", ...) or None for a non-activation layer.
    a : ndarray of shape (batch, ...), the layer's output.
    Returns {"mean", "std", "dead", "saturated"} as floats; "dead" is the share of units (positions
    of a sample) that are zero (relu) / non-positive (leaky_relu, elu) for every sample of the batch,
    "saturated" the share of values in the flat parts of tanh/sigmoid. Both are 0.0 when they do not
    apply to ``kind``.
    """
    a = np.asarray(a)
    out = {"mean": float(a.mean()) if a.size else 0.0, "std": float(a.std()) if a.size else 0.0,
           "dead": 0.0, "saturated": 0.0}
    if a.size == 0:
        return out
    kind = (kind or "").lower()
    if kind in ("relu", "leaky_relu", "elu") and a.ndim >= 1:
        active = (a > 0).reshape(a.shape[0], -1).any(axis=0)
        out["dead"] = float(1.0 - active.mean())
    elif kind == "tanh":
        out["saturated"] = float((np.abs(a) > 0.97).mean())
    elif kind == "sigmoid":
        out["saturated"] = float(((a < 0.03) | (a > 0.97)).mean())
    return out


def grad_norms(network):
    """{node name: L2 norm of all its parameter gradients} for nodes that have parameters."""
    out = {}
    for name, node in network.nodes.items():
        layer = node.layer
        if not layer.params:
            continue
        total = 0.0
        for k in layer.params:
            g = layer.grads.get(k)
            if g is not None:
                total += float(np.sum(np.square(g, dtype=np.float64)))
        out[name] = float(np.sqrt(total))
    return out
