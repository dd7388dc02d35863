"""Optimizers: rules that turn gradients into weight changes.

An optimizer is an object of its own that holds references to the network's parameters (after
tinygrad: ``Adam(network.parameters(trainable_only=True), lr=0.001)``) and updates each
``p.value`` in place from ``p.grad`` when :meth:`Optimizer.step` is called. A layer never owns an
optimizer. In the course notes' terms (alpha is the learning rate ``lr``):

- :class:`SGD` -- plain gradient descent, ``w -= lr * dw``. Whether it is batch, mini-batch or
  stochastic gradient descent is decided by the batch size the trainer feeds it (m, 1 < b < m, 1).
- :class:`Momentum` -- gradient descent with an exponentially weighted average (EWA) of the
  gradients, ``v = beta v + (1 - beta) dw; w -= lr * v``, which damps the noise of small batches
  and the overshooting of large learning rates. Optional bias correction ``v / (1 - beta^t)``
  fixes the first steps, where the average starts from zero.
- :class:`RMSprop` -- root mean square prop: an EWA of the squared gradients ``s`` and
  ``w -= lr * dw / (sqrt(s) + eps)``, which damps the directions that oscillate.
- :class:`Adam` -- momentum and RMSprop together, both bias-corrected (beta1 0.9, beta2 0.999,
  eps 1e-8).

``lr`` is a plain attribute: set it at any time (a schedule or the user) and the next step uses
it, without resetting the averages. Parameters whose layer is frozen (``trainable=False``) are
skipped. Updates are done in place with preallocated buffers (no per-step allocations beyond one
scratch array per parameter), so the optimizer costs little next to forward and backward.

Use :func:`get_optimizer` to build one from a document's ``"optimizer"`` dict, e.g.
``{"type": "adam", "lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}``.
"""

import math
import numbers

import numpy as np

from .errors import ConfigError


class Optimizer:
    """Base class: holds the parameters, the learning rate and the step count ``t``.

    params : iterable of :class:`engine.graph.Parameter` (anything with ``value``, ``grad`` and
        ``trainable`` attributes, where ``value`` is updated in place).
    lr : float, the learning rate (alpha in the notes).
    """

    #: the name used in documents ("adam", ...)
    type_name = ""
    #: option name -> default, besides ``lr``
    defaults = {}

    def __init__(self, params, lr=0.01):
        self.params = list(params)
        self.lr = float(lr)
        self.t = 0
        self._state = [None] * len(self.params)

    # -- configuration ---------------------------------------------------------------------------
    def get_config(self):
        cfg = {"type": self.type_name, "lr": self.lr}
        for k in self.defaults:
            cfg[k] = getattr(self, k)
        return cfg

    # -- updating --------------------------------------------------------------------------------
    def zero_grad(self):
        """Set every parameter's gradient to zero (backward overwrites them anyway)."""
        for p in self.params:
            p.grad.fill(0)

    def step(self):
        """Apply one update to every trainable parameter from its current gradient."""
        self.t += 1
        self._begin_step()
        for i, p in enumerate(self.params):
            if not p.trainable:
                continue
            w = p.value
            state = self._state[i]
            if state is None or state[0].shape != w.shape or state[0].dtype != w.dtype:
                state = self._state[i] = self._init_state(w)
            self._update(w, p.grad, state)

    def _begin_step(self):
        """Hook run once per step before the per-parameter updates (bias corrections)."""

    def _init_state(self, w):
        """Per-parameter buffers; the first one is always a scratch array shaped like ``w``."""
        return (np.empty_like(w),)

    def _update(self, w, g, state):
        raise NotImplementedError

    # -- saving ----------------------------------------------------------------------------------
    def state_dict(self):
        """The optimizer's state as ``{"t": int, "lr": float, "state/<i>/<j>": array}`` (copies)."""
        out = {"t": self.t, "lr": self.lr}
        for i, state in enumerate(self._state):
            if state is None:
                continue
            for j, arr in enumerate(state[1:], start=1):
                out[f"state/{i}/{j}"] = np.array(arr, copy=True)
        return out

    def load_state_dict(self, sd):
        """Restore a :meth:`state_dict` (for the same parameter list)."""
        self.t = int(sd.get("t", 0))
        self.lr = float(sd.get("lr", self.lr))
        for i, p in enumerate(self.params):
            if f"state/{i}/1" not in sd:
                self._state[i] = None
                continue
            state = list(self._init_state(p.value))
            for j in range(1, len(state)):
                arr = np.asarray(sd[f"state/{i}/{j}"])
                if arr.shape != state[j].shape:
                    raise ConfigError(
                        f"optimizer state for {getattr(p, 'name', i)} has shape {arr.shape}, "
                        f"the parameter needs {state[j].shape}"
                    )
                state[j][...] = arr
            self._state[i] = tuple(state)

    def __repr__(self):
        opts = ", ".join(f"{k}={v}" for k, v in self.get_config().items() if k != "type")
        return f"{type(self).__name__}({opts})"


