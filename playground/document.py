"""The network document: the model the canvas, inspector and training dock all mirror.

A document holds an engine :class:`~engine.graph.Network` plus the training and data settings of a
network document file (see DESIGN.md). Views never change it directly: every edit goes through
:meth:`NetworkDocument.edit_graph` (or a helper built on it), which pushes a
:class:`GraphEditCommand` onto the document's ``QUndoStack``. A command stores the graph's config
before and after the edit; applying one diffs the two and changes only what differs, so layers
that were not touched keep their trained weights, and the document emits fine-grained signals
(``node_added``, ``link_removed``, ``layer_changed`` ...) that the canvas scene mirrors.
"""

from __future__ import annotations

import copy
import inspect
import json
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from engine.errors import ConfigError, DocumentError, EngineError, GraphError
from engine.graph import Network, Node
from engine import io as eio
from engine.io import DEFAULT_DATA, DEFAULT_TRAINING
from engine.layers import LAYER_TYPES, layer_from_config

#: values for required constructor arguments when a layer is dragged in from the palette.
DEFAULT_ARGS = {
    "shape": [64],
    "units": 32,
    "filters": 8,
    "kernel_size": 3,
    "pool_size": 2,
    "rate": 0.5,
    "target_shape": [-1],
    "activation": "relu",
    "kind": "relu",
    "input_dim": 100,
    "vocab_size": 100,
    "output_dim": 16,
    "embed_dim": 16,
    "num_heads": 2,
    "key_dim": 16,
    "hidden_size": 32,
    "axis": -1,
    "size": 2,
}


#: per-type values that win over DEFAULT_ARGS (wrappers need a layer to wrap).
TYPE_DEFAULTS = {
    "Bidirectional": {"layer": {"type": "LSTM", "config": {"units": 16}}},
    "TimeDistributed": {"layer": {"type": "Dense", "config": {"units": 16}}},
    "Reshape": {"shape": [-1]},
}


def presets_dir():
    return Path(eio.PRESETS_DIR)


def default_layer_config(type_name):
    """A config for a fresh layer of ``type_name`` (the palette's drop), without its name.

    Raises ConfigError when the type cannot be made with sensible defaults.
    """
    cls = LAYER_TYPES.get(type_name)
    if cls is None:
        raise ConfigError(f"unknown layer type '{type_name}'")
    kwargs = {}
    try:
        sig = inspect.signature(cls.__init__)
    except (TypeError, ValueError):
        sig = None
    if sig is not None:
        for p in list(sig.parameters.values())[1:]:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.default is not p.empty:
                continue
            if p.name in TYPE_DEFAULTS.get(type_name, {}):
                kwargs[p.name] = copy.deepcopy(TYPE_DEFAULTS[type_name][p.name])
            elif p.name in DEFAULT_ARGS:
                kwargs[p.name] = copy.deepcopy(DEFAULT_ARGS[p.name])
            else:
                raise ConfigError(f"{type_name} needs a value for '{p.name}' before it can be added")
    try:
        layer = cls(**kwargs)
    except EngineError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise ConfigError(f"{type_name} cannot be made with default settings: {exc}") from None
    cfg = json.loads(json.dumps(layer.get_config()))
    cfg.pop("name", None)
    return cfg


def _entries(cfg):
    return {e["name"]: e for e in cfg.get("nodes", [])}


class GraphEditCommand(QUndoCommand):
    """One undoable edit of the graph: the graph config before and after.

    Commands with the same ``merge_key`` (typing in one inspector field, dragging one spin box)
    merge into one undo step.
    """

    _ids = {}

    def __init__(self, document, before, after, text, merge_key=None):
        super().__init__(text)
        self.document = document
        self.before = before
        self.after = after
        self.merge_key = merge_key

    def id(self):  # noqa: A003 - Qt API
        if self.merge_key is None:
            return -1
        return GraphEditCommand._ids.setdefault(self.merge_key, len(GraphEditCommand._ids) + 1)

    def mergeWith(self, other):  # noqa: N802 - Qt API
        if not isinstance(other, GraphEditCommand) or other.merge_key != self.merge_key:
            return False
        self.after = other.after
        return True

    def redo(self):
        self.document._apply_graph(self.after)

    def undo(self):
        self.document._apply_graph(self.before)


