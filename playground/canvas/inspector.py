"""The inspector: edits the selected layer's hyperparameters with validated widgets.

Widgets are built from the layer's ``get_config()``: whole numbers get a spin box, real numbers a
line edit with a validator, known enumerations (activation kind, initializer, padding) a combo box,
switches a check box, tuples and lists a small validated line edit. Every change is sent to the
document as an undoable edit (consecutive changes of one field merge into one undo step); the
engine itself validates the value, so a refused value shows the engine's message and the layer is
left as it was. Document -> widget updates are guarded so they do not echo back as edits.
"""

from __future__ import annotations

import json
import math
import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDoubleValidator, QRegularExpressionValidator
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFormLayout, QFrame, QLabel, QLineEdit, QScrollArea, QSpinBox, QVBoxLayout, QWidget,
)
from PySide6.QtCore import QRegularExpression

from engine.errors import EngineError
from engine.initializers import INITIALIZER_NAMES
from engine.layers import LAYER_TYPES
from engine.layers.activations import ACTIVATION_KINDS

from .help_texts import choice_help, option_help, rich
from .icons import family_icon
from .items import format_count, format_shape


#: the known enumerations of option values, from the engine's own tables.
CHOICES = {"kind": list(ACTIVATION_KINDS), "activation": list(ACTIVATION_KINDS), "padding": ["valid", "same"],
           **{k: list(INITIALIZER_NAMES) for k in ("initializer", "kernel_initializer", "recurrent_initializer")}}


def choices_for(type_name, key, value):
    """Allowed values of an enumerated option, or None. A layer class may declare its own in a
    ``choices`` dict attribute."""
    cls = LAYER_TYPES.get(type_name)
    own = getattr(cls, "choices", None)
    if isinstance(own, dict) and key in own:
        return list(own[key])
    if key in CHOICES and (isinstance(value, str) or value is None or key == "padding"):
        return CHOICES[key]
    return None


_SEQ_RE = QRegularExpression(r"^\s*[\(\[]?\s*-?\d+(\.\d*)?(\s*,\s*-?\d+(\.\d*)?)*\s*,?\s*[\)\]]?\s*$")


def parse_sequence(text):
    """'3, 3' or '(1, 28, 28)' -> [3, 3] / [1, 28, 28]; None for malformed text."""
    t = text.strip().strip("()[]").strip()
    if not t:
        return None
    parts = [p.strip() for p in t.split(",") if p.strip()]
    out = []
    for p in parts:
        try:
            out.append(int(p))
        except ValueError:
            try:
                out.append(float(p))
            except ValueError:
                return None
    return out


def format_value(v):
    if isinstance(v, (list, tuple)):
        return ", ".join(format_value(x) for x in v)
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v) if (v != 0 and (abs(v) < 1e-4 or abs(v) >= 1e6)) else f"{v:g}"
    if isinstance(v, (dict,)):
        return json.dumps(v)
    return str(v)


def parse_free(text):
    """A value typed where the config held None or something unusual: number, list, JSON or text."""
    t = text.strip()
    if t == "" or t.lower() == "none":
        return None
    try:
        return json.loads(t)
    except ValueError:
        pass
    if "," in t:
        seq = parse_sequence(t)
        if seq is not None:
            return seq
    return t


