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
from .activations import softmax
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


class _AxisLayer(Layer):
    """A one-input, shape-keeping layer that works along one per-sample ``axis``."""

    family = "Activations"

    def __init__(self, axis=-1, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self.axis = int(axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}

    def output_shape(self, input_shapes):
        self._expect_inputs(input_shapes)
        _norm_axis(self.axis, len(input_shapes[0]), self)
        return tuple(input_shapes[0])


@register
class LogSoftmax(_AxisLayer):
    """log(softmax(x)) along one axis: the log-probabilities a classifier's last layer gives.

    axis : per-sample axis (default -1, the last).
    """

    description = "Log of the softmax probabilities along an axis: log p(class | x), computed stably."

    def __init__(self, axis=-1, name=None, trainable=True):
        super().__init__(axis=axis, name=name, trainable=trainable)
        self._p = None

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
class SoftmaxAxis(_AxisLayer):
    """Softmax along any per-sample axis (e.g. over channels of (C, H, W) maps).

    axis : per-sample axis (default 0, the channels).
    """

    description = "Softmax along a chosen axis: turns scores into probabilities that sum to 1 on that axis."

    def __init__(self, axis=0, name=None, trainable=True):
        super().__init__(axis=axis, name=name, trainable=trainable)
        self._cache = None

    def forward(self, x, training=False):
        """x : ndarray of shape (batch, *sample); same shape out."""
        a = _norm_axis(self.axis, x.ndim - 1, self) + 1
        y = softmax(x, axis=a)
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


def _reset_after_gru_class():
    """Defined on the recurrent module's GRU (configuration, shapes, weight layout and build are
    shared); the computation is self-contained here, in batch-major (N, units) arrays."""
    from .recurrent import GRU, _sigmoid_inplace

    @register
    class ResetAfterGRU(GRU):
        """GRU in the form PyTorch and Keras (reset_after=True) compute it.

        The relevance gate multiplies the recurrent product instead of the memory:
        c~<t> = tanh(x<t> Wx_c + b_c + Γr * (c<t-1> Wa_c + bh)), with its own recurrent bias ``bh``
        (ONNX GRU with linear_before_reset=1). Everything else is the course notes' GRU:
        c<t> = Γu * c~<t> + (1 - Γu) * c<t-1>. Weights as in GRU (W of shape (units + F, 3 units),
        rows [a<t-1>; x<t>], column blocks [u, r, c~]; b of shape (3 units,)), plus ``bh`` (units,).
        x : ndarray of shape (N, T, F); optional a<0> of shape (N, units).
        Returns (N, T, units) with return_sequences, else (N, units).
        """

        description = ("GRU as PyTorch and Keras compute it: the relevance gate Γr scales the recurrent part "
                       "W c<t-1> of the candidate (not c<t-1> itself); otherwise the course notes' GRU.")

        def param_count(self, input_shapes=None):
            n = super().param_count(input_shapes)
            return n + self.units if input_shapes is not None else n

        def build(self, input_shapes, rng=None, dtype=np.float32):
            super().build(input_shapes, rng, dtype)
            self.params["bh"] = np.zeros(self.units, dtype=dtype)
            self.grads["bh"] = np.zeros(self.units, dtype=dtype)

        def forward(self, x, *states, training=False):
            W, b, bh = self.params["W"], self.params["b"], self.params["bh"]
            dtype = W.dtype
            x = np.asarray(x, dtype=dtype)
            if x.ndim != 3:
                raise ShapeError(f"{self.label} needs batches of shape (N, T, features), got {x.shape}", self.name)
            n, T, _ = x.shape
            h = self.units
            xt = x.transpose(1, 0, 2)
            if self.go_backwards:
                xt = xt[::-1]
            xt = np.ascontiguousarray(xt)                       # (T, N, F)
            XW = xt @ W[h:] + b                                 # (T, N, 3h)
            H = np.empty((T + 1, n, h), dtype=dtype)
            if states:
                H[0] = np.asarray(states[0], dtype=dtype)
            elif "a0" in self.params:
                H[0] = self.params["a0"]
            else:
                H[0] = 0
            G = np.empty((T, n, 3 * h), dtype=dtype)            # [u, r, c~] after activation
            HC = np.empty((T, n, h), dtype=dtype)               # a<t-1> Wa_c + bh
            Wzr, Wc = W[:h, :2 * h], W[:h, 2 * h:]
            for t in range(T):
                g = G[t]
                g[:, :2 * h] = _sigmoid_inplace(H[t] @ Wzr + XW[t, :, :2 * h])
                HC[t] = H[t] @ Wc + bh
                g[:, 2 * h:] = np.tanh(XW[t, :, 2 * h:] + g[:, h:2 * h] * HC[t])
                H[t + 1] = H[t] + g[:, :h] * (g[:, 2 * h:] - H[t])
            if training:  # inference leaves the training cache alone
                self._cache = (xt, H, G, HC, len(states))
            if self.return_sequences:
                out = H[1:][::-1] if self.go_backwards else H[1:]
                return np.ascontiguousarray(out.transpose(1, 0, 2))
            return H[T].copy()

        def backward(self, dy):
            if self._cache is None:
                raise RuntimeError(f"{self.label}: backward needs a forward pass with training=True")
            xt, H, G, HC, n_states = self._cache
            W = self.params["W"]
            h = self.units
            T, n, _ = xt.shape
            dy = np.asarray(dy, dtype=W.dtype)
            if self.return_sequences:
                dY = dy.transpose(1, 0, 2)
                if self.go_backwards:
                    dY = dY[::-1]
                dh = np.zeros((n, h), dtype=W.dtype)
            else:
                dY = None
                dh = dy.copy()
            WzrT, WcT = W[:h, :2 * h].T, W[:h, 2 * h:].T
            dZ = np.empty((T, n, 3 * h), dtype=W.dtype)
            dHC = np.empty((T, n, h), dtype=W.dtype)
            for t in range(T - 1, -1, -1):
                if dY is not None:
                    dh = dh + dY[t]
                hp = H[t]
                u, r, c = G[t, :, :h], G[t, :, h:2 * h], G[t, :, 2 * h:]
                dz = dZ[t]
                dz[:, :h] = dh * (c - hp) * u * (1 - u)             # through the update gate
                dz[:, 2 * h:] = dh * u * (1 - c * c)                # through the candidate (pre-tanh)
                dHC[t] = dz[:, 2 * h:] * r
                dz[:, h:2 * h] = dz[:, 2 * h:] * HC[t] * r * (1 - r)  # through the relevance gate
                dh = dh * (1 - u) + dHC[t] @ WcT + dz[:, :2 * h] @ WzrT
            Hp = H[:-1].reshape(T * n, h)
            gW = np.empty_like(W)
            gW[:h, :2 * h] = Hp.T @ dZ[..., :2 * h].reshape(T * n, 2 * h)
            gW[:h, 2 * h:] = Hp.T @ dHC.reshape(T * n, h)
            gW[h:] = xt.reshape(T * n, -1).T @ dZ.reshape(T * n, 3 * h)
            self.grads["W"] = gW
            self.grads["b"] = dZ.sum(axis=(0, 1))
            self.grads["bh"] = dHC.sum(axis=(0, 1))
            dx = dZ @ W[h:].T                                    # (T, N, F)
            if self.go_backwards:
                dx = dx[::-1]
            dx = np.ascontiguousarray(dx.transpose(1, 0, 2))
            return self._state_grads(dx, [dh.T], n_states)

    return ResetAfterGRU


ResetAfterGRU = _reset_after_gru_class()


def _unbroadcast(g, shape):
    """Sum ``g`` (batch, *out) down to (batch, *shape) over the axes that were broadcast."""
    extra = g.ndim - 1 - len(shape)
    if extra:
        g = g.sum(axis=tuple(range(1, 1 + extra)))
    axes = tuple(i + 1 for i, n in enumerate(shape) if n == 1 and g.shape[i + 1] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g


@register
class Elementwise(Layer):
    """Combine two computed tensors value by value: a + b, a - b, a * b or a / b (broadcasting).

    op : "add", "sub", "mul" or "div". Both inputs carry the batch; their samples broadcast like
    NumPy arrays (e.g. (T, A) with (1, A)). x : ndarrays of shape (batch, *shape_a), (batch, *shape_b).
    """

    n_inputs = 2
    family = "Merge"
    description = "Combines two tensors value by value (sum, difference, product or ratio), e.g. a gate times a signal."
    OPS = ("add", "sub", "mul", "div")

    def __init__(self, op="mul", name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        if op not in self.OPS:
            raise ValueError(f"op must be one of {', '.join(self.OPS)}, got {op!r}")
        self.op = op
        self._cache = None

    def get_config(self):
        return {**super().get_config(), "op": self.op}

    def output_shape(self, input_shapes):
        self._expect_inputs(input_shapes)
        a, b = (tuple(s) for s in input_shapes)
        try:
            return tuple(np.broadcast_shapes(a, b))
        except ValueError:
            raise ShapeError(f"{self.label}: samples of shapes {a} and {b} do not broadcast", self.name) from None

    def forward(self, a, b, training=False):
        """a, b : ndarrays of shape (batch, *shape_a), (batch, *shape_b) -> (batch, *broadcast shape)."""
        if a.ndim != b.ndim:  # align the sample axes, not the batch, when ranks differ
            if a.ndim < b.ndim:
                a = a.reshape((a.shape[0],) + (1,) * (b.ndim - a.ndim) + a.shape[1:])
            else:
                b = b.reshape((b.shape[0],) + (1,) * (a.ndim - b.ndim) + b.shape[1:])
        if training:  # inference leaves the training cache alone
            self._cache = (a, b)
        if self.op == "add":
            return a + b
        if self.op == "sub":
            return a - b
        if self.op == "mul":
            return a * b
        return a / b

    def backward(self, dy):
        a, b = self._cache
        if self.op == "add":
            da, db = dy, dy
        elif self.op == "sub":
            da, db = dy, -dy
        elif self.op == "mul":
            da, db = dy * b, dy * a
        else:
            da, db = dy / b, -dy * a / (b * b)
        sa, sb = self.input_shapes if self.input_shapes else (a.shape[1:], b.shape[1:])
        return _unbroadcast(da, a.shape[1:]).reshape((dy.shape[0],) + tuple(sa)), \
            _unbroadcast(db, b.shape[1:]).reshape((dy.shape[0],) + tuple(sb))


@register
class BatchMatMul(Layer):
    """Matrix product of two computed tensors, sample by sample: (n, k) @ (k, m) -> (n, m).

    As in attention, where scores are queries @ keys^T and the context is weights @ values.
    a : ndarray of shape (batch, ..., n, k); b : ndarray of shape (batch, ..., k, m).
    """

    n_inputs = 2
    family = "Attention"
    description = "Multiplies two matrices per sample (e.g. attention weights @ values); no weights of its own."

    def __init__(self, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self._cache = None

    def output_shape(self, input_shapes):
        self._expect_inputs(input_shapes)
        a, b = (tuple(s) for s in input_shapes)
        if len(a) < 2 or len(b) < 2 or len(a) != len(b) or a[:-2] != b[:-2] or a[-1] != b[-2]:
            raise ShapeError(f"{self.label}: cannot multiply samples of shapes {a} @ {b}", self.name)
        return a[:-1] + (b[-1],)

    def forward(self, a, b, training=False):
        """a (batch, ..., n, k) @ b (batch, ..., k, m) -> (batch, ..., n, m)."""
        if training:  # inference leaves the training cache alone
            self._cache = (a, b)
        return a @ b

    def backward(self, dy):
        a, b = self._cache
        return dy @ np.swapaxes(b, -1, -2), np.swapaxes(a, -1, -2) @ dy
