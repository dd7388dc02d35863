"""The main window: wires the document, canvas, palette, inspector, training dock and panels.

It owns no network logic: edits go through the document (undoable), the canvas mirrors it, and
each dock/panel is its own module.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QDockWidget, QFileDialog, QHeaderView, QLabel, QMainWindow, QMenu,
    QMessageBox, QTableWidget, QTableWidgetItem, QToolBar, QVBoxLayout,
)

from engine.errors import EngineError

from .canvas import CanvasScene, CanvasView, InspectorWidget, PaletteWidget
from .canvas.commands import CLIPBOARD_MIME
from .canvas.icons import family_icon
from .canvas.items import format_count, format_shape
from .document import NetworkDocument, parse_document, presets_dir, write_document_file

#: window size at a first start (no remembered layout), on a screen that has room for it.
FIRST_START_SIZE = (1400, 880)
#: room left for the window's title bar when the window fills a small screen's height.
TITLE_BAR_ROOM = 40
#: a first start in a narrower window tabs the inspector with the palette (see default_layout).
NARROW_WINDOW = 1700

APP_NAME = "Network Playground"
ORG_NAME = "network-playground"
DEFAULT_PRESET = "digits_mlp.json"
MAX_RECENT = 8
AUTOSAVE_MS = 30_000


def user_data_dir():
    """The app's data folder (one rule for autosave, run history and samples: NNPLAY_DATA_DIR wins)."""
    from .training.history import data_dir

    return Path(data_dir())


def fallback_document():
    """A small digits MLP, used when the presets folder is missing."""
    return {
        "format": "network-playground", "version": 1, "name": "digits MLP",
        "description": "A multilayer perceptron for the bundled 8x8 digits.",
        "graph": {"name": "digits_mlp", "nodes": [
            {"name": "pixels", "type": "Input", "config": {"shape": [64]}, "inputs": []},
            {"name": "hidden", "type": "Dense", "config": {"units": 64}, "inputs": ["pixels"]},
            {"name": "relu", "type": "Activation", "config": {"kind": "relu"}, "inputs": ["hidden"]},
            {"name": "logits", "type": "Dense", "config": {"units": 10}, "inputs": ["relu"]},
        ]},
    }


def warn(parent, title, text):
    """Show an error in a dialog (tests replace this module function)."""
    QMessageBox.warning(parent, title, text)


def ask(parent, title, text, buttons, default):
    """Ask a question in a dialog; returns the button (tests replace this module function)."""
    return QMessageBox.question(parent, title, text, buttons, default)


