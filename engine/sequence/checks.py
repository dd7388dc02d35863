"""Finite-difference gradient checks for the sequence layers (float64, two-sided differences).

Used by the tests; independent of any trainer. The check uses the scalar cost
J = sum(y * R) for a fixed random R, so dJ/dy = R.
"""

import numpy as np


def _rel(a, b):
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def check_gradients(layer, inputs, eps=1e-6, seed=0, max_entries=60, check_inputs=True):
    """Compare ``layer.backward`` with two-sided finite differences.

    layer : a built layer (cast to float64 by this function).
    inputs : list of ndarrays, one per layer input (float inputs are cast to float64; integer
        id inputs are left alone and not checked).
    Returns dict name -> relative error (||a - n|| / (||a|| + ||n||)) for every parameter and
    every float input.
    """
    layer.astype(np.float64)
    rng = np.random.default_rng(seed)
    xs = [x.astype(np.float64) if np.issubdtype(np.asarray(x).dtype, np.floating) else x for x in inputs]
    y = layer.forward(*xs, training=True)
    R = rng.standard_normal(y.shape)

    def cost():
        return float(np.sum(layer.forward(*xs, training=False) * R))

    layer.forward(*xs, training=True)
    dxs = layer.backward(R)
    if not isinstance(dxs, (tuple, list)):
        dxs = (dxs,)
    analytic = {f"param:{k}": np.array(g, copy=True) for k, g in layer.grads.items()}
    targets = {f"param:{k}": v for k, v in layer.params.items()}
    if check_inputs:
        for i, (x, dx) in enumerate(zip(xs, dxs)):
            if dx is not None and np.issubdtype(x.dtype, np.floating):
                analytic[f"input:{i}"] = np.asarray(dx)
                targets[f"input:{i}"] = x
    errors = {}
    for name, arr in targets.items():
        flat = arr.reshape(-1)
        idx = np.arange(flat.size)
        if flat.size > max_entries:
            idx = rng.choice(flat.size, max_entries, replace=False)
        num = np.empty(len(idx))
        for j, i in enumerate(idx):
            old = flat[i]
            flat[i] = old + eps
            up = cost()
            flat[i] = old - eps
            down = cost()
            flat[i] = old
            num[j] = (up - down) / (2 * eps)
        errors[name] = _rel(analytic[name].reshape(-1)[idx], num)
    return errors