class SGD(Optimizer):
    """Plain gradient descent: ``w -= lr * dw``.

    The batch size fed by the trainer decides the flavour: the whole training set (batch GD),
    one example (stochastic GD) or anything in between (mini-batch GD).
    """

    type_name = "sgd"
    defaults = {}

    def __init__(self, params, lr=0.01):
        super().__init__(params, lr)

    def _update(self, w, g, state):
        scratch = state[0]
        np.multiply(g, self.lr, out=scratch)
        w -= scratch


class Momentum(Optimizer):
    """Gradient descent with momentum: an exponentially weighted average of the gradients.

    ``v = beta * v + (1 - beta) * dw``; with ``bias_correction`` ``v_hat = v / (1 - beta^t)``;
    ``w -= lr * v_hat``. beta 0.9 averages over roughly the last 1 / (1 - beta) = 10 gradients.
    """

    type_name = "momentum"
    defaults = {"beta": 0.9, "bias_correction": False}

    def __init__(self, params, lr=0.01, beta=0.9, bias_correction=False):
        super().__init__(params, lr)
        self.beta = float(beta)
        self.bias_correction = bool(bias_correction)

    def _init_state(self, w):
        return (np.empty_like(w), np.zeros_like(w))

    # The average is kept scaled, u = v / (1 - beta), so that its update u = beta u + g takes two
    # passes over memory instead of three; (1 - beta) is folded into the step size.
    def _update(self, w, g, state):
        scratch, u = state
        np.multiply(u, self.beta, out=u)
        np.add(u, g, out=u)
        step = self.lr * (1.0 - self.beta)
        if self.bias_correction:
            step /= 1.0 - self.beta ** self.t
        np.multiply(u, step, out=scratch)
        np.subtract(w, scratch, out=w)

    def state_dict(self):
        sd = super().state_dict()
        for k in sd:
            if k.startswith("state/"):
                sd[k] = sd[k] * (1.0 - self.beta)  # the true average v
        return sd

    def load_state_dict(self, sd):
        sd = {k: (np.asarray(v) / (1.0 - self.beta) if k.startswith("state/") else v) for k, v in sd.items()}
        super().load_state_dict(sd)


class RMSprop(Optimizer):
    """RMSprop: divide each gradient by the root of an EWA of its squares.

    ``s = beta2 * s + (1 - beta2) * dw^2; w -= lr * dw / (sqrt(s) + eps)``.
    """

    type_name = "rmsprop"
    defaults = {"beta2": 0.999, "eps": 1e-8}

    def __init__(self, params, lr=0.001, beta2=0.999, eps=1e-8):
        super().__init__(params, lr)
        self.beta2 = float(beta2)
        self.eps = float(eps)

    def _init_state(self, w):
        return (np.empty_like(w), np.zeros_like(w))

    # Kept scaled, r = s / (1 - beta2): r = beta2 r + dw^2, and
    # dw / (sqrt(s) + eps) = dw / (sqrt(1 - beta2) (sqrt(r) + eps / sqrt(1 - beta2))).
    def _update(self, w, g, state):
        scratch, r = state
        c = math.sqrt(1.0 - self.beta2)
        np.multiply(r, self.beta2, out=r)
        np.multiply(g, g, out=scratch)
        np.add(r, scratch, out=r)
        np.sqrt(r, out=scratch)
        np.add(scratch, self.eps / c, out=scratch)
        np.divide(g, scratch, out=scratch)
        np.multiply(scratch, self.lr / c, out=scratch)
        np.subtract(w, scratch, out=w)

    def state_dict(self):
        sd = super().state_dict()
        for k in sd:
            if k.startswith("state/"):
                sd[k] = sd[k] * (1.0 - self.beta2)  # the true average s
        return sd

    def load_state_dict(self, sd):
        sd = {k: (np.asarray(v) / (1.0 - self.beta2) if k.startswith("state/") else v) for k, v in sd.items()}
        super().load_state_dict(sd)


