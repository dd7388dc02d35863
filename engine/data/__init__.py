"""Data sets for the engine: toy 2-D sets, bundled digits, full MNIST; a registry others extend.

    >>> from engine.data import load_dataset
    >>> splits = load_dataset({"name": "spiral", "options": {"noise": 10}})
    >>> splits.x_train.shape[1:]
    (2,)

Other parts of the engine add their data sets with :func:`register_dataset`.
"""

from .base import (  # noqa: F401
    DATASET_DESCRIPTIONS, DATASETS, DEFAULT_SPLIT, Splits, check_split, dataset_names, load_dataset,
    make_splits, register_dataset, split_indices,
)
from . import toy  # noqa: F401,E402
from .digits import DIGITS_PATH, RESOURCES_DIR, digits_arrays, load_digits  # noqa: F401,E402
from .mnist import MNIST_SHA256, MNIST_URL, download_mnist, read_idx, read_mnist, write_idx  # noqa: F401,E402
