"""Data sets for the engine: toy 2-D sets, bundled digits, full MNIST; a registry others extend.

    >>> from engine.data import load_dataset
    >>> splits = load_dataset({"name": "spiral", "options": {"noise": 10}})
    >>> splits.x_train.shape[1:]
    (2,)

Other parts of the engine add their data sets with :func:`register_dataset`, and declare the
options a data set takes with :class:`OptionSpec` (``register_dataset(..., options=...)`` or
:func:`declare_options`): the window builds its data form from them, and :func:`validate_data`
checks a document's "data" dict against them without loading anything.
"""

from .base import (  # noqa: F401
    DATASET_DESCRIPTIONS, DATASET_OPTIONS, DATASETS, DEFAULT_SPLIT, OptionSpec, Splits, check_dataset_options,
    check_split, dataset_names, dataset_options, declare_options, load_dataset, make_splits, register_dataset,
    split_indices, validate_data,
)
from . import toy  # noqa: F401,E402
from . import declared  # noqa: F401,E402  (options of the data sets engine/sequence registers)
from .digits import DIGITS_PATH, RESOURCES_DIR, digits_arrays, load_digits  # noqa: F401,E402
from .mnist import MNIST_SHA256, MNIST_URL, download_mnist, read_idx, read_mnist, write_idx  # noqa: F401,E402
