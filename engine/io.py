"""Network documents (JSON) and model files (.npz): load, validate, save. No pickle, atomic writes.

A *document* describes a network and how to train it::

    {"format": "network-playground", "version": 1, "name": "...", "description": "...",
     "graph": Network.get_config(),         # nodes carry "meta": {"pos": [x, y]} for the canvas
     "training": {"loss": ..., "optimizer": {...}, "schedule": {...}, "batch_size": 64, ...},
     "data": {"name": "digits", "options": {}, "split": {"dev": 0.1, "test": 0.2}, "seed": 0},
     ...}                                   # other top-level keys (panels) are kept in ``extra``

A *model file* (.npz) holds the document (its JSON as a uint8 array under ``__document__``) and the
trained weights (``Network.get_weights()`` keys such as ``"dense_1/W"``) in one ``np.savez`` archive,
read back with ``np.load(allow_pickle=False)``.

Every problem with a file surfaces as a :class:`DocumentError` (or another EngineError) whose
message can be shown as it is.
"""

import copy
from dataclasses import dataclass, field
import io as _io
import json
import os
import tempfile
import zipfile

import numpy as np

from .errors import ConfigError, DataError, DocumentError, EngineError, GraphError, ShapeError
from .graph import Network
from .training import DEFAULT_TRAINING, TrainConfig, _is_int, _is_number as _is_num

FORMAT = "network-playground"
VERSION = 1
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRESETS_DIR = os.path.join(REPO_ROOT, "presets")
DOCUMENT_KEY = "__document__"
_TOP_KEYS = ("format", "version", "name", "description", "graph", "training", "data")

DEFAULT_DATA = {"name": "digits", "options": {}, "split": {"dev": 0.1, "test": 0.2}, "seed": 0}


@dataclass
class Document:
    """A network with its training and data settings, as read from or written to a document."""

    name: str = "untitled"
    description: str = ""
    network: Network = field(default_factory=Network)
    training: dict = field(default_factory=lambda: copy.deepcopy(DEFAULT_TRAINING))
    data: dict = field(default_factory=lambda: copy.deepcopy(DEFAULT_DATA))
    extra: dict = field(default_factory=dict)
    path: str = None
    #: set by ``load_model``: {"loaded", "missing", "unexpected", "mismatched"}, each a sorted list
    #: of weight keys ("node/key"; only "loaded" is non-empty after a strict load); None otherwise.
    weights_report: dict = None

    def to_dict(self):
        return document_to_dict(self)

    def copy(self):
        """A deep copy (a fresh, unbuilt network from the same config)."""
        return document_from_dict(self.to_dict(), strict=False, path=self.path)


def _check_training(training):
    """Fill defaults for missing keys and validate with the trainer's own rules
    (:class:`engine.training.TrainConfig`). Returns a new dict; the values stay as written."""
    if not isinstance(training, dict):
        raise DocumentError("'training' must be an object")
    out = copy.deepcopy(DEFAULT_TRAINING)
    out.update(copy.deepcopy(training))
    if isinstance(out["optimizer"], str):
        out["optimizer"] = {"type": out["optimizer"]}
    if isinstance(out["schedule"], str) or out["schedule"] is None:
        out["schedule"] = {"type": out["schedule"] or "constant"}
    opt = out["optimizer"]
    if isinstance(opt, dict):
        for k, v in opt.items():
            if k != "type" and not (_is_num(v) or isinstance(v, bool)):
                raise ConfigError(f"optimizer option '{k}' must be a number, got {v!r}")
    TrainConfig.from_dict(out)
    return out


def _check_loss(spec):
    from . import losses

    if isinstance(spec, dict) and "type" not in spec:
        if not spec:
            raise ConfigError("training loss must name a loss (e.g. \"softmax_cross_entropy\")")
        for name, sub in spec.items():
            if not isinstance(sub, (str, dict)) or (isinstance(sub, dict) and "type" not in sub):
                raise ConfigError(f"the loss for output '{name}' must be a name or an object with a 'type'")
            losses.get_loss(sub)
        return
    if not isinstance(spec, (str, dict)):
        raise ConfigError(f"training loss must be a name like \"softmax_cross_entropy\", got {spec!r}")
    losses.get_loss(spec)


