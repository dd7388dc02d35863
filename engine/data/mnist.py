"""The full MNIST (60,000 train + 10,000 test images) from files the user has, or downloaded.

``{"name": "mnist", "options": {"path": ...}}`` reads either a folder holding the four IDX files
(``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
``t10k-labels-idx1-ubyte``, each possibly ``.gz``) or an ``.npz`` with ``x_train, y_train, x_test,
y_test`` (Keras' mnist.npz layout). ``{"download": true}`` fetches the IDX files into a cache folder
first (see :func:`download_mnist`), checking SHA-256 checksums.

The test split is MNIST's own test set; the document's dev fraction is taken from the training set.
Inputs are float32 (1, 28, 28) in [0, 1], like the bundled digits.
"""

import gzip
import hashlib
import os
import tempfile
import urllib.error
import urllib.request

import numpy as np

from ..errors import DataError
from .base import OptionSpec, Splits, check_options, split_indices, register_dataset
from .digits import CLASSES, to_inputs

MNIST_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def default_cache_dir():
    try:
        from platformdirs import user_cache_dir
        base = user_cache_dir("network-playground")
    except ImportError:  # pragma: no cover - platformdirs is a dependency
        base = os.path.join(os.path.expanduser("~"), ".cache", "network-playground")
    return os.path.join(base, "mnist")


# -- IDX files ---------------------------------------------------------------------------------
def read_idx(path):
    """Read an IDX file (plain or gzip-compressed) into an array; DataError if it is malformed."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(2)
        opener = gzip.open if head == b"\x1f\x8b" else open
        with opener(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"cannot read IDX file {path}: {exc}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise DataError(f"{path} is not an IDX file (bad magic number)")
    ndim = data[3]
    if ndim < 1 or len(data) < 4 + 4 * ndim:
        raise DataError(f"{path} is not an IDX file (bad header)")
    dims = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    count = int(np.prod(dims, dtype=np.int64))
    body = data[4 + 4 * ndim:]
    if len(body) != count * dtype.itemsize:
        raise DataError(f"{path} is truncated or corrupt: header says {dims}, "
                        f"found {len(body)} bytes of data")
    return np.frombuffer(body, dtype=dtype).reshape(dims)


def write_idx(path, array):
    """Write a uint8 array as an IDX file (gzip-compressed when ``path`` ends in .gz), atomically."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    from ..io import atomic_write

    def write(fh):
        if str(path).endswith(".gz"):
            with gzip.GzipFile(fileobj=fh, mode="wb") as gz:
                gz.write(header + array.tobytes())
        else:
            fh.write(header + array.tobytes())

    atomic_write(path, write)


def _find(folder, base):
    for name in (base, base + ".gz", base.replace("-idx", ".idx")):
        p = os.path.join(folder, name)
        if os.path.exists(p):
            return p
    raise DataError(f"no {base}[.gz] in {folder}")


def read_mnist(path):
    """(x_train, y_train, x_test, y_test) uint8 arrays from an IDX folder or an .npz file."""
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise DataError("option 'path' must be a folder of MNIST IDX files or an .npz file")
    path = os.path.expanduser(str(path))
    if os.path.isdir(path):
        parts = [read_idx(_find(path, f[:-3])) for f in MNIST_FILES.values()]
        x_tr, y_tr, x_te, y_te = parts
    elif os.path.isfile(path):
        try:
            with np.load(path, allow_pickle=False) as z:
                x_tr, y_tr, x_te, y_te = (np.asarray(z[k]) for k in ("x_train", "y_train", "x_test", "y_test"))
        except KeyError as exc:
            raise DataError(f"{path} lacks {exc} (expected x_train, y_train, x_test, y_test)") from None
        except (OSError, ValueError, EOFError) as exc:
            raise DataError(f"cannot read {path}: {exc}") from None
    else:
        raise DataError(f"no MNIST files at {path}")
    for x, y, what in ((x_tr, y_tr, "train"), (x_te, y_te, "test")):
        if x.ndim != 3 or x.shape[1:] != (28, 28) or y.shape != (len(x),):
            raise DataError(f"MNIST {what} images must be (n, 28, 28) with n labels, got {x.shape} and {y.shape}")
        if y.size and (y.min() < 0 or y.max() > 9):
            raise DataError(f"MNIST {what} labels must be digits 0-9")
    return x_tr, y_tr, x_te, y_te


