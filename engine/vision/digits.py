"""Hand-drawn digits made to look like MNIST, and the user's own digit samples.

MNIST's digits were not photographed at 28x28: the writers' digits were size-normalized to fit a
20x20 box keeping their aspect ratio (the resampling anti-aliases, so edges get grey levels), then
placed in a 28x28 frame so that their centre of mass sits at the frame's centre. A network trained
on MNIST only understands digits prepared the same way, so a digit drawn on a big pad (or read
from a photo) goes through :func:`mnist_preprocess` before it is fed to the network:

1. find the ink (pixels brighter than ``threshold``) and crop to its bounding box;
2. scale the box so its longer side is 20 pixels, keeping the aspect ratio, by area averaging
   (each output pixel is the mean of the input area it covers: anti-aliased grey levels);
3. paste it in a 28x28 frame and shift it so the centre of mass (the ink-weighted mean position)
   is at pixel (14, 14), where it is, on average, in the bundled MNIST digits.

Images are float arrays with ink bright on dark (1 = ink, 0 = background), as in MNIST.
:func:`to_grey` reads a picture (grey, RGB or RGBA; uint8 or float) and :func:`ink_on_dark`
inverts it when its background is light (judged by the mean of the border pixels), so a digit
written with a pen on white paper works too.

:class:`DigitSamples` keeps the user's labelled samples ("add to training set") in an .npz file
(written atomically, read without pickle); :func:`fine_tune_data` mixes them with some bundled
digits so that fine-tuning on a handful of samples does not make the network forget the rest.
"""

import os

import numpy as np

from ..errors import DataError
from ..layers.activations import softmax

#: side of the network's input frame and of the box the digit is scaled into (MNIST's numbers).
FRAME = 28
BOX = 20
#: where the centre of mass of a bundled MNIST digit lies on average (row, column).
CENTRE = (14.0, 14.0)


