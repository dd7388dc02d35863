"""Embedding: the notes' embedding matrix E, turning word (or character) ids into feature vectors."""

import numpy as np

from ..errors import DataError, ShapeError
from .base import Layer, register


@register
class Embedding(Layer):
    """Index -> vector lookup: row ``i`` of E is the embedding e_i of token ``i``.

    Multiplying a one-hot vector o_i by E gives e_i; this layer does the lookup directly.
    input_dim : vocabulary size (number of rows of E); output_dim : features per token.
    x : ndarray of shape (N, T) holding whole token ids (floats from an Input are rounded)
    -> ndarray of shape (N, T, output_dim). Only the rows of E that the batch used get a non-zero
    gradient (accumulated with np.add.at), so a step touches only those rows.
    """

    family = "Sequence"
    regularized = ("E",)
    integer_inputs = True  # inputs are token ids (gradient checks feed ids below input_dim)
    description = ("Word embedding: a matrix E whose row e_w is the feature vector of word w, replacing a huge "
                   "one-hot vector by a small dense one.")

    def __init__(self, input_dim, output_dim, l1=0.0, l2=0.0, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        if self.input_dim <= 0 or self.output_dim <= 0:
            raise ValueError("input_dim and output_dim must be positive")
        self.l1 = float(l1)
        self.l2 = float(l2)
        self._ids = None

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "l1": self.l1, "l2": self.l2}

    def output_shape(self, input_shapes):
        self._expect_inputs(input_shapes)
        shape = tuple(input_shapes[0])
        if len(shape) != 1:
            raise ShapeError(f"{self.label} needs token ids of shape (T,), got {shape}", self.name)
        return (shape[0], self.output_dim)

    def param_count(self, input_shapes=None):
        return self.input_dim * self.output_dim

    def build(self, input_shapes, rng=None, dtype=np.float32):
        super().build(input_shapes, rng, dtype)
        rng = rng if rng is not None else np.random.default_rng(0)
        self.params = {"E": rng.uniform(-0.05, 0.05, (self.input_dim, self.output_dim)).astype(dtype)}
        self.grads = {"E": np.zeros_like(self.params["E"])}

    def _as_ids(self, x):
        x = np.asarray(x)
        ids = np.rint(x).astype(np.int64) if x.dtype.kind == "f" else x.astype(np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.input_dim):
            bad = int(ids.max() if ids.max() >= self.input_dim else ids.min())
            raise DataError(f"{self.label}: token id {bad} is outside the vocabulary of {self.input_dim}")
        return ids

    def forward(self, x, training=False):
        ids = self._as_ids(x)
        if training:  # an inference pass leaves the training cache alone
            self._ids = ids
        return self.params["E"][ids]

    def backward(self, dy):
        E = self.params["E"]
        g = self.grads.get("E")
        if g is None or g.shape != E.shape:
            g = self.grads["E"] = np.zeros_like(E)
        else:
            g.fill(0)
        np.add.at(g, self._ids.reshape(-1), dy.reshape(-1, self.output_dim).astype(E.dtype, copy=False))
        return None  # ids have no gradient
