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
        if input_shapes:
            raise ShapeError(f"{self.label} is where data enters: nothing can be linked into it", self.name)
        return self.shape

    def forward(self, x, training=False):
        if tuple(x.shape[1:]) != self.shape:
            raise ShapeError(
                f"{self.label} expects samples of shape {self.shape}, got {tuple(x.shape[1:])}", self.name
            )
        return x

    def backward(self, dy):
        return dy


def _prod(shape):
    n = 1
    for d in shape:
        n *= int(d)
    return n


@register
class Dense(Layer):
    """Fully connected layer: every output unit is a weighted sum of every input plus a bias.

    units : number of output units (neurons).
    use_bias : add the bias b.
    initializer : "auto" (He before ReLU/leaky ReLU/ELU, Xavier otherwise: the network decides
        when it builds), "he", "xavier", "normal" or "zeros".
    l1, l2 : regularization strengths for W (see engine.regularizers).

    Shapes: x : ndarray of shape (batch, in_features) -> y : ndarray of shape (batch, units),
    ``y = x @ W + b`` with W of shape (in_features, units) and b of shape (units,). This is the notes'
    ``z = W x + b`` written for a batch of row vectors: our W is the notes' W transposed.
    """

    regularized = ("W",)
    family = "Core"
    description = "Fully connected layer: each unit computes z = W x + b over every input (weights W, bias b)."

    def __init__(self, units, use_bias=True, initializer="auto", l1=0.0, l2=0.0, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        from ..initializers import check_initializer_name

        if isinstance(units, bool) or int(units) != units or int(units) <= 0:
            raise ValueError(f"units must be a positive whole number, got {units!r}")
        self.units = int(units)
        self.use_bias = bool(use_bias)
        self.initializer = check_initializer_name(initializer)
        self.l1 = float(l1)
        self.l2 = float(l2)
        if self.l1 < 0 or self.l2 < 0:
            raise ValueError("l1 and l2 must not be negative")
        self._x = None

    def get_config(self):
        return {**super().get_config(), "units": self.units, "use_bias": self.use_bias,
                "initializer": self.initializer, "l1": self.l1, "l2": self.l2}

    def output_shape(self, input_shapes):
        self._expect_inputs(input_shapes)
        shape = tuple(input_shapes[0])
        if len(shape) != 1:
            raise ShapeError(
                f"{self.label} needs a flat (features,) input, got {shape}: add a Flatten before it",
                self.name,
            )
        return (self.units,)

    def param_count(self, input_shapes=None):
        if input_shapes is None:
            return super().param_count()
        self.output_shape(input_shapes)
        n_in = int(input_shapes[0][0])
        return n_in * self.units + (self.units if self.use_bias else 0)

    def build(self, input_shapes, rng=None, dtype=np.float32):
        from ..initializers import get_initializer

        self.output_shape(input_shapes)
        n_in = int(input_shapes[0][0])
        rng = rng if rng is not None else np.random.default_rng()
        init = get_initializer(self.resolve_initializer(self.initializer))
        self.params = {"W": init((n_in, self.units), n_in, self.units, rng, dtype)}
        if self.use_bias:
            self.params["b"] = np.zeros(self.units, dtype=dtype)
        self.grads = {}
        self.zero_grads()
        super().build(input_shapes, rng, dtype)

    def forward(self, x, training=False):
        """x : ndarray of shape (batch, in_features) -> ndarray of shape (batch, units)."""
        if x.ndim != 2:
            raise ShapeError(f"{self.label} needs input of shape (batch, features), got {x.shape}", self.name)
        y = x @ self.params["W"]
        if self.use_bias:
            y += self.params["b"]
        if training:  # inference leaves the training cache alone (a panel may predict meanwhile)
            self._x = x
        return y

    def backward(self, dy):
        """dy : ndarray of shape (batch, units) -> dx of shape (batch, in_features)."""
        x = self._x
        if x is None:
            raise RuntimeError(f"{self.label}: backward needs a forward pass with training=True first")
        self.grads["W"] = x.T @ dy
        if self.use_bias:
            self.grads["b"] = dy.sum(axis=0)
        if not self.need_input_grad:
            return None
        return dy @ self.params["W"].T


@register
class Flatten(Layer):
    """Turns each sample into one long vector: (C, H, W) -> (C*H*W,)."""

    family = "Core"
    description = "Unrolls each sample into one vector (e.g. a 28x28 image into 784 inputs) for Dense layers."

    def output_shape(self, input_shapes):
        self._expect_inputs(input_shapes)
        return (_prod(input_shapes[0]),)

    def forward(self, x, training=False):
        """x : ndarray of shape (batch, *shape) -> ndarray of shape (batch, prod(shape))."""
        if training:
            self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        return dy.reshape(self._shape)


@register
class Reshape(Layer):
    """Gives each sample a new shape with the same number of values; one size may be -1."""

    family = "Core"
    description = "Rearranges each sample's values into a new shape (same count), e.g. 784 -> (1, 28, 28)."

    def __init__(self, shape, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        if isinstance(shape, int):
            shape = (shape,)
        self.shape = tuple(int(d) for d in shape)
        if not self.shape or any(d == 0 or d < -1 for d in self.shape) or self.shape.count(-1) > 1:
            raise ValueError(f"a target shape needs positive sizes and at most one -1, got {shape}")

    def get_config(self):
        return {**super().get_config(), "shape": list(self.shape)}

    def output_shape(self, input_shapes):
        self._expect_inputs(input_shapes)
        n = _prod(input_shapes[0])
        shape = list(self.shape)
        if -1 in shape:
            known = _prod([d for d in shape if d != -1])
            if n % known:
                raise ShapeError(
                    f"{self.label} cannot reshape {tuple(input_shapes[0])} ({n} values) to {self.shape}",
                    self.name,
                )
            shape[shape.index(-1)] = n // known
        if _prod(shape) != n:
            raise ShapeError(
                f"{self.label} cannot reshape {tuple(input_shapes[0])} ({n} values) into {self.shape} "
                f"({_prod(shape)} values)",
                self.name,
            )
        return tuple(shape)

    def forward(self, x, training=False):
        """x : ndarray of shape (batch, *in_shape) -> ndarray of shape (batch, *shape)."""
        if training:
            self._shape = x.shape
        return x.reshape((x.shape[0],) + self.output_shape([x.shape[1:]]))

    def backward(self, dy):
        return dy.reshape(self._shape)
