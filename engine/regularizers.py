"""L1 and L2 regularization (weight decay) of the weights each layer lists in ``regularized``.

Convention (the notes' lambda/(2m) form, with m the number of examples in the batch the cost is
computed on)::

    penalty = (1/m) * sum over layers of ( l1 * sum|W| + (l2/2) * sum W^2 )
    dpenalty/dW = (l1 * sign(W) + l2 * W) / m

so the L2 part is exactly lambda/(2m) ||W||^2 with lambda = l2, and a gradient-descent step shrinks
W by lr * l2 / m * W (hence "weight decay"). Biases are not regularized. ``l1``/``l2`` are per-layer
settings. :func:`engine.losses.compute_cost` adds the penalty to the reported cost; the trainer calls
:func:`add_gradients` after ``network.backward`` (``engine.losses.cost_and_gradients`` does both).
"""

import numpy as np


def _regularized(network):
    for node in network.nodes.values():
        layer = node.layer
        l1 = float(getattr(layer, "l1", 0.0) or 0.0)
        l2 = float(getattr(layer, "l2", 0.0) or 0.0)
        if (l1 or l2) and layer.params:
            for key in layer.regularized:
                if key in layer.params:
                    yield layer, key, l1, l2


def penalty(network, m=1):
    """The regularization term of the cost for a batch of m examples (a float)."""
    total = 0.0
    for layer, key, l1, l2 in _regularized(network):
        w = layer.params[key]
        if l1:
            total += l1 * float(np.sum(np.abs(w), dtype=np.float64))
        if l2:
            total += 0.5 * l2 * float(np.sum(np.square(w, dtype=np.float64)))
    return total / max(int(m or 1), 1)


def add_gradients(network, m=1):
    """Add d(penalty)/dW into each regularized layer's ``grads`` (in place), after backward."""
    m = max(int(m or 1), 1)
    for layer, key, l1, l2 in _regularized(network):
        w = layer.params[key]
        g = layer.grads.get(key)
        if g is None:
            continue
        extra = 0
        if l1:
            extra = extra + (l1 / m) * np.sign(w)
        if l2:
            extra = extra + (l2 / m) * w
        g += extra.astype(g.dtype, copy=False)
