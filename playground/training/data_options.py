"""A small form for a data set's options, built from what the data set declares
(``engine.data.dataset_options``): spin boxes for whole numbers and numbers (within their valid
range), combo boxes for choices, check boxes for yes/no, a read-only line for a path.

The form shows a document's data "options" dict (:meth:`DataOptionsForm.show_options`, silent) and
emits ``edited`` when the user changes a value; :meth:`options` gives the edited dict. Keys the
user did not touch keep the document's own value and spelling (a noise of 0.1 stays 0.1, not
10), and keys the form does not show are kept, so loading and saving a document changes nothing.
"""

import math

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLabel, QSpinBox

from ..canvas.help_texts import rich

#: QSpinBox holds a C int
_INT_MAX = 2**31 - 1
#: widest a path is shown (pixels)
PATH_WIDTH = 200


def _specs(name):
    try:
        from engine.data import dataset_options

        return tuple(s for s in dataset_options(name) if not s.advanced)
    except Exception:  # noqa: BLE001 - the form is a convenience; the JSON still works
        return ()


class DataOptionsForm(QObject):
    """The declared options of one data set, one row each, in the rows of ``form`` (a QFormLayout)
    right after the row of ``anchor`` (the data set combo box), so they line up with the other
    data settings.

    Attributes
    ----------
    widgets : dict option name -> its editing widget (QSpinBox, QDoubleSpinBox, QComboBox,
        QCheckBox or QLabel for a path).
    """

    edited = Signal()

    def __init__(self, form, anchor, parent=None):
        super().__init__(parent)
        self.form, self.anchor = form, anchor
        self._name = None
        self._options = {}
        self._loading = False
        self._editable = True
        self._initial = {}
        self.specs = {}
        self.widgets = {}
        self.labels = {}

    # -- model -> view -----------------------------------------------------------------------------
    def show_options(self, name, options):
        """Show data set ``name`` 's options with the values of ``options`` (emits nothing). The rows
        are rebuilt only when the data set changes (a widget being edited is not replaced)."""
        self._loading = True
        try:
            self._options = dict(options or {})
            if name != self._name:
                self._rebuild(name)
            for key, w in self.widgets.items():
                self._set_widget(self.specs[key], w, self._options.get(key))
            # what each widget shows now: a widget still showing it is untouched (a value it cannot
            # show, such as n: "many" or a noise of 500, shows as a limit and must not replace it)
            self._initial = {key: self.widget_value(key) for key in self.widgets}
        finally:
            self._loading = False

    def _rebuild(self, name):
        for w in self.widgets.values():
            self.form.removeRow(w)  # deletes the row's label and widget
        self._name = name
        self.specs, self.widgets, self.labels = {}, {}, {}
        for spec in _specs(name):
            w = self._make_widget(spec)
            if w is None:
                continue
            self.specs[spec.name] = spec
            self.widgets[spec.name] = w
            label = QLabel(spec.title)
            label.setToolTip(w.toolTip())
            self.labels[spec.name] = label
            row = self.form.getWidgetPosition(self.anchor)[0] + len(self.widgets)
            self.form.insertRow(row, label, w)
            label.show()  # at once (a layout shows a new child of a shown widget only later)
            w.show()

    def _make_widget(self, spec):
        tip = rich(spec.help)
        if spec.kind in ("int", "percent", "float"):
            whole = spec.kind == "int" or (spec.kind == "percent" and spec.decimals == 0)
            lo = spec.lo if spec.lo is not None else (-_INT_MAX if whole else -1e12)
            hi = spec.hi if spec.hi is not None else (_INT_MAX if whole else 1e12)
            if spec.optional:  # one step below the range reads "not set"
                lo = lo - (1 if whole else spec.step)
            if whole:
                w = QSpinBox()
                w.setRange(int(max(lo, -_INT_MAX)), int(min(hi, _INT_MAX)))
                w.setSingleStep(int(max(1, spec.step)))
                w.valueChanged.connect(self._on_changed)
            else:
                w = QDoubleSpinBox()
                w.setDecimals(spec.decimals)
                w.setRange(lo, hi)
                w.setSingleStep(spec.step)
                w.valueChanged.connect(self._on_changed)
            if spec.optional:
                w.setSpecialValueText(spec.none_text or "not set")
            if spec.suffix:
                w.setSuffix(spec.suffix)
            w.setKeyboardTracking(False)
        elif spec.kind == "bool":
            w = QCheckBox()
            w.toggled.connect(self._on_changed)
        elif spec.kind == "choice":
            w = QComboBox()
            w.addItems([str(c) for c in spec.choices])
            w.currentIndexChanged.connect(self._on_changed)
        elif spec.kind == "path":
            w = QLabel()
            w.setStyleSheet("color: #555;")
        else:
            return None  # free text: edit it in the document
        w.setToolTip(tip)
        w.setObjectName(f"data_option_{spec.name}")
        w.setEnabled(self._editable)  # rows built while a run trains (an undo) stay locked too
        return w

    def _shown(self, spec, value):
        """What the widget shows for the document's ``value`` (None: the key is absent)."""
        if value is None:
            value = spec.default
        if spec.kind in ("int", "percent", "float"):
            if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value):
                return None  # not set (or not a number: the widget shows "not set"/its minimum)
            return spec.display_value(value)
        return value

    def _set_widget(self, spec, w, value):
        shown = self._shown(spec, value)
        if isinstance(w, (QSpinBox, QDoubleSpinBox)):
            v = w.minimum() if shown is None else shown
            w.setValue(int(round(v)) if isinstance(w, QSpinBox) else float(v))
        elif isinstance(w, QCheckBox):
            w.setChecked(bool(shown))
        elif isinstance(w, QComboBox):
            i = w.findText(str(shown))
            if i < 0 and shown is not None:
                w.addItem(str(shown))
                i = w.count() - 1
            w.setCurrentIndex(max(i, 0))
        elif isinstance(w, QLabel):
            # a long path has no place to wrap: elided in the middle (the tooltip has it whole), so
            # it never widens the settings column
            text = str(shown) if shown else spec.none_text or "not set"
            w.setText(w.fontMetrics().elidedText(text, Qt.ElideMiddle, PATH_WIDTH))
            w.setToolTip(rich(spec.help + (f" Now: {shown}" if shown else "")))

    # -- view -> model -----------------------------------------------------------------------------
    def widget_value(self, key):
        """The value the widget ``key`` shows, as the document would hold it (None: not set)."""
        spec, w = self.specs[key], self.widgets[key]
        if isinstance(w, (QSpinBox, QDoubleSpinBox)):
            if spec.optional and w.value() == w.minimum():
                return None
            v = w.value()
            return int(v) if isinstance(w, QSpinBox) else float(v)
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if isinstance(w, QComboBox):
            text = w.currentText()
            for c in spec.choices:
                if str(c) == text:
                    return c
            return text
        return self._options.get(key)

    def options(self):
        """The options dict the form shows: the document's, with the values the user changed."""
        out = dict(self._options)
        for key in self.specs:
            new = self.widget_value(key)
            if key in self._initial and new == self._initial[key]:
                continue  # untouched: the document's own value (or its absence) stays
            if new is None:
                out.pop(key, None)
            else:
                out[key] = new
        return out

    def set_editable(self, on):
        self._editable = bool(on)
        for w in self.widgets.values():
            w.setEnabled(on)

    def _on_changed(self, *_):
        if not self._loading:
            self.edited.emit()