#: how a settings key reads in Edit > Undo ...
_SETTING_NAMES = {"lr": "learning rate", "batch_size": "batch size", "loss": "cost", "name": "data set",
                  "clip_norm": "gradient clipping", "early_stopping": "early stopping", "beta": "beta",
                  "dev": "dev split", "test": "test split", "augment": "augmentation",
                  # data-set options (engine.data declares them)
                  "n": "samples", "per_class": "images per digit", "train_ratio": "train ratio",
                  "max_len": "longest word", "tx": "input length", "path": "MNIST files"}


def settings_change_text(before, after, what):
    """The undo text of a settings change: "Set epochs to 7" when one value changed (nested dicts
    such as the optimizer's are looked into; a new optimizer or schedule type counts as one
    change with its options), else "Change <what>"."""
    changed = []  # (parent key or None, key, new value)

    def walk(a, b, parent=None):
        for key in sorted(set(a) | set(b), key=str):
            x, y = a.get(key), b.get(key)
            if x == y:
                continue
            if isinstance(x, dict) and isinstance(y, dict) and key != "augment":
                walk(x, y, key)
            else:
                changed.append((parent, key, y))

    walk(before or {}, after or {})
    names = [c for c in changed if c[:2] == (None, "name")]
    if names:  # another data set (its options start afresh)
        return f"Set {_SETTING_NAMES['name']} to {names[0][2]}"
    types = [c for c in changed if c[1] == "type" and c[0] is not None]
    if len(types) == 1 and all(c[0] == types[0][0] for c in changed):
        parent, _, value = types[0]
        return f"Set {_SETTING_NAMES.get(parent, parent)} to {value}"
    if len(changed) != 1:
        return f"Change {what}"
    _, key, value = changed[0]
    label = _SETTING_NAMES.get(key, str(key).replace("_", " "))
    if value is None or isinstance(value, (bool, dict)):
        return f"Turn {label} {'off' if value in (None, False) else 'on'}"
    return f"Set {label} to {value:g}" if isinstance(value, float) else f"Set {label} to {value}"


class SettingsEditCommand(QUndoCommand):
    """An undoable change of the document's ``training`` or ``data`` dict."""

    def __init__(self, document, attr, before, after, text):
        super().__init__(text)
        self.document, self.attr, self.before, self.after = document, attr, before, after

    def redo(self):
        self.document._apply_settings(self.attr, self.after)

    def undo(self):
        self.document._apply_settings(self.attr, self.before)


