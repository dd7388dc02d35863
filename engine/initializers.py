"""Weight initializers: how a layer's weights start before the first step of gradient descent.

Every initializer has the signature ``init(shape, fan_in, fan_out, rng, dtype)`` and returns a new
array of ``shape``:

- ``zeros``: every weight 0 (fine for biases; for weights it fails to break symmetry: every unit of
  a layer would learn the same thing).
- ``normal``: a normal distribution scaled by ``scale`` (default 0.01), the "small random numbers"
  of the notes.
- ``xavier`` (alias ``glorot``): normal with variance 1/n_in, suited to tanh and sigmoid.
- ``he``: normal with variance 2/n_in, suited to ReLU and its relatives.

``"auto"`` is not an initializer but a setting of layers with weights: :class:`engine.graph.Network`
resolves it when it builds the network (He before a ReLU-family activation, Xavier otherwise); see
:func:`engine.graph.Network.auto_initializer`.
"""

import functools

import numpy as np

from .errors import ConfigError


def zeros(shape, fan_in=None, fan_out=None, rng=None, dtype=np.float32):
    """All zeros."""
    return np.zeros(shape, dtype=dtype)


def normal(shape, fan_in=None, fan_out=None, rng=None, dtype=np.float32, scale=0.01):
    """Normal(0, 1) scaled by ``scale`` (0.01 by default)."""
    rng = rng if rng is not None else np.random.default_rng()
    return (rng.standard_normal(shape) * scale).astype(dtype)


def xavier(shape, fan_in, fan_out=None, rng=None, dtype=np.float32):
    """Xavier/Glorot: normal with variance 1/fan_in (keeps tanh/sigmoid activations in range)."""
    rng = rng if rng is not None else np.random.default_rng()
    return (rng.standard_normal(shape) * np.sqrt(1.0 / max(int(fan_in), 1))).astype(dtype)


def he(shape, fan_in, fan_out=None, rng=None, dtype=np.float32):
    """He: normal with variance 2/fan_in (ReLU zeroes half its inputs, so twice the variance)."""
    rng = rng if rng is not None else np.random.default_rng()
    return (rng.standard_normal(shape) * np.sqrt(2.0 / max(int(fan_in), 1))).astype(dtype)


INITIALIZERS = {
    "zeros": zeros,
    "normal": normal,
    "xavier": xavier,
    "glorot": xavier,
    "he": he,
}

#: names a layer's ``initializer`` setting accepts (``auto`` is resolved by the network).
INITIALIZER_NAMES = ("auto", "he", "xavier", "glorot", "normal", "zeros")


def get_initializer(name, **options):
    """The initializer called ``name`` (options such as ``scale`` for ``normal`` are bound).

    Raises ConfigError for an unknown name.
    """
    if callable(name):
        return name
    key = str(name).lower()
    fn = INITIALIZERS.get(key)
    if fn is None:
        known = ", ".join(sorted(INITIALIZERS))
        raise ConfigError(f"unknown initializer '{name}' (known: {known}; 'auto' is resolved by the network)")
    return functools.partial(fn, **options) if options else fn


def check_initializer_name(name):
    """Raise ConfigError unless ``name`` is a known initializer or ``auto`` (for layer __init__)."""
    if str(name).lower() == "auto":
        return "auto"
    get_initializer(name)
    return str(name).lower()
