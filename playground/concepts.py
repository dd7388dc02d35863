"""Help > Concepts (F1): every concept of the course notes, searchable, with where it lives in the app.

:class:`ConceptsDialog` shows a search box, a status filter, the list of concepts (from
:mod:`engine.concepts`) and, for the selected one, the notes' explanation in their own terms and
where it is in the app. "Show me" performs the concept's ``show`` action on the main window:

- ``("layer", type)``: shows the Layers palette and selects that entry;
- ``("preset", name)``: opens presets/NAME.json (asking first about unsaved changes);
- ``("widget", path)``: shows the dock holding the widget (an attribute path on the window, e.g.
  ``training_dock.controls.l2``), switches tabs so it is visible and gives it the focus;
- ``("panel", title)``: shows and raises that panel's dock;
- ``("cli", subcommand)``: copies an example command line to the clipboard (a terminal runs it).

:func:`install_concepts_action` adds the menu entry to a main window's Help menu.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QAbstractScrollArea, QComboBox, QDialog, QDockWidget, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QListWidget, QListWidgetItem, QPushButton, QScrollArea, QSplitter,
                               QStackedWidget, QTabWidget, QTextBrowser, QVBoxLayout, QWidget)

from engine import concepts as C

KEY_ROLE = Qt.UserRole + 1
STATUS_TEXT = {"available": "in the app", "partial": "partly in the app", "coming": "coming"}
STATUS_COLOR = {"available": "#1b7f3b", "partial": "#b26a00", "coming": "#888888"}


def resolve_widget(window, path):
    """The object at attribute ``path`` on ``window`` ("training_dock.controls.l2"), or None.

    A dict is indexed by the part ("panels.Digits"); a dock widget's attribute lookup falls through
    to its content widget ("panels.Digits.finetune_button").
    """
    obj = window
    for part in path.split("."):
        nxt = obj.get(part) if isinstance(obj, dict) else getattr(obj, part, None)
        if nxt is None and isinstance(obj, QDockWidget) and obj.widget() is not None:
            nxt = getattr(obj.widget(), part, None)
        if nxt is None:
            return None
        obj = nxt
    return obj


def resolve_panel(window, title):
    """The dock of the panel titled ``title`` on ``window`` (its ``panels`` dict), or None."""
    return (getattr(window, "panels", None) or {}).get(title)


def resolve_target(window, kind, value):
    """'' when target ``(kind, value)`` exists for ``window``, else a message (engine kinds included)."""
    if kind == "widget":
        return "" if resolve_widget(window, value) is not None else f"the window has no {value!r}"
    if kind == "panel":
        return "" if resolve_panel(window, value) is not None else f"no panel titled {value!r}"
    return C.check_target(kind, value)


def reveal(widget):
    """Make ``widget`` visible: show and raise its dock, select the tabs and scroll areas holding it.

    Returns where it is, outermost first (["Training", "Evaluation"]: the dock's title, then tabs).
    """
    where = []
    w = widget
    while w is not None:
        parent = w.parentWidget()
        if isinstance(parent, QStackedWidget) and isinstance(parent.parentWidget(), QTabWidget):
            tabs = parent.parentWidget()
            tabs.setCurrentWidget(w)
            where.append(f"{tabs.tabText(tabs.indexOf(w)).replace('&', '')} tab")
        if isinstance(w, QGroupBox) and w.title():
            where.append(w.title())
        if isinstance(w, QDockWidget):
            w.show()
            w.raise_()
            where.append(f"{w.windowTitle()} dock")
        if isinstance(parent, QWidget) and isinstance(parent.parentWidget(), QScrollArea):
            parent.parentWidget().ensureWidgetVisible(widget)
        w = parent
    return where[::-1]


class ConceptsDialog(QDialog):
    """The concept index as a non-modal dialog over the main window.

    Signals
    -------
    shown(str, str) : "Show me" performed an action: (concept key, what was done).
    """

    shown = Signal(str, str)

    def __init__(self, window=None, parent=None):
        super().__init__(parent if parent is not None else window)
        self.setObjectName("concepts_dialog")
        self.setWindowTitle("Concepts of the course notes")
        self.window_ = window
        self.last_action = ""
        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("concepts_search")
        self.search_edit.setPlaceholderText("Search concepts: dropout, Adam, ResNet, bias, BLEU\u2026")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setToolTip("Every word must appear in the concept's name, the notes' explanation "
                                    "or where it is in the app")
        self.status_combo = QComboBox()
        self.status_combo.addItem("all concepts", None)
        self.status_combo.addItem("in the app", "available")
        self.status_combo.addItem("partly in the app", "partial")
        self.status_combo.addItem("coming", "coming")
        self.status_combo.setToolTip("Show only the concepts the app has, has in part, or has not built yet")
        self.count_label = QLabel()
        self.list = QListWidget()
        self.list.setObjectName("concepts_list")
        self.list.setMinimumWidth(300)
        self.list.setTextElideMode(Qt.ElideMiddle)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.text = QTextBrowser()
        self.text.setObjectName("concepts_text")
        self.text.setOpenExternalLinks(False)
        self.show_button = QPushButton("Show me")
        self.show_button.setObjectName("concepts_show")
        self.show_button.setToolTip("Take me there in the app: select the layer in the palette, open the "
                                    "training setting or plot, or load the preset")
        self.feedback = QLabel("")
        self.feedback.setWordWrap(True)

        top = QHBoxLayout()
        top.addWidget(self.search_edit, 1)
        top.addWidget(self.status_combo)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.text, 1)
        row = QHBoxLayout()
        row.addWidget(self.feedback, 1)
        row.addWidget(self.show_button)
        rl.addLayout(row)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.list, 1)
        ll.addWidget(self.count_label)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([340, 560])
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        self.resize(900, 560)

        self.search_edit.textChanged.connect(self._refill)
        self.status_combo.currentIndexChanged.connect(self._refill)
        self.list.currentItemChanged.connect(self._on_current_changed)
        self.list.itemActivated.connect(lambda _item: self.show_me())
        self.show_button.clicked.connect(self.show_me)
        self._refill()

    # -- list -------------------------------------------------------------------------------------
    def _refill(self, *_):
        keep = self.current_key()
        found = C.search(self.search_edit.text(), status=self.status_combo.currentData())
        self.list.blockSignals(True)
        self.list.clear()
        grouped = not self.search_edit.text().strip()
        if grouped:  # under the notes' sections, in the order they first appear
            first = {}
            for c in C.CONCEPTS:
                first.setdefault(c.section, len(first))
            found = sorted(found, key=lambda c: first[c.section])
        section = None
        for c in found:
            if grouped and c.section != section:
                section = c.section
                head = QListWidgetItem(section)
                head.setFlags(Qt.NoItemFlags)
                font = head.font()
                font.setBold(True)
                head.setFont(font)
                head.setForeground(QColor("#445"))
                self.list.addItem(head)
            mark = {"available": "", "partial": "  \u00b7 partly", "coming": "  \u00b7 coming"}[c.status]
            item = QListWidgetItem(("   " if grouped else "") + c.title + mark)
            item.setData(KEY_ROLE, c.key)
            item.setToolTip(f"{c.section} \u2014 {STATUS_TEXT[c.status]}")
            if c.status == "coming":
                item.setForeground(QColor(STATUS_COLOR["coming"]))
            self.list.addItem(item)
        self.list.blockSignals(False)
        self.count_label.setText(f"{len(found)} of {len(C.CONCEPTS)} concepts")
        keys = [c.key for c in found]
        if keys:
            self._select_row(keep if keep in keys else keys[0])
        else:
            self._show_concept(None)

    def _row_of(self, key):
        for i in range(self.list.count()):
            if self.list.item(i).data(KEY_ROLE) == key:
                return i
        return -1

    def _select_row(self, key):
        row = self._row_of(key)
        self.list.setCurrentRow(row)
        if row >= 0:
            self.list.scrollToItem(self.list.item(row))

    def current_key(self):
        item = self.list.currentItem()
        return item.data(KEY_ROLE) if item is not None else None

    def visible_keys(self):
        """The keys of the listed concepts, in order (section headings left out)."""
        keys = (self.list.item(i).data(KEY_ROLE) for i in range(self.list.count()))
        return [k for k in keys if k]

    def select(self, key):
        """Select concept ``key`` (clearing the search if it hides it)."""
        if key not in self.visible_keys():
            self.search_edit.clear()
            self.status_combo.setCurrentIndex(0)
        self._select_row(key)

    def _on_current_changed(self, current, _previous):
        key = current.data(KEY_ROLE) if current is not None else None
        self._show_concept(C.get(key) if key else None)

    def _show_concept(self, c):
        self.feedback.setText("")
        if c is None:
            self.text.setHtml("<p>No concept matches the search.</p>")
            self.show_button.setEnabled(False)
            return
        e = html.escape
        parts = [f"<h2>{e(c.title)}</h2>",
                 f"<p style='color:{STATUS_COLOR[c.status]}'><b>{e(STATUS_TEXT[c.status])}</b>"
                 f" &nbsp;\u00b7&nbsp; {e(c.section)}</p>",
                 f"<h3>What the notes say</h3><p>{e(c.notes)}</p>",
                 f"<h3>Where it is in the app</h3><p>{e(c.where)}</p>"]
        if c.headings:
            parts.append("<p style='color:#666'>Notes: " + "; ".join(f"\u201c{e(h)}\u201d" for h in c.headings) + "</p>")
        self.text.setHtml("".join(parts))
        ok, why = self._can_show(c)
        self.show_button.setEnabled(ok)
        self.show_button.setToolTip(why)
        self.show_button.setText(self._button_text(c) if ok else "Show me")

    @staticmethod
    def _button_text(c):
        kind, value = c.show
        if kind == "layer":
            return f"Show me: {value} in the palette"
        if kind == "preset":
            return f"Show me: open {value}"
        if kind == "panel":
            return f"Show me: the {value} panel"
        if kind == "cli":
            return "Show me: copy the command"
        return "Show me"

    def _can_show(self, c):
        if c.show is None:
            return False, "Nothing to show yet: " + c.where
        if self.window_ is None:
            return False, "Open the concepts from the main window to be taken there"
        kind, value = c.show
        if kind == "cli":
            return True, f"Copy the command line: {C.command_line(value)}"
        msg = resolve_target(self.window_, kind, value)
        return (not msg), (msg or "Take me there in the app")

    # -- show me ----------------------------------------------------------------------------------
    def show_me(self):
        """Perform the selected concept's "Show me" action; returns a description of what was done."""
        key = self.current_key()
        if key is None:
            return ""
        c = C.get(key)
        ok, why = self._can_show(c)
        if not ok:
            self.feedback.setText(why)
            return ""
        kind, value = c.show
        win = self.window_
        done = ""
        if kind == "layer":
            dock = getattr(win, "palette_dock", None)
            if dock is not None:
                reveal(dock)
            pal = win.palette
            pal.filter_edit.clear()
            item = pal.items.get(value)
            if item is not None:
                pal.tree.setCurrentItem(item)
                pal.tree.scrollToItem(item)
                pal.tree.setFocus()
                done = f"Selected {value} in the Layers palette: drag it onto the canvas or double-click it."
        elif kind == "preset":
            path = C.PRESETS_DIR / f"{value}.json"
            if win.maybe_save() and win.open_file(path, as_preset=True):
                done = f"Opened the {value} preset."
            else:
                done = f"The {value} preset was not opened."
        elif kind == "widget":
            w = resolve_widget(win, value)
            if isinstance(w, QAction):
                w.trigger()
                done = f"Opened {w.text().replace('&', '').rstrip(chr(0x2026))}."
            else:
                where = reveal(w)
                if isinstance(w, QWidget):
                    w.setFocus()
                    self._flash(w)
                done = "Showing it: " + (" > ".join(where) or "main window") + "."
        elif kind == "panel":
            dock = resolve_panel(win, value)
            reveal(dock)
            done = f"Showing the {value} panel."
        elif kind == "cli":
            line = C.command_line(value)
            QGuiApplication.clipboard().setText(line)
            done = f"Copied to the clipboard, run it in a terminal: {line}"
        self.last_action = done
        self.feedback.setText(done)
        if hasattr(win, "statusBar"):
            win.statusBar().showMessage(done, 8000)
        self.shown.emit(key, done)
        return done

    @staticmethod
    def _flash(w):
        """Outline the widget for a moment so the eye finds it."""
        if isinstance(w, QAbstractScrollArea) or not hasattr(w, "setStyleSheet"):
            return
        old = w.property("_unflashed_style")  # a second "Show me" within the flash keeps the real style
        if old is None:
            old = w.styleSheet()
            w.setProperty("_unflashed_style", old)
        w.setStyleSheet(old + f"\n{type(w).__name__} {{ border: 2px solid #e08000; }}")

        def restore():
            w.setStyleSheet(old)
            w.setProperty("_unflashed_style", None)

        QTimer.singleShot(1500, w, restore)  # w as context: skipped once w is gone


def context_layer_type(window):
    """The layer type F1 is asked about: the palette's current entry when the palette has the focus,
    else the one layer selected on the canvas; None when there is neither."""
    palette = getattr(window, "palette", None)
    focus = QGuiApplication.focusObject()
    if palette is not None and isinstance(focus, QWidget) and palette.isAncestorOf(focus):
        item = palette.tree.currentItem()
        type_name = next((t for t, it in palette.items.items() if it is item), None) if item else None
        if type_name:
            return type_name
    scene = getattr(window, "scene", None)
    names = scene.selected_node_names() if scene is not None and hasattr(scene, "selected_node_names") else []
    if len(names) == 1:
        node = window.document.network.nodes.get(names[0])
        if node is not None:
            return getattr(node.layer, "type_name", type(node.layer).__name__)
    return None


def install_concepts_action(window, menu):
    """Add "Concepts\u2026" (F1) to ``menu`` of main ``window``; the dialog is created on first use."""
    act = QAction("&Concepts\u2026", window)
    act.setShortcut(QKeySequence(Qt.Key_F1))
    act.setShortcutContext(Qt.WindowShortcut)
    act.setToolTip("Every concept of the course notes and where it lives in the app (F1)")
    act.setStatusTip("Every concept of the course notes and where it lives in the app")

    def open_dialog():
        type_name = context_layer_type(window)  # read before the dialog takes the focus
        dlg = getattr(window, "concepts_dialog", None)
        if dlg is None:
            dlg = ConceptsDialog(window)
            window.concepts_dialog = dlg
        hits = C.concepts_for("layer", type_name) if type_name else []
        if hits:
            dlg.select(hits[0].key)
        dlg.show()
        dlg.raise_()
        dlg.activateWindow()
        dlg.search_edit.setFocus()
        dlg.search_edit.selectAll()

    act.triggered.connect(open_dialog)
    menu.addAction(act)
    window.act_concepts = act
    window.concepts_dialog = None
    return act