class NetworkDocument(QObject):
    """A network document (graph + training + data settings) with signals and an undo stack.

    Attributes
    ----------
    network : engine.graph.Network
        The live network. Read it freely; change it only through the edit methods.
    training, data : dict
        The document's "training" and "data" sections (see DESIGN.md).
    undo_stack : QUndoStack
    path : str or None
        Where the document was last loaded from or saved to.
    """

    node_added = Signal(str)
    node_removed = Signal(str)
    link_added = Signal(str, str)
    link_removed = Signal(str, str)
    layer_changed = Signal(str)
    node_moved = Signal(str)
    #: the whole document was replaced (new, open): views rebuild themselves.
    reset = Signal()
    #: anything changed (graph, training or data settings).
    changed = Signal()
    training_changed = Signal()
    data_changed = Signal()
    modified_changed = Signal(bool)
    path_changed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.undo_stack = _UndoStack(self)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        #: counts graph changes (edits, undo/redo, open, a swapped network): caches key on it
        self.revision = 0
        self._rows_cache = None  # (key, rows) of summary_rows()
        self.network = Network()
        self.name = "untitled"
        self.description = ""
        self.training = copy.deepcopy(DEFAULT_TRAINING)
        self.data = copy.deepcopy(DEFAULT_DATA)
        self.extra = {}
        self.path = None
        self._read_only_reason = None
        #: per-sample shape of the document's data set, once something has loaded it (the training
        #: dock does): an Input dropped from the palette takes it, so a new network fits the data
        self.data_sample_shape = None
        #: the weights were trained since the document was opened or saved as a model (.npz):
        #: closing asks first (a .json document keeps the network and settings, not the weights)
        self.weights_unsaved = False

    def _on_clean_changed(self, clean):
        self.modified_changed.emit(self.modified)

    def mark_weights_trained(self):
        """Training changed the weights: the document counts as modified until saved as a model."""
        self._set_weights_unsaved(True)

    def _set_weights_unsaved(self, unsaved):
        before = self.modified
        self.weights_unsaved = bool(unsaved)
        if self.modified != before:
            self.modified_changed.emit(self.modified)

    @property
    def network(self):
        """The live :class:`engine.graph.Network` (replacing it counts as a graph change)."""
        return self._network

    @network.setter
    def network(self, network):
        self._network = network
        self.revision += 1

    def summary_rows(self):
        """``network.summary_rows()`` computed once per graph change and shared by its readers
        (the canvas scene and the inspector both show it after every edit). The rows are shared:
        read them, do not modify them."""
        net = self.network
        key = (self.revision, net.built)  # a build sets input_shapes, which some notes read
        if self._rows_cache is None or self._rows_cache[0] != key:
            self._rows_cache = (key, net.summary_rows())
        return self._rows_cache[1]

    # -- state ---------------------------------------------------------------------------------
    @property
    def modified(self):
        """Unsaved edits, or trained weights not saved in a model file."""
        return not self.undo_stack.isClean() or self.weights_unsaved

    @property
    def locked_reason(self):
        """Why graph edits are refused right now (e.g. "stop training before ..."), or None."""
        return self._read_only_reason

    def set_locked(self, reason):
        """Refuse graph edits (e.g. while training runs) with ``reason``; ``None`` unlocks."""
        self._read_only_reason = reason

    def graph_config(self):
        """A deep copy of the network's config (what the document file stores under "graph")."""
        return json.loads(json.dumps(self.network.get_config()))

    def node_pos(self, name):
        pos = self.network.nodes[name].meta.get("pos") if name in self.network.nodes else None
        if isinstance(pos, (list, tuple)) and len(pos) == 2:
            return float(pos[0]), float(pos[1])
        return None

    # -- loading and saving --------------------------------------------------------------------
    def as_io_document(self, extra=None):
        """An :class:`engine.io.Document` sharing this document's live network (for engine.io
        writers); ``extra`` adds top-level keys."""
        return eio.Document(name=self.name, description=self.description, network=self.network,
                            training=self.training, data=self.data, extra={**self.extra, **(extra or {})})

    def to_dict(self):
        """The document as a JSON-ready dict (a deep copy: changing it changes nothing here)."""
        return json.loads(json.dumps(eio.document_to_dict(self.as_io_document())))

    def load_dict(self, d, path=None):
        """Replace the document with a parsed network document; on error nothing changes."""
        name, description, network, training, data, extra = parse_document(d)
        self._replace(name, description, network, training, data, extra, path)

    def load(self, path):
        """Open a document (.json) or a model with weights (.npz). Raises EngineError; on error
        the current document is left as it was."""
        path = str(path)
        name, description, network, training, data, extra = read_document_file(path)
        self._replace(name, description, network, training, data, extra, path)

    def new(self):
        self._replace("untitled", "", Network(), copy.deepcopy(DEFAULT_TRAINING), copy.deepcopy(DEFAULT_DATA), {}, None)

    def save(self, path=None):
        """Write the document atomically to ``path`` (default: where it came from)."""
        path = str(path or self.path or "")
        if not path:
            raise DocumentError("choose a file name first (File > Save As)")
        write_document_file(self, path)
        if path != self.path:
            self.path = path
            self.path_changed.emit(path)
        weights_unsaved = self.weights_unsaved and not path.lower().endswith(".npz")
        self.undo_stack.setClean()  # (clears weights_unsaved)
        self._set_weights_unsaved(weights_unsaved)  # a .json document does not keep the weights

    def _replace(self, name, description, network, training, data, extra, path):
        self.network = network
        self.name, self.description = name, description
        self.training, self.data, self.extra = training, data, extra
        self.path = path
        self.weights_unsaved = False
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self.reset.emit()
        self.path_changed.emit(path or "")
        self.modified_changed.emit(False)
        self.training_changed.emit()
        self.data_changed.emit()
        self.changed.emit()

    # -- edits (each one an undo command) ------------------------------------------------------
    def edit_graph(self, text, mutate, merge_key=None, layout_only=False):
        """Apply ``mutate(config)`` to a copy of the graph config and push it as one undo step.

        ``mutate`` edits the dict in place (it may return False to cancel). The result is checked
        (every layer config valid, no dangling links, no cycle) before anything changes; a bad
        edit raises an EngineError and leaves the document as it was.
        """
        if self._read_only_reason and not layout_only:
            raise GraphError(self._read_only_reason)
        before = self.graph_config()
        after = copy.deepcopy(before)
        if mutate(after) is False:
            return False
        check = Network.from_config(after)
        check.topological_order()
        if after == before:
            return False
        self.undo_stack.push(GraphEditCommand(self, before, after, text, merge_key))
        return True

    def add_layer(self, type_name, config=None, pos=(0.0, 0.0), inputs=(), name=None):
        """Add a layer (palette drop); returns the new node's name."""
        cfg = dict(config) if config is not None else default_layer_config(type_name)
        cfg.pop("name", None)
        if config is None and type_name == "Input" and self.data_sample_shape:
            cfg["shape"] = [int(d) for d in self.data_sample_shape]
        name = name or self.network.unique_name(type_name)
        if name in self.network.nodes:
            raise GraphError(f"a node named '{name}' already exists", name)

        def mutate(c):
            c["nodes"].append({
                "name": name, "type": type_name, "config": cfg, "inputs": list(inputs),
                "meta": {"pos": [float(pos[0]), float(pos[1])]},
            })

        self.edit_graph(f"Add {type_name} '{name}'", mutate)
        return name

    def insert_layer_after(self, type_name, after, pos=(0.0, 0.0)):
        """Add a fresh ``type_name`` layer fed by node ``after``, in one undo step; when ``after``
        feeds exactly one layer, the new one goes in between (select a layer, double-click Dropout
        in the palette: relu -> dropout -> dense). Returns the new node's name."""
        if after not in self.network.nodes:
            raise GraphError(f"there is no node named '{after}'", after)
        cfg = default_layer_config(type_name)
        cfg.pop("name", None)
        name = self.network.unique_name(type_name)
        consumers = [n for n, node in self.network.nodes.items() if after in node.inputs]

        def mutate(c):
            if len(consumers) == 1:
                for node in c["nodes"]:
                    if node["name"] == consumers[0]:
                        node["inputs"] = [name if i == after else i for i in node["inputs"]]
            c["nodes"].append({"name": name, "type": type_name, "config": cfg, "inputs": [after],
                               "meta": {"pos": [float(pos[0]), float(pos[1])]}})

        where = f"between {after} and {consumers[0]}" if len(consumers) == 1 else f"after {after}"
        self.edit_graph(f"Add {type_name} '{name}' {where}", mutate)
        return name

    def add_nodes(self, entries, text="Paste"):
        """Add several nodes at once (paste); entries are graph-config node dicts with unique names."""
        def mutate(c):
            c["nodes"].extend(copy.deepcopy(list(entries)))
        return self.edit_graph(text, mutate)

    def remove_nodes(self, names, links=()):
        """Delete nodes (and every link touching them) and the links ``[(src, dst), ...]``."""
        names = set(names)
        links = [tuple(link) for link in links]

        def mutate(c):
            c["nodes"] = [e for e in c["nodes"] if e["name"] not in names]
            for e in c["nodes"]:
                ins = [s for s in e["inputs"] if s not in names]
                for src, dst in links:
                    if dst == e["name"] and src in ins:
                        ins.remove(src)
                e["inputs"] = ins
            if "outputs" in c:
                c["outputs"] = [o for o in c["outputs"] if o not in names]
                if not c["outputs"]:
                    del c["outputs"]
            return None

        what = ", ".join(sorted(names)) or f"{len(links)} link(s)"
        return self.edit_graph(f"Delete {what}", mutate)

    def connect(self, src, dst):
        """Feed ``src`` into ``dst``; refuses cycles, self-links and duplicates with a GraphError."""
        if src == dst:
            raise GraphError("a layer cannot feed itself", dst)
        if src not in self.network.nodes or dst not in self.network.nodes:
            raise GraphError("both ends of a link must be layers on the canvas")
        dst_layer = self.network[dst]
        if dst_layer.n_inputs == 0:
            raise GraphError(f"{dst_layer.label} is where data enters: nothing can feed it", dst)
        if src in self.network.nodes[dst].inputs:
            raise GraphError(f"'{src}' already feeds '{dst}'", dst)
        replace = dst_layer.n_inputs == 1 and len(self.network.nodes[dst].inputs) >= 1

        def mutate(c):
            e = _entries(c)[dst]
            if replace:
                e["inputs"] = [src]  # a one-input layer: the new link replaces the old one
            else:
                e["inputs"].append(src)

        try:
            return self.edit_graph(f"Connect {src} \u2192 {dst}", mutate)
        except GraphError as exc:
            if "cycle" in str(exc):
                raise GraphError(f"connecting '{src}' to '{dst}' would make a loop: a network flows one way", dst) from None
            raise

    def disconnect(self, src, dst):
        def mutate(c):
            e = _entries(c)[dst]
            if src not in e["inputs"]:
                return False
            e["inputs"].remove(src)
        return self.edit_graph(f"Disconnect {src} \u2192 {dst}", mutate)

    def set_layer_config(self, name, config, merge_key=None, text=None):
        """Replace a layer's hyperparameters (inspector). Raises ConfigError for bad values."""
        cfg = dict(config)
        cfg.pop("name", None)

        def mutate(c):
            _entries(c)[name]["config"] = cfg

        return self.edit_graph(text or f"Edit {name}", mutate, merge_key=merge_key)

    def set_layer_option(self, name, key, value, merge=True):
        """Change one hyperparameter of a layer; successive edits of the same field merge."""
        cfg = json.loads(json.dumps(self.network[name].get_config()))
        cfg[key] = value
        return self.set_layer_config(name, cfg, merge_key=(name, key) if merge else None, text=f"Set {name}.{key}")

    def rename_node(self, old, new):
        new = new.strip()
        if not new or new == old:
            return False
        if new in self.network.nodes:
            raise GraphError(f"a node named '{new}' already exists", old)

        def mutate(c):
            for e in c["nodes"]:
                if e["name"] == old:
                    e["name"] = new
                e["inputs"] = [new if s == old else s for s in e["inputs"]]
            if "outputs" in c:
                c["outputs"] = [new if o == old else o for o in c["outputs"]]

        return self.edit_graph(f"Rename {old} \u2192 {new}", mutate)

    def move_nodes(self, positions, text="Move"):
        """Set node positions ``{name: (x, y)}`` as one undo step."""
        def mutate(c):
            ents = _entries(c)
            for n, (x, y) in positions.items():
                if n in ents:
                    ents[n].setdefault("meta", {})["pos"] = [round(float(x), 1), round(float(y), 1)]
        return self.edit_graph(text, mutate, layout_only=True)  # moving is fine while training

    def set_training(self, training, text=None):
        if training != self.training:
            text = text or settings_change_text(self.training, training, "training settings")
            self.undo_stack.push(SettingsEditCommand(self, "training", copy.deepcopy(self.training), copy.deepcopy(training), text))

    def set_data(self, data, text=None):
        if data != self.data:
            text = text or settings_change_text(self.data, data, "data set")
            self.undo_stack.push(SettingsEditCommand(self, "data", copy.deepcopy(self.data), copy.deepcopy(data), text))

    # -- applying configs (commands only) ------------------------------------------------------
    def _apply_settings(self, attr, value):
        setattr(self, attr, copy.deepcopy(value))
        (self.training_changed if attr == "training" else self.data_changed).emit()
        self.changed.emit()

    def _apply_graph(self, cfg):
        """Make the network match ``cfg``, touching only what differs, and emit signals."""
        net = self.network
        old = {n: copy.deepcopy({"type": node.layer.type_name, "config": _cfg(node.layer),
                                 "inputs": list(node.inputs), "meta": dict(node.meta)})
               for n, node in net.nodes.items()}
        new = _entries(cfg)
        removed = [n for n in old if n not in new]
        added = [n for n in new if n not in old]
        # links that disappear (including those of removed nodes)
        old_links = {(s, d) for d, o in old.items() for s in o["inputs"]}
        new_links = {(s, d) for d, e in new.items() for s in e.get("inputs", [])}
        # change the network completely first: listeners may read it while signals go out
        changed, moved = [], []
        nodes = {}
        for n, e in new.items():
            if n in net.nodes:
                node = net.nodes[n]
                if old[n]["type"] != e["type"] or old[n]["config"] != _strip(e.get("config", {})):
                    node.layer = layer_from_config(e["type"], {**e.get("config", {}), "name": n})
                    changed.append(n)
                elif old[n]["inputs"] != list(e.get("inputs", [])):
                    changed.append(n)
                node.inputs = list(e.get("inputs", []))
                if old[n]["meta"] != e.get("meta", {}):
                    node.meta = copy.deepcopy(e.get("meta", {}))
                    moved.append(n)
            else:
                layer = layer_from_config(e["type"], {**e.get("config", {}), "name": n})
                node = Node(n, layer, e.get("inputs", []), copy.deepcopy(e.get("meta", {})))
            nodes[n] = node
        net.nodes = nodes
        net._outputs = list(cfg["outputs"]) if cfg.get("outputs") is not None else None
        net._changed()
        self.revision += 1
        for s, d in sorted(old_links - new_links):
            self.link_removed.emit(s, d)
        for n in removed:
            self.node_removed.emit(n)
        for n in added:
            self.node_added.emit(n)
        for s, d in sorted(new_links - old_links):
            self.link_added.emit(s, d)
        for n in changed:
            self.layer_changed.emit(n)
        for n in moved:
            self.node_moved.emit(n)
        self.changed.emit()