def _check_data(data):
    from .data.base import check_data_config

    if not isinstance(data, dict):
        raise DocumentError("'data' must be an object like {\"name\": \"digits\"}")
    out = copy.deepcopy(DEFAULT_DATA)
    out.update(copy.deepcopy(data))
    return check_data_config(out)


# -- documents -------------------------------------------------------------------------------------
def document_from_dict(d, strict=True, path=None):
    """Build a :class:`Document` from a parsed JSON object, validating everything.

    strict : also require a working graph (no cycle, every shape fits); the editor passes False
        to open half-finished documents and shows their errors on the canvas.
    Raises DocumentError / ConfigError / GraphError / ShapeError / DataError, never anything else.
    """
    where = f"{path}: " if path else ""
    try:
        return _document_from_dict(d, strict, path)
    except EngineError as exc:
        if where and not str(exc).startswith(where):
            exc.args = (where + str(exc),) + exc.args[1:]
        raise
    except RecursionError:
        raise DocumentError(f"{where}the document is nested too deeply") from None
    except Exception as exc:  # noqa: BLE001 - a safety net: bad documents never give a traceback
        raise DocumentError(f"{where}invalid document: {type(exc).__name__}: {exc}") from None


def _document_from_dict(d, strict, path):
    if not isinstance(d, dict):
        raise DocumentError("not a Network Playground document (expected a JSON object)")
    fmt = d.get("format")
    if fmt != FORMAT:
        if fmt is None:
            raise DocumentError(f"not a Network Playground document (no \"format\": \"{FORMAT}\")")
        raise DocumentError(f"not a Network Playground document (format is {fmt!r}, expected \"{FORMAT}\")")
    version = d.get("version")
    if not _is_int(version) or version < 1:
        raise DocumentError(f"bad document version {version!r} (expected {VERSION})")
    if version > VERSION:
        raise DocumentError(f"the document is version {version}, made by a newer Network Playground; "
                            f"this one reads version {VERSION}")
    name = d.get("name", "untitled")
    if not isinstance(name, str):
        raise DocumentError("document 'name' must be a string")
    description = d.get("description", "")
    if not isinstance(description, str):
        raise DocumentError("document 'description' must be a string")
    if "graph" not in d:
        raise DocumentError("the document has no 'graph'")
    graph = d["graph"]
    if not isinstance(graph, dict):
        raise DocumentError("'graph' must be an object with a 'nodes' list")
    network = Network.from_config(graph)
    for node in network.nodes.values():
        pos = node.meta.get("pos")
        if pos is not None and not (isinstance(pos, list) and len(pos) == 2 and all(_is_num(p) for p in pos)):
            raise DocumentError(f"node '{node.name}': meta.pos must be [x, y] numbers")
    if strict:
        if not network.inputs:
            raise GraphError("the network has no Input node")
        network.topological_order()
        network.infer_shapes(strict=True)
        if not network.outputs:
            raise GraphError("the network has no output")
    training = _check_training(d.get("training", {}))
    data = _check_data(d.get("data", DEFAULT_DATA))
    extra = {k: copy.deepcopy(v) for k, v in d.items() if k not in _TOP_KEYS}
    return Document(name=name, description=description, network=network, training=training, data=data,
                    extra=extra, path=path)


def document_to_dict(doc):
    """The JSON-safe dict of a :class:`Document` (the keys in the module docstring, then ``extra``)."""
    out = {
        "format": FORMAT,
        "version": VERSION,
        "name": doc.name,
        "description": doc.description,
        "graph": doc.network.get_config(),
        "training": copy.deepcopy(doc.training),
        "data": copy.deepcopy(doc.data),
    }
    for k, v in (doc.extra or {}).items():
        if k not in out:
            out[k] = copy.deepcopy(v)
    return out