class Adam(Optimizer):
    """Adam: momentum (beta1) and RMSprop (beta2) together, with bias correction.

    ``v = beta1 v + (1 - beta1) dw``; ``s = beta2 s + (1 - beta2) dw^2``;
    ``v_hat = v / (1 - beta1^t)``; ``s_hat = s / (1 - beta2^t)``;
    ``w -= lr * v_hat / (sqrt(s_hat) + eps)``.

    Implementation: the averages are kept scaled, ``u = v / (1 - beta1)`` and
    ``r = s / (1 - beta2)``, so each takes one multiply and one add per step; every constant
    (the (1 - beta) factors and both bias corrections) is folded into one step size and one
    epsilon, which is exactly the formula above with ten passes over memory instead of thirteen.
    """

    type_name = "adam"
    defaults = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}

    def __init__(self, params, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(params, lr)
        self.beta1 = float(beta1)
        self.beta2 = float(beta2)
        self.eps = float(eps)

    def _init_state(self, w):
        return (np.empty_like(w), np.zeros_like(w), np.zeros_like(w))

    def _begin_step(self):
        # sqrt(s_hat) = sqrt(r) * k with k = sqrt((1 - beta2) / (1 - beta2^t))
        k = math.sqrt((1.0 - self.beta2) / (1.0 - self.beta2 ** self.t))
        v_scale = (1.0 - self.beta1) / (1.0 - self.beta1 ** self.t)  # v_hat = u * v_scale
        self._eps_k = self.eps / k
        self._step_size = self.lr * v_scale / k

    def _update(self, w, g, state):
        scratch, u, r = state
        np.multiply(u, self.beta1, out=u)
        np.add(u, g, out=u)
        np.multiply(r, self.beta2, out=r)
        np.multiply(g, g, out=scratch)
        np.add(r, scratch, out=r)
        np.sqrt(r, out=scratch)
        np.add(scratch, self._eps_k, out=scratch)
        np.divide(u, scratch, out=scratch)
        np.multiply(scratch, self._step_size, out=scratch)
        np.subtract(w, scratch, out=w)

    def state_dict(self):
        sd = super().state_dict()
        for k in sd:
            if k.startswith("state/") and k.endswith("/1"):
                sd[k] = sd[k] * (1.0 - self.beta1)  # the true average v
            elif k.startswith("state/") and k.endswith("/2"):
                sd[k] = sd[k] * (1.0 - self.beta2)  # the true average s
        return sd

    def load_state_dict(self, sd):
        def unscale(k, v):
            if k.startswith("state/") and k.endswith("/1"):
                return np.asarray(v) / (1.0 - self.beta1)
            if k.startswith("state/") and k.endswith("/2"):
                return np.asarray(v) / (1.0 - self.beta2)
            return v
        super().load_state_dict({k: unscale(k, v) for k, v in sd.items()})


#: document name -> class (with a few friendly aliases)
OPTIMIZERS = {
    "sgd": SGD,
    "gd": SGD,
    "gradient_descent": SGD,
    "momentum": Momentum,
    "rmsprop": RMSprop,
    "adam": Adam,
}


def optimizer_names():
    """The canonical optimizer names, for menus."""
    return ["sgd", "momentum", "rmsprop", "adam"]


def _check_number(name, key, value, low=None, high=None, low_open=False, high_open=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ConfigError(f"optimizer '{name}': {key} must be a number, got {value!r}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ConfigError(f"optimizer '{name}': {key} must be {'>' if low_open else '>='} {low}, got {value}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ConfigError(f"optimizer '{name}': {key} must be {'<' if high_open else '<='} {high}, got {value}")


def get_optimizer(config, params, lr=None):
    """Build an optimizer from a document's ``"optimizer"`` entry.

    config : a name ("adam") or a dict ``{"type": "adam", "lr": 0.001, ...}``.
    params : the parameters to update (``network.parameters(trainable_only=True)``).
    lr : overrides the config's learning rate when given.
    Raises ConfigError for an unknown name, an unknown option or a value out of range.
    """
    if config is None:
        config = {"type": "adam"}
    if isinstance(config, str):
        config = {"type": config}
    if not isinstance(config, dict):
        raise ConfigError(f"the optimizer must be a name or an object with a 'type', got {config!r}")
    cfg = dict(config)
    name = cfg.pop("type", None)
    if not isinstance(name, str):
        raise ConfigError("the optimizer needs a 'type' (one of sgd, momentum, rmsprop, adam)")
    cls = OPTIMIZERS.get(name.lower())
    if cls is None:
        raise ConfigError(f"unknown optimizer '{name}' (known: {', '.join(optimizer_names())})")
    unknown = [k for k in cfg if k != "lr" and k not in cls.defaults]
    if unknown:
        allowed = ", ".join(["lr", *cls.defaults])
        raise ConfigError(f"optimizer '{name}' has no option {unknown[0]!r} (its options: {allowed})")
    if lr is not None:
        cfg["lr"] = lr
    if "lr" in cfg:
        _check_number(name, "lr", cfg["lr"], low=0.0, low_open=True)
    for key in ("beta", "beta1", "beta2"):
        if key in cfg:
            _check_number(name, key, cfg[key], low=0.0, high=1.0, high_open=True)
    if "eps" in cfg:
        _check_number(name, "eps", cfg["eps"], low=0.0)
    if "bias_correction" in cfg and not isinstance(cfg["bias_correction"], bool):
        raise ConfigError(f"optimizer '{name}': bias_correction must be true or false")
    return cls(params, **cfg)
