"""The training dock: Train / Pause / Step / Stop / Reset weights, a progress bar, the settings
form, live plots, evaluation and the run history.

MainWindow creates ``TrainingDock(parent)``, calls :meth:`TrainingDock.set_document` with the
network document (``.network``, ``.training``, ``.data``; signals ``reset``, ``training_changed``,
``data_changed`` when it has them), connects its ``layer_selected(str)`` signal to
:meth:`TrainingDock.set_selected_layer`, gives the canvas scene to
:meth:`TrainingDock.set_canvas_scene` (for the health overlay: ``scene.set_node_tint(node, QColor
or None, hint)``) and calls :meth:`TrainingDock.shutdown` when it closes.

The GUI thread never trains: a :class:`~playground.training.worker.TrainingWorker` (QThread) runs
the engine's Trainer and the dock drains its throttled events, updating the plots with setData.
"""

import copy
import math
import time

import numpy as np
from PySide6.QtCore import QThread, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QApplication, QDockWidget, QHBoxLayout, QLabel, QMainWindow, QProgressBar,
                               QPushButton, QScrollArea, QSplitter, QStyle, QTabWidget, QVBoxLayout, QWidget)

from engine.errors import EngineError
from engine.metrics import decision_threshold

from . import health
from .controls import TrainingControls
from .evaluation import EvaluationPanel, HistoryPanel
from .history import RunHistory
from .preflight import preflight
from .plots import BoundaryPlot, CostPlot, GradNormPlot, HistogramPlot, MetricsPlot, XSpan
from .worker import Probe, TrainingWorker, make_train_config