class _UndoStack(QUndoStack):
    """The document's undo stack: marking it clean (saved, or "forget the changes") also forgets
    that the weights were trained."""

    def setClean(self):  # noqa: N802 - Qt API
        super().setClean()
        doc = self.parent()
        if isinstance(doc, NetworkDocument) and doc.weights_unsaved:
            doc._set_weights_unsaved(False)


def _cfg(layer):
    return _strip(json.loads(json.dumps(layer.get_config())))


def _strip(cfg):
    cfg = dict(cfg)
    cfg.pop("name", None)
    return cfg


# -- files -------------------------------------------------------------------------------------
def _unpack(doc, default_name="untitled"):
    """The (name, description, network, training, data, extra) tuple of an engine.io Document."""
    return doc.name or default_name, doc.description or "", doc.network, doc.training, doc.data, dict(doc.extra or {})


def parse_document(d):
    """Check a parsed network document; returns (name, description, network, training, data, extra).

    Half-finished graphs (shape errors) are accepted: the canvas shows their errors. Missing
    training/data keys are filled with their defaults (engine.io does that).
    """
    try:
        doc = eio.document_from_dict(d, strict=False)
        doc.network.topological_order()
    except EngineError as exc:
        raise DocumentError(str(exc)) from None
    return _unpack(doc)