def parse_document(text, strict=True, path=None):
    """A Document from JSON text (str or bytes)."""
    where = f"{path}: " if path else ""
    try:
        if isinstance(text, (bytes, bytearray)):
            text = bytes(text).decode("utf-8")
        d = json.loads(text)
    except UnicodeDecodeError:
        raise DocumentError(f"{where}not a JSON document (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise DocumentError(f"{where}malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise DocumentError(f"{where}the document is nested too deeply") from None
    return document_from_dict(d, strict=strict, path=path)


def load_document(path, strict=True):
    """Read a network document (.json). See :func:`document_from_dict`."""
    path = resolve_path(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise DocumentError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_document(raw, strict=strict, path=path)


def atomic_write(path, write):
    """Call ``write(fileobj)`` on a temporary file next to ``path``, then rename it into place.

    Raises DocumentError (with the OS reason) when the folder is not writable."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise DocumentError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise DocumentError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def document_json(doc):
    return json.dumps(document_to_dict(doc), indent=2, allow_nan=False) + "\n"


def save_document(doc, path):
    """Write ``doc`` as JSON to ``path`` atomically; sets ``doc.path``."""
    try:
        text = document_json(doc)
    except (TypeError, ValueError) as exc:
        raise DocumentError(f"the document cannot be written as JSON: {exc}") from None
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))
    doc.path = os.fspath(path)
    return doc.path


# -- model files -----------------------------------------------------------------------------------
def save_model(doc, path):
    """Write the document and its network's weights to one .npz file, atomically.

    The network is built first (with the training seed) if it is not built yet.
    """
    net = doc.network
    if not net.built:
        net.build(seed=doc.training.get("seed", 0))
    text = document_json(doc).encode("utf-8")
    arrays = {DOCUMENT_KEY: np.frombuffer(text, dtype=np.uint8)}
    for k, v in net.get_weights().items():
        if k == DOCUMENT_KEY:
            raise DocumentError(f"a weight cannot be named {DOCUMENT_KEY}")
        arrays[k] = v
    atomic_write(path, lambda fh: np.savez(fh, **arrays))
    return os.fspath(path)


def load_model(path, strict=True):
    """Read a model file: returns a :class:`Document` whose network is built and holds the weights.

    strict : True (the default): the saved weights must match the graph exactly (every parameter
        and buffer present with its shape, nothing extra), else a DocumentError names the
        difference. False: load the arrays whose key and shape match, keep the fresh initial
        values for the rest, and report what happened in ``doc.weights_report``
        ({"loaded", "missing", "unexpected", "mismatched"}: lists of "node/key"), e.g. to reuse
        trained layers after editing the graph (transfer learning).
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise DocumentError(f"cannot read {path}: {exc.strerror or exc}") from None
    return model_from_bytes(raw, path=path, strict=strict)


def _weight_shapes(network):
    """{"node/key": shape} of every parameter and buffer of a built network (no copies)."""
    shapes = {}
    for name, node in network.nodes.items():
        for k, v in node.layer.params.items():
            shapes[f"{name}/{k}"] = v.shape
        for k, v in node.layer.buffers().items():
            shapes[f"{name}/{k}"] = v.shape
    return shapes


def _some(keys, n=5):
    keys = sorted(keys)
    return ", ".join(keys[:n]) + (f" and {len(keys) - n} more" if len(keys) > n else "")


def model_from_bytes(raw, path=None, strict=True):
    """A built Document with weights from the bytes of a model file (``strict`` as in load_model)."""
    where = f"{path}: " if path else ""
    try:
        z = np.load(_io.BytesIO(raw), allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise DocumentError(f"{where}not a model file (a bare array, not an .npz archive)")
        with z:
            if DOCUMENT_KEY not in z.files:
                raise DocumentError(f"{where}not a Network Playground model file (no document inside)")
            doc_bytes = z[DOCUMENT_KEY]
            weights = {k: z[k] for k in z.files if k != DOCUMENT_KEY}
    except DocumentError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, TypeError,
            NotImplementedError, RuntimeError) as exc:
        # numpy takes any unknown content for a pickle and suggests allow_pickle: never done here
        detail = "not an .npz archive" if "pickle" in str(exc) else str(exc)
        raise DocumentError(f"{where}not a model file or corrupt/truncated ({detail})") from None
    except Exception as exc:  # noqa: BLE001 - zip/npy parsing can fail in many ways
        raise DocumentError(f"{where}corrupt model file ({type(exc).__name__}: {exc})") from None
    if doc_bytes.dtype != np.uint8 or doc_bytes.ndim != 1:
        raise DocumentError(f"{where}corrupt model file (the document is not stored as bytes)")
    doc = parse_document(doc_bytes.tobytes(), strict=True, path=path)
    try:
        doc.network.build(seed=doc.training.get("seed", 0))
        for k, v in weights.items():
            if not np.issubdtype(v.dtype, np.number):
                raise DocumentError(f"{where}weight {k} is not numeric")
        shapes = _weight_shapes(doc.network)
        missing = [k for k in shapes if k not in weights]
        unexpected = [k for k in weights if k not in shapes]
        mismatched = [k for k in shapes if k in weights and tuple(weights[k].shape) != tuple(shapes[k])]
        if strict:
            if mismatched:
                k = sorted(mismatched)[0]
                raise DocumentError(f"{where}the weights do not fit the network: {k} has shape "
                                    f"{tuple(weights[k].shape)}, the layer needs {tuple(shapes[k])}")
            if missing:
                raise DocumentError(f"{where}the weights do not fit the network: no saved weights for "
                                    f"{_some(missing)}")
            if unexpected:
                raise DocumentError(f"{where}the weights do not fit the network: saved weights for "
                                    f"{_some(unexpected)}, which the network does not have")
        bad = set(mismatched)
        fitting = {k: v for k, v in weights.items() if k in shapes and k not in bad}
        doc.network.set_weights(fitting, strict=False)
    except (ShapeError, ConfigError) as exc:
        raise DocumentError(f"{where}the weights do not fit the network: {exc}") from None
    except EngineError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise DocumentError(f"{where}corrupt model file ({type(exc).__name__}: {exc})") from None
    doc.weights_report = {"loaded": sorted(fitting), "missing": sorted(missing),
                          "unexpected": sorted(unexpected), "mismatched": sorted(mismatched)}
    return doc


def is_model_file(path):
    try:
        with open(path, "rb") as fh:
            return fh.read(2) == b"PK"
    except OSError:
        return False


def load_any(path, strict=True):
    """Open a .json document or a .npz model file (decided by the content, not only the name)."""
    path = resolve_path(path)
    if str(path).lower().endswith(".npz") or is_model_file(path):
        return load_model(path)
    return load_document(path, strict=strict)


# -- presets ---------------------------------------------------------------------------------------
def list_presets():
    """Names of the bundled presets (presets/*.json without the extension), sorted."""
    try:
        return sorted(f[:-5] for f in os.listdir(PRESETS_DIR) if f.endswith(".json"))
    except OSError:
        return []


def resolve_path(spec):
    """A file path for ``spec``: an existing path as is, else a preset name ("spiral")."""
    if not isinstance(spec, (str, os.PathLike)):
        raise DocumentError(f"not a file name: {spec!r}")
    spec = os.fspath(spec)
    if os.path.exists(spec):
        return spec
    for cand in (os.path.join(PRESETS_DIR, spec), os.path.join(PRESETS_DIR, spec + ".json")):
        if os.path.basename(spec) == spec and os.path.isfile(cand):
            return cand
    if os.path.basename(spec) == spec and not spec.endswith((".json", ".npz")):
        known = ", ".join(list_presets()) or "none"
        raise DocumentError(f"no file or preset named '{spec}' (presets: {known})")
    raise DocumentError(f"cannot read {spec}: No such file or directory")