def _fmt_time(seconds):
    if seconds is None or not math.isfinite(seconds):
        return "-"
    seconds = int(round(seconds))
    m, s = divmod(seconds, 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def cost_too_high_hint(result, splits, training):
    """A hint when a classifier's final training cost is far above a uniform guess's (ln K for K
    classes): training did not diverge to NaN but overshot (e.g. Adam with a learning rate of
    1000 keeps the numbers finite while every step jumps past the minimum). Returns "" otherwise."""
    loss = (result or {}).get("train_loss")
    if loss is None or not math.isfinite(loss) or result.get("stopped") == "diverged":
        return ""
    if splits is None or getattr(splits, "task", "") != "classification":
        return ""
    k = len(getattr(splits, "classes", []) or [])
    if k < 2:
        return ""
    guess = math.log(k)
    if loss <= 3 * guess:
        return ""
    lr = ((training or {}).get("optimizer") or {}).get("lr")
    lr_txt = f" {lr:g}" if isinstance(lr, (int, float)) else ""
    return (f"The training cost ended at {loss:.3g}, far above a uniform guess's {guess:.2f} (ln {k}): "
            f"the learning rate{lr_txt} is probably too large (each step overshoots the minimum); "
            "try a lower one, press Reset weights and train again.")


class _HintLabel(QLabel):
    """A label that takes no room while it has nothing to say."""

    def setText(self, text):  # noqa: N802 - Qt API
        super().setText(text)
        self.setVisible(bool(text))


class _SizedScrollArea(QScrollArea):
    """A scroll area that asks for a given width (a splitter then starts it at that width)."""

    def __init__(self, width, parent=None):
        super().__init__(parent)
        self._width = int(width)

    def sizeHint(self):  # noqa: N802 - Qt API
        hint = super().sizeHint()
        hint.setWidth(self._width)
        return hint


class _DownloadCancelled(Exception):
    pass


class MnistDownload(QThread):
    """Downloads the full MNIST in a thread (11 MB: seconds to minutes), reporting progress.

    Signals: ``progressed(str, int, int)`` file name, bytes done, bytes in all (0 when unknown);
    ``succeeded(str)`` the folder of the files; ``failed(str)`` a readable message.
    """

    progressed = Signal(str, int, int)
    succeeded = Signal(str)
    failed = Signal(str)

    def __init__(self, download, parent=None):
        super().__init__(parent)
        self._download = download
        self._cancel = False

    def cancel(self):
        self._cancel = True

    def _progress(self, name, done, total):
        if self._cancel:
            raise _DownloadCancelled()
        self.progressed.emit(str(name), int(done), int(total or 0))

    def run(self):  # noqa: D401 - QThread API
        try:
            folder = self._download(progress=self._progress)
        except _DownloadCancelled:
            self.failed.emit("MNIST download cancelled")
        except EngineError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - a download must never crash the window
            self.failed.emit(f"MNIST download failed: {type(exc).__name__}: {exc}")
        else:
            self.succeeded.emit(str(folder))


def _download_mnist(progress=None):
    from engine.data.mnist import download_mnist

    return download_mnist(progress=progress)


class TrainingDock(QDockWidget):
    """Controls, live plots, evaluation and run history of the document's network.

    Signals
    -------
    training_started : a run began.
    epoch_finished(dict) : the Trainer's epoch event (epoch counts from 0).
    step_reported(dict) : a (throttled) step event.
    training_finished(dict) : the run's result (``stopped``: finished/cancelled/diverged/...). A
        classification run's evaluation then runs in a thread: ``evaluation.evaluated`` follows.
    training_diverged(str, str) : node, message.
    plots_refreshed : the plots were redrawn from a snapshot.
    state_changed(str) : "idle", "running" or "paused".
    """

    training_started = Signal()
    epoch_finished = Signal(dict)
    step_reported = Signal(dict)
    training_finished = Signal(dict)
    training_diverged = Signal(str, str)
    plots_refreshed = Signal()
    state_changed = Signal(str)

    LOCK_REASON = "stop training before editing the network"

    def __init__(self, parent=None, history=None):
        super().__init__("Training", parent)
        self.setObjectName("TrainingDock")
        self.doc = None
        self.scene = None
        self.splits = None
        self._splits_key = None
        self._preloaded = None  # (key, splits) loaded while checking a data edit
        self.worker = None
        self.state = "idle"
        self.selected_layer = None
        self.run_id = None
        self._history = history
        self._tinted = set()
        self._tint_cache = {}  # node -> (rgb, hint) last sent to the scene
        self._last_step = None
        self._last_epoch = None
        self._drain_scheduled = False
        self._probe_scheduled = False
        self.refresh_times = []  # monotonic times of plot refreshes (benchmark)
        self.last_result = None
        self.message = ""
        self._refused = False  # the status shows why the last Train was refused
        self._runs_on_weights = False  # a run has trained the current weights (the next one continues)

        # -- top bar ---------------------------------------------------------------------------
        self.train_button = QPushButton("Train")
        self.train_button.setToolTip("Train the network with the settings below (in a worker thread).")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Pause before the next mini-batch; press again to resume.")
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("Train exactly one mini-batch, then wait (one step of gradient descent).")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("End the run; the weights learned so far are kept.")
        self.reset_button = QPushButton("Reset weights")
        self.reset_button.setToolTip("Initialize the weights again (with the seed and initialization below) "
                                     "and clear the plots.")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFormat("idle")
        self.progress.setTextVisible(True)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.hint = _HintLabel("")
        self.hint.setVisible(False)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #b26a00;")
        bar = QHBoxLayout()
        for b in (self.train_button, self.pause_button, self.step_button, self.stop_button, self.reset_button):
            bar.addWidget(b)
        bar.addWidget(self.progress, 1)

        # -- body ------------------------------------------------------------------------------
        self.controls = TrainingControls()
        # the settings at their full width (room for the vertical scroll bar too) when there is room;
        # on a small screen (1280 px) the column may narrow, with a horizontal scroll bar
        controls_width = self.controls.sizeHint().width() + 20 + QApplication.style().pixelMetric(
            QStyle.PM_ScrollBarExtent)
        scroll = _SizedScrollArea(controls_width)
        scroll.setWidget(self.controls)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAsNeeded)
        scroll.setMinimumWidth(min(controls_width, 260))
        scroll.setMaximumWidth(max(controls_width, 360))
        self.cost_plot = CostPlot()
        self.metrics_plot = MetricsPlot()
        self.grad_plot = GradNormPlot()
        self.hist_plot = HistogramPlot()
        self.boundary_plot = BoundaryPlot()
        self.evaluation = EvaluationPanel()
        self.history_panel = HistoryPanel()
        self.xspan = XSpan(self.cost_plot.widget.getPlotItem(), self.metrics_plot.acc_widget.getPlotItem(),
                           self.metrics_plot.lr_widget.getPlotItem(), self.grad_plot.widget.getPlotItem())
        curves = QSplitter(Qt.Horizontal)
        curves.addWidget(self.cost_plot)
        curves.addWidget(self.metrics_plot)
        curves.addWidget(self.grad_plot)
        curves.setSizes([600, 300, 300])  # the cost plot widest: it is the one to watch
        self.tabs = QTabWidget()
        self.tabs.addTab(curves, "Curves")
        self.tabs.addTab(self.boundary_plot, "Decision boundary")
        self.tabs.addTab(self.hist_plot, "Layer histograms")
        self.tabs.addTab(self.evaluation, "Evaluation")
        self.tabs.addTab(self.history_panel, "History")
        self.tabs.currentChanged.connect(self._on_tab_changed)
        body = QSplitter(Qt.Horizontal)
        body.addWidget(scroll)
        body.addWidget(self.tabs)
        body.setStretchFactor(0, 0)
        body.setStretchFactor(1, 1)
        root = QWidget()
        lay = QVBoxLayout(root)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(bar)
        lay.addWidget(self.status)
        lay.addWidget(self.hint)
        lay.addWidget(body, 1)
        self.setWidget(root)

        # -- wiring ----------------------------------------------------------------------------
        self.train_button.clicked.connect(self.train)
        self.pause_button.toggled.connect(self._on_pause_toggled)
        self.step_button.clicked.connect(self.step)
        self.stop_button.clicked.connect(self.stop)
        self.reset_button.clicked.connect(self.reset_weights)
        self.controls.training_edited.connect(self._on_training_edited)
        self.controls.data_edited.connect(self._on_data_edited)
        self.controls.lr_edited.connect(self._on_lr_edited)
        self.controls.regularization_edited.connect(self._on_regularization_edited)
        self.controls.initializer_edited.connect(self._on_initializer_edited)
        self.controls.health_mode_changed.connect(self._on_health_mode_changed)
        self.controls.mnist_download_requested.connect(self.download_mnist)
        self.mnist_download = None  # the running MnistDownload thread
        #: fetches MNIST: called as ``download(progress=fn)``, returns the files' folder (tests replace it)
        self.download_fn = _download_mnist
        # a slow poll picks up events the throttled signal did not announce (e.g. while paused)
        self._poll = QTimer(self)
        self._poll.setInterval(250)
        self._poll.timeout.connect(self._drain)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self._set_state("idle")
        if history is not None:
            self.history_panel.set_history(history)

    # -- wiring from MainWindow --------------------------------------------------------------------
    @property
    def history(self):
        """The run history (opened on first use in the user data folder)."""
        if self._history is None:
            try:
                self._history = RunHistory()
            except EngineError as exc:
                self.status.setText(str(exc))
                return None
            self.history_panel.set_history(self._history)
        return self._history

    def _on_tab_changed(self, index):
        if self.tabs.widget(index) is self.history_panel:
            if self.history is not None:  # opens the database on first look
                self.history_panel.refresh()

    def set_history(self, history):
        self._history = history
        self.history_panel.set_history(history)

    def set_document(self, doc):
        """Show and edit ``doc`` (its .network, .training, .data)."""
        if self.doc is doc:
            self._on_doc_reset()
            return
        if self.doc is not None:
            self.stop(wait=True)
            for sig, slot in self._doc_connections():
                try:
                    sig.disconnect(slot)
                except (RuntimeError, TypeError):
                    pass
        self.doc = doc
        for sig, slot in self._doc_connections():
            sig.connect(slot)
        self._on_doc_reset()

    def _doc_connections(self):
        out = []
        for name, slot in (("reset", self._on_doc_reset), ("training_changed", self._on_doc_settings_changed),
                           ("data_changed", self._on_doc_data_changed), ("changed", self._on_doc_changed)):
            sig = getattr(self.doc, name, None)
            if sig is not None and hasattr(sig, "connect"):
                out.append((sig, slot))
        return out

    def set_canvas_scene(self, scene):
        """The canvas scene to tint (``scene.set_node_tint(node, QColor | None, hint)``)."""
        self._clear_tints()
        self.scene = scene

    def set_selected_layer(self, name):
        """Show histograms of node ``name`` (from the canvas selection)."""
        self.selected_layer = name or None
        self.hist_plot.set_layer(self.selected_layer)
        if self.worker is not None and self.worker.isRunning():
            self.worker.set_selected(self.selected_layer)
            if self.state == "paused":
                self._probe_now()
        else:
            self._probe_now()

    #: the name MainWindow looks for when wiring its ``layer_selected(str)`` signal
    select_layer = set_selected_layer

    # -- document -> dock ------------------------------------------------------------------------
    def _layer_settings(self):
        """(l1, l2, initializer) of the first layer with weights (what the form shows)."""
        if self.doc is None:
            return 0.0, 0.0, "auto"
        for node in self.doc.network.nodes.values():
            layer = node.layer
            if hasattr(layer, "l2") or hasattr(layer, "initializer"):
                return (float(getattr(layer, "l1", 0.0)), float(getattr(layer, "l2", 0.0)),
                        str(getattr(layer, "initializer", "auto")))
        return 0.0, 0.0, "auto"

    def _on_doc_reset(self):
        if self.worker is not None and self.worker.isRunning():
            self.stop(wait=True)
        self._runs_on_weights = False  # another network (or the same one opened again)
        self.controls.show_data_error("")  # a refused edit of the previous document
        self._clear_tints()  # the canvas rebuilt its nodes
        self._load_controls()
        self.splits, self._splits_key = None, None
        self.selected_layer = None
        self.hist_plot.set_layer(None)
        self._clear_plots()
        self._load_data()

    def _load_controls(self):
        l1, l2, init = self._layer_settings()
        self.controls.load(self.doc.training, self.doc.data, l1, l2, init)

    def _on_doc_changed(self):
        """Any edit: redraw the boundary/histograms of the edited network soon (when idle); a
        refused start's message goes (it described the network before the edit)."""
        if self._refused and self.state == "idle":
            self._refused = False
            self.message = ""
            self.status.setStyleSheet("")
            self.status.setText(self.splits.describe() if self.splits is not None else "")
        if self.state == "idle" and not self._probe_scheduled:
            self._probe_scheduled = True
            QTimer.singleShot(50, self._scheduled_probe)

    def _scheduled_probe(self):
        self._probe_scheduled = False
        if self.state == "idle":
            self._probe_now()

    def _on_doc_settings_changed(self):
        self._load_controls()

    def _on_doc_data_changed(self):
        # an undo, redo or another edit put other values in: a refusal shown before is stale
        self.controls.show_data_error("")
        self._load_controls()
        self._load_data()

    def _load_data(self):
        """Load the document's data set (cached by its settings); show points for 2-D sets."""
        if self.doc is None:
            return None
        from engine.data import load_dataset

        key = repr(sorted((self.doc.data or {}).items(), key=lambda kv: kv[0]))
        if key == self._splits_key and self.splits is not None:
            return self.splits
        try:
            # the data's own seed (as the CLI splits it), not the training seed: the cache key above
            # would not notice a change of the latter, and the two would split differently
            pre, self._preloaded = self._preloaded, None
            self.splits = pre[1] if pre is not None and pre[0] == key else load_dataset(self.doc.data)
            self._splits_key = key
        except EngineError as exc:
            self.splits, self._splits_key = None, None
            self.doc.data_sample_shape = None
            text = f"Data: {exc}"
            if (self.doc.data or {}).get("name") == "mnist":
                text = (f"Data: {exc}. The full MNIST is not bundled: press 'Download (11 MB)' under the "
                        "data set, or 'Use files\u2026' to read your copy.")
            self.status.setText(text)
            return None
        sp = self.splits
        x = sp.x_train
        # an Input dropped from the palette takes this shape (a new network then fits the data)
        self.doc.data_sample_shape = tuple(int(d) for d in x.shape[1:]) if isinstance(x, np.ndarray) else None
        two_d = isinstance(x, np.ndarray) and x.ndim == 2 and x.shape[1] == 2
        if two_d:
            self.boundary_plot.set_unavailable(None)
        else:
            shape = tuple(np.shape(x)[1:]) if isinstance(x, np.ndarray) else "several arrays"
            self.boundary_plot.set_unavailable(
                f"No decision boundary for this data set: the map colours every point of a plane, so it "
                f"needs examples with exactly two input features (x1, x2), like the circle, xor or spiral "
                f"sets. The examples of '{sp.name}' have shape {shape}. Use the Evaluation tab (confusion "
                f"matrix, per-class precision/recall) to see what the network gets wrong.")
        if two_d:
            self.boundary_plot.set_points(sp.x_train, sp.y_train, sp.x_test, sp.y_test,
                                          n_classes=len(sp.classes) or 2, regression=sp.task != "classification")
        self.evaluation.set_source(self._predict, sp, threshold=decision_threshold(
            (self.doc.training or {}).get("loss"), self.doc.network), snapshot=self._predict_snapshot)
        self.status.setText(sp.describe())
        self._probe_now()
        return sp

    def _predict(self, x):
        return self.doc.network.predict(x)

    def _predict_snapshot(self):
        """A predict function over a copy of the network (weights included), taken now in the GUI
        thread: a background evaluation then reads nothing that an edit or a new run changes."""
        return self.doc.network.copy().predict

    # -- dock -> document ------------------------------------------------------------------------
    def _on_training_edited(self, training):
        if self.doc is None:
            return
        if hasattr(self.doc, "set_training"):
            self.doc.set_training(training)
        else:
            self.doc.training = training

    def _on_data_edited(self, data):
        if self.doc is None:
            return
        problem = self._data_problem(data)
        if problem:
            # not applied: the document keeps its data settings and the form shows them again
            self.controls.show_data_error(f"Not applied: {problem}")
            self._load_controls()
            return
        self.controls.show_data_error("")
        if hasattr(self.doc, "set_data"):
            before = self.doc.data or {}
            if hasattr(self.doc, "undo_stack") and {k for k in set(before) | set(data)
                                                    if before.get(k) != data.get(k)} == {"seed"}:
                # the training settings have a "seed" too: say which one this undo step sets
                self.doc.set_data(data, text=f"Set data seed to {data['seed']}")
            else:
                self.doc.set_data(data)
        else:
            self.doc.data = data
        if not hasattr(self.doc, "data_changed"):
            self._load_data()

    def _data_problem(self, data):
        """Why the edited data settings cannot be used ('' when they can). The values are checked
        against what the data set declares; when only its options, split or seed changed (same data
        set), it is also loaded, so e.g. a split that leaves nothing to train on is refused before it
        reaches the document. Another data set is taken as is (MNIST may not be downloaded yet: the
        status then says what to do), and so is any edit while the document's data cannot be loaded
        (the status says why; the edit may be what mends it). A fault the document had before the
        edit (a value out of range in a file edited by hand) is not held against an edit that keeps
        it: the status says what is wrong, and the form may be how the user mends it."""
        from engine.data import load_dataset, validate_data

        split = data.get("split") if isinstance(data, dict) else None
        opts = data.get("options") if isinstance(data, dict) else None
        try:
            dev, test = float(split["dev"]), float(split["test"])
            ratio = opts.get("train_ratio") if isinstance(opts, dict) else None
        except (TypeError, KeyError, ValueError):
            dev = test = ratio = None
        if ratio is not None and dev is not None and dev + test >= 1:
            # the test spin box is locked under a train ratio: say so, and what dev share fits
            return (f"a dev share of {100 * dev:.0f} % and the test share of {100 * test:.0f} % (locked while "
                    f"a train ratio is set, still checked) leave nothing to train on: choose a dev share "
                    f"below {100 * (1 - test):.0f} %, or clear the train ratio to change the test share")
        try:
            validate_data(self._without_old_faults(data))
            if data.get("name") == (self.doc.data or {}).get("name") and self.splits is not None:
                key = repr(sorted(data.items(), key=lambda kv: kv[0]))
                if key != self._splits_key:
                    self._preloaded = (key, load_dataset(data))  # _load_data takes it (no second load)
        except EngineError as exc:
            return str(exc)
        return ""

    def _without_old_faults(self, data):
        """``data`` for checking: the option values, seed and split it keeps unchanged from the
        document that are themselves invalid are left out (the loader's defaults take their place)."""
        from engine.data.base import check_dataset_options, check_seed, check_split

        old = self.doc.data or {}
        if not isinstance(data, dict) or data.get("name") != old.get("name"):
            return data
        probe = dict(data)

        def bad(check, *args):
            try:
                check(*args)
            except (EngineError, TypeError, ValueError):
                return True
            return False

        opts, old_opts = data.get("options"), old.get("options")
        if isinstance(opts, dict) and isinstance(old_opts, dict):
            probe["options"] = {k: v for k, v in opts.items()
                                if not (k in old_opts and old_opts[k] == v
                                        and bad(check_dataset_options, data.get("name"), {k: v}))}
        if "seed" in data and data.get("seed") == old.get("seed") and bad(check_seed, data["seed"]):
            probe.pop("seed")
        if "split" in data and data.get("split") == old.get("split") and bad(check_split, data["split"]):
            probe.pop("split")
        return probe

    def _on_lr_edited(self, lr):
        if self.worker is not None and self.worker.isRunning():
            try:
                self.worker.set_lr(lr)
            except EngineError as exc:
                self.status.setText(str(exc))

    def _on_regularization_edited(self, l1, l2):
        """L1/L2 strength of every layer with weights; applied at once (mid-training too)."""
        if self.doc is None:
            return
        if self.worker is not None and self.worker.isRunning():
            try:
                self.worker.set_regularization(l1, l2)
            except EngineError as exc:
                self.status.setText(str(exc))
            return
        for node in self.doc.network.nodes.values():
            layer = node.layer
            if layer.regularized and hasattr(layer, "l2"):
                layer.l1, layer.l2 = float(l1), float(l2)

    def _on_initializer_edited(self, name):
        """Set every layer's initializer and re-initialize the weights (when not training)."""
        if self.doc is None or self.state != "idle" or self._busy_elsewhere():
            return  # (while the Digits panel trains, reset_weights would refuse after the change)
        from engine.initializers import check_initializer_name

        try:
            name = check_initializer_name(name)
        except EngineError as exc:
            self.status.setText(str(exc))
            return
        for node in self.doc.network.nodes.values():
            if hasattr(node.layer, "initializer"):
                node.layer.initializer = name
        self.reset_weights()

    # -- state -----------------------------------------------------------------------------------
    def _set_state(self, state):
        self.state = state
        running = state in ("running", "paused")
        self.train_button.setEnabled(state == "idle" and getattr(self, "mnist_download", None) is None)
        self.pause_button.setEnabled(running)
        self.step_button.setEnabled(state in ("idle", "paused"))
        self.stop_button.setEnabled(running)
        self.reset_button.setEnabled(state == "idle")
        # a running trainer updates the weights in place: an evaluation in the GUI thread would read
        # a torn mix of two steps (paused, the trainer waits between mini-batches)
        self.evaluation.set_available(state != "running")
        self.controls.set_data_editable(not running)
        for w in (self.controls.batch, self.controls.batch_all,
                  self.controls.epochs, self.controls.optimizer, self.controls.schedule, self.controls.init,
                  self.controls.seed, self.controls.beta1, self.controls.beta2, self.controls.eps,
                  self.controls.decay, self.controls.decay_step):
            w.setEnabled(not running)
        if self.pause_button.isChecked() != (state == "paused"):
            self.pause_button.blockSignals(True)
            self.pause_button.setChecked(state == "paused")
            self.pause_button.blockSignals(False)
        self.pause_button.setText("Resume" if state == "paused" else "Pause")
        if self.doc is not None and hasattr(self.doc, "set_locked"):
            self.doc.set_locked(self.LOCK_REASON if running else None)
        self.state_changed.emit(state)

    # -- actions ---------------------------------------------------------------------------------
    def train(self, paused=False):
        """Start a run with the document's settings; returns True when it started."""
        if self.doc is None or (self.worker is not None and self.worker.isRunning()):
            return False
        if self._busy_elsewhere():
            return False
        sp = self._load_data()
        if sp is None:
            return False
        net = self.doc.network
        self.hint.setText("")  # a hint of the previous run does not describe this one
        try:
            config = make_train_config(self.doc.training)
            net.infer_shapes()
            problem = preflight(net, sp, self.doc.training)
            if problem:
                self._show_error(problem)
                self._refused = True
                return False
            if not net.built:
                net.build(seed=config.seed)
            probe = Probe(net, sp)
            probe.selected = self.selected_layer
            worker = TrainingWorker(net, sp, config, probe=probe)
        except EngineError as exc:
            self._show_error(str(exc))
            self._refused = True
            return False
        except Exception as exc:  # noqa: BLE001 - never a traceback for a network the user built
            self._show_error(f"cannot train this network: {type(exc).__name__}: {exc}")
            self._refused = True
            return False
        self.worker = worker
        worker.events_ready.connect(self._drain)
        worker.run_failed.connect(self._show_error)
        worker.finished.connect(self._on_thread_finished)
        self._clear_plots()
        self.xspan.set_total(config.epochs)
        self.message = ""
        self._refused = False
        self.last_result = None  # a run that fails must not report the previous run's result
        self.hint.setText("")
        again = " (continuing from the weights of the last run; Reset weights starts afresh)" \
            if self._runs_on_weights else ""
        self.status.setText(f"Training on {sp.describe()}{again}")
        self._runs_on_weights = True
        self.run_id = None
        hist = self.history
        if hist is not None:
            try:
                self.run_id = hist.start_run(
                    getattr(self.doc, "name", "network"),
                    {"training": copy.deepcopy(self.doc.training), "data": copy.deepcopy(self.doc.data),
                     "graph": net.get_config(), "parameters": net.param_count()},
                    dataset=(self.doc.data or {}).get("name", ""))
            except Exception as exc:  # noqa: BLE001 - history must not stop training
                self.status.setText(f"run history unavailable: {exc}")
                self.run_id = None
        if paused:
            worker.pause()
        self._set_state("paused" if paused else "running")
        worker.start()
        self._poll.start()
        self.training_started.emit()
        return True

    def _busy_elsewhere(self):
        """Another part of the window (the Digits panel's fine-tuning) trains this network in its own
        thread and locked the document: two threads updating the same layers corrupt each other's
        caches. Says so in the status line and returns True."""
        reason = getattr(self.doc, "locked_reason", None)
        if not reason or reason == self.LOCK_REASON or self.worker is not None:
            return False
        self.status.setStyleSheet("color: #c62828;")
        self.status.setText(f"<b>The network is being trained elsewhere: {reason}.</b>")
        return True

    def _on_pause_toggled(self, on):
        if self.worker is None or not self.worker.isRunning():
            return
        if on:
            self.worker.pause()
            self._set_state("paused")
        else:
            self.worker.resume()
            self._set_state("running")

    def pause(self):
        self.pause_button.setChecked(True)

    def resume(self):
        self.pause_button.setChecked(False)

    def step(self):
        """One mini-batch: starts a paused run if none is running."""
        if self.worker is None or not self.worker.isRunning():
            if not self.train(paused=True):
                return
        if self.state != "paused":
            self.pause()
        self.worker.step()

    def stop(self, wait=False):
        """End the run (the trainer stops before its next mini-batch); ``wait`` blocks until the
        thread has ended."""
        w = self.worker
        if w is None:
            return True
        if w.isRunning():
            w.cancel()
            if wait:
                ok = w.wait(3000)
                self._drain()
                if ok:
                    self._on_thread_finished()
                return ok
        return True

    # -- MNIST download ---------------------------------------------------------------------------
    def download_mnist(self):
        """Download the full MNIST in a thread, with progress in the progress bar; when done the
        document's data set reads the downloaded files."""
        if self.mnist_download is not None or self.state != "idle":
            return False
        thread = MnistDownload(self.download_fn, self)
        thread.progressed.connect(self._on_download_progress)
        thread.succeeded.connect(self._on_download_succeeded)
        thread.failed.connect(self._on_download_failed)
        thread.finished.connect(self._on_download_finished)
        self.mnist_download = thread
        self.controls.mnist_download.setEnabled(False)
        self.train_button.setEnabled(False)
        self.status.setStyleSheet("")
        self.status.setText("Downloading MNIST\u2026")
        self.progress.setValue(0)
        self.progress.setFormat("downloading MNIST")
        thread.start()
        return True

    def _on_download_progress(self, name, done, total):
        mb = f"{done / 1e6:.1f}" + (f" / {total / 1e6:.1f} MB" if total else " MB")
        self.progress.setFormat(f"downloading {name}: {mb}")
        if total:
            self.progress.setValue(int(1000 * min(done / total, 1.0)))

    def _on_download_succeeded(self, folder):
        self.progress.setFormat("MNIST downloaded")
        self.progress.setValue(self.progress.maximum())
        data = copy.deepcopy(self.doc.data or {}) if self.doc is not None else {}
        if data.get("name") == "mnist":
            self.controls.set_data_options({"path": folder})
            self._splits_key = None
            self._load_data()

    def _on_download_failed(self, message):
        self.progress.setFormat("idle")
        self.progress.setValue(0)
        self._show_error(message)

    def _on_download_finished(self):
        self.mnist_download = None
        self.controls.mnist_download.setEnabled(True)
        self._set_state(self.state)

    def shutdown(self):
        """Stop training and wait for the worker (MainWindow calls this when it closes)."""
        self._poll.stop()
        if self.mnist_download is not None:
            self.mnist_download.cancel()
            self.mnist_download.wait(5000)
        self.stop(wait=True)
        self.evaluation.shutdown()
        self._clear_tints()

    def closeEvent(self, event):  # noqa: N802 - Qt API
        # inside a main window the close button only hides the dock (training goes on; the window
        # calls shutdown() when it closes); a stand-alone dock is the window: stop training
        if not isinstance(self.parentWidget(), QMainWindow):
            self.shutdown()
        super().closeEvent(event)

    def reset_weights(self):
        """Initialize the weights again and clear the plots (when not training)."""
        if self.doc is None or self.state != "idle" or self._busy_elsewhere():
            return
        net = self.doc.network
        try:
            net.build(seed=int((self.doc.training or {}).get("seed", 0)), rebuild=True)
        except EngineError as exc:
            self._show_error(str(exc))
            return
        self._clear_plots()
        self._runs_on_weights = False
        self.status.setText("Weights initialized again.")
        self._probe_now()

    def _show_error(self, message):
        self.message = message
        self.status.setText(f"<b>{message}</b>")
        self.status.setStyleSheet("color: #c62828;")

    # -- events ----------------------------------------------------------------------------------
    #: at most one redraw per this many seconds (the GUI thread's share of the work stays small)
    MIN_REDRAW_INTERVAL = 0.075

    def _drain(self):
        """Take the worker's buffered events and probe, update the data and redraw the plots.

        Redraws are coalesced: when the last one is younger than MIN_REDRAW_INTERVAL a single
        deferred drain is scheduled instead."""
        w = self.worker
        if w is None:
            return
        since = time.monotonic() - (self.refresh_times[-1] if self.refresh_times else 0.0)
        if since < self.MIN_REDRAW_INTERVAL and w.isRunning():
            if not self._drain_scheduled:
                self._drain_scheduled = True
                QTimer.singleShot(int(1000 * (self.MIN_REDRAW_INTERVAL - since)) + 1, self._deferred_drain)
            return
        events, probe = w.take_events()
        if not events and probe is None:
            if self.state == "paused":
                self._show_paused_position()
            return
        # the trainer pauses at its next event until this redraw (and its paint) is done
        w.gui_idle.clear()
        QTimer.singleShot(0, w.gui_idle.set)
        new_epochs = []
        last_step = None
        for ev in events:
            kind = ev.get("type")
            if kind == "step":
                self._on_step(ev)
                last_step = ev
            elif kind == "epoch":
                self._on_epoch(ev)
                new_epochs.append(ev)
            elif kind == "diverged":
                self._show_error(ev.get("message", "training diverged"))
                self.training_diverged.emit(str(ev.get("node") or ""), ev.get("message", ""))
            elif kind == "finished":
                self.last_result = ev.get("result") or {}
                spe = max(int(ev.get("steps_per_epoch") or 1), 1)
                for gs, loss in ev.get("recent") or ():  # the steps after the last step event
                    self.cost_plot.add_step(gs / spe, loss)
                steps = self.last_result.get("global_steps")
                if steps:
                    self.metrics_plot.add_lr(steps / spe, self.last_result.get("lr"), force=True)
            elif kind == "error":
                self._show_error(ev.get("message", "training failed"))
        if new_epochs and self.run_id is not None and self._history is not None:
            try:
                self._history.add_epochs(self.run_id, [{**e, "epoch": int(e["epoch"]) + 1} for e in new_epochs])
            except Exception as exc:  # noqa: BLE001
                self.status.setText(f"run history: {exc}")
        if last_step is not None:
            self._show_progress(last_step)
        if probe is not None:
            self._show_probe(probe)
        self.cost_plot.refresh()
        self.metrics_plot.refresh()
        self.grad_plot.refresh()
        self.refresh_times.append(time.monotonic())
        self.plots_refreshed.emit()
        for ev in events:
            if ev.get("type") == "epoch":
                self.epoch_finished.emit(ev)
            elif ev.get("type") == "step":
                self.step_reported.emit(ev)

    def _deferred_drain(self):
        self._drain_scheduled = False
        self._drain()

    def _on_step(self, ev):
        spe = max(int(ev.get("steps_per_epoch") or 1), 1)
        for gs, loss in ev.get("recent") or [[ev.get("global_step", 0), ev.get("loss")]]:
            self.cost_plot.add_step(gs / spe, loss)
        x = ev.get("global_step", 0) / spe
        self.xspan.update(x)
        self.metrics_plot.add_lr(x, ev.get("lr"))
        self.grad_plot.add(x, ev.get("grad_norms"))
        self._last_step = ev

    def _show_progress(self, ev):
        """Progress bar and health overlay from the latest step event (once per redraw: a
        QProgressBar repaints itself at once on every change)."""
        spe = max(int(ev.get("steps_per_epoch") or 1), 1)
        epochs = int((self.doc.training or {}).get("epochs", 1)) if self.doc else 1
        total = max(epochs * spe, 1)
        value = int(1000 * min(ev.get("global_step", 0) / total, 1.0))
        text = (f"epoch {ev.get('epoch', 0) + 1}/{epochs} · step {ev.get('step', 0) + 1}/{spe}"
                f" · {_fmt_time(ev.get('time_left'))} left")
        if text != self.progress.format():
            self.progress.setFormat(text)
        if value != self.progress.value():
            self.progress.setValue(value)
        self._apply_health(ev.get("grad_norms"), ev.get("activation_stats"))

    def _show_paused_position(self):
        """While paused, the progress bar says where the trainer waits (the last step event may be
        a few throttled steps behind it)."""
        t = getattr(self.worker, "trainer", None)
        spe = max(int(getattr(t, "steps_per_epoch", 0) or 1), 1)
        done = int(getattr(t, "global_step", 0) or 0)
        epochs = int((self.doc.training or {}).get("epochs", 1)) if self.doc else 1
        epoch, step = divmod(done, spe)
        if done and step == 0:
            epoch, step = epoch - 1, spe  # the end of an epoch, not the start of the next one
        text = f"paused at epoch {min(epoch + 1, epochs)}/{epochs} · step {step}/{spe}"
        if text != self.progress.format():
            self.progress.setFormat(text)
            self.progress.setValue(int(1000 * min(done / max(epochs * spe, 1), 1.0)))

    def _on_epoch(self, ev):
        e = int(ev.get("epoch", 0)) + 1
        self.cost_plot.add_epoch(e, ev.get("train_loss"), ev.get("dev_loss"))
        self.metrics_plot.add_epoch(e, ev.get("train_accuracy"), ev.get("dev_accuracy"))
        self._last_epoch = ev
        tr, dv = ev.get("train_accuracy"), ev.get("dev_accuracy")
        if tr is not None and dv is not None:
            self.evaluation.set_errors(1 - tr, 1 - dv)

    def _on_thread_finished(self):
        w = self.worker
        if w is None:
            return
        self._poll.stop()
        self._drain()
        result = self.last_result or getattr(w, "result", None) or {}
        if self.run_id is not None and self._history is not None:
            try:
                status = result.get("stopped") or ("error" if self.message else "cancelled")
                self._history.finish_run(self.run_id, status, result)
            except Exception as exc:  # noqa: BLE001
                self.status.setText(f"run history: {exc}")
            self.history_panel.refresh()
        self.run_id = None
        self.worker = None
        self._set_state("idle")
        stopped = result.get("stopped")
        if stopped and not self.message:
            n = result.get("epochs", 0)
            parts = [f"Run {'stopped early' if stopped == 'early_stopping' else stopped} after {n} "
                     f"epoch{'' if n == 1 else 's'}"]
            info = getattr(self.splits, "info", None) or {}
            what = "whole-sequence accuracy" if isinstance(info, dict) and info.get("accuracy") == "sequence" \
                else "accuracy"
            for k in ("train", "dev", "test"):
                acc = result.get(f"{k}_accuracy")
                if acc is not None:
                    parts.append(f"{k} {what} {acc:.1%}")
            self.status.setStyleSheet("")
            self.status.setText(", ".join(parts) + ".")
            self.progress.setFormat(f"{stopped.replace('_', ' ')}: {n} epoch{'' if n == 1 else 's'}")
            if stopped == "finished":
                self.progress.setValue(self.progress.maximum())
        hint = cost_too_high_hint(result, self.splits, (self.doc.training or {}) if self.doc is not None else {})
        if hint:
            self.hint.setText(hint)
        tr, dv = result.get("train_accuracy"), result.get("dev_accuracy")
        if tr is not None and dv is not None:
            # the final evaluation (training=False) rather than the last epoch's running mean
            self.evaluation.set_errors(1 - tr, 1 - dv)
        # the worker's last probe already shows the final weights; the evaluation starts in the
        # next event-loop turn, in its own thread (on full MNIST it takes seconds)
        self._finished_result = result
        QTimer.singleShot(0, self, self._after_run)

    def _after_run(self):
        result = getattr(self, "_finished_result", None)
        if result is None:
            return
        self._finished_result = None
        idle = self.worker is None or not self.worker.isRunning()
        if idle and result and self.splits is not None and self.splits.task == "classification":
            self.evaluation.start_evaluation()  # evaluation.evaluated follows when it is done
        self.training_finished.emit(result)

    # -- probes (boundary, histograms) -----------------------------------------------------------
    def _probe_now(self):
        """Compute a probe in the GUI thread (only when no run is computing)."""
        if self.doc is None or self.splits is None:
            return
        if self.worker is not None and self.worker.isRunning() and self.state != "paused":
            return
        if self.worker is not None and self.worker.isRunning():
            # paused: the trainer thread is waiting; ask it for a probe with the next event
            self.worker.set_selected(self.selected_layer)
            return
        if getattr(self.doc, "locked_reason", None):
            # the Digits panel trains the network in its own thread: a probe here would read
            # half-updated weights
            return
        net = self.doc.network
        try:
            net.infer_shapes()
            if not net.built:
                net.build(seed=int((self.doc.training or {}).get("seed", 0)))
            probe = Probe(net, self.splits)
            probe.selected = self.selected_layer
            self._show_probe(probe.compute())
        except Exception:  # noqa: BLE001 - a half-edited network simply shows nothing new
            return

    def _show_probe(self, probe):
        if probe is None:
            return
        if probe.get("boundary") is not None:
            self.boundary_plot.set_probe(probe)
        if probe.get("selected") == self.selected_layer:
            self.hist_plot.set_histograms(probe.get("act_hist"), probe.get("w_hist"), probe.get("weights_of"))

    # -- health overlay --------------------------------------------------------------------------
    def _apply_health(self, grad_norms, activation_stats):
        mode = self.controls.health.currentText()
        hints = health.hints(grad_norms, activation_stats)
        self.hint.setText(hints[0] if hints else "")
        if self.scene is None or mode == "off" or not hasattr(self.scene, "set_node_tint"):
            return
        found = health.node_health(mode, grad_norms, activation_stats)
        for name, (rgb, hint) in found.items():
            if self._tint_cache.get(name) == (rgb, hint):
                continue  # unchanged: do not make the canvas repaint the node
            try:
                self.scene.set_node_tint(name, QColor(*rgb), hint)
                self._tinted.add(name)
                self._tint_cache[name] = (rgb, hint)
            except Exception:  # noqa: BLE001 - a node may have just disappeared
                pass
        for name in list(self._tinted - set(found)):
            self._untint(name)

    def _untint(self, name):
        try:
            self.scene.set_node_tint(name, None, "")
        except Exception:  # noqa: BLE001
            pass
        self._tinted.discard(name)
        self._tint_cache.pop(name, None)

    def _clear_tints(self):
        if self.scene is not None:
            for name in list(self._tinted):
                self._untint(name)
        self._tinted.clear()
        self._tint_cache.clear()

    def _on_health_mode_changed(self, mode):
        self._clear_tints()
        if self._last_step is not None and mode != "off":
            self._apply_health(self._last_step.get("grad_norms"), self._last_step.get("activation_stats"))

    def _clear_plots(self):
        self.cost_plot.clear()
        self.metrics_plot.clear()
        self.grad_plot.clear()
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.status.setStyleSheet("")
        self._last_step = None
        self._last_epoch = None
