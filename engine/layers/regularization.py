"""Regularization layers: Dropout (inverted)."""

import numpy as np

from .base import Layer, register


@register
class Dropout(Layer):
    """Inverted dropout: in training, each value is kept with probability 1 - rate and scaled by
    1/(1 - rate) so the expected activation is unchanged; at inference the layer does nothing.

    rate : share of values dropped, 0 <= rate < 1.
    seed : seed of the layer's own random generator (None: drawn from the network's seed at build).

    x : ndarray of any shape (batch, ...) (vectors or feature maps) -> same shape.
    """

    family = "Regularization"
    description = ("Inverted dropout: switches off a random share of units in each training step "
                   "(scaling the rest by 1/keep_prob) so the network cannot rely on any one unit.")

    def __init__(self, rate=0.5, seed=None, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        rate = float(rate)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
        self.rate = rate
        self.seed = None if seed is None else int(seed)
        self._rng = np.random.default_rng(self.seed)
        self._mask = None

    def get_config(self):
        cfg = {**super().get_config(), "rate": self.rate}
        if self.seed is not None:
            cfg["seed"] = self.seed
        return cfg

    def build(self, input_shapes, rng=None, dtype=np.float32):
        self.output_shape(input_shapes)
        if self.seed is None and rng is not None:
            self._rng = np.random.default_rng(int(rng.integers(2**63)))
        super().build(input_shapes, rng, dtype)

    def forward(self, x, training=False):
        """x : ndarray of shape (batch, ...) -> same shape."""
        if not training:
            return x  # the training mask is left alone (a panel may predict meanwhile)
        if self.rate == 0.0:
            self._mask = None
            return x
        keep = 1.0 - self.rate
        mask = (self._rng.random(x.shape) < keep).astype(x.dtype)
        mask /= x.dtype.type(keep)
        self._mask = mask
        return x * mask

    def backward(self, dy):
        if self._mask is None:
            return dy
        return dy * self._mask
