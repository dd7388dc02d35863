"""Image data augmentation: more (slightly different) training examples for free.

The course notes' remedy for variance (overfitting) is more data; for images one can make it by
distorting the training images a little in ways that keep their label: shift a digit by a pixel
or two, rotate it a few degrees, make it a bit bigger or smaller, its strokes thicker or thinner.
Only training batches are augmented, never dev or test data.

A document's training settings carry it as a dict, e.g.::

    "augment": {"shift": 2, "rotate": 10, "scale": 0.1, "thickness": 0.3}

- ``shift``: largest shift in pixels (a whole number, drawn per image in [-shift, shift] on each axis)
- ``rotate``: largest rotation in degrees (drawn uniformly in [-rotate, rotate])
- ``scale``: largest relative size change (the factor is drawn in [1 - scale, 1 + scale])
- ``thickness``: largest stroke-thickness change in [0, 1] (drawn in [-t, t]: positive thickens the
  strokes towards a 3x3 maximum filter, negative thins them towards a 3x3 minimum filter)

:func:`build_augment` turns the dict into a callable ``augment(x_batch, rng) -> x_batch`` that works
on the whole batch at once (one affine resampling with bilinear interpolation for all images, no
Python loop over images), so it is cheap enough to run in the trainer's prefetch thread.
Images are (N, C, H, W); flat square images (N, H*W) such as flattened digits also work.
"""

import math

import numpy as np

from ..errors import ConfigError, DataError

#: setting -> (default, largest allowed value)
SETTINGS = {"shift": (0, 64), "rotate": (0.0, 180.0), "scale": (0.0, 0.9), "thickness": (0.0, 1.0)}


