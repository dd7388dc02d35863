"""Core layers: Input, Dense, Flatten, Reshape."""

import numpy as np

from ..errors import ShapeError
from .base import Layer, register


@register
class Input(Layer):
    """Where data enters the network.

    shape : per-sample shape, e.g. (784,) for flat digits or (1, 28, 28) for images.
    """

    n_inputs = 0
    description = "Where data enters the network: one sample's shape, without the batch axis."

    def __init__(self, shape, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        if isinstance(shape, int):
            shape = (shape,)
        self.shape = tuple(int(d) for d in shape)
        if not self.shape or any(d <= 0 for d in self.shape):
            raise ValueError(f"an input shape needs positive sizes, got {shape}")

    def get_config(self):
        return {**super().get_config(), "shape": list(self.shape)}

    def output_shape(self, input_shapes):
        return self.shape

    def forward(self, x, training=False):
        if tuple(x.shape[1:]) != self.shape:
            raise ShapeError(
                f"{self.label} expects samples of shape {self.shape}, got {tuple(x.shape[1:])}", self.name
            )
        return x

    def backward(self, dy):
        return dy
