"""The digits panel: draw a digit and watch the network's prediction.

The newcomer's first experiment. Draw a digit on the pad; the panel prepares it the way MNIST's
digits were prepared (:func:`engine.vision.digits.mnist_preprocess`: crop to the bounding box,
scale into 20x20 keeping the aspect, centre by the centre of mass in a 28x28 frame), shows that
28x28 input, and feeds it to the document's network: the ten class probabilities (the softmax
output) appear as bars with the top guess, live while drawing.

Tabs beside the bars:

- *Feature maps*: for a convolutional network, what each Conv2D layer's filters respond to in the
  drawn digit (each channel's activation map as a small image).
- *My samples*: add the drawn digit to your own training set with its label, remove samples, and
  fine-tune the network for a few epochs on them (mixed with bundled digits so it does not forget
  the rest). Samples live in the user's data folder as an .npz file.
- *Mistakes*: evaluate the network on the test digits; a confusion matrix whose cells are
  clickable (row = true digit, column = predicted digit) and a gallery of the examples of the
  picked cell (all misclassified digits at first).

Training (the "Train quickly" button and fine-tuning) runs in a worker thread, never in the GUI
thread; the document is locked against edits meanwhile.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView, QFileDialog, QFrame, QHBoxLayout, QHeaderView, QLabel, QListView,
    QListWidget, QListWidgetItem, QProgressBar, QPushButton, QScrollArea, QSpinBox, QSplitter,
    QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget,
)

import pyqtgraph as pg

from engine.errors import EngineError
from engine.vision import digits as vd

from .drawpad import DrawPad

#: bundled digits used to tell a trained network from an untrained one (every 25th: 200 images).
CHECK_STRIDE = 25
TRAINED_ACCURACY = 0.5
PREVIEW_SCALE = 4
MAX_FEATURE_CHANNELS = 16
GALLERY_MAX = 120
ACCENT = (60, 130, 220)
TOP = (240, 150, 40)


def default_samples_path():
    """Where the user's own digits are kept: digit_samples.npz next to the run history (the user
    data folder, or $NNPLAY_DATA_DIR)."""
    from ..training.history import default_path

    return Path(default_path()).with_name("digit_samples.npz")


def grey_qimage(a):
    """ndarray (H, W) in [0, 1] -> QImage (Grayscale8, owning its pixels)."""
    a = np.ascontiguousarray(np.clip(np.asarray(a, np.float32), 0, 1) * 255 + 0.5).astype(np.uint8)
    h, w = a.shape
    return QImage(a.data, w, h, w, QImage.Format_Grayscale8).copy()


def grey_pixmap(a, scale=1):
    img = grey_qimage(a)
    if scale != 1:
        img = img.scaled(img.width() * scale, img.height() * scale, Qt.IgnoreAspectRatio, Qt.FastTransformation)
    return QPixmap.fromImage(img)


def qimage_to_array(img):
    """A QImage of any format -> ndarray (H, W, 4) uint8 (RGBA)."""
    img = img.convertToFormat(QImage.Format_RGBA8888)
    h, w, bpl = img.height(), img.width(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, :w * 4].reshape(h, w, 4).copy()


def read_image_file(path, max_side=560):
    """Read a PNG/JPEG picture of a digit -> ndarray (H, W) in [0, 1], ink bright on dark.

    Raises EngineError (DataError) with a clear message when the file is not a readable image.
    """
    from engine.errors import DataError

    img = QImage(str(path))
    if img.isNull():
        raise DataError(f"cannot read {Path(path).name} as an image (PNG or JPEG expected)")
    if max(img.width(), img.height()) > max_side:
        img = img.scaled(max_side, max_side, Qt.KeepAspectRatio, Qt.SmoothTransformation)
    return vd.ink_on_dark(vd.to_grey(qimage_to_array(img)))


def feature_mosaic(maps, cols=4, limit=MAX_FEATURE_CHANNELS, gap=1):
    """Activation maps (C, H, W) -> one grey mosaic (rows*H + gaps, cols*W + gaps) in [0, 1], each
    channel scaled to its own range (the first ``limit`` channels)."""
    m = np.asarray(maps, np.float32)[:limit]
    c, h, w = m.shape
    cols = min(cols, c)
    rows = -(-c // cols)
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), 0.35, np.float32)
    lo = m.reshape(c, -1).min(axis=1)[:, None, None]
    hi = m.reshape(c, -1).max(axis=1)[:, None, None]
    m = (m - lo) / np.maximum(hi - lo, 1e-8)
    for k in range(c):
        r, q = divmod(k, cols)
        out[r * (h + gap):r * (h + gap) + h, q * (w + gap):q * (w + gap) + w] = m[k]
    return out


class TrainWorker(QThread):
    """Runs an ``engine.training.Trainer`` in its own thread; reports progress with queued signals.

    progressed(int, str) : percent done and a message. done(dict) : the result (or {"error": msg}).
    """

    progressed = Signal(int, str)
    done = Signal(dict)

    def __init__(self, network, data, config, parent=None):
        super().__init__(parent)
        from engine.training import Trainer

        self.trainer = Trainer(network, data, config, callback=self._on_event, throttle=0.2, prefetch=0)
        self.epochs = self.trainer.config.epochs
        self.result = None

    def _on_event(self, ev):
        if ev.get("type") == "epoch":
            acc = ev.get("train_accuracy")
            msg = f"epoch {ev['epoch'] + 1}/{self.epochs}" + (f", train accuracy {acc:.0%}" if acc is not None else "")
            self.progressed.emit(int(100 * (ev["epoch"] + 1) / self.epochs), msg)
        elif ev.get("type") == "step":
            done = ev["epoch"] + (ev["step"] + 1) / max(ev["steps_per_epoch"], 1)
            self.progressed.emit(int(100 * done / self.epochs), f"epoch {ev['epoch'] + 1}/{self.epochs}, "
                                                                 f"loss {ev['loss']:.3f}")

    def cancel(self):
        self.trainer.cancel()

    def run(self):
        try:
            self.result = self.trainer.run()
        except EngineError as exc:
            self.result = {"error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - reported in the panel, never a traceback
            self.result = {"error": f"{type(exc).__name__}: {exc}"}
        self.done.emit(dict(self.result or {}))


class _Data:
    """The minimal data object the Trainer reads (no dev/test)."""

    task = "classification"
    info = {}

    def __init__(self, x, y):
        self.x_train, self.y_train = x, y
        self.x_dev = self.y_dev = self.x_test = self.y_test = None


class DigitsPanel(QWidget):
    """Draw a digit, see the network's prediction, feature maps, own samples and mistakes.

    Parameters
    ----------
    document : NetworkDocument, optional
        The document whose network predicts (``set_document`` can set it later).
    samples_path : path, optional
        The .npz of the user's samples (default: :func:`default_samples_path`).

    Signals
    -------
    prediction_updated(object) : the probabilities (ndarray of shape (10,)) after each update.
    model_checked(str) : the model status text after the network was (re)checked.
    training_done(dict) : a quick training or a fine-tuning run ended (the Trainer's result).
    evaluated(object) : the confusion matrix (10, 10) after "Evaluate".
    """

    prediction_updated = Signal(object)
    model_checked = Signal(str)
    training_done = Signal(dict)
    evaluated = Signal(object)

    def __init__(self, document=None, samples_path=None, parent=None):
        super().__init__(parent)
        self.doc = None
        self.samples_path = Path(samples_path) if samples_path else default_samples_path()
        self._samples = None
        self.worker = None
        self.probs = None
        self.digit = np.zeros((vd.FRAME, vd.FRAME), np.float32)
        self.input_shape = None
        self.trained = False
        self.check_accuracy = None
        self.conv_nodes = []
        self._fingerprint = None
        self._eval = None
        self.last_update_seconds = None
        self._build_ui()
        self._recheck = QTimer(self)
        self._recheck.setSingleShot(True)
        self._recheck.setInterval(150)
        self._recheck.timeout.connect(self._check_if_visible)
        self._stale = False
        self._watch = QTimer(self)
        self._watch.setInterval(1500)
        self._watch.timeout.connect(self._watch_weights)
        if document is not None:
            self.set_document(document)

    # -- construction ------------------------------------------------------------------------
    def _build_ui(self):
        self.pad = DrawPad(280)
        # live while drawing (throttled by the pad), and at every change: stroke end, undo, clear
        self.pad.drawing.connect(self.update_prediction)
        self.pad.changed.connect(self.update_prediction)

        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Wipe the pad (Esc)")
        self.clear_button.clicked.connect(self.pad.clear)
        self.undo_button = QPushButton("Undo stroke")
        self.undo_button.setToolTip("Remove the last stroke (U)")
        self.undo_button.clicked.connect(self.pad.undo_stroke)
        self.open_button = QPushButton("Open image\u2026")
        self.open_button.setToolTip("Load a digit from a PNG or JPEG picture (dark or light background)")
        self.open_button.clicked.connect(self.open_image_dialog)
        for key, slot in (("Esc", self.pad.clear), ("U", self.pad.undo_stroke)):
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.WidgetWithChildrenShortcut)
            sc.activated.connect(slot)

        left = QVBoxLayout()
        left.setSpacing(6)
        left.addWidget(self.pad)
        row = QHBoxLayout()
        for b in (self.clear_button, self.undo_button, self.open_button):
            row.addWidget(b)
        left.addLayout(row)
        left.addStretch(1)

        # middle: the network's view of the digit and its answer
        self.guess_label = QLabel("\u2013")
        self.guess_label.setAlignment(Qt.AlignCenter)
        font = self.guess_label.font()
        font.setPointSize(22)
        font.setBold(True)
        self.guess_label.setFont(font)
        self.guess_label.setMinimumWidth(self.guess_label.fontMetrics().horizontalAdvance("0 (100%)") + 12)
        self.guess_label.setToolTip("The network's top guess and its probability (the largest softmax output)")
        self.preview = QLabel()
        self.preview.setFixedSize(vd.FRAME * PREVIEW_SCALE, vd.FRAME * PREVIEW_SCALE)
        self.preview.setToolTip("What the network sees: the drawing cropped, scaled into 20x20 keeping its "
                                "aspect and centred by its centre of mass in a 28x28 frame, as MNIST did")
        self.preview.setStyleSheet("border: 1px solid #777;")
        self.preview.setPixmap(grey_pixmap(self.digit, PREVIEW_SCALE))
        caption = QLabel("input 28\u00d728")
        caption.setAlignment(Qt.AlignCenter)
        caption.setStyleSheet("color: gray;")
        self.model_label = QLabel("no network")
        self.model_label.setWordWrap(True)
        self.train_button = QPushButton("Train quickly")
        self.train_button.setToolTip("Train the network on the bundled digits for a couple of epochs "
                                     "(in the background), or use the Training dock for a full run")
        self.train_button.clicked.connect(self.train_quickly)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setTextVisible(True)
        self.progress.hide()

        pg.setConfigOptions(antialias=True)
        self.plot = pg.PlotWidget()
        self.plot.setBackground(None)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.setYRange(0, 1.04, padding=0)
        self.plot.setXRange(-0.6, 9.6, padding=0)
        self.plot.setLabel("left", "probability")
        ax = self.plot.getAxis("bottom")
        ax.setTicks([[(i, str(i)) for i in range(10)]])
        self.plot.getAxis("left").setTicks([[(v, f"{v:.0%}") for v in (0, 0.25, 0.5, 0.75, 1.0)]])
        self.plot.setMinimumSize(250, 160)
        self.plot.setToolTip("The ten class probabilities (softmax output); the top guess is highlighted")
        self._brush = pg.mkBrush(*ACCENT)
        self._top_brush = pg.mkBrush(*TOP)
        self.bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.7,
                                    brushes=[self._brush] * 10, pen=pg.mkPen(None))
        self.plot.addItem(self.bars)

        mid = QVBoxLayout()
        mid.setSpacing(4)
        top = QHBoxLayout()
        pv = QVBoxLayout()
        pv.addWidget(self.preview, 0, Qt.AlignHCenter)
        pv.addWidget(caption)
        pv.addStretch(1)
        top.addLayout(pv)
        gv = QVBoxLayout()
        gv.addWidget(self.guess_label)
        gv.addWidget(self.model_label, 1, Qt.AlignTop)
        top.addLayout(gv, 1)
        mid.addLayout(top)
        hb = QHBoxLayout()
        hb.addWidget(self.train_button)
        hb.addWidget(self.progress, 1)
        mid.addLayout(hb)
        mid.addWidget(self.plot, 1)

        # right: tabs
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_maps_tab(), "Feature maps")
        self.tabs.addTab(self._build_samples_tab(), "My samples")
        self.tabs.addTab(self._build_mistakes_tab(), "Mistakes")
        self.tabs.currentChanged.connect(lambda _i: self.update_prediction() if self._maps_visible() else None)

        main = QWidget()
        ml = QHBoxLayout(main)
        ml.setContentsMargins(0, 0, 0, 0)
        ml.addLayout(left)
        ml.addLayout(mid, 1)
        self.splitter = QSplitter(Qt.Horizontal)
        self.splitter.addWidget(main)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        # in a scroll area: on a small screen (1280 px, beside the palette and inspector) the dock is
        # narrower than pad + plot + tabs, and the panel scrolls instead of widening the window
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setWidget(self.splitter)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(scroll)

    def _build_maps_tab(self):
        w = QWidget()
        self.maps_layout = QVBoxLayout(w)
        self.maps_layout.setAlignment(Qt.AlignTop)
        self.maps_hint = QLabel("Feature maps appear here for a convolutional network: each small image is "
                                "one filter's activation map for the drawn digit (bright = strong response).")
        self.maps_hint.setWordWrap(True)
        self.maps_layout.addWidget(self.maps_hint)
        self.map_labels = {}
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(w)
        return scroll

    def _build_samples_tab(self):
        w = QWidget()
        v = QVBoxLayout(w)
        row = QHBoxLayout()
        row.addWidget(QLabel("Label:"))
        self.label_spin = QSpinBox()
        self.label_spin.setRange(0, 9)
        self.label_spin.setToolTip("The digit you drew (the true label y)")
        row.addWidget(self.label_spin)
        self.add_button = QPushButton("Add to training set")
        self.add_button.setToolTip("Keep the drawn digit with this label among your own samples")
        self.add_button.clicked.connect(self.add_sample)
        row.addWidget(self.add_button)
        row.addStretch(1)
        v.addLayout(row)
        self.samples_list = QListWidget()
        self.samples_list.setViewMode(QListView.IconMode)
        self.samples_list.setIconSize(QSize(42, 42))
        self.samples_list.setResizeMode(QListView.Adjust)
        self.samples_list.setMovement(QListView.Static)
        self.samples_list.setSelectionMode(QAbstractItemView.ExtendedSelection)
        v.addWidget(self.samples_list, 1)
        row = QHBoxLayout()
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Delete the selected samples")
        self.remove_button.clicked.connect(self.remove_selected_samples)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        row.addWidget(QLabel("Epochs:"))
        self.finetune_epochs = QSpinBox()
        self.finetune_epochs.setRange(1, 50)
        self.finetune_epochs.setValue(3)
        self.finetune_epochs.setToolTip("Passes over your samples (mixed with bundled digits) per fine-tuning")
        row.addWidget(self.finetune_epochs)
        self.finetune_button = QPushButton("Fine-tune")
        self.finetune_button.setToolTip("Train the network a few epochs on your samples (each repeated, mixed with "
                                        "bundled digits so it keeps what it knew), in the background")
        self.finetune_button.clicked.connect(self.fine_tune)
        row.addWidget(self.finetune_button)
        v.addLayout(row)
        self.samples_status = QLabel("")
        self.samples_status.setWordWrap(True)
        v.addWidget(self.samples_status)
        return w

    def _build_mistakes_tab(self):
        w = QWidget()
        v = QVBoxLayout(w)
        row = QHBoxLayout()
        self.evaluate_button = QPushButton("Evaluate on test digits")
        self.evaluate_button.setToolTip("Predict every test digit and count right and wrong answers per class")
        self.evaluate_button.clicked.connect(self.evaluate)
        row.addWidget(self.evaluate_button)
        self.eval_label = QLabel("")
        row.addWidget(self.eval_label, 1)
        v.addLayout(row)
        h = QHBoxLayout()
        self.confusion = QTableWidget(10, 10)
        self.confusion.setHorizontalHeaderLabels([str(i) for i in range(10)])
        self.confusion.setVerticalHeaderLabels([str(i) for i in range(10)])
        self.confusion.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.confusion.setSelectionMode(QAbstractItemView.SingleSelection)
        self.confusion.horizontalHeader().setSectionResizeMode(QHeaderView.Fixed)
        self.confusion.verticalHeader().setSectionResizeMode(QHeaderView.Fixed)
        self.confusion.horizontalHeader().setDefaultSectionSize(26)
        self.confusion.verticalHeader().setDefaultSectionSize(19)
        self.confusion.setToolTip("Confusion matrix: row = true digit, column = predicted digit. Click a cell "
                                  "to see its examples.")
        self.confusion.cellClicked.connect(self.show_cell)
        self.confusion.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.confusion.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.confusion.setFixedSize(26 * 10 + 30, 19 * 10 + 30)
        h.addWidget(self.confusion, 0, Qt.AlignTop)
        gv = QVBoxLayout()
        self.gallery_label = QLabel("Evaluate, then click a cell of the confusion matrix (row = true digit, "
                                    "column = predicted digit) to see its examples.")
        self.gallery_label.setWordWrap(True)
        self.gallery_label.setStyleSheet("color: #555;")
        v.addWidget(self.gallery_label)
        self.gallery = QListWidget()
        self.gallery.setMinimumWidth(130)
        self.gallery.setViewMode(QListView.IconMode)
        self.gallery.setIconSize(QSize(42, 42))
        self.gallery.setResizeMode(QListView.Adjust)
        self.gallery.setMovement(QListView.Static)
        self.gallery.itemDoubleClicked.connect(self._gallery_to_pad)
        self.gallery.setToolTip("Double-click a digit to put it on the pad")
        gv.addWidget(self.gallery, 1)
        h.addLayout(gv, 1)
        v.addLayout(h, 1)
        return w

    # -- the document ------------------------------------------------------------------------
    def set_document(self, doc):
        """Predict with ``doc.network``; follow its edits and resets."""
        if self.doc is not None:
            for sig in ("reset", "changed"):
                try:
                    getattr(self.doc, sig).disconnect(self._recheck.start)
                except (RuntimeError, TypeError, AttributeError):
                    pass
        self.doc = doc
        for sig in ("reset", "changed"):
            s = getattr(doc, sig, None)
            if s is not None:
                s.connect(self._recheck.start)
        self._eval = None
        self.check_model()

    @property
    def network(self):
        return getattr(self.doc, "network", None)

    def _weights_fingerprint(self):
        net = self.network
        if net is None or not net.built:
            return (id(net), False)
        vals = []
        for p in net.parameters()[:6]:
            v = p.value.ravel()
            vals.append(float(v[:: max(1, v.size // 7)].sum()))
        return (id(net), tuple(vals))

    def _busy_elsewhere(self):
        """The Training dock trains this network (it locked the document): running it here, in the
        GUI thread, would overwrite the layers' caches under the training thread's backward pass."""
        return self.worker is None and bool(getattr(self.doc, "locked_reason", None))

    def _check_if_visible(self):
        """Re-check after an edit; a hidden panel (a tab behind the training dock) waits until shown."""
        if self._busy_elsewhere():
            return  # _watch_weights re-checks once training has changed the weights and ended
        if self.isVisible():
            self.check_model()
        else:
            self._stale = True

    def _watch_weights(self):
        """Weights change in place while the training dock trains: re-check after it."""
        if self.worker is not None or self._busy_elsewhere():
            return
        if self._weights_fingerprint() != self._fingerprint:
            self.check_model()

    def check_model(self):
        """Can the network read 28x28 digits and give 10 classes? Is it trained? Updates the
        status line (emits model_checked) and the prediction."""
        net = self.network
        self.input_shape = None
        self.trained = False
        self.check_accuracy = None
        status = ""
        if net is None or len(net) == 0:
            status = "No network: open a digits preset (File > Presets > digits_mlp or digits_cnn)."
        else:
            try:
                shapes = net.infer_shapes()
                ins, outs = net.inputs, net.outputs
                if len(ins) != 1 or len(outs) != 1:
                    raise EngineError("the digits panel needs a network with one input and one output")
                in_shape = tuple(shapes[ins[0]])
                out_shape = tuple(shapes[outs[0]])
                if int(np.prod(in_shape)) != vd.FRAME * vd.FRAME:
                    raise EngineError(f"this network reads inputs of shape {in_shape}, not 28x28 digits")
                if out_shape != (10,):
                    raise EngineError(f"this network outputs shape {out_shape}, not 10 class scores")
                if not net.built:
                    seed = int((getattr(self.doc, "training", None) or {}).get("seed", 0) or 0)
                    net.build(seed=seed)
                self.input_shape = in_shape
                images, labels = self._check_set()
                pred = net.predict(vd.as_network_input(images, in_shape)).argmax(axis=1)
                self.check_accuracy = float(np.mean(pred == labels))
                self.trained = self.check_accuracy >= TRAINED_ACCURACY
                if self.trained:
                    status = (f"<b>{getattr(self.doc, 'name', 'network')}</b>: trained "
                              f"({self.check_accuracy:.0%} right on {len(labels)} bundled digits).")
                else:
                    status = (f"<span style='color:#c60'><b>Untrained</b></span> "
                              f"({self.check_accuracy:.0%} right on {len(labels)} bundled digits, chance is 10%): "
                              f"press <i>Train quickly</i> or train it in the Training dock.")
            except EngineError as exc:
                status = (f"<span style='color:#c33'>{exc}</span>: the Digits panel needs a network that "
                          "reads 28x28 digits and gives 10 class scores (File > Presets > digits_mlp, "
                          "digits_cnn or lenet5).")
            except Exception as exc:  # noqa: BLE001 - a half-edited network shows a message, never crashes
                status = f"<span style='color:#c33'>cannot run the network: {exc}</span>"
        self._fingerprint = self._weights_fingerprint()
        self.model_label.setText(status)
        usable = self.input_shape is not None
        self.train_button.setVisible(usable and not self.trained and self.worker is None)
        self.train_button.setEnabled(usable and self.worker is None)
        self.finetune_button.setEnabled(usable and self.worker is None)
        self.evaluate_button.setEnabled(usable)
        self._update_conv_nodes()
        self.model_checked.emit(status)
        self.update_prediction()
        return status

    @staticmethod
    def _check_set():
        from engine.data import digits_arrays

        images, labels = digits_arrays()
        return images[::CHECK_STRIDE].astype(np.float32) / 255.0, labels[::CHECK_STRIDE]

    def _update_conv_nodes(self):
        net = self.network
        names = []
        if self.input_shape is not None:
            try:
                shapes = net.infer_shapes()
                names = [n for n in net.topological_order()
                         if net.nodes[n].layer.type_name == "Conv2D" and len(shapes[n]) == 3]
            except EngineError:
                names = []
        if names == self.conv_nodes:
            return
        self.conv_nodes = names
        for title, label in self.map_labels.values():
            self.maps_layout.removeWidget(title)
            self.maps_layout.removeWidget(label)
            title.deleteLater()
            label.deleteLater()
        self.map_labels = {}
        self.maps_hint.setVisible(not names)
        for n in names:
            title = QLabel(n)
            label = QLabel()
            label.setToolTip(f"Activation maps of {n}: one small image per filter (each scaled to its own range)")
            self.maps_layout.addWidget(title)
            self.maps_layout.addWidget(label)
            self.map_labels[n] = (title, label)

    def _maps_visible(self):
        return bool(self.conv_nodes) and self.tabs.currentIndex() == 0

    # -- prediction --------------------------------------------------------------------------
    def update_prediction(self):
        """Preprocess the pad, run the network, update the input preview, bars and top guess."""
        t0 = time.perf_counter()
        self.digit = vd.mnist_preprocess(self.pad.array())
        self.preview.setPixmap(grey_pixmap(self.digit, PREVIEW_SCALE))
        net = self.network
        empty = not np.any(self.digit > 0)
        if self.input_shape is None or net is None or empty:
            self.probs = None
            self.bars.setOpts(height=np.zeros(10), brushes=[self._brush] * 10)
            self.guess_label.setText("\u2013")
            self.last_update_seconds = time.perf_counter() - t0
            self.prediction_updated.emit(None)
            return None
        # the feature maps come back with this call's output (nothing is stored on the network,
        # so a training thread's own activations are never replaced)
        maps = self._maps_visible()
        try:
            out, acts = net.forward_with_activations(vd.as_network_input(self.digit, self.input_shape),
                                                     keep=set(self.conv_nodes) if maps else ())
        except Exception as exc:  # noqa: BLE001 - e.g. an edit in progress
            self.model_label.setText(f"<span style='color:#c33'>cannot run the network: {exc}</span>")
            self.probs = None
            return None
        probs = vd.probabilities(out)[0]
        self.probs = probs
        top = int(np.argmax(probs))
        brushes = [self._brush] * 10
        brushes[top] = self._top_brush
        self.bars.setOpts(height=probs, brushes=brushes)
        self.guess_label.setText(f"{top} ({probs[top]:.0%})")
        if self.trained:
            self.guess_label.setStyleSheet("")
        else:
            self.guess_label.setStyleSheet("color: gray;")
        self.label_spin.setValue(top)
        if maps:
            for n, (_title, label) in self.map_labels.items():
                a = acts.get(n)
                if a is not None and a.ndim == 4:
                    mosaic = feature_mosaic(a[0])
                    scale = max(1, min(4, 56 // max(a.shape[2], 1)))
                    label.setPixmap(grey_pixmap(mosaic, scale))
                    _title.setText(f"{n}: {a.shape[1]} filters, {a.shape[2]}\u00d7{a.shape[3]}"
                                   + (f" (first {MAX_FEATURE_CHANNELS})" if a.shape[1] > MAX_FEATURE_CHANNELS else ""))
        self.last_update_seconds = time.perf_counter() - t0
        self.prediction_updated.emit(probs)
        return probs

    # -- loading a picture -------------------------------------------------------------------
    def open_image_dialog(self):
        path, _ = QFileDialog.getOpenFileName(self, "Open a digit picture", str(Path.home()),
                                              "Images (*.png *.jpg *.jpeg *.bmp)")
        if path:
            self.load_image(path)

    def load_image(self, path):
        """Put the digit of a picture file on the pad (inverted if its background is light)."""
        try:
            grey = read_image_file(path)
        except EngineError as exc:
            self.model_label.setText(f"<span style='color:#c33'>{exc}</span>")
            return False
        self.pad.set_background(grey)
        return True

    def _gallery_to_pad(self, item):
        idx = item.data(Qt.UserRole)
        if self._eval is not None and idx is not None:
            self.pad.set_background(self._eval["x"][int(idx)])

    # -- own samples -------------------------------------------------------------------------
    @property
    def samples(self):
        if self._samples is None:
            try:
                self._samples = vd.DigitSamples(self.samples_path)
            except EngineError as exc:
                self.samples_status.setText(f"{exc}")
                self._samples = vd.DigitSamples(self.samples_path.with_name(self.samples_path.stem + "_new.npz"))
            self._fill_samples()
        return self._samples

    def _fill_samples(self):
        s = self._samples
        self.samples_list.clear()
        for i, (img, lab) in enumerate(zip(s.images, s.labels)):
            item = QListWidgetItem(QIcon(grey_pixmap(img / 255.0, 2)), str(int(lab)))
            item.setData(Qt.UserRole, i)
            item.setToolTip(f"sample {i + 1}: labelled {int(lab)}")
            self.samples_list.addItem(item)
        counts = np.bincount(s.labels, minlength=10)
        self.samples_status.setText(f"{len(s)} samples in {self.samples_path}"
                                    + (" (per digit: " + " ".join(f"{d}:{c}" for d, c in enumerate(counts) if c)
                                       + ")" if len(s) else ""))

    def showEvent(self, event):  # noqa: N802 - Qt API
        super().showEvent(event)
        _ = self.samples
        self._watch.start()
        self._watch_weights()  # trained in the Training dock while this tab was hidden?
        if self._stale:
            self._stale = False
            self.check_model()

    def hideEvent(self, event):  # noqa: N802 - Qt API
        super().hideEvent(event)
        self._watch.stop()

    def add_sample(self, label=None):
        """Keep the current 28x28 digit with ``label`` (default: the label box)."""
        label = self.label_spin.value() if label is None or isinstance(label, bool) else int(label)
        try:
            i = self.samples.add(self.digit, label)
        except EngineError as exc:
            self.samples_status.setText(str(exc))
            return None
        self._fill_samples()
        return i

    def remove_selected_samples(self):
        rows = sorted((it.data(Qt.UserRole) for it in self.samples_list.selectedItems()), reverse=True)
        try:
            for r in rows:
                self.samples.remove(int(r))
        except EngineError as exc:
            self.samples_status.setText(str(exc))
        self._fill_samples()
        return len(rows)

    # -- training in the background ----------------------------------------------------------
    def _busy_reason(self):
        if self.worker is not None:
            return "already training"
        reason = getattr(self.doc, "locked_reason", None)
        if reason:
            return "the network is being trained elsewhere (Training dock): wait for it to finish"
        if self.input_shape is None:
            return "this network cannot read digits"
        return None

    def _training_config(self, epochs, lr_scale=1.0, batch_size=None):
        from engine.training import TrainConfig

        t = copy.deepcopy(getattr(self.doc, "training", None) or {})
        t["epochs"] = int(epochs)
        if batch_size:
            t["batch_size"] = int(batch_size)
        t["early_stopping"] = None
        opt = dict(t.get("optimizer") or {"type": "adam", "lr": 0.001})
        opt["lr"] = float(opt.get("lr", 0.001)) * lr_scale
        t["optimizer"] = opt
        if lr_scale != 1.0:
            t["schedule"] = {"type": "constant"}
            t["augment"] = None
        return TrainConfig.from_dict(t)

    def _digits_splits(self):
        from engine.data import load_dataset

        data = getattr(self.doc, "data", None) or {}
        if data.get("name") != "digits":
            data = {"name": "digits"}
        return load_dataset(data)

    def _start(self, data, config, what):
        worker = TrainWorker(self.network, data, config, self)
        worker.progressed.connect(self._on_progress)
        worker.done.connect(self._on_trained)
        self.worker = worker
        self._what = what
        if self.doc is not None and hasattr(self.doc, "set_locked"):
            self.doc.set_locked(f"wait until the digits panel's {what} finishes")
        for b in (self.train_button, self.finetune_button):
            b.setEnabled(False)
        self.progress.setValue(0)
        self.progress.setFormat(f"{what}\u2026")
        self.progress.show()
        worker.start()
        return True

    def train_quickly(self, epochs=None):
        """Train the network on the bundled digits for a couple of epochs in a worker thread."""
        reason = self._busy_reason()
        if reason:
            self.model_label.setText(reason)
            return False
        try:
            sp = self._digits_splits()
            conv = bool(self.conv_nodes)
            config = self._training_config(epochs or (2 if conv else 4))
        except EngineError as exc:
            self.model_label.setText(str(exc))
            return False
        data = _Data(sp.x_train, sp.y_train)
        return self._start(data, config, "quick training")

    def fine_tune(self, epochs=None):
        """Fine-tune the network on the user's samples (plus replayed bundled digits)."""
        reason = self._busy_reason()
        if reason:
            self.samples_status.setText(reason)
            return False
        s = self.samples
        try:
            sp = self._digits_splits()
            x, y = vd.fine_tune_data(s.inputs(), s.labels, sp.x_train[:, 0] if sp.x_train.ndim == 4 else sp.x_train,
                                     sp.y_train, seed=len(s))
            config = self._training_config(epochs or self.finetune_epochs.value(), lr_scale=0.5, batch_size=32)
        except EngineError as exc:
            self.samples_status.setText(str(exc))
            return False
        data = _Data(vd.as_network_input(x, self.input_shape), y)
        return self._start(data, config, "fine-tuning")

    def _on_progress(self, percent, message):
        self.progress.setValue(int(percent))
        self.progress.setFormat(message)

    def _on_trained(self, result):
        w = self.worker
        if w is not None:
            w.wait(5000)
        self.worker = None
        if self.doc is not None and hasattr(self.doc, "set_locked"):
            self.doc.set_locked(None)
        self.progress.hide()
        msg = result.get("error")
        if msg:
            text = f"{self._what} failed: {msg}"
        else:
            acc = result.get("train_accuracy")
            text = f"{self._what} done: {result.get('epochs', 0)} epochs" + (
                f", train accuracy {acc:.1%}" if acc is not None else "")
        self.check_model()
        if self._what == "fine-tuning":
            if not msg and self._samples is not None and len(self._samples) and self.input_shape is not None:
                pred = self.network.predict(vd.as_network_input(self._samples.inputs(), self.input_shape)).argmax(axis=1)
                text += f"; your samples: {np.mean(pred == self._samples.labels):.0%} right"
            self.samples_status.setText(text)
        elif msg:
            self.model_label.setText(f"<span style='color:#c33'>{text}</span>")
        if self._eval is not None:
            self.eval_label.setText("the network has changed: evaluate again")
        self.training_done.emit(result)

    def shutdown(self):
        """Stop a running worker (the window is closing)."""
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait(10000)

    # -- mistakes ----------------------------------------------------------------------------
    def evaluate(self):
        """Predict the test digits; fill the confusion matrix and show every misclassified one."""
        if self.input_shape is None:
            return None
        if getattr(self.doc, "locked_reason", None):
            # a training thread updates the weights in place: the scores would mix two steps
            self.eval_label.setText("the network is training: evaluate when it is done")
            return None
        from engine.metrics import confusion_matrix

        try:
            sp = self._digits_splits()
            probs = vd.probabilities(self.network.predict(vd.as_network_input(
                sp.x_test.reshape(-1, vd.FRAME, vd.FRAME), self.input_shape)))
        except EngineError as exc:
            self.eval_label.setText(str(exc))
            return None
        y = np.asarray(sp.y_test)
        pred = probs.argmax(axis=1)
        cm = np.asarray(confusion_matrix(y, pred, 10))
        self._eval = {"x": sp.x_test.reshape(-1, vd.FRAME, vd.FRAME), "y": y, "pred": pred, "probs": probs, "cm": cm}
        wrong = int((pred != y).sum())
        self.eval_label.setText(f"{len(y) - wrong}/{len(y)} right ({1 - wrong / len(y):.1%}); {wrong} mistakes")
        big = max(1, cm.max())
        off = cm.copy()
        np.fill_diagonal(off, 0)
        big_off = max(1, off.max())
        for i in range(10):
            for j in range(10):
                n = int(cm[i, j])
                item = QTableWidgetItem(str(n) if n else "")
                item.setTextAlignment(Qt.AlignCenter)
                if i == j:
                    g = int(255 - 120 * n / big)
                    item.setBackground(QColor(g, 255, g))
                elif n:
                    f = n / big_off
                    item.setBackground(QColor(255, int(235 - 150 * f), int(235 - 150 * f)))
                item.setForeground(QColor(20, 20, 20))
                item.setToolTip(f"true {i}, predicted {j}: {n} digit(s)")
                self.confusion.setItem(i, j, item)
        self.show_cell(-1, -1)
        self.evaluated.emit(cm)
        return cm

    def show_cell(self, row, col):
        """Show the test digits with true class ``row`` predicted as ``col`` (-1, -1: all mistakes)."""
        e = self._eval
        if e is None:
            return []
        if row < 0:
            idx = np.flatnonzero(e["pred"] != e["y"])
            what = "all misclassified test digits"
        else:
            idx = np.flatnonzero((e["y"] == row) & (e["pred"] == col))
            what = f"true {row}, predicted {col}"
        # most confident first: the most surprising mistakes
        idx = idx[np.argsort(-e["probs"][idx, e["pred"][idx]])]
        self.gallery.clear()
        for k in idx[:GALLERY_MAX]:
            p = e["probs"][k, e["pred"][k]]
            item = QListWidgetItem(QIcon(grey_pixmap(e["x"][k], 2)), f"{e['y'][k]}\u2192{e['pred'][k]}")
            item.setToolTip(f"true {e['y'][k]}, predicted {e['pred'][k]} with {p:.0%}")
            item.setData(Qt.UserRole, int(k))
            self.gallery.addItem(item)
        more = f" (first {GALLERY_MAX})" if len(idx) > GALLERY_MAX else ""
        self.gallery_label.setText(f"{what}: {len(idx)} digit(s){more}. Double-click one to put it on the pad.")
        return [int(k) for k in idx]