def read_document_file(path):
    """Read a .json document or a .npz model; returns the parse_document tuple."""
    p = Path(path)
    if not p.is_file():
        raise DocumentError(f"there is no file {path}")
    try:
        doc = eio.load_any(str(p), strict=False)
        doc.network.topological_order()
    except EngineError as exc:
        raise DocumentError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - never a traceback for a bad file
        raise DocumentError(f"{p.name} cannot be read: {exc}") from None
    return _unpack(doc, p.stem)


def write_document_file(document, path, extra=None):
    """Write ``document`` (a NetworkDocument) to ``path`` atomically (.json, or .npz with weights).

    ``extra`` adds top-level keys to the file (the autosave records which file it stands for).
    """
    p = Path(path)
    doc = document.as_io_document(extra)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DocumentError(f"cannot write {p}: {exc.strerror or exc}") from None
    if p.suffix.lower() == ".npz":
        if document.locked_reason:  # a worker thread is updating the weights in place right now
            raise DocumentError(f"the weights are changing, so a model cannot be saved now "
                                f"({document.locked_reason}); save it when training stops")
        saved = doc.copy()  # a fresh network: saving never builds the live one
        if document.network.built:  # keep the trained weights, not a fresh initialisation
            saved.network.build(seed=document.training.get("seed", 0))
            saved.network.set_weights(document.network.get_weights(), strict=False)
        eio.save_model(saved, str(p))
    else:
        eio.save_document(doc, p)