class SummaryDialog(QDialog):
    """A Keras-like summary table: layer, type, output shape, parameters, notes."""

    def __init__(self, network, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Network summary")
        rows = network.summary_rows()
        table = QTableWidget(len(rows), 5)
        table.setHorizontalHeaderLabels(["Layer", "Type", "Output shape", "Params", "Reads / notes"])
        total = trainable = 0
        for i, r in enumerate(rows):
            fam = "Input" if r["type"] == "Input" else getattr(network[r["name"]], "family", "Core")
            item = QTableWidgetItem(family_icon(fam), r["name"])
            table.setItem(i, 0, item)
            table.setItem(i, 1, QTableWidgetItem(r["type"]))
            shape = "(None, " + ", ".join(str(d) for d in r["shape"]) + ")" if r["shape"] is not None else "?"
            table.setItem(i, 2, QTableWidgetItem(shape))
            p = QTableWidgetItem(format_count(r["params"]) if r["params"] is not None else "?")
            p.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
            table.setItem(i, 3, p)
            notes = ", ".join(r["inputs"])
            if r["error"]:
                notes = r["error"]
            elif r["notes"]:
                notes += ("; " if notes else "") + "; ".join(r["notes"])
            n = QTableWidgetItem(notes)
            if r["error"]:
                n.setForeground(Qt.red)
            n.setToolTip(notes)
            table.setItem(i, 4, n)
            total += r["params"] or 0
            trainable += (r["params"] or 0) if r["trainable"] else 0
        table.setEditTriggers(QTableWidget.NoEditTriggers)
        table.verticalHeader().setVisible(False)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        self.table = table
        self.totals = QLabel(f"<b>Total params:</b> {total:,} &nbsp;&nbsp; <b>Trainable:</b> {trainable:,}"
                             f" &nbsp;&nbsp; <b>Frozen:</b> {total - trainable:,}")
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        copy_btn = buttons.addButton("Copy as text", QDialogButtonBox.ActionRole)
        copy_btn.clicked.connect(lambda: QGuiApplication.clipboard().setText(network.summary()))
        lay = QVBoxLayout(self)
        lay.addWidget(table)
        lay.addWidget(self.totals)
        lay.addWidget(buttons)
        self.resize(760, min(640, 120 + 30 * len(rows)))


class MainWindow(QMainWindow):
    """The application window.

    Parameters
    ----------
    settings : QSettings, optional
        Where layout and recent files are remembered (tests pass a temporary one).
    autosave_dir : path, optional
        Where the crash-recovery autosave lives (default: the user data dir).
    restore : "ask", "never" or "always"
        What to do with an autosave found at start.
    open_default : bool
        Open the default preset (the digits MLP).

    Signals
    -------
    layer_selected(str) : the layer picked on the canvas ('' when none).
    """

    layer_selected = Signal(str)

    def __init__(self, settings=None, autosave_dir=None, restore="ask", open_default=True, parent=None):
        super().__init__(parent)
        self.settings = settings if settings is not None else QSettings(ORG_NAME, ORG_NAME)
        self.autosave_path = Path(autosave_dir or user_data_dir()) / "autosave.json"
        self.document = NetworkDocument(self)
        self.scene = CanvasScene(self.document, self)
        self.view = CanvasView(self.scene, self)
        self.setCentralWidget(self.view)
        self.setWindowIcon(family_icon("Core", 64))
        self.setDockOptions(QMainWindow.AnimatedDocks | QMainWindow.AllowTabbedDocks | QMainWindow.AllowNestedDocks)
        # the palette and inspector run the full height; the training dock sits under the canvas
        self.setCorner(Qt.BottomLeftCorner, Qt.LeftDockWidgetArea)
        self.setCorner(Qt.BottomRightCorner, Qt.RightDockWidgetArea)
        self._layout_restored = False
        self.panels = {}
        self.training_dock = None
        self._startup_problems = []  # docks/panels that failed to start, shown in the status bar

        self.palette = PaletteWidget()
        self.palette.setMinimumWidth(200)
        self.palette_dock = self._dock("Layers", "palette_dock", self.palette, Qt.LeftDockWidgetArea)
        self.inspector = InspectorWidget(self.document)
        self.inspector.setMinimumWidth(240)
        self.inspector_dock = self._dock("Inspector", "inspector_dock", self.inspector, Qt.RightDockWidgetArea)
        self._make_training_dock()

        self._make_actions()
        self._make_menus()
        self._make_toolbar()
        self._make_panels()
        if self._startup_problems:
            self.statusBar().showMessage("; ".join(self._startup_problems))
        else:
            self.statusBar().showMessage("Ready", 3000)
        self.zoom_label = QLabel("100 %")
        self.zoom_label.setToolTip("Zoom (wheel, Ctrl+= / Ctrl+-, Ctrl+0 fits the network)")
        self.statusBar().addPermanentWidget(self.zoom_label)

        self.scene.layer_selected.connect(self._on_layer_selected)
        self.scene.selectionChanged.connect(self._update_edit_actions)
        self._update_edit_actions()
        self.scene.message.connect(self._show_status)
        self.inspector.edit_refused.connect(self._show_status)
        self.palette.layer_activated.connect(self._add_layer_at_centre)
        self.view.zoom_changed.connect(self._on_zoom_changed)
        self.document.modified_changed.connect(self.setWindowModified)
        self.document.path_changed.connect(self._on_path_changed)
        self.document.reset.connect(self._on_document_reset)
        self.document.undo_stack.indexChanged.connect(self._on_undo_index_changed)

        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(AUTOSAVE_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()

        self._first_start_geometry()
        self._restore_layout()
        restored = False
        if restore != "never" and self.autosave_path.is_file():
            restored = self._offer_autosave(confirm=(restore == "ask"))
        if not restored and open_default:
            self.open_default()
        self._update_title()

    # -- docks and panels ----------------------------------------------------------------------------
    def _dock(self, title, object_name, widget, area):
        dock = QDockWidget(title, self)
        dock.setObjectName(object_name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable | QDockWidget.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def add_panel(self, widget, title, area=Qt.RightDockWidgetArea):
        """Put ``widget`` in a dock titled ``title`` (tabbed with other panels); returns the dock."""
        if isinstance(widget, QDockWidget):
            dock = widget
            dock.setWindowTitle(title)
        else:
            dock = QDockWidget(title, self)
            dock.setWidget(widget)
        if not dock.objectName():
            dock.setObjectName("panel_" + "".join(c if c.isalnum() else "_" for c in title.lower()))
        same = [d for d in self.panels.values() if self.dockWidgetArea(d) == area]
        self.addDockWidget(area, dock)
        if same:
            self.tabifyDockWidget(same[-1], dock)
        self.panels[title] = dock
        if hasattr(self, "view_menu"):
            self.view_menu.addAction(dock.toggleViewAction())
        if hasattr(widget, "set_document"):
            try:
                widget.set_document(self.document)
            except Exception:  # noqa: BLE001 - a panel's own problem must not stop the app
                pass
        return dock

    def _make_training_dock(self):
        try:
            from .training.dock import TrainingDock

            dock = TrainingDock(self)
        except Exception as exc:  # noqa: BLE001 - never block the window on a dock
            self._startup_problems.append(f"the training dock could not start: {exc}")
            return
        if not dock.objectName():
            dock.setObjectName("training_dock")
        self.addDockWidget(Qt.BottomDockWidgetArea, dock)
        self.training_dock = dock
        dock.set_canvas_scene(self.scene)
        dock.set_document(self.document)
        self.layer_selected.connect(dock.set_selected_layer)
        dock.training_finished.connect(self._on_weights_trained)

    def _make_panels(self):
        """The task panels (each its own module); one that fails to start is left out."""
        try:
            from .panels.digits import DigitsPanel

            panel = DigitsPanel()
            dock = self.add_panel(panel, "Digits", Qt.BottomDockWidgetArea)
            panel.training_done.connect(self._on_weights_trained)  # Train quickly / Fine-tune
        except Exception as exc:  # noqa: BLE001 - never block the window on a panel
            self._startup_problems.append(f"the digits panel could not start: {exc}")
            return
        if self.training_dock is not None:
            self.tabifyDockWidget(self.training_dock, dock)
            self.training_dock.raise_()

    # -- actions ---------------------------------------------------------------------------------
    def _action(self, text, slot, shortcut=None, tip=None, icon=None):
        a = QAction(text, self)
        if shortcut:
            a.setShortcuts(shortcut if isinstance(shortcut, list) else [QKeySequence(shortcut)])
        # (a standard key may equal the explicit one: Zoom out said "Ctrl+- / Ctrl+-")
        keys = " / ".join(dict.fromkeys(s.toString(QKeySequence.NativeText) for s in a.shortcuts()))
        tip = tip or text.replace("&", "").rstrip(".\u2026")
        a.setToolTip(f"{tip} ({keys})" if keys else tip)
        a.setStatusTip(tip)
        if icon is not None:
            a.setIcon(icon)
        a.triggered.connect(slot)
        return a

    def _make_actions(self):
        st = QIcon.fromTheme
        A = self._action
        self.act_new = A("&New", self.new_document, QKeySequence.New, "Start an empty network", st("document-new"))
        self.act_open = A("&Open\u2026", self.open_dialog, QKeySequence.Open, "Open a network document (.json) or model (.npz)", st("document-open"))
        self.act_save = A("&Save", self.save, QKeySequence.Save, "Save the network document", st("document-save"))
        self.act_save_as = A("Save &As\u2026", self.save_as, QKeySequence("Ctrl+Shift+S"), "Save under a new name", st("document-save-as"))
        self.act_export_onnx = A("Export ONNX\u2026", self.export_onnx, None, "Export the network to an ONNX file")
        self.act_import_onnx = A("Import ONNX\u2026", self.import_onnx, None, "Open an ONNX model as a network")
        onnx = self._onnx_module()
        for act, fn in ((self.act_export_onnx, "export_network"), (self.act_import_onnx, "import_onnx")):
            if onnx is None or not hasattr(onnx, fn):
                act.setEnabled(False)
                act.setToolTip("Needs the engine's ONNX support (engine.onnx), which is not available")
        self.act_quit = A("&Quit", self.close, QKeySequence.Quit, "Quit Network Playground")

        undo = self.document.undo_stack
        self.act_undo = A("&Undo", self.undo, QKeySequence.Undo, "Undo the last edit")
        self.act_redo = A("&Redo", self.redo, [QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")], "Redo")
        self.act_undo.setEnabled(undo.canUndo())
        self.act_redo.setEnabled(undo.canRedo())
        undo.canUndoChanged.connect(self.act_undo.setEnabled)
        undo.canRedoChanged.connect(self.act_redo.setEnabled)
        undo.undoTextChanged.connect(self._on_undo_text)
        undo.redoTextChanged.connect(self._on_redo_text)
        self.act_cut = A("Cu&t", self.cut, QKeySequence.Cut, "Cut the selected layers")
        self.act_copy = A("&Copy", self.copy, QKeySequence.Copy, "Copy the selected layers")
        self.act_paste = A("&Paste", self.paste, QKeySequence.Paste, "Paste layers")
        self.act_delete = A("&Delete", self._delete_selection, [QKeySequence.Delete, QKeySequence(Qt.Key_Backspace)],
                            "Delete the selected layers and links")
        self.act_select_all = A("Select &All", self._select_all, QKeySequence.SelectAll, "Select every layer")
        self.act_layout = A("Auto-&layout", self.scene.auto_layout, QKeySequence("Ctrl+L"),
                            "Arrange layers in columns by depth (undoable)")
        self.act_unfold = A("&Unfold / fold block", self._toggle_unfold, QKeySequence("Ctrl+U"),
                            "Show or hide the sublayers of the selected composite block")
        self.act_zoom_in = A("Zoom &in", self.view.zoom_in, [QKeySequence("Ctrl+="), QKeySequence.ZoomIn], "Zoom in")
        self.act_zoom_out = A("Zoom &out", self.view.zoom_out, [QKeySequence("Ctrl+-"), QKeySequence.ZoomOut], "Zoom out")
        self.act_fit = A("&Fit network", lambda: self.view.fit_all(), QKeySequence("Ctrl+0"), "Show the whole network")
        self.act_find = A("Find layer type", self._focus_palette, QKeySequence.Find, "Search the layer palette")
        self.act_summary = A("&Summary\u2026", self.show_summary, QKeySequence("Ctrl+I"),
                             "A table of every layer's output shape and parameter count")
        self.act_about = A("&About", self._about, None, "About Network Playground")
        for a in (self.act_cut, self.act_copy, self.act_paste, self.act_delete, self.act_select_all,
                  self.act_zoom_in, self.act_zoom_out, self.act_fit, self.act_undo, self.act_redo):
            a.setShortcutContext(Qt.WindowShortcut)

    def _make_menus(self):
        mb = self.menuBar()
        f = mb.addMenu("&File")
        f.addActions([self.act_new, self.act_open])
        self.recent_menu = f.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.presets_menu = f.addMenu("&Presets")
        self._fill_presets()
        f.addSeparator()
        f.addActions([self.act_save, self.act_save_as])
        f.addSeparator()
        f.addActions([self.act_import_onnx, self.act_export_onnx])
        f.addSeparator()
        f.addAction(self.act_quit)
        e = mb.addMenu("&Edit")
        e.addActions([self.act_undo, self.act_redo])
        e.addSeparator()
        e.addActions([self.act_cut, self.act_copy, self.act_paste, self.act_delete])
        e.addSeparator()
        e.addActions([self.act_select_all, self.act_find])
        v = mb.addMenu("&View")
        v.addActions([self.act_zoom_in, self.act_zoom_out, self.act_fit])
        v.addSeparator()
        v.addActions([self.act_layout, self.act_unfold])
        v.addSeparator()
        v.addAction(self.palette_dock.toggleViewAction())
        v.addAction(self.inspector_dock.toggleViewAction())
        if self.training_dock is not None:
            v.addAction(self.training_dock.toggleViewAction())
        self.view_menu = v
        n = mb.addMenu("&Network")
        n.addAction(self.act_summary)
        self._make_training_menu(mb)
        h = mb.addMenu("&Help")
        from .concepts import install_concepts_action  # Help > Concepts (F1): the course notes' index
        install_concepts_action(self, h)
        h.addAction(self.act_about)
        # canvas context menu
        self.view.setContextMenuPolicy(Qt.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)

    def _make_training_menu(self, mb):
        """Training > Train / Pause / Step / Stop / Reset weights, with the keys a debugger uses
        (F5 runs, Shift+F5 stops, F10 steps) and Ctrl+Return; enabled as the dock's buttons are."""
        dock = self.training_dock
        if dock is None:
            return
        A = self._action
        self.act_train = A("&Train", self.train_or_resume, [QKeySequence("Ctrl+Return"), QKeySequence("F5")],
                           "Train the network with the training dock's settings (resumes a paused run)")
        self.act_pause = A("&Pause / Resume", self._toggle_pause, QKeySequence("F6"),
                           "Pause before the next mini-batch, or resume a paused run")
        self.act_step = A("&Step one mini-batch", self._step, QKeySequence("F10"),
                          "Train exactly one mini-batch, then wait (one step of gradient descent)")
        self.act_stop = A("St&op", dock.stop, QKeySequence("Shift+F5"),
                          "End the run; the weights learned so far are kept")
        # no key: it cannot be undone, and one stray key press would lose a long run's weights
        self.act_reset_weights = A("&Reset weights", dock.reset_weights, None,
                                   "Initialize the weights again and clear the plots (cannot be undone)")
        t = mb.addMenu("&Training")
        t.addActions([self.act_train, self.act_pause, self.act_step, self.act_stop])
        t.addSeparator()
        t.addAction(self.act_reset_weights)
        self.training_menu = t
        for a in (self.act_train, self.act_pause, self.act_step, self.act_stop, self.act_reset_weights):
            a.setShortcutContext(Qt.WindowShortcut)
        # the dock's buttons say their keys too
        for button, act in ((dock.train_button, self.act_train), (dock.pause_button, self.act_pause),
                            (dock.step_button, self.act_step), (dock.stop_button, self.act_stop),
                            (dock.reset_button, self.act_reset_weights)):
            keys = act.shortcut().toString(QKeySequence.NativeText)
            if keys and keys not in button.toolTip():
                button.setToolTip(f"{button.toolTip()} ({keys})")
        dock.state_changed.connect(self._on_training_state)
        self._on_training_state(dock.state)

    def _on_training_state(self, state):
        running = state in ("running", "paused")
        self.act_train.setEnabled(state in ("idle", "paused"))
        self.act_train.setText("&Resume" if state == "paused" else "&Train")
        self.act_pause.setEnabled(running)
        self.act_step.setEnabled(state in ("idle", "paused"))
        self.act_stop.setEnabled(running)
        self.act_reset_weights.setEnabled(state == "idle")

    def _show_training_dock(self):
        self.training_dock.show()
        self.training_dock.raise_()  # in front of the Digits panel that shares its tab

    def train_or_resume(self):
        """Start a run (or resume a paused one) and bring the training dock forward."""
        dock = self.training_dock
        if dock is None:
            return False
        self._show_training_dock()
        if dock.state == "paused":
            dock.resume()
            return True
        return bool(dock.train())

    def _toggle_pause(self):
        dock = self.training_dock
        if dock.state == "running":
            dock.pause()
        elif dock.state == "paused":
            dock.resume()

    def _step(self):
        self._show_training_dock()
        self.training_dock.step()

    def _make_toolbar(self):
        tb = QToolBar("Main", self)
        tb.setObjectName("main_toolbar")
        tb.setToolButtonStyle(Qt.ToolButtonTextOnly)
        tb.addActions([self.act_new, self.act_open, self.act_save])
        tb.addSeparator()
        # toolbar copies with a fixed label (the menu's actions say what they undo)
        undo = self.document.undo_stack
        self.tb_undo = self._action("Undo", self.undo, None, "Undo the last edit (Ctrl+Z)")
        self.tb_redo = self._action("Redo", self.redo, None, "Redo (Ctrl+Shift+Z)")
        self.tb_undo.setEnabled(undo.canUndo())
        self.tb_redo.setEnabled(undo.canRedo())
        undo.canUndoChanged.connect(self.tb_undo.setEnabled)
        undo.canRedoChanged.connect(self.tb_redo.setEnabled)
        tb.addActions([self.tb_undo, self.tb_redo])
        tb.addSeparator()
        tb.addActions([self.act_layout, self.act_fit, self.act_summary])
        if self.training_dock is not None:
            tb.addSeparator()
            tb.addActions([self.act_train, self.act_stop])
        self.addToolBar(Qt.TopToolBarArea, tb)
        self.toolbar = tb

    def _context_menu(self, pos):
        menu = QMenu(self)
        item = self.scene.node_at(self.view.mapToScene(pos))
        if item is not None:
            if not item.isSelected():
                self.scene.clearSelection()
                item.setSelected(True)
            if item.sublayers:
                menu.addAction("Fold block" if item.unfolded else "Unfold block",
                               lambda n=item.name: self.scene.toggle_unfold(n))
            menu.addActions([self.act_cut, self.act_copy, self.act_delete])
        menu.addAction(self.act_paste)
        menu.addSeparator()
        menu.addActions([self.act_layout, self.act_fit, self.act_summary])
        menu.exec(self.view.viewport().mapToGlobal(pos))

    # -- edit slots ------------------------------------------------------------------------------
    def undo(self):
        """Undo the last edit, unless the network is locked (training runs)."""
        if not self._refused_while_locked():
            text = self.document.undo_stack.undoText()
            self.document.undo_stack.undo()
            if text:  # else the status bar kept saying "Deleted conv2 ..." after conv2 came back
                self._show_status(f"Undid: {text}")

    def redo(self):
        if not self._refused_while_locked():
            text = self.document.undo_stack.redoText()
            self.document.undo_stack.redo()
            if text:
                self._show_status(f"Redid: {text}")

    def _refused_while_locked(self):
        reason = self.document.locked_reason
        if reason:
            self._show_status(reason)
        return bool(reason)

    def _on_undo_text(self, text):
        self.act_undo.setText(f"&Undo {text}" if text else "&Undo")

    def _on_redo_text(self, text):
        self.act_redo.setText(f"&Redo {text}" if text else "&Redo")

    def _update_edit_actions(self):
        """Cut, Copy and Delete say by their state whether there is anything to act on."""
        nodes = bool(self.scene.selected_node_names())
        self.act_cut.setEnabled(nodes)
        self.act_copy.setEnabled(nodes)
        self.act_delete.setEnabled(nodes or bool(self.scene.selected_links()))

    def _delete_selection(self):
        self.scene.delete_selection()

    def _select_all(self):
        for item in self.scene.nodes.values():
            item.setSelected(True)

    def _toggle_unfold(self):
        for name in self.scene.selected_node_names():
            self.scene.toggle_unfold(name)

    def copy(self):
        text = self.scene.copy_selection()
        if text:
            from PySide6.QtCore import QMimeData

            mime = QMimeData()
            mime.setData(CLIPBOARD_MIME, text.encode("utf-8"))
            mime.setText(text)
            QGuiApplication.clipboard().setMimeData(mime)
            return True
        return False

    def cut(self):
        if self.copy():
            self.scene.delete_selection(verb="Cut")

    def paste(self):
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None:
            return []
        if mime.hasFormat(CLIPBOARD_MIME):
            text = bytes(mime.data(CLIPBOARD_MIME).data()).decode("utf-8")
        else:
            text = mime.text()
        return self.scene.paste(text)

    def _free_spot(self, x, y, height=90.0):
        """The first place at or below (x, y) where a new node overlaps no other one."""
        from PySide6.QtCore import QRectF

        from .canvas.items import NODE_WIDTH

        taken = [it.sceneBoundingRect() for it in self.scene.nodes.values()]
        for k in range(60):
            r = QRectF(x, y + 50.0 * k, NODE_WIDTH, height)
            if not any(r.intersects(t) for t in taken):
                return (x, y + 50.0 * k)
        return (x, y)

    def _focus_palette(self):
        self.palette_dock.show()
        self.palette_dock.raise_()  # in front of the inspector when they share a tab
        self.palette.filter_edit.setFocus()
        self.palette.filter_edit.selectAll()

    def _add_layer_at_centre(self, type_name):
        """The palette's double-click / Enter: with one layer selected the new layer follows it
        (inserted before the layer it fed), else it lands in the middle of the view, unconnected."""
        typing = self.palette.filter_edit.hasFocus()
        selected = self.scene.selected_node_names()
        try:
            self._add_from_palette(type_name, selected)
        finally:
            # the palette stays in front (and its search field keeps the keys): the next layer can
            # follow at once, though the inspector shares its tab in a narrow window
            if self._inspector_shares_the_palette_tab():
                self.palette_dock.raise_()
            if typing:
                self.palette.filter_edit.setFocus()
                self.palette.filter_edit.selectAll()

    def _add_from_palette(self, type_name, selected):
        if len(selected) == 1 and type_name != "Input":
            item = self.scene.nodes.get(selected[0])
            pos = self._free_spot(item.x() + 40.0, item.y() + item.height() + 40.0) if item is not None \
                else (0.0, 0.0)
            try:
                name = self.document.insert_layer_after(type_name, selected[0], pos)
            except EngineError as exc:
                self._show_status(str(exc))
                return
            self.scene.select_node(name)
            self.view.ensureVisible(self.scene.nodes[name].sceneBoundingRect(), 40, 40)
            self._show_status(f"{self.document.undo_stack.undoText()} (Ctrl+L tidies the layout, Ctrl+Z undoes)")
            return
        if not selected and self.scene.insert_on_selected_link(type_name) is not None:
            return  # one link selected: the layer went into it
        centre = self.view.mapToScene(self.view.viewport().rect().center())
        self.scene.add_layer_at(type_name, centre)

    def _on_layer_selected(self, name):
        self.inspector.set_layer(name)
        if self._inspector_shares_the_palette_tab():
            # one tab for both (a narrow window): a selected layer shows its settings, none the palette
            (self.inspector_dock if name else self.palette_dock).raise_()
        self.layer_selected.emit(name)

    def _show_status(self, text):
        self.statusBar().showMessage(text, 8000)

    # -- documents -------------------------------------------------------------------------------
    def _on_path_changed(self, _path):
        self._update_title()

    def _on_undo_index_changed(self, _index):
        self._update_title()

    def _on_zoom_changed(self, z):
        self.zoom_label.setText(f"{z * 100:.0f} %")

    def _update_title(self):
        d = self.document
        where = Path(d.path).name if d.path else d.name or "untitled"
        self.setWindowTitle(f"{where}[*] \u2014 {APP_NAME}")
        self.setWindowModified(d.modified)

    def _on_document_reset(self):
        self.inspector.set_layer("")
        QTimer.singleShot(0, self.view.fit_all)
        self.view.fit_all()
        self._update_title()

    def show_error(self, title, text):
        warn(self, title, text)

    def _on_weights_trained(self, result):
        """A run (training dock or Digits panel) changed the weights: they are unsaved work."""
        if (result or {}).get("global_steps") or (result or {}).get("epochs"):
            self.document.mark_weights_trained()

    def maybe_save(self):
        """Ask before losing unsaved changes (edits, or trained weights that only a model file
        keeps); False means the user cancelled."""
        doc = self.document
        dock = self.training_dock
        if dock is not None and dock.state in ("running", "paused"):
            doc.mark_weights_trained()  # a run is changing the weights: closing would stop it
        if not doc.modified:
            return True
        only_weights = doc.undo_stack.isClean() and doc.weights_unsaved
        if only_weights:
            text = (f"The network '{doc.name}' was trained since it was last saved, and its trained "
                    "weights are kept only in a model file (.npz). Save the model first?")
        else:
            text = f"'{doc.name}' has unsaved changes. Save them first?"
            if doc.weights_unsaved:
                text += " (Its trained weights are kept only in a model file, .npz.)"
        ans = ask(self, "Unsaved changes", text,
                  QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)
        if ans == QMessageBox.Save:
            if doc.weights_unsaved and not str(doc.path or "").lower().endswith(".npz"):
                return self.save_as(model=True)
            return self.save()
        return ans == QMessageBox.Discard

    def new_document(self):
        if self.maybe_save():
            self.document.new()

    def open_default(self):
        p = presets_dir() / DEFAULT_PRESET
        if p.is_file():
            try:
                self.document.load(p)
                self.document.path = None  # a preset opens as a new, unsaved copy
                self.document.path_changed.emit("")
                return True
            except EngineError as exc:
                self._show_status(f"the default preset could not be read: {exc}")
        self.document.load_dict(fallback_document())
        return True

    def open_file(self, path, as_preset=False):
        """Open ``path``; on any error show it and keep the current network. Returns success."""
        try:
            self.document.load(path)
        except EngineError as exc:
            text = str(exc)  # the engine's messages usually start with the path already
            if str(path) not in text:
                text = f"{Path(path).name}: {text}"
            self.show_error("Cannot open file", text)
            return False
        except Exception as exc:  # noqa: BLE001 - never a traceback for a file the user picked
            self.show_error("Cannot open file", f"{Path(path).name} could not be read: {exc}")
            return False
        if as_preset:
            self.document.path = None
            self.document.path_changed.emit("")
        else:
            self._add_recent(str(path))
        self._show_status(f"Opened {Path(path).name}")
        return True

    def open_dialog(self):
        if not self.maybe_save():
            return
        start = self.settings.value("last_dir", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Open network", start,
                                              "Network documents (*.json *.npz);;All files (*)")
        if path:
            self.settings.setValue("last_dir", str(Path(path).parent))
            self.open_file(path)

    def save(self):
        if not self.document.path:
            return self.save_as()
        return self._save_to(self.document.path)

    def save_as(self, model=False):
        """Ask for a file name and save; ``model`` proposes a model with its weights (.npz)."""
        suffix = ".npz" if model else ".json"
        start = self.document.path or str(Path(self.settings.value("last_dir", str(Path.home()))) /
                                          (self.document.name.replace(" ", "_") + suffix))
        if model:
            start = str(Path(start).with_suffix(".npz"))
        filters = ["Network document (*.json)", "Model with weights (*.npz)"]
        path, _ = QFileDialog.getSaveFileName(self, "Save network as", start, ";;".join(filters),
                                              filters[1] if model else filters[0])
        if not path:
            return False
        if not Path(path).suffix:
            path += suffix
        self.settings.setValue("last_dir", str(Path(path).parent))
        return self._save_to(path)

    def _save_to(self, path):
        try:
            self.document.save(path)
        except EngineError as exc:
            self.show_error("Cannot save", str(exc))
            return False
        except Exception as exc:  # noqa: BLE001
            self.show_error("Cannot save", f"{path}: {exc}")
            return False
        self._add_recent(str(path))
        if self.document.weights_unsaved:
            self._show_status(f"Saved {Path(path).name}: the network and its settings; the trained weights "
                              "are kept only in a model file (File > Save As, .npz)")
        else:
            self._show_status(f"Saved {Path(path).name}")
        self._remove_autosave()
        return True

    # recent files and presets
    def recent_files(self):
        v = self.settings.value("recent_files", [])
        if isinstance(v, str):
            v = [v]
        return [str(p) for p in (v or [])]

    def _add_recent(self, path):
        path = str(Path(path).resolve())
        files = [p for p in self.recent_files() if p != path]
        self.settings.setValue("recent_files", [path] + files[:MAX_RECENT - 1])

    def _fill_recent(self):
        self.recent_menu.clear()
        files = [p for p in self.recent_files() if Path(p).exists()]
        for i, p in enumerate(files):
            a = self.recent_menu.addAction(f"&{i + 1} {Path(p).name}")
            a.setToolTip(p)
            a.triggered.connect(lambda _=False, p=p: self.maybe_save() and self.open_file(p))
        if not files:
            a = self.recent_menu.addAction("(no recent files)")
            a.setEnabled(False)

    def _fill_presets(self):
        self.presets_menu.clear()
        d = presets_dir()
        files = sorted(d.glob("*.json")) if d.is_dir() else []
        for p in files:
            title, tip = p.stem.replace("_", " "), ""
            try:
                meta = json.loads(p.read_text(encoding="utf-8"))
                title = meta.get("name") or title
                tip = meta.get("description", "")
            except (OSError, ValueError):
                pass
            a = self.presets_menu.addAction(title)
            a.setToolTip(tip or str(p))
            a.setStatusTip(tip)
            a.triggered.connect(lambda _=False, p=p: self.maybe_save() and self.open_file(p, as_preset=True))
        self.presets_menu.setToolTipsVisible(True)
        if not files:
            a = self.presets_menu.addAction("(no presets found)")
            a.setEnabled(False)

    # -- ONNX ------------------------------------------------------------------------------------
    def _onnx_module(self):
        try:
            import engine.onnx as onnx
        except Exception:  # noqa: BLE001
            return None
        return onnx

    def export_onnx(self):
        if self.document.locked_reason:  # the weights are being updated in another thread
            self.show_error("Cannot export ONNX", f"the weights are changing ({self.document.locked_reason}); "
                                                  "export when training stops")
            return
        onnx = self._onnx_module()
        path, _ = QFileDialog.getSaveFileName(self, "Export ONNX", self.document.name.replace(" ", "_") + ".onnx",
                                              "ONNX model (*.onnx)")
        if not path:
            return
        try:
            net = self.document.network
            if not net.built:
                net.build()
            report = onnx.export_network(net, path)
        except EngineError as exc:
            self.show_error("Cannot export ONNX", str(exc))
            return
        except Exception as exc:  # noqa: BLE001
            self.show_error("Cannot export ONNX", f"export failed: {exc}")
            return
        diff = getattr(report, "max_abs_diff", None)
        if diff is None and isinstance(report, dict):
            diff = report.get("max_abs_diff")
        extra = f" (engine vs onnxruntime: max difference {diff:.2e})" if isinstance(diff, float) else ""
        self._show_status(f"Exported {Path(path).name}{extra}")

    def import_onnx(self):
        if not self.maybe_save():
            return
        onnx = self._onnx_module()
        path, _ = QFileDialog.getOpenFileName(self, "Import ONNX", str(Path.home()), "ONNX model (*.onnx)")
        if not path:
            return
        try:
            net = onnx.import_onnx(path)
            d = {"format": "network-playground", "version": 1, "name": Path(path).stem, "description":
                 f"Imported from {Path(path).name}", "graph": net.get_config()}
            # an ONNX file holds no data set or training settings: keep the current ones when the
            # imported network reads the same samples (an exported spiral network comes back
            # ready to train on the spiral, not on the default digits)
            kept = ""
            doc = self.document
            shape = doc.data_sample_shape
            if shape and len(net.inputs) == 1:
                cfg = net.nodes[net.inputs[0]].layer.get_config()
                if tuple(int(v) for v in cfg.get("shape") or ()) == tuple(shape):
                    d["training"], d["data"] = doc.training, doc.data
                    kept = f"; it reads the {doc.data.get('name', 'same')} data set as before"
            self.document.load_dict(json.loads(json.dumps(d)))
            # keep the imported weights: swap the checked network for the imported one
            self.document.network = net
            self.document.reset.emit()
            self._show_status(f"Imported {Path(path).name}: {len(net.nodes)} layers, weights kept{kept}")
        except EngineError as exc:
            self.show_error("Cannot import ONNX", str(exc))
        except Exception as exc:  # noqa: BLE001
            self.show_error("Cannot import ONNX", f"{Path(path).name}: {exc}")

    # -- summary and about -----------------------------------------------------------------------
    def show_summary(self):
        dlg = SummaryDialog(self.document.network, self)
        dlg.setModal(False)
        dlg.show()
        self._summary = dlg
        return dlg

    def _about(self):
        QMessageBox.about(self, f"About {APP_NAME}",
                          f"<b>{APP_NAME}</b><br>Build, train and look inside neural networks.<br><br>"
                          "Drag layers from the palette, connect output ports to input ports, "
                          "and press Train. Every edit can be undone (Ctrl+Z).")

    # -- autosave --------------------------------------------------------------------------------
    def autosave(self):
        """Write the unsaved document to the autosave file (atomic); nothing when unmodified."""
        if not self.document.modified:
            return False
        try:
            write_document_file(self.document, self.autosave_path, extra={"autosave_of": self.document.path or ""})
        except EngineError as exc:
            self._show_status(f"autosave failed: {exc}")
            return False
        return True

    def _remove_autosave(self):
        try:
            os.remove(self.autosave_path)
        except OSError:
            pass

    def _offer_autosave(self, confirm=True):
        try:
            d = json.loads(self.autosave_path.read_text(encoding="utf-8"))
            of = d.pop("autosave_of", "")
            parse_document(d)
        except (OSError, ValueError, EngineError):
            self._remove_autosave()
            return False
        if confirm:
            ans = ask(
                self, "Restore unsaved work?",
                f"Network Playground did not close properly last time. Restore the unsaved network "
                f"'{d.get('name', 'untitled')}'?", QMessageBox.Yes | QMessageBox.No, QMessageBox.Yes)
            if ans != QMessageBox.Yes:
                self._remove_autosave()
                return False
        try:
            self.document.load_dict(d)
        except EngineError:
            self._remove_autosave()
            return False
        self.document.path = of or None
        # mark as modified so the user is asked to save the restored work
        self.document.undo_stack.resetClean()
        self.document.modified_changed.emit(True)
        self._show_status("Restored the autosaved network")
        return True

    # -- layout memory and closing ---------------------------------------------------------------
    def _restore_layout(self):
        geo = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if geo is not None:
            self.restoreGeometry(geo)
        if state is not None:
            self._layout_restored = bool(self.restoreState(state))

    def _first_start_geometry(self):
        """The window size before any remembered layout: 1400x880, or 90 % of a bigger screen;
        never more than the screen (a 1280x800 laptop gets the whole of it, below its title bar)."""
        w, h = FIRST_START_SIZE
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            self.resize(w, h)
            return
        avail = screen.availableGeometry()
        w = min(max(w, int(avail.width() * 0.9)), avail.width())
        h = min(max(h, int(avail.height() * 0.9)), avail.height() - TITLE_BAR_ROOM)
        self.resize(w, h)
        if w >= avail.width() - 40 or h >= avail.height() - TITLE_BAR_ROOM - 40:
            self.move(avail.topLeft())

    def default_layout(self):
        """Dock sizes for a first start (a remembered layout replaces them), so the training plots
        are readable without resizing anything: the training dock takes half the height, and the
        palette and inspector are about as narrow as their contents allow. A window narrower than
        NARROW_WINDOW (screens up to 1600 px) puts the inspector in a tab beside the palette
        (it comes forward when a layer is selected), leaving the training dock the width for its
        three plots. The canvas keeps the rest (the network is fitted into it)."""
        w, h = max(self.width(), 800), max(self.height(), 600)
        if w < NARROW_WINDOW:
            self.tabifyDockWidget(self.palette_dock, self.inspector_dock)
            self.palette_dock.raise_()
            self.resizeDocks([self.palette_dock], [250], Qt.Horizontal)
        else:
            self.resizeDocks([self.palette_dock, self.inspector_dock],
                             [max(200, min(240, int(w * 0.13))), max(250, min(300, int(w * 0.16)))],
                             Qt.Horizontal)
        if self.training_dock is not None:
            self.resizeDocks([self.training_dock], [max(340, int(h * 0.5))], Qt.Vertical)

    def _inspector_shares_the_palette_tab(self):
        return self.palette_dock in self.tabifiedDockWidgets(self.inspector_dock)

    def save_layout(self):
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()

    def closeEvent(self, event):  # noqa: N802
        if not self.maybe_save():
            event.ignore()
            return
        self.save_layout()
        self.autosave_timer.stop()
        self._remove_autosave()
        if self.training_dock is not None and hasattr(self.training_dock, "shutdown"):
            try:
                self.training_dock.shutdown()
            except Exception:  # noqa: BLE001
                pass
        for dock in self.panels.values():
            if hasattr(dock.widget(), "shutdown"):
                dock.widget().shutdown()
        event.accept()

    def showEvent(self, event):  # noqa: N802
        super().showEvent(event)
        if not getattr(self, "_fitted", False):
            self._fitted = True
            if not self._layout_restored:
                self.default_layout()
            QTimer.singleShot(0, self.view.fit_all)


