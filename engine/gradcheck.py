"""Gradient checking: compare backpropagation's derivatives with finite differences.

As in the notes: merge every W and b of a layer into one vector theta (and dW, db into dtheta),
nudge each component by +eps and -eps, take the two-sided difference
``(J(theta + eps) - J(theta - eps)) / (2 eps)`` as the approximate derivative, and compare::

    relative error = ||dtheta_approx - dtheta|| / (||dtheta_approx|| + ||dtheta||)

Below 1e-7 is excellent, around 1e-5 worth a look, above 1e-3 almost surely a bug. Everything runs
in float64 on a copy, with dropout off (its rate set to 0) and L1/L2 regularization included.

A caveat of the relative error: where the true gradient is (almost) zero, for example gamma and
beta of a BatchNorm that feeds another BatchNorm directly (the second one normalizes their effect
away), it compares rounding noise with rounding noise and can be large although backprop is right.
Per layer, theta joins W and b, so a bias with no gradient (a Dense before a BatchNorm) is harmless.

- :func:`check_network` checks a whole network on a batch with its loss: {node: relative error}.
  ReLU and max pooling have kinks (no derivative at 0, at ties); its float64 copy's parameters get a
  small random nudge first so the check does not sit on them, and a component whose [-eps, +eps]
  still straddles one is differenced again with a smaller eps (see _kinked).
- :func:`check_layer` checks one layer alone on random input, for its parameters and its input(s):
  the scalar is ``f = sum(forward(x) * g)`` for a random upstream gradient g. Every layer's tests
  use it.
"""

import copy

import numpy as np

from .errors import ConfigError


def relative_error(approx, exact):
    """||approx - exact|| / (||approx|| + ||exact||), 0.0 when both are zero."""
    approx = np.ravel(np.asarray(approx, dtype=np.float64))
    exact = np.ravel(np.asarray(exact, dtype=np.float64))
    denom = np.linalg.norm(approx) + np.linalg.norm(exact)
    if denom == 0:
        return 0.0
    return float(np.linalg.norm(approx - exact) / denom)


# -- randomness kept fixed between evaluations (dropout masks, noise layers) -----------------------
def _generators(obj, seen=None):
    """Every numpy Generator held by a layer (and its sub-layers)."""
    seen = seen if seen is not None else set()
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    found = []
    for value in list(vars(obj).values()) if hasattr(obj, "__dict__") else []:
        if isinstance(value, np.random.Generator):
            found.append(value)
    subs = obj.sublayers() if hasattr(obj, "sublayers") else {}
    for sub in (subs or {}).values():
        found.extend(_generators(sub, seen))
    return found


class _FrozenRandomness:
    """Restores every generator to the same state before each evaluation, so randomness (a
    dropout mask) is the same in every forward pass of the check."""

    def __init__(self, layers):
        self.gens = [g for layer in layers for g in _generators(layer)]
        self.states = [copy.deepcopy(g.bit_generator.state) for g in self.gens]

    def reset(self):
        for g, s in zip(self.gens, self.states):
            g.bit_generator.state = copy.deepcopy(s)


def _disable_dropout(layer):
    if "Dropout" in layer.type_name and hasattr(layer, "rate"):
        layer.rate = 0.0
    subs = layer.sublayers() if hasattr(layer, "sublayers") else {}
    for sub in (subs or {}).values():
        _disable_dropout(sub)


def _pick(size, max_checks, rng):
    if max_checks is None or size <= max_checks:
        return np.arange(size)
    return np.sort(rng.choice(size, size=int(max_checks), replace=False))


def _kinked(f_plus, f_minus, f0):
    """True when the second difference is far larger than a smooth cost allows: for a smooth J,
    (J(+eps) + J(-eps) - 2 J) / (J(+eps) - J(-eps)) ~ eps J'' / (2 J') is tiny; a kink (ReLU at 0,
    a max-pool tie) inside [-eps, eps] makes it of order one."""
    second = abs(f_plus + f_minus - 2.0 * f0)
    return second > 1e-3 * abs(f_plus - f_minus) + 1e-13 * max(1.0, abs(f0))


