"""Data sets: the :class:`Splits` container, the loader registry and split helpers.

A document's "data" dict names a data set and says how to split it::

    {"name": "spiral", "options": {"noise": 10}, "split": {"dev": 0.1, "test": 0.2}, "seed": 0}

The train set fits the weights, the dev (development, "hold-out cross validation") set picks
hyperparameters and stops training early, and the test set gives an unbiased estimate of how the
final network does on new data. The three come from the same distribution and never overlap.
"""

from dataclasses import dataclass, field
import math
import numbers

import numpy as np

from ..errors import DataError


@dataclass
class Splits:
    """A data set split into train, dev and test parts.

    x_* : ndarray of shape (n, *input_shape), float32
    y_* : ndarray of shape (n,) int64 class indices (classification; (n, T) for sequences) or
          (n, k) float32 targets (regression)
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_dev: np.ndarray
    y_dev: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str = "classification"
    classes: list = field(default_factory=list)
    input_shape: tuple = ()
    name: str = ""
    info: dict = field(default_factory=dict)

    @property
    def n_classes(self):
        return len(self.classes)

    def sizes(self):
        """(n_train, n_dev, n_test)."""
        return len(self.x_train), len(self.x_dev), len(self.x_test)

    def describe(self):
        n_train, n_dev, n_test = self.sizes()
        what = f"{len(self.classes)} classes" if self.task == "classification" else "regression"
        return (f"{self.name}: {n_train} train / {n_dev} dev / {n_test} test samples of shape "
                f"{tuple(self.input_shape)}, {what}")


#: data set name -> loader ``fn(options: dict, split: dict, seed: int)``.
DATASETS = {}
#: data set name -> one-sentence description (for menus and `nnplay --help`).
DATASET_DESCRIPTIONS = {}
#: data set name -> tuple of :class:`OptionSpec`, the options its "options" dict takes.
DATASET_OPTIONS = {}

OPTION_KINDS = ("int", "float", "percent", "bool", "choice", "text", "path")


@dataclass(frozen=True)
class OptionSpec:
    """One option of a data set, declared so a form can edit it and values can be checked.

    name : the key in the document's data "options" dict.
    kind : "int", "float", "bool", "choice" (one of ``choices``), "text", "path" (a file or folder,
        set with a file dialog), or "percent": a number 0-100 read as a percentage, where a value
        below 1 counts as a fraction (0.1 = 10 %), as the toy sets' ``noise`` always has.
    default : the value the loader uses when the key is absent; None when the loader works it out
        (``optional`` options: absent means "not set", shown as ``none_text``).
    lo, hi : the valid range (numbers, inclusive). help : one or two sentences for a tooltip.
    advanced : not shown in the window's form (still checked).
    """

    name: str
    kind: str
    default: object = None
    lo: float = None
    hi: float = None
    choices: tuple = ()
    label: str = ""
    help: str = ""
    optional: bool = False
    none_text: str = ""
    decimals: int = 2
    step: float = 1
    suffix: str = ""
    advanced: bool = False

    def __post_init__(self):
        if self.kind not in OPTION_KINDS:
            raise ValueError(f"option kind must be one of {OPTION_KINDS}, got {self.kind!r}")

    @property
    def title(self):
        return self.label or self.name.replace("_", " ")

    def check(self, value, dataset=""):
        """The value made canonical (int for "int"); DataError with a readable message if bad."""
        where = f" of data set '{dataset}'" if dataset else ""
        if value is None and self.optional:
            return None
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise DataError(f"option '{self.name}'{where} must be true or false, got {value!r}")
            return value
        if self.kind == "choice":
            if value not in self.choices:
                raise DataError(f"option '{self.name}'{where} must be one of "
                                f"{', '.join(map(str, self.choices))}, got {value!r}")
            return value
        if self.kind in ("text", "path"):
            if not isinstance(value, str) or (self.kind == "path" and not value):
                raise DataError(f"option '{self.name}'{where} must be a {'path' if self.kind == 'path' else 'text'}, "
                                f"got {value!r}")
            return value
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise DataError(f"option '{self.name}'{where} must be a number, got {value!r}")
        if self.kind == "int":
            if float(value) != int(value):
                raise DataError(f"option '{self.name}'{where} must be a whole number, got {value!r}")
            value = int(value)
        lo = -math.inf if self.lo is None else self.lo
        hi = math.inf if self.hi is None else self.hi
        if not lo <= self.display_value(value) <= hi:  # a percentage's range is in percent (0.5 = 50 %)
            raise DataError(f"option '{self.name}'{where} must be between {self.lo:g} and {self.hi:g}"
                            f"{' (a percentage)' if self.kind == 'percent' else ''}, got {value!r}")
        return value

    def display_value(self, value):
        """The value as a form shows it: percentages as percent (a fraction 0.1 shows 10)."""
        if self.kind == "percent" and isinstance(value, numbers.Real) and 0 < value < 1:
            return float(value) * 100.0
        return value


def register_dataset(name, fn, description="", options=None):
    """Make a data set loadable by name.

    ``fn(options, split, seed)`` returns either a :class:`Splits`, or a tuple ``(x, y, info)``
    where ``info`` may hold "task", "classes" and "stratify"; :func:`load_dataset` then splits
    ``x, y`` with the document's dev/test fractions. ``fn`` raises DataError for bad options.
    ``options`` : the :class:`OptionSpec` s the data set takes (see :func:`declare_options`);
    None keeps what was declared before.
    """
    DATASETS[name] = fn
    DATASET_DESCRIPTIONS[name] = description or (fn.__doc__ or "").strip().split("\n")[0]
    if options is not None:
        declare_options(name, options)
    return fn


def declare_options(name, specs):
    """Declare the options of data set ``name`` (a sequence of :class:`OptionSpec`)."""
    specs = tuple(specs)
    for s in specs:
        if not isinstance(s, OptionSpec):
            raise TypeError(f"data set options are OptionSpec objects, got {s!r}")
    DATASET_OPTIONS[name] = specs
    return specs


def dataset_options(name):
    """The declared :class:`OptionSpec` s of data set ``name`` (an empty tuple when it declares none)."""
    return DATASET_OPTIONS.get(name, ())


def check_dataset_options(name, options):
    """Check ``options`` against data set ``name`` 's declared options; returns a canonical copy.

    Unknown keys, wrong types and out-of-range values raise DataError. A data set that declares no
    options is not checked here (its loader still is).
    """
    options = {} if options is None else options
    if not isinstance(options, dict):
        raise DataError(f"options of data set '{name}' must be an object")
    specs = {s.name: s for s in dataset_options(name)}
    if not specs:
        return dict(options)
    unknown = set(options) - set(specs)
    if unknown:
        raise DataError(f"unknown option(s) for data set '{name}': {', '.join(sorted(map(str, unknown)))} "
                        f"(known: {', '.join(sorted(specs))})")
    return {k: specs[k].check(v, name) for k, v in options.items()}


def dataset_names():
    return sorted(DATASETS)


DEFAULT_SPLIT = {"dev": 0.1, "test": 0.2}


def check_split(split):
    """Validate a {"dev": f, "test": f} dict (fractions of the whole data set)."""
    if split is None:
        split = {}
    if not isinstance(split, dict):
        raise DataError("data 'split' must be an object like {\"dev\": 0.1, \"test\": 0.2}")
    unknown = set(split) - {"dev", "test"}
    if unknown:
        raise DataError(f"unknown key(s) in data 'split': {', '.join(sorted(map(str, unknown)))} (use dev, test)")
    out = {}
    for key in ("dev", "test"):
        v = split.get(key, DEFAULT_SPLIT[key])
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or not 0 <= v < 1:
            raise DataError(f"data split '{key}' must be a fraction in [0, 1), got {v!r}")
        out[key] = float(v)
    if out["dev"] + out["test"] >= 1:
        raise DataError(f"dev ({out['dev']}) and test ({out['test']}) leave nothing to train on")
    return out


def check_seed(seed):
    """A data seed: a whole number in [0, 2^32); DataError otherwise."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**32:
        raise DataError(f"a data seed must be a whole number in [0, 2^32), got {seed!r}")
    return int(seed)