class InspectorWidget(QWidget):
    """Shows and edits the hyperparameters of one layer of a document.

    Attributes
    ----------
    fields : dict key -> editing widget, for the current layer.
    current : name of the layer shown ('' for none).
    """

    edit_refused = Signal(str)

    def __init__(self, document, parent=None):
        super().__init__(parent)
        self.document = document
        self.current = ""
        self.fields = {}
        self._kinds = {}
        self._updating = False
        self._session = 0

        self.title = QLabel()
        self.title.setTextFormat(Qt.RichText)
        self.icon = QLabel()
        self.name_edit = QLineEdit()
        self.name_edit.setToolTip("The layer's name: unique in the network; press Enter to rename")
        self.name_edit.setValidator(QRegularExpressionValidator(QRegularExpression(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")))
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setStyleSheet("color: #4a5568;")
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setTextFormat(Qt.RichText)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #c53030;")
        self.message.hide()
        self.form_host = QWidget()
        self.form = QFormLayout(self.form_host)
        self.form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.form.setContentsMargins(0, 4, 0, 0)
        self.empty = QLabel("Select a layer on the canvas to edit its settings.\n\n"
                            "Drag layers from the palette onto the canvas; drag from a layer's "
                            "right-hand port to another layer's left-hand port to connect them.")
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color: #718096;")

        head = QWidget()
        hl = QFormLayout(head)
        hl.setContentsMargins(0, 0, 0, 0)
        hl.addRow(self.icon, self.title)
        hl.addRow("Name", self.name_edit)

        inner = QWidget()
        v = QVBoxLayout(inner)
        v.setContentsMargins(8, 8, 8, 8)
        v.addWidget(self.empty)
        v.addWidget(head)
        v.addWidget(self.description)
        line = QFrame()
        line.setFrameShape(QFrame.HLine)
        line.setStyleSheet("color: #cbd5e0;")
        v.addWidget(line)
        v.addWidget(self.form_host)
        v.addWidget(self.message)
        v.addWidget(self.info)
        v.addStretch(1)
        self._head_widgets = [head, self.description, line, self.form_host, self.info]
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setWidget(inner)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        self.name_edit.editingFinished.connect(self._on_name_edited)
        document.layer_changed.connect(self._on_layer_changed)
        document.node_removed.connect(self._on_node_removed)
        document.reset.connect(lambda: self.set_layer(""))
        document.changed.connect(self._refresh_info)
        self.set_layer("")

    # -- which layer -----------------------------------------------------------------------------
    def set_layer(self, name):
        """Show layer ``name`` ('' for none)."""
        name = name if name in self.document.network.nodes else ""
        self.current = name
        self._session += 1
        self.message.hide()
        self._build_fields()

    def _on_node_removed(self, name):
        if name == self.current:
            self.set_layer("")

    def _on_layer_changed(self, name):
        if name == self.current:
            layer = self.document.network[name]
            cfg = layer.get_config()
            if set(k for k in cfg if k != "name") != set(self.fields) or any(
                self._kinds.get(k) != self._kind_for(layer.type_name, k, v) for k, v in cfg.items() if k != "name"
            ):
                self._build_fields()
            else:
                self._load_values()

    # -- building --------------------------------------------------------------------------------
    def _kind_for(self, type_name, key, value):
        if choices_for(type_name, key, value) is not None:
            return "choice"
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, int):
            return "int"
        if isinstance(value, float):
            return "float"
        if isinstance(value, (list, tuple)) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value):
            return "seq"
        if isinstance(value, str):
            return "str"
        return "free"

    def _build_fields(self):
        self._updating = True
        try:
            while self.form.rowCount():
                self.form.removeRow(0)
            self.fields, self._kinds = {}, {}
            has = bool(self.current)
            self.empty.setVisible(not has)
            for w in self._head_widgets:
                w.setVisible(has)
            self.icon.setVisible(has)
            if not has:
                return
            layer = self.document.network[self.current]
            cls = type(layer)
            family = "Input" if layer.type_name == "Input" else getattr(cls, "family", "Core")
            self.icon.setPixmap(family_icon(family).pixmap(28, 28))
            self.title.setText(f"<b style='font-size:13pt'>{layer.type_name}</b>"
                               f"<br><span style='color:#718096'>{family}</span>")
            self.name_edit.setText(self.current)
            self.description.setText(getattr(cls, "description", "") or "")
            cfg = layer.get_config()
            keys = [k for k in cfg if k != "name"]
            keys.sort(key=lambda k: (k == "trainable", 0))
            for key in keys:
                value = cfg[key]
                kind = self._kind_for(layer.type_name, key, value)
                w = self._make_widget(layer.type_name, key, kind, value)
                w.setObjectName(f"field_{key}")
                tip = rich(option_help(layer.type_name, key))
                w.setToolTip(tip or key)
                label = QLabel(key.replace("_", " "))
                label.setToolTip(tip or key)
                self.form.addRow(label, w)
                self.fields[key] = w
                self._kinds[key] = kind
            self._load_values()
        finally:
            self._updating = False
        self._refresh_info()

    def _make_widget(self, type_name, key, kind, value):
        if kind == "bool":
            w = QCheckBox()
            w.toggled.connect(lambda v, k=key: self._commit(k, bool(v)))
        elif kind == "int":
            w = QSpinBox()
            w.setRange(-1_000_000, 100_000_000)
            w.setKeyboardTracking(True)
            w.setAccelerated(True)
            w.valueChanged.connect(lambda v, k=key: self._commit(k, int(v)))
        elif kind == "float":
            w = QLineEdit()
            val = QDoubleValidator()
            val.setNotation(QDoubleValidator.ScientificNotation)
            w.setValidator(val)
            w.textEdited.connect(lambda t, k=key: self._commit_text(k, t, float))
            w.editingFinished.connect(lambda k=key: self._finish(k))
        elif kind == "choice":
            w = QComboBox()
            opts = choices_for(type_name, key, value)
            w.addItems([str(o) for o in opts])
            for i, o in enumerate(opts):
                tip = choice_help(key, o)
                if tip:
                    w.setItemData(i, rich(tip), Qt.ToolTipRole)
            if key == "padding":
                w.setEditable(True)  # also a number of zero pixels
            w.currentTextChanged.connect(lambda t, k=key: self._commit_choice(k, t))
        elif kind == "seq":
            w = QLineEdit()
            w.setValidator(QRegularExpressionValidator(_SEQ_RE))
            w.setPlaceholderText("e.g. 3, 3")
            w.textEdited.connect(lambda t, k=key: self._commit_text(k, t, parse_sequence))
            w.editingFinished.connect(lambda k=key: self._finish(k))
        elif kind == "str":
            w = QLineEdit()
            w.textEdited.connect(lambda t, k=key: self._commit_text(k, t, str))
            w.editingFinished.connect(lambda k=key: self._finish(k))
        else:
            w = QLineEdit()
            w.setPlaceholderText("none")
            w.textEdited.connect(lambda t, k=key: self._commit_text(k, t, parse_free))
            w.editingFinished.connect(lambda k=key: self._finish(k))
        return w

    def _load_values(self):
        """Document -> widgets (guarded: no echo back as edits)."""
        if not self.current:
            return
        cfg = self.document.network[self.current].get_config()
        was = self._updating
        self._updating = True
        try:
            for key, w in self.fields.items():
                v = cfg.get(key)
                kind = self._kinds[key]
                if kind == "bool":
                    if w.isChecked() != bool(v):
                        w.setChecked(bool(v))
                elif kind == "int":
                    if w.value() != v:
                        w.setValue(int(v))
                elif kind == "choice":
                    text = format_value(v)
                    if w.currentText() != text:
                        i = w.findText(text)
                        if i >= 0:
                            w.setCurrentIndex(i)
                        elif w.isEditable():
                            w.setEditText(text)
                else:
                    text = format_value(v)
                    typing = w.hasFocus() and self._parse_existing(kind, w.text()) == _norm(v)
                    if w.text() != text and not typing:
                        w.setText(text)
                    w.setStyleSheet("")
        finally:
            self._updating = was

    def _parse_existing(self, kind, text):
        try:
            if kind == "float":
                return float(text)
            if kind == "seq":
                return parse_sequence(text)
            if kind == "free":
                return parse_free(text)
            return text
        except ValueError:
            return None

    # -- widgets -> document ---------------------------------------------------------------------
    def _commit(self, key, value):
        """Widget -> document; returns nothing (a slot must not return a value in PySide6)."""
        self._try_commit(key, value)

    def _try_commit(self, key, value):
        if self._updating or not self.current:
            return False
        name = self.current
        try:
            self._push(name, key, value)
        except EngineError as exc:
            self._refuse(str(exc))
            self._load_values()
            return False
        self.message.hide()
        return True

    def _push(self, name, key, value):
        cfg = json.loads(json.dumps(self.document.network[name].get_config()))
        cfg[key] = value
        self.document.set_layer_config(name, cfg, merge_key=(name, key, self._session), text=f"Set {name} {key} = {format_value(value)}")

    def _commit_choice(self, key, text):
        if self._updating:
            return
        value = text
        if key == "padding" and re.fullmatch(r"\s*\d+\s*", text or ""):
            value = int(text)
        self._commit(key, value)

    def _commit_text(self, key, text, parse):
        if self._updating or not self.current:
            return
        w = self.fields[key]
        try:
            value = parse(text)
            if value is None and parse is not parse_free:
                raise ValueError
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError
        except (TypeError, ValueError):
            w.setStyleSheet("background: #fff5f5;")
            self._refuse(f"'{text}' is not a valid value for {key}")
            return
        try:
            self._push(self.current, key, value)
        except EngineError as exc:
            w.setStyleSheet("background: #fff5f5;")
            self._refuse(str(exc))
            return
        w.setStyleSheet("")
        self.message.hide()

    def _finish(self, key):
        """Leaving a text field: a value the layer refused is replaced by the layer's own."""
        if self._updating or not self.current or key not in self.fields:
            return
        self._session += 1  # the next edit of this field is a new undo step
        w = self.fields[key]
        if w.styleSheet():
            self._updating = True
            try:
                w.setText(format_value(self.document.network[self.current].get_config().get(key)))
                w.setStyleSheet("")
            finally:
                self._updating = False

    def _refuse(self, text):
        self.message.setText(text)
        self.message.show()
        self.edit_refused.emit(text)

    def _on_name_edited(self):
        if self._updating or not self.current:
            return
        new = self.name_edit.text().strip()
        if new == self.current:
            return
        old = self.current
        try:
            self.document.rename_node(old, new)
        except EngineError as exc:
            self._refuse(str(exc))
            self.name_edit.setText(old)
            return
        self.set_layer(new)

    def _refresh_info(self):
        if not self.current or self.current not in self.document.network.nodes:
            self.info.setText("")
            return
        row = next((r for r in self.document.summary_rows() if r["name"] == self.current), None)
        if row is None:
            return
        parts = [f"<b>Output shape</b> {format_shape(row['shape'])} per sample",
                 f"<b>Parameters</b> {format_count(row['params'])}"]
        if row["inputs"]:
            parts.append("<b>Reads</b> " + ", ".join(row["inputs"]))
        if row["error"]:
            parts.append(f"<span style='color:#c53030'>{row['error']}</span>")
        for n in row.get("notes", []):
            parts.append(f"<span style='color:#975a16'>Note: {n}</span>")
        self.info.setText("<br>".join(parts))


def _norm(v):
    if isinstance(v, tuple):
        return list(v)
    return v