def _numeric(fn, arrays, eps, max_checks, rng, retries=2):
    """Two-sided differences of the scalar fn() for (a subset of) every element of ``arrays``.

    A component whose [-eps, +eps] interval straddles a kink (see _kinked) is differenced again
    with eps / 100 (up to ``retries`` times): the derivative is the same at any eps where the
    cost is smooth, so this only removes the kink's artefact, never a real error.

    Returns (list of index arrays, list of approximate-derivative arrays), one per array; arrays
    are perturbed in place and restored.
    """
    picks, approx = [], []
    f0 = fn()
    for arr in arrays:
        flat = arr.reshape(-1)  # a view: arrays are contiguous
        idx = _pick(flat.size, max_checks, rng)
        d = np.empty(len(idx))
        for j, i in enumerate(idx):
            old = flat[i]
            h = eps
            for attempt in range(retries + 1):
                flat[i] = old + h
                f_plus = fn()
                flat[i] = old - h
                f_minus = fn()
                flat[i] = old
                if attempt == retries or not _kinked(f_plus, f_minus, f0):
                    break
                h = h / 100.0
            d[j] = (f_plus - f_minus) / (2 * h)
        picks.append(idx)
        approx.append(d)
    return picks, approx


def _contiguous_params(layer):
    for k, v in layer.params.items():
        if not v.flags.c_contiguous:
            raise ConfigError(f"{layer.label}: parameter {k} must be a contiguous array for gradient checking")


# -- one layer ------------------------------------------------------------------------------------
def layer_errors(layer, input_shapes, rng=None, eps=1e-6, inputs=None, training=True, batch=3,
                 max_checks=None, perturb=0.1):
    """Relative errors of one layer's gradients: {"param key": err, ..., "input0": err, ...}.

    layer : a layer (not modified: a float64 copy is built from its config).
    input_shapes : per-sample input shapes, one tuple per input.
    inputs : optional list of arrays (batch first) to use instead of random normal ones; integer
        arrays (token ids) get no input check. A layer with ``integer_inputs = True`` and
        an ``input_dim`` attribute gets random ids in [0, input_dim) when ``inputs`` is None.
    training : passed to forward (True: batch statistics for BatchNorm).
    perturb : parameters get normal noise of this size added after build (so biases, gammas...
        are not at special values).
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    lay = type(layer).from_config(copy.deepcopy(layer.get_config()))
    shapes = [tuple(s) for s in input_shapes]
    lay.build(shapes, rng=np.random.default_rng(1), dtype=np.float64)
    lay.input_shapes = shapes
    lay.built = True
    for v in lay.params.values():
        if perturb and np.issubdtype(v.dtype, np.floating):
            v += perturb * rng.standard_normal(v.shape)
    _contiguous_params(lay)
    if inputs is None:
        if getattr(lay, "integer_inputs", False):
            high = int(getattr(lay, "input_dim", 10))
            inputs = [rng.integers(0, high, size=(batch,) + s) for s in shapes]
        else:
            inputs = [rng.standard_normal((batch,) + s) for s in shapes]
    xs = [np.ascontiguousarray(x, dtype=np.float64) if np.issubdtype(np.asarray(x).dtype, np.floating)
          else np.asarray(x) for x in inputs]
    frozen = _FrozenRandomness([lay])
    frozen.reset()
    y = lay.forward(*xs, training=training)
    g = rng.standard_normal(y.shape)

    def f():
        frozen.reset()
        return float(np.sum(lay.forward(*xs, training=training) * g))

    frozen.reset()
    lay.forward(*xs, training=training)
    lay.zero_grads()
    dx = lay.backward(g.copy())
    if len(xs) == 1 and not isinstance(dx, (tuple, list)):
        dx = (dx,)
    exact_params = {k: np.array(lay.grads[k], dtype=np.float64) for k in lay.params}
    errors = {}
    keys = [k for k in lay.params if np.issubdtype(lay.params[k].dtype, np.floating)]
    picks, approx = _numeric(f, [lay.params[k] for k in keys], eps, max_checks, rng)
    for k, idx, d in zip(keys, picks, approx):
        errors[k] = relative_error(d, exact_params[k].reshape(-1)[idx])
    float_inputs = [i for i, x in enumerate(xs) if np.issubdtype(x.dtype, np.floating)]
    picks, approx = _numeric(f, [xs[i] for i in float_inputs], eps, max_checks, rng)
    for i, idx, d in zip(float_inputs, picks, approx):
        if dx[i] is None:
            raise AssertionError(f"{lay.label} returned no gradient for its input {i}")
        errors[f"input{i}"] = relative_error(d, np.asarray(dx[i]).reshape(-1)[idx])
    return errors


def check_layer(layer, input_shapes, rng=None, **options):
    """The largest relative error over one layer's parameters and inputs (see layer_errors)."""
    errors = layer_errors(layer, input_shapes, rng=rng, **options)
    return max(errors.values()) if errors else 0.0