def to_grey(image):
    """A picture as grey levels in [0, 1].

    image : ndarray of shape (H, W) (grey), (H, W, 3) (RGB) or (H, W, 4) (RGBA; transparent
        pixels count as background: they are blended onto the border colour), uint8 or float in
        [0, 1].
    Returns an ndarray of shape (H, W), float32.
    """
    a = np.asarray(image)
    if a.dtype == bool:
        a = a.astype(np.float32)
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)) or a.size == 0:
        raise DataError(f"a digit image must be grey (H, W) or colour (H, W, 3 or 4), got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.number):
        raise DataError(f"a digit image must hold numbers, got {a.dtype}")
    if np.issubdtype(a.dtype, np.integer):
        a = a.astype(np.float32) / 255.0
    else:
        a = a.astype(np.float32)
        if not np.all(np.isfinite(a)):
            raise DataError("a digit image holds NaN or infinite values")
        a = np.clip(a, 0.0, 1.0)
    if a.ndim == 2:
        return a
    if a.shape[2] == 1:
        return a[:, :, 0]
    rgb = a[:, :, :3] @ np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601 luma
    if a.shape[2] == 4:
        alpha = a[:, :, 3]
        # transparent areas take the colour of the opaque border (the paper); when the whole
        # border is transparent, the opposite of the ink's colour
        opaque_border = _border(alpha) > 0.5
        if np.any(opaque_border):
            bg = float(_border(rgb)[opaque_border].mean())
        else:
            bg = 1.0 - float(rgb[alpha > 0.5].mean()) if np.any(alpha > 0.5) else 0.0
        rgb = rgb * alpha + bg * (1.0 - alpha)
    return rgb.astype(np.float32)


def _border(a):
    """The pixels of the outermost rows and columns, as one flat array."""
    if a.shape[0] < 3 or a.shape[1] < 3:
        return a.ravel()
    return np.concatenate([a[0], a[-1], a[1:-1, 0], a[1:-1, -1]])


def ink_on_dark(grey):
    """Make ink bright on a dark background (MNIST's way), inverting a light-background picture.

    grey : ndarray of shape (H, W) in [0, 1]. The background is judged by the mean of the border
        pixels (the digit rarely touches the border): above 0.5 means paper, so the image is
        inverted. The background level is then subtracted and the contrast stretched, so a grey
        sheet of paper becomes black and the darkest stroke becomes 1.
    Returns an ndarray of shape (H, W), float32 in [0, 1].
    """
    g = np.asarray(grey, dtype=np.float32)
    if g.ndim != 2:
        raise DataError(f"expected a grey image of shape (H, W), got {g.shape}")
    if _border(g).mean() > 0.5:
        g = 1.0 - g
    bg = float(np.median(_border(g)))
    g = np.clip(g - bg, 0.0, None)
    top = float(g.max())
    if top > 0:
        g = g / top
    return g.astype(np.float32)


def _area_matrix(n_in, n_out, scale, offset):
    """Matrix (n_out, n_in) of area-averaging resampling.

    Input pixel i covers [offset + i*scale, offset + (i+1)*scale) in output pixel units; output
    pixel j, covering [j, j+1), gets the mean of the input over that unit interval (an output
    pixel only partly covered by the input gets a proportionally paler grey: anti-aliasing).
    """
    a = offset + scale * np.arange(n_in + 1, dtype=np.float64)
    j = np.arange(n_out, dtype=np.float64)
    left = np.maximum(a[None, :-1], j[:, None])
    right = np.minimum(a[None, 1:], j[:, None] + 1)
    return np.clip(right - left, 0.0, None).astype(np.float32)


def resize_area(image, scale, out_shape=None):
    """Scale ``image`` (H, W) by ``scale`` with area averaging, keeping its aspect exactly.

    The scaled image (H*scale by W*scale pixels, fractional) is centred in a grid of
    ``out_shape`` (default: the sizes rounded up); edge pixels it covers partly get grey levels.
    Returns an ndarray of shape out_shape, float32.
    """
    h, w = image.shape
    sh, sw = h * scale, w * scale
    oh, ow = out_shape or (max(1, int(np.ceil(sh - 1e-6))), max(1, int(np.ceil(sw - 1e-6))))
    ry = _area_matrix(h, oh, scale, (oh - sh) / 2)
    rx = _area_matrix(w, ow, scale, (ow - sw) / 2)
    return ry @ image.astype(np.float32) @ rx.T


def bounding_box(image, threshold=0.1):
    """(top, bottom, left, right) of the pixels above ``threshold`` (bottom/right exclusive), or
    None when there is no ink."""
    ink = image > threshold
    rows = np.flatnonzero(ink.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(ink.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def centre_of_mass(image):
    """(row, column) of the ink-weighted mean position; the frame centre when there is no ink."""
    total = float(image.sum())
    if total <= 0:
        return (image.shape[0] - 1) / 2, (image.shape[1] - 1) / 2
    rows = image.sum(axis=1) @ np.arange(image.shape[0]) / total
    cols = image.sum(axis=0) @ np.arange(image.shape[1]) / total
    return float(rows), float(cols)


def mnist_preprocess(image, threshold=0.1, box=BOX, frame=FRAME):
    """Turn a drawn digit into a network input the way MNIST was made.

    image : ndarray of shape (H, W), ink bright on dark, values in [0, 1] (a drawing pad's
        canvas, or :func:`load_digit` 's output).
    threshold : pixels above it count as ink when cropping.
    Returns an ndarray of shape (frame, frame), float32 in [0, 1]: the digit cropped to its
    bounding box, scaled (keeping the aspect ratio, area-averaged) so its longer side is ``box``
    pixels, and placed so its centre of mass is at the frame centre (14, 14). An image without
    ink gives an all-zero frame.
    """
    img = np.asarray(image, dtype=np.float32)
    if img.ndim != 2 or img.size == 0:
        raise DataError(f"a digit drawing must be a grey image of shape (H, W), got {img.shape}")
    out = np.zeros((frame, frame), np.float32)
    bb = bounding_box(img, threshold)
    if bb is None:
        return out
    top, bottom, left, right = bb
    crop = img[top:bottom, left:right]
    h, w = crop.shape
    scale = box / max(h, w)
    # keep the aspect exactly: the short side covers side * scale pixels, partly covered edge
    # pixels get paler grey levels
    small = np.clip(resize_area(crop, scale), 0.0, 1.0)
    nh, nw = small.shape
    cy, cx = centre_of_mass(small)
    # integer shift that puts the centre of mass nearest the frame centre (as MNIST did)
    oy = int(round(CENTRE[0] * frame / FRAME - cy))
    ox = int(round(CENTRE[1] * frame / FRAME - cx))
    # clip the paste to the frame (a lopsided digit may not fit entirely once centred)
    y0, x0 = max(oy, 0), max(ox, 0)
    y1, x1 = min(oy + nh, frame), min(ox + nw, frame)
    if y1 > y0 and x1 > x0:
        out[y0:y1, x0:x1] = small[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
    return out


def load_digit(image, threshold=0.1):
    """A picture of a digit (any size; grey/RGB/RGBA; dark or light background) -> (28, 28)
    float32 network input, ink bright on dark. See :func:`to_grey`, :func:`ink_on_dark`,
    :func:`mnist_preprocess`."""
    return mnist_preprocess(ink_on_dark(to_grey(image)), threshold=threshold)


def as_network_input(digit, input_shape):
    """Reshape a (28, 28) digit (or a stack (n, 28, 28)) for a network whose input has the
    per-sample shape ``input_shape``: (1, 28, 28), (28, 28, 1), (28, 28) or (784,).

    Returns an ndarray of shape (n, *input_shape), float32. Raises DataError for other shapes.
    """
    d = np.asarray(digit, dtype=np.float32)
    if d.ndim == 2:
        d = d[None]
    shape = tuple(int(s) for s in input_shape)
    if int(np.prod(shape)) != FRAME * FRAME:
        raise DataError(f"this network reads inputs of shape {shape}, not 28x28 digits")
    return d.reshape((len(d),) + shape)


def probabilities(outputs):
    """Network outputs (n, 10) -> class probabilities: kept when they already are (a softmax
    layer ends the network), otherwise turned into probabilities with a softmax (logits)."""
    y = np.asarray(outputs, dtype=np.float64)
    if y.ndim == 1:
        y = y[None]
    y = y.reshape(len(y), -1)
    if np.all(y >= 0) and np.allclose(y.sum(axis=1), 1.0, atol=1e-3):
        return y
    return softmax(y, axis=1)


# -- the user's own samples --------------------------------------------------------------------
class DigitSamples:
    """The user's labelled digits, kept in an .npz file (``images`` uint8 (n, 28, 28), ``labels``
    int64 (n,)).

    path : where they live (the app passes a file in the user's data folder). A missing file
        means no samples yet; an unreadable one raises DataError.
    Every change is saved at once, atomically (temporary file + rename).
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        self.images = np.zeros((0, FRAME, FRAME), np.uint8)
        self.labels = np.zeros(0, np.int64)
        if os.path.exists(self.path):
            self.load()

    def __len__(self):
        return len(self.labels)

    def load(self):
        try:
            with np.load(self.path, allow_pickle=False) as z:
                images, labels = np.asarray(z["images"]), np.asarray(z["labels"])
        except (OSError, KeyError, ValueError) as exc:
            raise DataError(f"cannot read the digit samples in {self.path}: {exc}") from None
        if images.ndim != 3 or images.shape[1:] != (FRAME, FRAME) or labels.shape != (len(images),):
            raise DataError(f"{self.path} does not hold 28x28 digit samples with one label each")
        if not np.issubdtype(labels.dtype, np.integer) or np.any((labels < 0) | (labels > 9)):
            raise DataError(f"{self.path}: sample labels must be digits 0-9")
        self.images = images.astype(np.uint8)
        self.labels = labels.astype(np.int64)

    def save(self):
        self._store(self.images, self.labels)

    def _store(self, images, labels):
        """Write ``images``/``labels`` atomically, then keep them (a failed write changes nothing)."""
        from ..io import atomic_write

        try:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        except OSError as exc:
            raise DataError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        atomic_write(self.path, lambda fh: np.savez(fh, images=images, labels=labels))
        self.images, self.labels = images, labels

    def add(self, digit, label):
        """Add a (28, 28) digit in [0, 1] with its label 0-9; returns the new sample's index."""
        d = np.asarray(digit, dtype=np.float32)
        if d.shape != (FRAME, FRAME):
            raise DataError(f"a digit sample must be 28x28, got {d.shape}")
        if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= int(label) <= 9:
            raise DataError(f"a digit label must be a whole number 0-9, got {label!r}")
        if not np.any(d > 0):
            raise DataError("draw a digit first: the sample is empty")
        img = np.round(np.clip(d, 0, 1) * 255).astype(np.uint8)
        self._store(np.concatenate([self.images, img[None]]),
                    np.concatenate([self.labels, [int(label)]]).astype(np.int64))
        return len(self.labels) - 1

    def remove(self, index):
        """Remove sample ``index`` (IndexError-safe: raises DataError when there is none)."""
        if not 0 <= int(index) < len(self.labels):
            raise DataError(f"there is no sample {index}")
        keep = np.arange(len(self.labels)) != int(index)
        self._store(self.images[keep], self.labels[keep])

    def inputs(self):
        """The samples as float32 network inputs of shape (n, 28, 28) in [0, 1]."""
        return self.images.astype(np.float32) / 255.0


def fine_tune_data(own_x, own_y, replay_x=None, replay_y=None, repeat=8, replay=256, seed=0):
    """A small training set for fine-tuning on the user's samples.

    own_x : ndarray (n, ...) of the user's digits, own_y : (n,) their labels. Each is repeated
    ``repeat`` times, and ``replay`` digits drawn at random from ``replay_x, replay_y`` (the
    bundled training digits) are mixed in so the network keeps what it knew (without them a few
    steps on a handful of samples make it forget the rest: catastrophic forgetting).
    Returns (x, y) shuffled.
    """
    own_x = np.asarray(own_x, dtype=np.float32)
    own_y = np.asarray(own_y, dtype=np.int64)
    if len(own_x) == 0:
        raise DataError("add a few of your own digits first (\"Add to training set\")")
    xs, ys = [np.repeat(own_x, repeat, axis=0)], [np.repeat(own_y, repeat)]
    rng = np.random.default_rng(seed)
    if replay_x is not None and replay and len(replay_x):
        idx = rng.choice(len(replay_x), size=min(replay, len(replay_x)), replace=False)
        xs.append(np.asarray(replay_x, dtype=np.float32)[idx].reshape((len(idx),) + own_x.shape[1:]))
        ys.append(np.asarray(replay_y, dtype=np.int64)[idx])
    x, y = np.concatenate(xs), np.concatenate(ys)
    perm = rng.permutation(len(x))
    return x[perm], y[perm]
