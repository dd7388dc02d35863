"""The palette: every layer type of the engine, grouped by family, searchable, draggable."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QMimeData, QSize, Qt, Signal
from PySide6.QtGui import QDrag
from PySide6.QtWidgets import QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from engine.layers import LAYER_TYPES

from ..document import default_layer_config
from .icons import family_icon

LAYER_MIME = "application/x-network-playground-layer"
TYPE_ROLE = Qt.UserRole + 1

#: palette order of the families; others follow alphabetically.
FAMILY_ORDER = ["Core", "Activations", "Convolution", "Pooling", "Normalization", "Regularization",
                "Merge", "Recurrent", "Embedding", "Attention", "Blocks", "Tensor"]


def layer_mime(type_name):
    """Mime data for dragging a layer type onto the canvas."""
    mime = QMimeData()
    mime.setData(LAYER_MIME, QByteArray(type_name.encode("utf-8")))
    mime.setText(type_name)
    return mime


def layer_type_from_mime(mime):
    if mime is None or not mime.hasFormat(LAYER_MIME):
        return None
    name = bytes(mime.data(LAYER_MIME).data()).decode("utf-8", "replace").strip()
    return name if name in LAYER_TYPES else None


def palette_entries():
    """[(family, [(type_name, description, usable, why_not)])] in palette order."""
    families = {}
    for type_name, cls in LAYER_TYPES.items():
        if getattr(cls, "hidden", False) or type_name.startswith("_"):
            continue
        family = "Core" if type_name == "Input" else (getattr(cls, "family", "") or "Core")
        desc = (getattr(cls, "description", "") or (cls.__doc__ or "").strip().split("\n")[0]).strip()
        try:
            default_layer_config(type_name)
            usable, why = True, ""
        except Exception as exc:  # noqa: BLE001 - a layer that needs settings first
            usable, why = False, str(exc)
        families.setdefault(family, []).append((type_name, desc, usable, why))
    order = {f: i for i, f in enumerate(FAMILY_ORDER)}
    out = []
    for fam in sorted(families, key=lambda f: (order.get(f, len(order)), f)):
        items = sorted(families[fam], key=lambda t: (t[0] != "Input", t[0].lower()))
        out.append((fam, items))
    return out


class _PaletteTree(QTreeWidget):
    def mimeTypes(self):  # noqa: N802
        return [LAYER_MIME]

    def mimeData(self, items):  # noqa: N802
        """The drag payload of a palette layer (the first draggable item)."""
        for item in items:
            type_name = item.data(0, TYPE_ROLE)
            if type_name and item.flags() & Qt.ItemIsEnabled:
                return layer_mime(type_name)
        return None

    def startDrag(self, actions):  # noqa: N802
        item = self.currentItem()
        mime = self.mimeData([item]) if item is not None else None
        if mime is None:
            return
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.setPixmap(item.icon(0).pixmap(QSize(28, 28)))
        drag.exec(Qt.CopyAction)


class PaletteWidget(QWidget):
    """Layer families as a tree with a search box. Drag a layer onto the canvas, or double-click
    (or press Enter on) it to add it in the middle of the view.

    Signals
    -------
    layer_activated(str) : a layer type was double-clicked / activated with the keyboard.
    """

    layer_activated = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Search layers\u2026  (Ctrl+F)")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setToolTip("Type part of a layer's name or description to filter the palette")
        self.tree = _PaletteTree()
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QTreeWidget.DragOnly)
        self.tree.setIconSize(QSize(22, 22))
        self.tree.setRootIsDecorated(True)
        self.tree.setIndentation(12)
        self.tree.setUniformRowHeights(True)
        self.tree.setTextElideMode(Qt.ElideMiddle)  # if the dock is made narrower: "Global\u2026Pooling2D"
        self.tree.setToolTip("")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(4)
        lay.addWidget(self.filter_edit)
        lay.addWidget(self.tree)
        self.items = {}
        self.populate()
        self.filter_edit.textChanged.connect(self.set_filter)
        self.filter_edit.returnPressed.connect(self._on_filter_return)
        self.tree.itemActivated.connect(self._on_item_activated)

    def populate(self):
        self.tree.clear()
        self.items.clear()
        for family, entries in palette_entries():
            top = QTreeWidgetItem([family])
            top.setIcon(0, family_icon(family if family != "Core" else "Core"))
            top.setFlags(Qt.ItemIsEnabled)
            f = top.font(0)
            f.setBold(True)
            top.setFont(0, f)
            self.tree.addTopLevelItem(top)
            for type_name, desc, usable, why in entries:
                child = QTreeWidgetItem([type_name])
                child.setData(0, TYPE_ROLE, type_name)
                child.setIcon(0, family_icon("Input" if type_name == "Input" else family))
                tip = f"<b>{type_name}</b><br>{desc}" if desc else f"<b>{type_name}</b>"
                if usable:
                    tip += ("<br><i>Drag onto the canvas (onto a link to put it in between), or "
                            "double-click to add it after the selected layer or into the selected link.</i>")
                    child.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDragEnabled)
                else:
                    tip += f"<br><i>{why}</i>"
                    child.setFlags(Qt.ItemIsSelectable)
                child.setToolTip(0, tip)
                child.setStatusTip(0, desc)
                top.addChild(child)
                self.items[type_name] = child
            top.setExpanded(True)
        self.tree.setMinimumWidth(self.names_width())

    def names_width(self):
        """Width the tree needs to show every layer name in full (no "GlobalAveragePooli..."):
        the widest name after its indentation and icon, plus the frame and a vertical scroll bar."""
        fm = self.tree.fontMetrics()
        bold = self.tree.font()
        bold.setBold(True)
        from PySide6.QtGui import QFontMetrics

        bfm = QFontMetrics(bold)
        icon = self.tree.iconSize().width()
        widest = 0
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            widest = max(widest, self.tree.indentation() + icon + bfm.horizontalAdvance(top.text(0)))
            for j in range(top.childCount()):
                widest = max(widest, 2 * self.tree.indentation() + icon + fm.horizontalAdvance(top.child(j).text(0)))
        scroll = self.tree.style().pixelMetric(self.tree.style().PixelMetric.PM_ScrollBarExtent)
        return widest + 16 + scroll + 2 * self.tree.frameWidth()

    def set_filter(self, text):
        text = text.strip().lower()
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            any_shown = False
            for j in range(top.childCount()):
                child = top.child(j)
                hay = (child.text(0) + " " + child.statusTip(0) + " " + top.text(0)).lower()
                show = not text or all(w in hay for w in text.split())
                child.setHidden(not show)
                any_shown |= show
            top.setHidden(not any_shown)
            if text and any_shown:
                top.setExpanded(True)

    def visible_types(self):
        return [t for t, item in self.items.items() if not item.isHidden() and not item.parent().isHidden()]

    def _on_filter_return(self):
        """Enter in the search field adds the layer it finds (its exact name, else the first match):
        Ctrl+F, "drop", Enter."""
        text = self.filter_edit.text().strip().lower()
        if not text:
            return
        usable = [t for t in self.visible_types() if self.items[t].flags() & Qt.ItemIsEnabled]
        exact = [t for t in usable if t.lower() == text]
        if exact or usable:
            self.layer_activated.emit((exact or usable)[0])

    def _on_item_activated(self, item, column):
        type_name = item.data(0, TYPE_ROLE)
        if type_name and item.flags() & Qt.ItemIsEnabled:
            self.layer_activated.emit(type_name)