# -- download ----------------------------------------------------------------------------------
def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download_mnist(cache_dir=None, base_url=MNIST_URL, checksums=None, timeout=60, progress=None):
    """Download the four MNIST IDX files into ``cache_dir`` (once) and return that folder.

    Files already in the cache with the right SHA-256 are not fetched again. A download goes to a
    temporary file in the cache folder and is renamed into place only after its checksum matches,
    so a failed or corrupt download leaves no partial file. ``checksums`` maps file name ->
    SHA-256 (default: the official files'). ``progress(name, done_bytes, total_bytes)`` is called
    while downloading. Raises DataError on network errors and checksum mismatches.
    """
    cache_dir = os.path.expanduser(str(cache_dir or default_cache_dir()))
    checksums = MNIST_SHA256 if checksums is None else checksums
    try:
        os.makedirs(cache_dir, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create the cache folder {cache_dir}: {exc}") from None
    base_url = base_url if base_url.endswith("/") else base_url + "/"
    for name in MNIST_FILES.values():
        target = os.path.join(cache_dir, name)
        want = checksums.get(name)
        if os.path.exists(target) and (want is None or _sha256(target) == want):
            continue
        url = base_url + name
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=cache_dir)
        except OSError as exc:
            raise DataError(f"cannot write into the cache folder {cache_dir}: {exc.strerror or exc}") from None
        try:
            h = hashlib.sha256()
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                total = int(resp.headers.get("Content-Length") or 0)
                done = 0
                for chunk in iter(lambda: resp.read(1 << 16), b""):
                    out.write(chunk)
                    h.update(chunk)
                    done += len(chunk)
                    if progress:
                        progress(name, done, total)
            got = h.hexdigest()
            if want is not None and got != want:
                raise DataError(f"checksum mismatch for {name} from {url}: expected SHA-256 {want}, "
                                f"got {got}; the file was discarded")
            os.replace(tmp, target)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise DataError(f"cannot download {url}: {getattr(exc, 'reason', exc)}") from None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return cache_dir


def load_mnist(options, split, seed):
    """The full MNIST: 60,000 training and 10,000 test digits, from your files or downloaded."""
    options = check_options(options, ("path", "download", "cache_dir", "base_url"), "mnist")
    path = options.get("path")
    if path is None:
        if options.get("download"):
            path = download_mnist(options.get("cache_dir"), options.get("base_url") or MNIST_URL)
        else:
            cache = os.path.expanduser(str(options.get("cache_dir") or default_cache_dir()))
            if all(os.path.exists(os.path.join(cache, f)) for f in MNIST_FILES.values()):
                path = cache
            else:
                raise DataError("MNIST needs option 'path' (IDX folder or .npz) or \"download\": true")
    x_tr, y_tr, x_te, y_te = read_mnist(path)
    rng = np.random.default_rng(seed)
    tr, dv, _ = split_indices(len(x_tr), split["dev"], 0.0, rng, y_tr)
    return Splits(to_inputs(x_tr[tr]), y_tr[tr].astype(np.int64), to_inputs(x_tr[dv]), y_tr[dv].astype(np.int64),
                  to_inputs(x_te), y_te.astype(np.int64), task="classification", classes=list(CLASSES),
                  input_shape=(1, 28, 28), name="mnist", info={"path": str(path)})


OPTIONS = (
    OptionSpec("path", "path", None, optional=True, none_text="the cache folder", label="files",
               help="Your copy of MNIST: a folder with the four IDX files, or an .npz with x_train, "
                    "y_train, x_test, y_test. Not set: the files downloaded into the cache folder."),
    OptionSpec("download", "bool", False, advanced=True,  # the window's Download button does it in a thread
               help="Download the four files into the cache folder when they are not there yet "
                    "(SHA-256 checked)."),
    OptionSpec("cache_dir", "text", None, optional=True, advanced=True,
               help="Where downloaded files are kept (default: the user cache folder)."),
    OptionSpec("base_url", "text", None, optional=True, advanced=True,
               help="Where to download the files from."),
)

register_dataset("mnist", load_mnist, options=OPTIONS)
