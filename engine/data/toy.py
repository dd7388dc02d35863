"""The toy 2-D data sets of TensorFlow Playground (circle, XOR, Gaussian, spiral; plane regression).

Each point is (x1, x2) in about [-6, 6]^2; classification labels are 0 ("orange", the playground's
-1) and 1 ("blue", +1). Options, all optional:

- ``noise``: as on the playground's slider, a percentage 0-50 (values >= 1 are read as percent),
  or a fraction below 1 (0.1 = 10 %).
- ``n``: number of points (default 500 for classification, 1200 for the plane, like the playground).
- ``train_ratio``: the playground's "ratio of training to test data", a fraction (0.5) or a
  percentage (50); the rest is the test set and the document's dev share comes out of the
  training part. Without it the document's "split" fractions apply.

Everything is deterministic from the data seed.
"""

import math

import numpy as np

from ..errors import DataError
from .base import OptionSpec, check_options, get_number, make_splits, register_dataset

CLASSES = ["orange (-1)", "blue (+1)"]
_OPTIONS = ("noise", "n", "train_ratio")


def option_specs(default_n, regression=False):
    """The toy sets' options, declared for the window's form and for checking."""
    what = "the target" if regression else "the labels near the boundary"
    return (
        OptionSpec("noise", "percent", 0, 0, 100, step=5, decimals=0, suffix=" %",
                   help=f"Noise, as on the playground's slider (0-50 %): it blurs {what}, so even a "
                        "perfect network cannot reach zero error (a higher Bayes error). A value below 1 "
                        "in a document counts as a fraction (0.1 = 10 %)."),
        OptionSpec("n", "int", default_n, 10, 1_000_000, step=100, label="samples",
                   help="Number of points drawn; the split fractions below share them into train, dev "
                        "and test. More data is the course notes' first remedy for high variance."),
        OptionSpec("train_ratio", "percent", None, 1, 99, step=5, decimals=0, suffix=" %",
                   label="train ratio", optional=True, none_text="use the split",
                   help="The playground's 'ratio of training to test data': when set, the rest is the "
                        "test set and the dev share comes out of the training part; when not set, the "
                        "dev and test fractions below apply."),
    )


def _noise(options):
    v = get_number(options, "noise", 0, 0, 100)
    return v / 100.0 if v >= 1 else float(v)


def _train_split(options, split):
    if "train_ratio" not in options:
        return split
    r = get_number(options, "train_ratio", 0.5, 0.01, 99)
    r = r / 100.0 if r >= 1 else float(r)
    if not 0 < r < 1:
        raise DataError(f"option 'train_ratio' must be a fraction in (0, 1) or a percentage, got {r!r}")
    return {"test": 1.0 - r, "dev": split["dev"] * r}


def _uniform(rng, lo, hi, n):
    return rng.uniform(lo, hi, n)


def circle(n, noise, rng):
    """Blue points inside radius 2.5, orange ones in the ring 3.5-5; noise flips labels near the edge."""
    radius = 5.0
    half = n // 2
    pts, labels = [], []
    for lo, hi, m in ((0.0, radius * 0.5, half), (radius * 0.7, radius, n - half)):
        r = _uniform(rng, lo, hi, m)
        angle = _uniform(rng, 0, 2 * math.pi, m)
        x, y = r * np.sin(angle), r * np.cos(angle)
        nx = _uniform(rng, -radius, radius, m) * noise
        ny = _uniform(rng, -radius, radius, m) * noise
        # As in the playground: the label comes from the noisy position, the point stays put.
        lab = (np.hypot(x + nx, y + ny) < radius * 0.5).astype(np.int64)
        pts.append(np.stack([x, y], 1))
        labels.append(lab)
    return np.concatenate(pts), np.concatenate(labels)


def xor(n, noise, rng):
    """Blue where x1*x2 >= 0 (first and third quadrants), orange elsewhere."""
    pad = 0.3
    x = _uniform(rng, -5, 5, n)
    x += np.where(x > 0, pad, -pad)
    y = _uniform(rng, -5, 5, n)
    y += np.where(y > 0, pad, -pad)
    nx = _uniform(rng, -5, 5, n) * noise
    ny = _uniform(rng, -5, 5, n) * noise
    lab = ((x + nx) * (y + ny) >= 0).astype(np.int64)
    return np.stack([x, y], 1), lab


def gaussian(n, noise, rng):
    """Two Gaussian blobs at (2, 2) (blue) and (-2, -2) (orange); noise widens them."""
    variance = 0.5 + (4.0 - 0.5) * (noise / 0.5)  # the playground maps noise 0-0.5 to variance 0.5-4
    std = math.sqrt(variance)
    half = n // 2
    pts, labels = [], []
    for c, m, lab in ((2.0, half, 1), (-2.0, n - half, 0)):
        pts.append(np.stack([rng.normal(c, std, m), rng.normal(c, std, m)], 1))
        labels.append(np.full(m, lab, np.int64))
    # Keep the points on the playground's [-6, 6]^2 field (only the far tails of wide blobs move).
    return np.clip(np.concatenate(pts), -6.0, 6.0), np.concatenate(labels)


def spiral(n, noise, rng):
    """Two interleaved spirals (1.75 turns each), the hardest of the four."""
    half = n // 2
    pts, labels = [], []
    for delta, m, lab in ((0.0, half, 1), (math.pi, n - half, 0)):
        i = np.arange(m)
        r = i / m * 5
        t = 1.75 * i / m * 2 * math.pi + delta
        x = r * np.sin(t) + _uniform(rng, -1, 1, m) * noise
        y = r * np.cos(t) + _uniform(rng, -1, 1, m) * noise
        pts.append(np.stack([x, y], 1))
        labels.append(np.full(m, lab, np.int64))
    return np.concatenate(pts), np.concatenate(labels)


def plane(n, noise, rng):
    """Regression: the target is (x1 + x2) / 10, in [-1, 1] (noise is added to the inputs of the label)."""
    radius = 6.0
    x = _uniform(rng, -radius, radius, n)
    y = _uniform(rng, -radius, radius, n)
    nx = _uniform(rng, -radius, radius, n) * noise
    ny = _uniform(rng, -radius, radius, n) * noise
    target = np.clip((x + nx + y + ny) / 10.0, -1, 1)
    return np.stack([x, y], 1), target[:, None]


def _make_loader(name, gen, task, default_n):
    def loader(options, split, seed):
        options = check_options(options, _OPTIONS, name)
        noise = _noise(options)
        n = get_number(options, "n", default_n, 10, 1_000_000, integer=True)
        split = _train_split(options, split)
        rng = np.random.default_rng(seed)
        x, y = gen(n, noise, rng)
        y = y.astype(np.float32) if task == "regression" else y
        return make_splits(x.astype(np.float32), y, split, seed + 1, task=task,
                           classes=CLASSES if task == "classification" else [], name=name,
                           info={"noise": noise, "n": n})

    loader.__doc__ = gen.__doc__
    register_dataset(name, loader, gen.__doc__, options=option_specs(default_n, task == "regression"))
    return loader


load_circle = _make_loader("circle", circle, "classification", 500)
load_xor = _make_loader("xor", xor, "classification", 500)
load_gaussian = _make_loader("gaussian", gaussian, "classification", 500)
load_spiral = _make_loader("spiral", spiral, "classification", 500)
load_plane = _make_loader("plane", plane, "regression", 1200)