def get_number(options, key, default, lo, hi, integer=False):
    """Read a numeric option with a clear DataError when it is of the wrong type or out of range."""
    v = options.get(key, default)
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
        raise DataError(f"option '{key}' must be a number, got {v!r}")
    if integer:
        if float(v) != int(v):
            raise DataError(f"option '{key}' must be a whole number, got {v!r}")
        v = int(v)
    if not lo <= v <= hi:
        raise DataError(f"option '{key}' must be between {lo} and {hi}, got {v!r}")
    return v


def check_options(options, allowed, dataset):
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise DataError(f"options of data set '{dataset}' must be an object")
    unknown = set(options) - set(allowed)
    if unknown:
        known = ", ".join(sorted(allowed)) or "none"
        raise DataError(f"unknown option(s) for data set '{dataset}': "
                        f"{', '.join(sorted(map(str, unknown)))} (known: {known})")
    return dict(options)


def split_indices(n, dev, test, rng, labels=None):
    """Shuffle ``range(n)`` into (train, dev, test) index arrays with the given fractions.

    With ``labels`` (class indices, shape (n,)) the split is stratified: every class contributes
    the same share to each part.
    """
    if labels is None:
        perm = rng.permutation(n)
        n_test = int(round(test * n))
        n_dev = int(round(dev * n))
        return perm[n_test + n_dev:], perm[n_test:n_test + n_dev], perm[:n_test]
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    n_test = _quotas(counts, int(round(test * n)))
    n_dev = _quotas(counts, int(round(dev * n)))
    parts = ([], [], [])
    for c, k_test, k_dev in zip(classes, n_test, n_dev):
        idx = np.flatnonzero(labels == c)
        idx = idx[rng.permutation(len(idx))]
        parts[2].append(idx[:k_test])
        parts[1].append(idx[k_test:k_test + k_dev])
        parts[0].append(idx[k_test + k_dev:])
    # Shuffle within each part so classes are interleaved.
    return tuple(np.concatenate(p)[rng.permutation(sum(len(a) for a in p))] if p else np.zeros(0, int)
                 for p in parts)