# -- a whole network --------------------------------------------------------------------------------
def float64_copy(network):
    """A float64 copy of a built network (same weights), dropout off, for checking."""
    net = network.copy(dtype=np.float64)
    for node in net.nodes.values():
        _disable_dropout(node.layer)
    return net


def _nudge_parameters(net, perturb, rng):
    """Add small normal noise to every floating parameter of the (float64 copy) ``net``: scaled by
    ``perturb`` times the array's root mean square, or by ``perturb`` alone for an all-zero array
    (fresh biases, BatchNorm betas)."""
    for layer in net.layers:
        for v in layer.params.values():
            if not np.issubdtype(v.dtype, np.floating) or v.size == 0:
                continue
            rms = float(np.sqrt(np.mean(np.square(v))))
            v += (perturb * (rms if rms > 0 else 1.0)) * rng.standard_normal(v.shape)


def check_network(network, x, y, loss, eps=1e-6, max_checks=None, seed=0, regularization=True, perturb=0.01):
    """Per-layer relative error of backpropagation against two-sided differences of the cost.

    Kinks: ReLU and max pooling are not differentiable where a pre-activation is exactly 0 or two
    pooled values tie. A freshly built network sits exactly there: zero biases and blank input
    (the empty border of a digit) give pre-activations of exactly 0, and the two-sided difference
    straddles the kink (it sees half a slope where backprop says 0 or 1). So, as the per-layer check
    does, the float64 copy's parameters get a small random nudge first (``perturb``): backprop must
    be right at every point, and a nudged point is almost surely away from the kinks.

    network : a Network (built first if it is not; otherwise untouched: the check runs on a float64 copy).
    x : ndarray of shape (batch, *input_shape) or dict input name -> array (keep the batch small).
    y : targets (or dict output name -> targets); loss : a loss spec as for compute_cost.
    max_checks : check at most this many randomly chosen components of each layer's theta
        (None: all; large networks such as the digits MLP want ~50-200).
    perturb : relative size of the random nudge given to every parameter before checking (0: none).
    Returns {node name: relative error} for every node that has parameters.
    """
    from .losses import compute_cost, cost_and_gradients

    if not network.built:
        network.build()
    net = float64_copy(network)
    rng = np.random.default_rng(seed)
    if perturb:
        _nudge_parameters(net, perturb, rng)
    if isinstance(x, dict):
        x = {k: (np.asarray(v, dtype=np.float64) if np.issubdtype(np.asarray(v).dtype, np.floating) else np.asarray(v))
             for k, v in x.items()}
    elif np.issubdtype(np.asarray(x).dtype, np.floating):
        x = np.asarray(x, dtype=np.float64)
    frozen = _FrozenRandomness(net.layers)

    frozen.reset()
    cost_and_gradients(net, x, y, loss, regularization=regularization)

    def cost():
        frozen.reset()
        outputs = net.forward(x, training=True)
        c, _ = compute_cost(net, outputs, y, loss, regularization=regularization, fuse=False)
        return c

    result = {}
    for name in net.topological_order():
        layer = net[name]
        keys = [k for k in layer.params if np.issubdtype(layer.params[k].dtype, np.floating)]
        if not keys:
            continue
        _contiguous_params(layer)
        exact = [np.array(layer.grads[k], dtype=np.float64) for k in keys]
        picks, approx = _numeric(cost, [layer.params[k] for k in keys], eps, max_checks, rng)
        theta_approx = np.concatenate(approx)
        theta_exact = np.concatenate([e.reshape(-1)[idx] for e, idx in zip(exact, picks)])
        result[name] = relative_error(theta_approx, theta_exact)
    return result