class Augment:
    """Random shifts, rotations, scaling and stroke thickness for a batch of images.

    shift : int, rotate : float (degrees), scale : float, thickness : float (see the module doc).
    Calling ``augment(x, rng)`` with x : ndarray of shape (N, C, H, W) (or (N, H*W) square images)
    returns a new array of the same shape and dtype; ``rng`` is a numpy Generator.
    """

    def __init__(self, shift=0, rotate=0.0, scale=0.0, thickness=0.0):
        values = {"shift": shift, "rotate": rotate, "scale": scale, "thickness": thickness}
        for key, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"augment setting '{key}' must be a number, got {value!r}")
            top = SETTINGS[key][1]
            if not 0 <= value <= top:
                raise ConfigError(f"augment setting '{key}' must be between 0 and {top}, got {value}")
        if shift != int(shift):
            raise ConfigError(f"augment setting 'shift' must be a whole number of pixels, got {shift}")
        self.shift = int(shift)
        self.rotate = float(rotate)
        self.scale = float(scale)
        self.thickness = float(thickness)

    def get_config(self):
        return {"shift": self.shift, "rotate": self.rotate, "scale": self.scale, "thickness": self.thickness}

    @property
    def active(self):
        return bool(self.shift or self.rotate or self.scale or self.thickness)

    def __repr__(self):
        return f"Augment({self.get_config()})"

    # -- the transformations -----------------------------------------------------------------------
    def __call__(self, x, rng=None):
        rng = rng if rng is not None else np.random.default_rng()
        x = np.asarray(x)
        if x.ndim == 2:
            side = int(round(math.sqrt(x.shape[1])))
            if side * side != x.shape[1]:
                raise DataError(f"image augmentation needs (C, H, W) images or flat square ones, got samples of {x.shape[1:]}")
            x4 = x.reshape(x.shape[0], 1, side, side)
        elif x.ndim == 3:
            x4 = x[:, None]
        elif x.ndim == 4:
            x4 = x
        else:
            raise DataError(f"image augmentation needs (C, H, W) images, got samples of shape {x.shape[1:]}")
        if not self.active or x4.shape[0] == 0:
            return x.copy()
        out = x4  # both steps below return new arrays: the caller's batch is never modified
        if self.thickness:
            out = self._thickness(out, rng)
        if self.shift or self.rotate or self.scale:
            out = self._affine(out, rng)
        return out.astype(x.dtype, copy=False).reshape(x.shape)

    def _thickness(self, x, rng):
        """Blend each image towards its 3x3 maximum (thicker) or minimum (thinner) filter."""
        n = x.shape[0]
        amount = rng.uniform(-self.thickness, self.thickness, size=n).astype(x.dtype)
        h, w = x.shape[2:]
        p = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
        # separable 3x3 filters: over rows, then over columns
        rmax = np.maximum(np.maximum(p[:, :, :-2], p[:, :, 1:-1]), p[:, :, 2:])
        rmin = np.minimum(np.minimum(p[:, :, :-2], p[:, :, 1:-1]), p[:, :, 2:])
        mx = np.maximum(np.maximum(rmax[..., :-2], rmax[..., 1:-1]), rmax[..., 2:])
        mn = np.minimum(np.minimum(rmin[..., :-2], rmin[..., 1:-1]), rmin[..., 2:])
        a = amount[:, None, None, None]
        target = np.where(a > 0, mx, mn)
        return x + np.abs(a) * (target - x)

    def _affine(self, x, rng):
        """One bilinear resampling per batch: rotation and scaling about the centre, then a shift."""
        n, c, h, w = x.shape
        theta = np.deg2rad(rng.uniform(-self.rotate, self.rotate, size=n)) if self.rotate else np.zeros(n)
        factor = rng.uniform(1 - self.scale, 1 + self.scale, size=n) if self.scale else np.ones(n)
        if self.shift:
            ty = rng.integers(-self.shift, self.shift + 1, size=n).astype(np.float64)
            tx = rng.integers(-self.shift, self.shift + 1, size=n).astype(np.float64)
        else:
            ty = tx = np.zeros(n)
        cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
        ii = np.arange(h, dtype=np.float32)[None, :, None]
        jj = np.arange(w, dtype=np.float32)[None, None, :]
        # inverse map: output pixel -> source position  src = R(-theta) / factor * (out - centre - t) + centre
        dy = ii - (cy + ty).astype(np.float32)[:, None, None]
        dx = jj - (cx + tx).astype(np.float32)[:, None, None]
        cos = (np.cos(theta) / factor).astype(np.float32)[:, None, None]
        sin = (np.sin(theta) / factor).astype(np.float32)[:, None, None]
        sy = cos * dy - sin * dx + np.float32(cy)
        sx = sin * dy + cos * dx + np.float32(cx)
        y0 = np.floor(sy)
        x0 = np.floor(sx)
        wy = (sy - y0).astype(x.dtype).reshape(n, 1, h * w)
        wx = (sx - x0).astype(x.dtype).reshape(n, 1, h * w)
        # a zero border of 2 pixels: clipped positions then read zeros for both corners
        wp = w + 4
        y0 = np.clip(y0, -2, h).astype(np.intp) + 2
        x0 = np.clip(x0, -2, w).astype(np.intp) + 2
        base = (y0 * wp + x0).reshape(n, 1, h * w)
        padded = np.zeros((n, c, h + 4, wp), dtype=x.dtype)
        padded[:, :, 2:h + 2, 2:w + 2] = x
        flat = padded.reshape(n, c, (h + 4) * wp)

        def gather(offset):
            idx = base + offset if offset else base
            if c == 1:
                return np.take_along_axis(flat, idx, axis=2)
            return np.take_along_axis(flat, np.broadcast_to(idx, (n, c, h * w)), axis=2)

        top = gather(0) * (1 - wx) + gather(1) * wx
        bottom = gather(wp) * (1 - wx) + gather(wp + 1) * wx
        out = top * (1 - wy) + bottom * wy
        return out.reshape(n, c, h, w)


def build_augment(spec):
    """The callable for a document's "augment" setting: None/{} -> None, a dict -> :class:`Augment`.

    Unknown keys or bad values raise a ConfigError that names them.
    """
    if spec is None:
        return None
    if callable(spec) and not isinstance(spec, dict):
        return spec
    if not isinstance(spec, dict):
        raise ConfigError(f"augment must be null or an object like {{\"shift\": 2}}, got {spec!r}")
    unknown = sorted(set(spec) - set(SETTINGS))
    if unknown:
        raise ConfigError(f"unknown augment setting(s) {', '.join(unknown)} (known: {', '.join(SETTINGS)})")
    aug = Augment(**spec)
    return aug if aug.active else None
