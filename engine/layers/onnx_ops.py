"""Small layers for ONNX operators that have no other engine layer.

Models imported from PyTorch or Keras use a few tensor operations that the course's own layers do
not name: a transposition of axes, picking entries along an axis, a log-softmax, a softmax over a
channel axis, adding or scaling by a fixed tensor. These layers give such models a home on the
canvas, with gradients, so an imported network can be fine-tuned like any other.

All axes in these layers are per-sample axes (the batch axis is not counted): axis 0 is the
first axis after the batch.
"""

import numpy as np

from ..errors import ShapeError
from .base import Layer, register


def _norm_axis(axis, rank, layer):
    a = int(axis)
    if a < 0:
        a += rank
    if not 0 <= a < rank:
        raise ShapeError(f"{layer.label}: axis {axis} is outside a sample of rank {rank}", layer.name)
    return a


@register
class Transpose(Layer):
    """Reorder the axes of each sample.

    perm : per-sample axis order, e.g. (1, 0) turns x of shape (batch, T, F) into (batch, F, T).
    """

    family = "Tensor"
    description = "Reorders the axes of each sample (e.g. time and features), without changing any value."

    def __init__(self, perm, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self.perm = tuple(int(p) for p in perm)
        if sorted(self.perm) != list(range(len(self.perm))):
            raise ValueError(f"perm must be a permutation of 0..{len(self.perm) - 1}, got {list(perm)}")

    def get_config(self):
        return {**super().get_config(), "perm": list(self.perm)}

    def output_shape(self, input_shapes):
        self._expect_inputs(input_shapes)
        s = tuple(input_shapes[0])
        if len(s) != len(self.perm):
            raise ShapeError(f"{self.label} reorders {len(self.perm)} axes, got a sample of shape {s}", self.name)
        return tuple(s[p] for p in self.perm)

    def forward(self, x, training=False):
        """x : ndarray of shape (batch, *sample) -> (batch, *sample[perm])."""
        return np.transpose(x, (0,) + tuple(p + 1 for p in self.perm))

    def backward(self, dy):
        inv = np.argsort((0,) + tuple(p + 1 for p in self.perm))
        return np.transpose(dy, tuple(inv))


@register
class Take(Layer):
    """Pick fixed entries along one axis of each sample (ONNX Gather with constant indices).

    indices : int or list of ints (a single int removes the axis, a list keeps it).
    axis : per-sample axis.
    """

    family = "Tensor"
    description = "Picks fixed entries (by index) along one axis of each sample; the rest is dropped."

    def __init__(self, indices, axis=0, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        arr = np.asarray(indices, dtype=np.int64)
        if arr.ndim > 1:
            raise ValueError("indices must be an int or a flat list of ints")
        self.indices = arr
        self.axis = int(axis)
        self._shape = None

    def get_config(self):
        idx = int(self.indices) if self.indices.ndim == 0 else [int(i) for i in self.indices]
        return {**super().get_config(), "indices": idx, "axis": self.axis}

    def output_shape(self, input_shapes):
        self._expect_inputs(input_shapes)
        s = tuple(input_shapes[0])
        a = _norm_axis(self.axis, len(s), self)
        idx = self.indices
        if np.any(idx >= s[a]) or np.any(idx < -s[a]):
            raise ShapeError(f"{self.label}: index out of range for an axis of size {s[a]}", self.name)
        return s[:a] + tuple(idx.shape) + s[a + 1:]

    def forward(self, x, training=False):
        """x : ndarray of shape (batch, *sample)."""
        a = _norm_axis(self.axis, x.ndim - 1, self) + 1
        if training:
            self._shape = x.shape
        return np.take(x, self.indices, axis=a)

    def backward(self, dy):
        a = _norm_axis(self.axis, len(self._shape) - 1, self) + 1
        dx = np.zeros(self._shape, dtype=dy.dtype)
        idx = self.indices % self._shape[a]
        if idx.ndim == 0:
            dy = np.expand_dims(dy, a)
            idx = idx.reshape(1)
        dxm = np.moveaxis(dx, a, 0)
        np.add.at(dxm, idx, np.moveaxis(dy, a, 0))
        return dx


def _softmax(x, axis):
    z = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


@register
class LogSoftmax(Layer):
    """log(softmax(x)) along one axis: the log-probabilities a classifier's last layer gives.

    axis : per-sample axis (default -1, the last).
    """

    family = "Activations"
    description = "Log of the softmax probabilities along an axis: log p(class | x), computed stably."

    def __init__(self, axis=-1, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self.axis = int(axis)
        self._p = None

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}

    def output_shape(self, input_shapes):
        self._expect_inputs(input_shapes)
        _norm_axis(self.axis, len(input_shapes[0]), self)
        return tuple(input_shapes[0])

    def forward(self, x, training=False):
        """x : ndarray of shape (batch, *sample); same shape out."""
        a = _norm_axis(self.axis, x.ndim - 1, self) + 1
        z = x - np.max(x, axis=a, keepdims=True)
        y = z - np.log(np.sum(np.exp(z), axis=a, keepdims=True))
        if training:
            self._p = (np.exp(y), a)
        return y

    def backward(self, dy):
        p, a = self._p
        return dy - p * np.sum(dy, axis=a, keepdims=True)


@register
class SoftmaxAxis(Layer):
    """Softmax along any per-sample axis (e.g. over channels of (C, H, W) maps).

    axis : per-sample axis (default 0, the channels).
    """

    family = "Activations"
    description = "Softmax along a chosen axis: turns scores into probabilities that sum to 1 on that axis."

    def __init__(self, axis=0, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self.axis = int(axis)
        self._cache = None

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}

    def output_shape(self, input_shapes):
        self._expect_inputs(input_shapes)
        _norm_axis(self.axis, len(input_shapes[0]), self)
        return tuple(input_shapes[0])

    def forward(self, x, training=False):
        """x : ndarray of shape (batch, *sample); same shape out."""
        a = _norm_axis(self.axis, x.ndim - 1, self) + 1
        y = _softmax(x, a)
        if training:
            self._cache = (y, a)
        return y

    def backward(self, dy):
        y, a = self._cache
        return y * (dy - np.sum(dy * y, axis=a, keepdims=True))


@register
class ConstantOp(Layer):
    """Combine each sample with a fixed tensor: x + c, x - c, c - x, x * c or x / c (broadcasting).

    op : "add", "sub", "rsub", "mul" or "div".
    value : the constant, broadcast against one sample (no batch axis).
    trainable : when True the constant is a parameter ``c`` and learns (a bias or a scale).
    """

    family = "Tensor"
    description = "Adds, subtracts, multiplies or divides each sample by a fixed tensor (a bias or a scale)."
    OPS = ("add", "sub", "rsub", "mul", "div")

    def __init__(self, op, value, name=None, trainable=False):
        super().__init__(name=name, trainable=trainable)
        if op not in self.OPS:
            raise ValueError(f"op must be one of {', '.join(self.OPS)}, got {op!r}")
        self.op = op
        self.value = np.asarray(value, dtype=np.float64)
        self._x = None

    def get_config(self):
        return {**super().get_config(), "op": self.op, "value": self.value.tolist()}

    def output_shape(self, input_shapes):
        self._expect_inputs(input_shapes)
        s = tuple(input_shapes[0])
        try:
            out = np.broadcast_shapes(s, self.value.shape)
        except ValueError:
            raise ShapeError(
                f"{self.label}: a constant of shape {self.value.shape} does not fit samples of shape {s}",
                self.name,
            ) from None
        if len(out) != len(s) or tuple(out) != s:
            raise ShapeError(f"{self.label}: the constant would change the sample shape {s}", self.name)
        return s

    def param_count(self, input_shapes=None):
        return int(self.value.size)

    def build(self, input_shapes, rng=None, dtype=np.float32):
        super().build(input_shapes, rng, dtype)
        self.params = {"c": self.value.astype(dtype)}

    def forward(self, x, training=False):
        """x : ndarray of shape (batch, *sample); same shape out."""
        c = self.params["c"]
        if training:
            self._x = x
        if self.op == "add":
            return x + c
        if self.op == "sub":
            return x - c
        if self.op == "rsub":
            return c - x
        if self.op == "mul":
            return x * c
        return x / c

    def backward(self, dy):
        c = self.params["c"]
        x = self._x
        if self.op in ("add", "sub"):
            dx, dc = dy, (dy if self.op == "add" else -dy)
        elif self.op == "rsub":
            dx, dc = -dy, dy
        elif self.op == "mul":
            dx, dc = dy * c, dy * x
        else:
            dx, dc = dy / c, -dy * x / (c * c)
        # sum dc over the batch and the broadcast axes
        dc = dc.sum(axis=0)
        extra = dc.ndim - c.ndim
        if extra:
            dc = dc.sum(axis=tuple(range(extra)))
        dc = dc.sum(axis=tuple(i for i, n in enumerate(c.shape) if n == 1), keepdims=True)
        self.grads["c"] = dc.reshape(c.shape).astype(c.dtype)
        return dx
