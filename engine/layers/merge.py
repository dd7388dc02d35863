"""Merge layers: Add and Concatenate (several inputs, one output)."""

import numpy as np

from .. import parallel
from ..errors import ShapeError
from .base import Layer, register


@register
class Add(Layer):
    """Element-wise sum of its inputs, which must all have the same shape (residual connections).

    xs : ndarrays of shape (batch, ...) each -> ndarray of that shape.
    """

    n_inputs = None
    family = "Merge"
    description = "Adds its inputs element by element (same shapes): the skip connection of a ResNet block."

    def output_shape(self, input_shapes):
        self._expect_inputs(input_shapes)
        first = tuple(input_shapes[0])
        for i, s in enumerate(input_shapes[1:], start=2):
            if tuple(s) != first:
                raise ShapeError(
                    f"{self.label} needs inputs of the same shape: input 1 is {first}, input {i} is {tuple(s)}",
                    self.name,
                )
        return first

    def forward(self, *xs, training=False):
        """xs : ndarrays of shape (batch, ...) -> their sum, a new array (the inputs are not touched).

        One pass per extra input straight into the output (no copy of the first input first), in
        batch chunks on threads for big batches (engine.parallel).
        """
        self.output_shape([x.shape[1:] for x in xs])
        if training:
            self._n = len(xs)
        first = xs[0]
        if len(xs) == 1:
            return first.copy()
        out = np.empty_like(first)
        parts = parallel.batch_slices(first.shape[0], work=first.size * (len(xs) - 1))

        def run(sl):
            o = out[sl]
            np.add(first[sl], xs[1][sl], out=o)
            for x in xs[2:]:
                o += x[sl]

        parallel.map_chunks(run, parts)
        return out

    def backward(self, dy):
        """dy -> the same array for every input (d(sum)/d(input) = 1; nobody writes into it: the
        network sums fan-in gradients into new arrays)."""
        return tuple(dy for _ in range(self._n))


@register
class Concatenate(Layer):
    """Joins its inputs along one sample axis; every other axis must match.

    axis : the sample axis (no batch axis counted): -1 (default) the last, e.g. features; 0 the
        channels of (C, H, W) feature maps (inception blocks).
    """

    n_inputs = None
    family = "Merge"
    description = "Joins its inputs side by side along one axis (features, or channels for images)."

    def __init__(self, axis=-1, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        if isinstance(axis, bool) or int(axis) != axis:
            raise ValueError(f"axis must be a whole number, got {axis!r}")
        self.axis = int(axis)
        self._sizes = None

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}

    def _sample_axis(self, ndim):
        ax = self.axis + ndim if self.axis < 0 else self.axis
        if not 0 <= ax < ndim:
            raise ShapeError(f"{self.label}: axis {self.axis} does not exist for {ndim}-axis samples", self.name)
        return ax

    def output_shape(self, input_shapes):
        self._expect_inputs(input_shapes)
        shapes = [tuple(s) for s in input_shapes]
        ndim = len(shapes[0])
        if any(len(s) != ndim for s in shapes):
            raise ShapeError(
                f"{self.label} needs inputs with the same number of axes, got {', '.join(map(str, shapes))}",
                self.name,
            )
        ax = self._sample_axis(ndim)
        rest = [s[:ax] + s[ax + 1:] for s in shapes]
        if any(r != rest[0] for r in rest):
            raise ShapeError(
                f"{self.label} joins along axis {self.axis}: every other axis must match, got "
                f"{', '.join(map(str, shapes))}",
                self.name,
            )
        out = list(shapes[0])
        out[ax] = sum(s[ax] for s in shapes)
        return tuple(out)

    def forward(self, *xs, training=False):
        ax = self._sample_axis(xs[0].ndim - 1) + 1
        if training:
            self._sizes = [x.shape[ax] for x in xs]
            self._ax = ax
        return np.concatenate(xs, axis=ax)

    def backward(self, dy):
        cuts = np.cumsum(self._sizes)[:-1]
        return tuple(np.split(dy, cuts, axis=self._ax))
