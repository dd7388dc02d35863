"""Handwritten digits: the 5,000-image 28x28 MNIST subset bundled in resources/digits/.

500 images per digit. Inputs are raw, as the whole project expects: float32 of shape (1, 28, 28)
with values in [0, 1], ink bright on dark as in MNIST (an MLP begins with a Flatten layer; any
normalization is a layer inside the network). Labels are int class indices 0-9.

The split is stratified (every digit contributes the same share) and fixed by the data seed: the
default {"dev": 0.1, "test": 0.2} holds out 1,000 test images (100 per digit) and 500 dev images,
leaving 3,500 to train on. Option ``per_class`` (1-500) uses fewer images per digit, for quick
experiments.
"""

import os

import numpy as np

from ..errors import DataError
from .base import OptionSpec, check_options, get_number, make_splits, register_dataset

RESOURCES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                             "resources")
DIGITS_PATH = os.path.join(RESOURCES_DIR, "digits", "mnist_5k.npz")
CLASSES = [str(d) for d in range(10)]

_cache = {}


def digits_arrays(path=DIGITS_PATH):
    """The bundled images and labels: uint8 arrays of shape (5000, 28, 28) and (5000,).

    They are read once and shared, so they come back as read-only views: an in-place edit by one
    caller (``images[0] = 0``) raises ValueError instead of corrupting everyone's digits. Copy
    (``images.copy()``) to edit.
    """
    if path not in _cache:
        try:
            with np.load(path, allow_pickle=False) as z:
                images, labels = z["images"], z["labels"]
        except (OSError, KeyError, ValueError) as exc:
            raise DataError(f"cannot read the bundled digits at {path}: {exc}") from None
        # kept over immutable bytes: neither these arrays nor any view of them can be made writable
        _cache[path] = tuple(np.frombuffer(a.tobytes(), dtype=a.dtype).reshape(a.shape)
                             for a in (images, labels))
    images, labels = _cache[path]
    return images.view(), labels.view()


def to_inputs(images):
    """uint8 images (n, 28, 28) -> float32 inputs (n, 1, 28, 28) in [0, 1]."""
    return (np.asarray(images, dtype=np.float32) / 255.0)[:, None, :, :]


def load_digits(options, split, seed):
    """Handwritten digits 0-9: 5,000 MNIST images of 28x28 (500 per digit)."""
    options = check_options(options, ("per_class",), "digits")
    per_class = get_number(options, "per_class", 500, 1, 500, integer=True)
    images, labels = digits_arrays()
    if per_class < 500:
        keep = np.concatenate([np.flatnonzero(labels == d)[:per_class] for d in range(10)])
        images, labels = images[keep], labels[keep]
    return make_splits(to_inputs(images), labels.astype(np.int64), split, seed, classes=CLASSES,
                       name="digits", stratify=True)


OPTIONS = (
    OptionSpec("per_class", "int", 500, 1, 500, step=50, label="images per digit",
               help="Images of each digit to use, of the 500 bundled: fewer make quick experiments (and "
                    "show what too little data does: a larger gap between training and dev error, high "
                    "variance). The split fractions share what is kept, every digit alike."),
)

register_dataset("digits", load_digits, options=OPTIONS)