def _quotas(counts, total):
    """Share ``total`` among classes in proportion to ``counts`` (largest remainders; sums exactly)."""
    counts = np.asarray(counts, dtype=np.int64)
    if counts.sum() == 0:
        return np.zeros(len(counts), np.int64)
    exact = counts * (total / counts.sum())
    base = np.floor(exact).astype(np.int64)
    extra = total - int(base.sum())
    if extra > 0:
        order = np.argsort(-(exact - base), kind="stable")
        base[order[:extra]] += 1
    return np.minimum(base, counts)


def make_splits(x, y, split, seed, task="classification", classes=None, name="", stratify=None, info=None):
    """Split arrays ``x, y`` into a :class:`Splits` with the dev/test fractions in ``split``."""
    x = np.asarray(x)
    y = np.asarray(y)
    if len(x) != len(y):
        raise DataError(f"data set '{name}' has {len(x)} inputs but {len(y)} targets")
    if stratify is None:
        stratify = task == "classification" and y.ndim == 1
    rng = np.random.default_rng(seed)
    tr, dv, te = split_indices(len(x), split["dev"], split["test"], rng, y if stratify else None)
    if len(tr) == 0:
        raise DataError(f"data set '{name}' is too small to split: nothing is left to train on")
    if classes is None:
        classes = [str(c) for c in range(int(y.max()) + 1)] if task == "classification" and y.size else []
    return Splits(x[tr], y[tr], x[dv], y[dv], x[te], y[te], task=task, classes=list(classes),
                  input_shape=tuple(x.shape[1:]), name=name, info=dict(info or {}))


def check_data_config(data_cfg, seed=0):
    """A document's "data" dict validated, with every key filled in: returns a new dict
    {"name": str, "options": dict, "split": {"dev": f, "test": f}, "seed": int}.

    A bare name stands for {"name": name}; ``seed`` is used when ``data_cfg`` has no "seed". The
    name is not looked up (a data set may be registered later). Raises DataError.
    """
    if isinstance(data_cfg, str):
        data_cfg = {"name": data_cfg}
    if not isinstance(data_cfg, dict):
        raise DataError("'data' must be an object like {\"name\": \"digits\"}")
    name = data_cfg.get("name")
    if not isinstance(name, str) or not name:
        raise DataError("'data' needs a 'name' (one of: " + ", ".join(dataset_names()) + ")")
    unknown = set(data_cfg) - {"name", "options", "split", "seed"}
    if unknown:
        raise DataError(f"unknown key(s) in 'data': {', '.join(sorted(map(str, unknown)))}")
    options = data_cfg.get("options")
    options = {} if options is None else options
    if not isinstance(options, dict):
        raise DataError(f"options of data set '{name}' must be an object")
    return {"name": name, "options": dict(options), "split": check_split(data_cfg.get("split")),
            "seed": check_seed(data_cfg.get("seed", seed))}


def validate_data(data_cfg, seed=0):
    """A document's "data" dict checked as far as it can be without loading anything: the keys,
    the split, the seed, a registered name and the options its data set declares. Returns the
    filled-in dict of :func:`check_data_config` (options canonical); raises DataError."""
    cfg = check_data_config(data_cfg, seed)
    if cfg["name"] not in DATASETS:
        raise DataError(f"unknown data set '{cfg['name']}' (known: {', '.join(dataset_names())})")
    cfg["options"] = check_dataset_options(cfg["name"], cfg["options"])
    return cfg


def load_dataset(data_cfg, seed=0):
    """Load the data set a document's "data" dict describes; return a :class:`Splits`.

    data_cfg : {"name": str, "options": dict, "split": {"dev": f, "test": f}, "seed": int}
    seed : used when ``data_cfg`` has no "seed".
    """
    cfg = check_data_config(data_cfg, seed)
    name, options, split, seed = cfg["name"], cfg["options"], cfg["split"], cfg["seed"]
    fn = DATASETS.get(name)
    if fn is None:
        raise DataError(f"unknown data set '{name}' (known: {', '.join(dataset_names())})")
    out = fn(dict(options), split, seed)
    if isinstance(out, Splits):
        if not out.name:
            out.name = name
        return out
    x, y, info = out
    info = dict(info or {})
    return make_splits(x, y, split, seed, task=info.pop("task", "classification"),
                       classes=info.pop("classes", None), name=name, stratify=info.pop("stratify", None),
                       info=info)
