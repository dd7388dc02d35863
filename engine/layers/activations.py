"""Activation layers: the non-linearity g(z) applied element by element after a linear layer.

``Activation(kind)`` with kind one of sigmoid, tanh, relu, leaky_relu (slope ``alpha`` for z < 0),
elu (``alpha``), linear, softmax (over the last axis) and step (a hard threshold: its gradient is
zero everywhere, so nothing before it can learn).

Fusion with a loss: when this layer is a softmax (or sigmoid) output and the loss is softmax
(binary) cross-entropy, :mod:`engine.losses` sets ``fused = True`` for one backward pass and hands
the network the gradient with respect to this layer's INPUT, ``(a - y)/m``; ``backward`` then passes
it through unchanged. ``forward(training=True)`` and ``backward`` clear the flag, so it never
outlives one step.
"""

import numpy as np

from .. import parallel
from .base import Layer, register

ACTIVATION_KINDS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "linear", "softmax", "step")


def sigmoid(z):
    """Numerically stable logistic 1/(1+e^-z): never overflows for large |z|."""
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def softmax(z, axis=-1):
    """Softmax over ``axis``, subtracting the max first so exp never overflows."""
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


@register
class Activation(Layer):
    """Element-wise non-linearity a = g(z); softmax works over the last axis.

    kind : one of sigmoid, tanh, relu, leaky_relu, elu, linear, softmax, step.
    alpha : slope for z < 0 of leaky_relu (default 0.01), scale of elu's negative part (default 1.0).

    x : ndarray of any shape (batch, ...) -> ndarray of the same shape.
    """

    family = "Activations"
    description = "The non-linearity a = g(z) after a linear layer: sigmoid, tanh, ReLU, leaky ReLU, ELU, softmax..."

    _DESCRIPTIONS = {
        "sigmoid": "sigmoid 1/(1+e^-z): squashes z into (0, 1); saturates (slow learning) for large |z|",
        "tanh": "tanh: squashes z into (-1, 1), zero-centred; saturates for large |z|",
        "relu": "ReLU max(0, z): gradient 1 for z > 0, so it learns fast; units can die (always 0)",
        "leaky_relu": "leaky ReLU: like ReLU but a small slope alpha for z < 0, so units do not die",
        "elu": "ELU: z for z > 0, alpha (e^z - 1) below: smooth and zero-centred-ish",
        "linear": "linear (identity): a = z",
        "softmax": "softmax: turns the scores of C classes into probabilities that sum to 1",
        "step": "step (perceptron): 1 if z > 0 else 0; its gradient is zero, so it cannot learn",
    }

    def __init__(self, kind="relu", alpha=None, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        kind = str(kind).lower()
        if kind not in ACTIVATION_KINDS:
            raise ValueError(f"unknown activation '{kind}' (known: {', '.join(ACTIVATION_KINDS)})")
        self.kind = kind
        if alpha is None:
            alpha = 0.01 if kind == "leaky_relu" else 1.0
        self.alpha = float(alpha)
        self.fused = False
        self._cache = None

    def get_config(self):
        cfg = {**super().get_config(), "kind": self.kind}
        if self.kind in ("leaky_relu", "elu"):
            cfg["alpha"] = self.alpha
        return cfg

    @property
    def label(self):
        return f"{self.kind} '{self.name}'" if self.name else f"Activation({self.kind})"

    @property
    def commutes_with_max(self):
        """ReLU only: see Layer.commutes_with_max.

        A leaky ReLU with alpha > 0 also never decreases, but alpha * x rounds two different
        negative x to one float now and then (float32, alpha 0.01: about one neighbouring pair in
        six), and where such a pair shares a pool window the pool's first maximum after g is
        another input than before g: the gradient would go elsewhere. (With alpha 0 it computes
        0 * inf = NaN for an infinite input, which a pool run first could skip.) ReLU's only ties
        are its zeros, whose gradient is zero either way round.
        """
        return self.kind == "relu"

    def forward(self, x, training=False):
        """x : ndarray of shape (batch, ...) -> a = g(x), same shape.

        ReLU (and leaky ReLU, sigmoid, tanh) write into one preallocated output, in cache-sized
        pieces and, for big batches, in batch chunks on threads (engine.parallel); ReLU keeps a
        boolean mask of x > 0 for backward (a quarter of the float32 output's memory).
        """
        k = self.kind
        keep = None  # what backward needs, when training
        if k in ("relu", "leaky_relu") and x.ndim >= 1 and x.dtype.kind == "f":
            a, mask = self._rectify(x, training)
            keep = mask
        elif k == "sigmoid":
            a = sigmoid(x)
        elif k == "tanh":
            a = np.tanh(x)
        elif k == "relu":
            a = np.maximum(x, 0)
            keep = x > 0
        elif k == "leaky_relu":
            a = np.where(x > 0, x, self.alpha * x)
            keep = x > 0
        elif k == "elu":
            a = np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0)))
        elif k == "linear":
            a = x
        elif k == "softmax":
            a = softmax(x, axis=-1)
        else:  # step
            a = (x > 0).astype(x.dtype)
        if training:
            # what backward needs: the output for sigmoid/tanh/softmax/elu, the input sign otherwise.
            # Inference leaves the cache and the fusion flag alone (a panel may predict meanwhile).
            self.fused = False
            if k in ("sigmoid", "tanh", "softmax"):
                self._cache = a
            elif k in ("relu", "leaky_relu"):
                self._cache = keep
            elif k == "elu":
                self._cache = (x > 0, a)
            else:
                self._cache = x.shape
        return a

    def _rectify(self, x, training):
        """ReLU / leaky ReLU of float x into a new array (and the mask x > 0 when training)."""
        n = x.shape[0]
        x2 = x.reshape(n, int(np.prod(x.shape[1:])))  # (not -1: a batch may be empty)
        row = x2.shape[1]
        a2 = np.empty_like(x2)
        mask2 = np.empty(x2.shape, dtype=bool) if training else None
        parts = parallel.batch_slices(n, work=x.size)
        bs = parallel.block_size(len(parts))
        alpha = self.alpha
        leaky = self.kind == "leaky_relu"

        def run(sl):
            for b in parallel.blocks(sl, row, bs) if training else (sl,):
                xb = x2[b]
                if not leaky:
                    np.maximum(xb, 0, out=a2[b])
                else:  # max(x, alpha x) for alpha <= 1, min(x, alpha x) above: x for x > 0, else alpha x
                    np.multiply(xb, alpha, out=a2[b])
                    (np.maximum if alpha <= 1 else np.minimum)(xb, a2[b], out=a2[b])
                if training:
                    np.greater(xb, 0, out=mask2[b])

        parallel.map_chunks(run, parts)
        return a2.reshape(x.shape), (None if mask2 is None else mask2.reshape(x.shape))

    def backward(self, dy):
        """dy : dL/da, same shape as the output -> dL/dz."""
        if self.fused:
            self.fused = False
            return dy  # the loss already gave the gradient with respect to z
        c = self._cache
        if c is None:
            raise RuntimeError(f"{self.label}: backward needs a forward pass with training=True first")
        k = self.kind
        if k in ("relu", "leaky_relu", "sigmoid", "tanh") and dy.ndim >= 1 and dy.dtype.kind == "f" \
                and getattr(c, "shape", None) == dy.shape:
            return self._backward_elementwise(dy, c)
        if k == "sigmoid":
            return dy * c * (1 - c)
        if k == "tanh":
            return dy * (1 - c * c)
        if k == "relu":
            return dy * c
        if k == "leaky_relu":
            return np.where(c, dy, self.alpha * dy)
        if k == "elu":
            pos, a = c
            return np.where(pos, dy, dy * (a + self.alpha))
        if k == "linear":
            return dy
        if k == "softmax":
            # Jacobian-vector product: a * (dy - sum(dy * a))
            return c * (dy - (dy * c).sum(axis=-1, keepdims=True))
        return np.zeros_like(dy)  # step: zero gradient

    def _backward_elementwise(self, dy, c):
        """dz = dy * g'(z) for ReLU, leaky ReLU (c: the mask z > 0), sigmoid and tanh (c: the
        output a), written into one new array piece by piece (no temporaries the size of dy)."""
        n = dy.shape[0]
        row = int(np.prod(dy.shape[1:]))
        dy2 = dy.reshape(n, row)
        c2 = c.reshape(n, row)
        dx2 = np.empty_like(dy2)
        parts = parallel.batch_slices(n, work=dy.size)
        bs = parallel.block_size(len(parts))
        k = self.kind
        alpha = dy.dtype.type(self.alpha)

        def run(sl):
            if k == "relu":  # one pass: the mask chooses dy or 0
                np.multiply(dy2[sl], c2[sl], out=dx2[sl])
                return
            for b in parallel.blocks(sl, row, bs):
                o = dx2[b]
                if k == "leaky_relu":  # g' = alpha + (1 - alpha) [z > 0]
                    np.multiply(c2[b], 1 - alpha, out=o)
                    o += alpha
                elif k == "sigmoid":  # g' = a (1 - a)
                    np.subtract(1, c2[b], out=o)
                    o *= c2[b]
                else:  # tanh: g' = 1 - a^2
                    np.multiply(c2[b], c2[b], out=o)
                    np.subtract(1, o, out=o)
                o *= dy2[b]

        parallel.map_chunks(run, parts)
        return dx2.reshape(dy.shape)

    def notes(self):
        if self.kind == "step":
            return ["step activation: its gradient is zero everywhere, so the layers before it cannot learn"]
        return []
