"""Live plots of the training dock (pyqtgraph). Each plot creates its curves once and later only
calls ``setData``; the dock feeds them from the worker's snapshots.

- :class:`CostPlot`: cost of train (per step and per epoch) and dev (per epoch), log-scale toggle
  and smoothing by an exponentially weighted average with bias correction (:func:`ewa`).
- :class:`MetricsPlot`: accuracy of train and dev per epoch, and the learning rate.
- :class:`GradNormPlot`: per-layer gradient norms with the vanishing (< 1e-6) and exploding
  (> 1e3) ranges marked.
- :class:`HistogramPlot`: activation and weight histograms of the layer picked on the canvas.
- :class:`BoundaryPlot`: the decision boundary of a 2-D toy set as a heat map with train and test
  points, a discretize toggle, and each hidden neuron's small map (hover one to see it large).
"""

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QGraphicsItem, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from .health import EXPLODING, VANISHING

ORANGE = (245, 147, 34)
BLUE = (8, 119, 189)
TRAIN_COLOR = (31, 119, 180)
DEV_COLOR = (214, 39, 40)
PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


def ewa(values, beta):
    """Exponentially weighted average with bias correction, as the optimizers use it.

    v_t = beta * v_{t-1} + (1 - beta) * x_t with v_0 = 0, reported as v_t / (1 - beta^t) so the
    first values are not pulled towards zero. values : ndarray of shape (n,); beta in [0, 1).
    """
    x = np.asarray(values, dtype=np.float64)
    if beta <= 0 or x.size == 0:
        return x.copy()
    out = np.empty_like(x)
    v = 0.0
    for t, xt in enumerate(x, start=1):
        v = beta * v + (1.0 - beta) * xt
        out[t - 1] = v / (1.0 - beta ** t)
    return out


def _plot(title, left, bottom="epoch"):
    w = pg.PlotWidget()
    w.setBackground("w")
    p = w.getPlotItem()
    for name in ("left", "bottom"):
        # an axis is re-rendered only when its range changes, not on every repaint of the curves
        p.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        p.getAxis(name).enableAutoSIPrefix(False)  # "0.001", not "1 (x0.001)"
    p.setTitle(title, size="9pt")
    p.setLabel("left", left)
    p.setLabel("bottom", bottom)
    p.showGrid(x=True, y=True, alpha=0.2)
    p.setClipToView(True)
    p.setDownsampling(auto=True, mode="peak")
    return w


def epoch_span(x, total=None):
    """The x range (in epochs) to show for data reaching ``x``: grows in steps (1, 2, 5, 10, 20,
    ...), so the axes are redrawn rarely, and never beyond the run's ``total`` epochs."""
    need = max(float(x) * 1.05, 1.0)
    span = 1.0
    while span < need:
        for f in (2.0, 2.5, 2.0):
            span *= f
            if span >= need:
                break
    if total:
        span = min(span, max(float(total), 1.0)) if need <= total else need
    return span


def nice_ceiling(v):
    """The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 (times a power of ten) that is >= v > 0."""
    if not np.isfinite(v) or v <= 0:
        return 1.0
    e = math.floor(math.log10(v))
    for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if m * 10 ** e >= v * (1 - 1e-12):
            return m * 10 ** e
    return 10.0 ** (e + 1)


class XSpan:
    """Keeps plots' x axes at :func:`epoch_span` of the data, changing only when it grows."""

    def __init__(self, *plot_items):
        self.items = plot_items
        self.total = None
        self.span = None
        for p in plot_items:
            p.disableAutoRange(axis="x")
        self.update(0.0)

    def set_total(self, total):
        self.total = total
        self.span = None
        self.update(0.0)

    def update(self, x):
        span = epoch_span(x, self.total)
        if span != self.span:
            self.span = span
            for p in self.items:
                p.setXRange(0, span, padding=0.02)


class KeyLabel(QLabel):
    """A compact legend outside the plot (so it never covers a curve): coloured marks and names
    on one wrapping line. ``entries`` are (name, rgb, mark) with mark a short text like a line or
    a dot."""

    def __init__(self, entries=(), parent=None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.RichText)
        self.setStyleSheet("font-size: 8pt; color: #444;")
        self.entries = []
        self.set_entries(entries)

    def set_entries(self, entries):
        self.entries = list(entries)
        parts = []
        for name, rgb, mark in self.entries:
            r, g, b = rgb[:3]
            parts.append(f"<span style='color: rgb({r},{g},{b}); font-weight: bold'>{mark}</span>&nbsp;{name.replace(' ', '&nbsp;')}")
        self.setText(" &nbsp; ".join(parts))
        self.setVisible(bool(self.entries))

    def names(self):
        return [e[0] for e in self.entries]


def _pen(rgb, width=2, alpha=255, style=None):
    pen = pg.mkPen(QColor(*rgb, alpha), width=width)
    if style is not None:
        pen.setStyle(style)
    return pen


class CostPlot(QWidget):
    """Cost (the loss plus the L1/L2 penalty) of train and dev against epochs."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.steps_x, self.steps_y = [], []
        self._steps_max = -math.inf
        self.epochs, self.train, self.dev = [], [], []
        self.widget = _plot("Cost", "cost J")
        p = self.widget.getPlotItem()
        self.key = KeyLabel([("train per step", (160, 190, 220), "\u2014"), ("smoothed", TRAIN_COLOR, "\u2014"),
                             ("epoch mean", TRAIN_COLOR, "\u25cf"), ("dev", DEV_COLOR, "\u2014\u25cf")])
        self.raw_curve = p.plot([], [], pen=_pen(TRAIN_COLOR, 1, 60), name="train (per step)")
        self.smooth_curve = p.plot([], [], pen=_pen(TRAIN_COLOR, 2), name="train (smoothed)")
        self.train_curve = p.plot([], [], pen=None, symbol="o", symbolSize=5, symbolBrush=TRAIN_COLOR,
                                  symbolPen=None, name="train (epoch mean)")
        self.dev_curve = p.plot([], [], pen=_pen(DEV_COLOR, 2), symbol="o", symbolSize=5,
                                symbolBrush=DEV_COLOR, symbolPen=None, name="dev (epoch)")
        self.log_box = QCheckBox("log scale")
        self.log_box.setToolTip("Show the cost on a logarithmic axis: late, small improvements stay visible.")
        self.log_box.toggled.connect(self._on_log_toggled)
        self.smooth_slider = QSlider(Qt.Horizontal)
        self.smooth_slider.setRange(0, 99)
        self.smooth_slider.setMinimumWidth(50)  # stays usable when the Curves tab is narrow
        self.smooth_slider.setValue(90)
        self.smooth_slider.setToolTip(
            "Smoothing beta of an exponentially weighted average of the per-step cost, with bias "
            "correction (v_t / (1 - beta^t)) so the start is not pulled to zero: about 1/(1-beta) "
            "steps are averaged. The same maths momentum and Adam use on gradients.")
        self.smooth_label = QLabel()
        self.smooth_slider.valueChanged.connect(self._on_smoothing_changed)
        top = QHBoxLayout()
        top.addWidget(self.log_box)
        top.addWidget(QLabel("smoothing"))
        top.addWidget(self.smooth_slider, 1)
        top.addWidget(self.smooth_label)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.key)
        lay.addWidget(self.widget, 1)
        self._on_smoothing_changed(self.smooth_slider.value())

    @property
    def beta(self):
        return self.smooth_slider.value() / 100.0

    def _on_smoothing_changed(self, value):
        self.smooth_label.setText(f"beta {value / 100:.2f}")
        self._dirty_steps = True
        self.refresh()

    def _on_log_toggled(self, on):
        p = self.widget.getPlotItem()
        p.setLogMode(y=bool(on))
        self._ytop = None
        if on:
            p.enableAutoRange(axis="y")
        else:
            self._update_yrange()

    def _update_yrange(self):
        """Linear scale: y from 0 to a round number above the largest cost, so the axis is
        redrawn only when that number changes (not on every refresh)."""
        if self.log_box.isChecked():
            return
        vals = [self._steps_max] if self.steps_y else []
        finite = [v for v in self.train + self.dev if np.isfinite(v)]
        if finite:
            vals.append(max(finite))
        top = nice_ceiling(max(vals)) if vals else 1.0
        if top != getattr(self, "_ytop", None):
            self._ytop = top
            self.widget.getPlotItem().setYRange(0, top, padding=0.02)

    def clear(self):
        self.steps_x, self.steps_y = [], []
        self._steps_max = -math.inf  # running max of steps_y (no pass over every step per redraw)
        self.epochs, self.train, self.dev = [], [], []
        self._smooth, self._v, self._t = [], 0.0, 0
        self._ytop = None
        self._dirty_steps = self._dirty_epochs = True
        self.refresh()

    def add_step(self, x, loss):
        if loss is not None and np.isfinite(loss):
            self.steps_x.append(float(x))
            self.steps_y.append(float(loss))
            self._steps_max = max(self._steps_max, float(loss))
            self._dirty_steps = True

    def add_epoch(self, epoch, train_loss, dev_loss):
        self.epochs.append(float(epoch))
        self.train.append(np.nan if train_loss is None else float(train_loss))
        self.dev.append(np.nan if dev_loss is None else float(dev_loss))
        self._dirty_epochs = True

    def _smoothed(self):
        """EWA of the per-step costs, extended incrementally (recomputed when beta changes)."""
        beta = self.beta
        if getattr(self, "_beta", None) != beta or len(self._smooth) > len(self.steps_y):
            self._beta, self._smooth, self._v, self._t = beta, [], 0.0, 0
        if beta <= 0:
            return np.asarray(self.steps_y, dtype=np.float64)
        v, t = self._v, self._t
        for xt in self.steps_y[len(self._smooth):]:
            t += 1
            v = beta * v + (1.0 - beta) * xt
            self._smooth.append(v / (1.0 - beta ** t))
        self._v, self._t = v, t
        return np.asarray(self._smooth, dtype=np.float64)

    def refresh(self):
        if getattr(self, "_dirty_steps", True):
            sx = np.asarray(self.steps_x, dtype=np.float64)
            self.raw_curve.setData(sx, np.asarray(self.steps_y, dtype=np.float64))
            self.smooth_curve.setData(sx, self._smoothed())
            self._dirty_steps = False
        if getattr(self, "_dirty_epochs", True):
            ex = np.asarray(self.epochs, dtype=np.float64)
            # the train cost of an epoch is the mean over its mini-batches: drawn mid-epoch
            self.train_curve.setData(ex - 0.5, np.asarray(self.train, dtype=np.float64))
            dev = np.asarray(self.dev, dtype=np.float64)
            ok = np.isfinite(dev)
            self.dev_curve.setData(ex[ok], dev[ok])
            self._dirty_epochs = False
        self._update_yrange()


class MetricsPlot(QWidget):
    """Accuracy of train and dev per epoch (top) and the learning rate (bottom)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.epochs, self.train, self.dev = [], [], []
        self.lr_x, self.lr_y = [], []
        self.acc_widget = _plot("Accuracy", "accuracy")
        p = self.acc_widget.getPlotItem()
        self.key = KeyLabel([("train", TRAIN_COLOR, "\u2014\u25cf"), ("dev", DEV_COLOR, "\u2014\u25cf")])
        p.setYRange(0, 1.0)
        self.train_curve = p.plot([], [], pen=_pen(TRAIN_COLOR), symbol="o", symbolSize=4,
                                  symbolBrush=TRAIN_COLOR, symbolPen=None, name="train")
        self.dev_curve = p.plot([], [], pen=_pen(DEV_COLOR), symbol="o", symbolSize=4,
                                symbolBrush=DEV_COLOR, symbolPen=None, name="dev")
        self.lr_widget = _plot("Learning rate", "alpha")
        self.lr_curve = self.lr_widget.getPlotItem().plot([], [], pen=_pen((80, 80, 80)))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.key)
        lay.addWidget(self.acc_widget, 3)
        lay.addWidget(self.lr_widget, 2)

    def clear(self):
        self.epochs, self.train, self.dev = [], [], []
        self.lr_x, self.lr_y = [], []
        self._dirty_epochs = self._dirty_lr = True
        self.refresh()

    def add_epoch(self, epoch, train_acc, dev_acc):
        self.epochs.append(float(epoch))
        self.train.append(np.nan if train_acc is None else float(train_acc))
        self.dev.append(np.nan if dev_acc is None else float(dev_acc))
        self._dirty_epochs = True

    def add_lr(self, x, lr, force=False):
        # a new point when the rate changes or a whole epoch went by (not on every step event);
        # ``force``: the run's last point, so the line reaches the end of the run
        if lr is not None and (not self.lr_y or lr != self.lr_y[-1] or x - self.lr_x[-1] >= 1.0
                               or (force and x > self.lr_x[-1])):
            self.lr_x.append(float(x))
            self.lr_y.append(float(lr))
            self._dirty_lr = True

    def refresh(self):
        if getattr(self, "_dirty_epochs", True):
            ex = np.asarray(self.epochs, dtype=np.float64)
            for curve, ys in ((self.train_curve, self.train), (self.dev_curve, self.dev)):
                y = np.asarray(ys, dtype=np.float64)
                ok = np.isfinite(y)
                curve.setData(ex[ok], y[ok])
            self._dirty_epochs = False
        if getattr(self, "_dirty_lr", True):
            self.lr_curve.setData(np.asarray(self.lr_x), np.asarray(self.lr_y))
            if self.lr_y:
                top = max(self.lr_y)
                self.lr_widget.getPlotItem().setYRange(0, top * 1.15 if top > 0 else 1, padding=0)
            self._dirty_lr = False


class GradNormPlot(QWidget):
    """L2 norm of each layer's parameter gradients over time, log scale, with bands."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.widget = _plot("Gradient norms", "|dW|")  # per layer (the key names them); fits a narrow plot
        self.widget.setToolTip("L2 norm of each layer's weight gradients. Below 1e-6 (blue band) the "
                               "gradient vanishes and the layer stops learning; above 1e3 (red band) "
                               "it explodes and the cost diverges.")
        p = self.widget.getPlotItem()
        p.setLogMode(y=True)
        self.key = KeyLabel()
        lo, hi = np.log10(VANISHING), np.log10(EXPLODING)
        self.vanish_band = pg.LinearRegionItem((lo - 30, lo), orientation="horizontal", movable=False,
                                               brush=pg.mkBrush(66, 133, 244, 45), pen=pg.mkPen(None))
        self.explode_band = pg.LinearRegionItem((hi, hi + 30), orientation="horizontal", movable=False,
                                                brush=pg.mkBrush(229, 57, 53, 45), pen=pg.mkPen(None))
        p.addItem(self.vanish_band, ignoreBounds=True)
        p.addItem(self.explode_band, ignoreBounds=True)
        for text, y, anchor, color in (("vanishing", lo, (0, 0), (40, 90, 200)),
                                       ("exploding", hi, (0, 1), (200, 40, 40))):
            label = pg.TextItem(text, color=color, anchor=anchor)
            label.setPos(0, y)
            p.addItem(label, ignoreBounds=True)
        self.curves = {}
        self.data = {}
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.widget, 1)
        lay.addWidget(self.key)

    def clear(self):
        """Forget every layer's curve (a new run may be of another network with other layers)."""
        p = self.widget.getPlotItem()
        for c in self.curves.values():
            p.removeItem(c)
        self.curves, self.data = {}, {}
        self.key.set_entries([])
        self._dirty = True

    def add(self, x, norms):
        for name, v in (norms or {}).items():
            if name not in self.curves:
                color = PALETTE[len(self.curves) % len(PALETTE)]
                self.curves[name] = self.widget.getPlotItem().plot([], [], pen=_pen(color), name=name)
                self.data[name] = ([], [])
                self.key.set_entries([*self.key.entries, (name, color, "\u2014")])
            xs, ys = self.data.setdefault(name, ([], []))
            v = float(v) if v is not None else np.nan
            xs.append(float(x))
            ys.append(v if np.isfinite(v) and v > 0 else (1e-30 if v == 0 else np.nan))
            self._dirty = True

    def refresh(self):
        if not getattr(self, "_dirty", True):
            return
        self._dirty = False
        lo, hi = [], []
        for name, curve in self.curves.items():
            xs, ys = self.data.get(name, ([], []))
            y = np.asarray(ys, dtype=np.float64)
            ok = np.isfinite(y)
            curve.setData(np.asarray(xs, dtype=np.float64)[ok], y[ok])
            if ok.any():
                lo.append(np.log10(y[ok].min()))
                hi.append(np.log10(y[ok].max()))
        if lo:
            # keep both bands' edges in sight so a curve's distance to them reads at a glance;
            # whole decades, so the axis is redrawn only when a curve leaves them
            yr = (math.floor(min(min(lo), np.log10(VANISHING) - 1)), math.ceil(max(max(hi), np.log10(EXPLODING) + 1)))
            if yr != getattr(self, "_yrange", None):
                self._yrange = yr
                self.widget.getPlotItem().setYRange(*yr, padding=0.02)


class HistogramPlot(QWidget):
    """Histograms of the selected layer's activations (on a fixed train batch) and weights."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.act_widget = _plot("Activations", "count", bottom="value")
        self.w_widget = _plot("Weights", "count", bottom="value")
        self.act_curve = self.act_widget.getPlotItem().plot(
            [0, 1], [0], stepMode="center", fillLevel=0, brush=(31, 119, 180, 150), pen=_pen(TRAIN_COLOR, 1))
        self.w_curve = self.w_widget.getPlotItem().plot(
            [0, 1], [0], stepMode="center", fillLevel=0, brush=(255, 127, 14, 150), pen=_pen((255, 127, 14), 1))
        self.title = QLabel("Pick a layer on the canvas to see its activations and weights.")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.title)
        row = QHBoxLayout()
        row.addWidget(self.act_widget)
        row.addWidget(self.w_widget)
        lay.addLayout(row, 1)
        self.layer = None
        self.weights_layer = None

    def set_layer(self, name, weights_layer=None):
        self.layer = name
        self.weights_layer = weights_layer or name
        self.title.setText(f"Layer '{name}'" if name else
                           "Pick a layer on the canvas to see its activations and weights.")

    def set_histograms(self, act_hist, w_hist, weights_layer=None):
        if weights_layer:
            self.weights_layer = weights_layer
        for curve, widget, hist, what in ((self.act_curve, self.act_widget, act_hist, "Activations"),
                                          (self.w_curve, self.w_widget, w_hist, "Weights")):
            if hist is None:
                curve.setData([0, 1], [0])
                title = f"{what}: none"
            else:
                counts, edges = hist
                curve.setData(np.asarray(edges, dtype=np.float64), np.asarray(counts, dtype=np.float64))
                title = f"{what} of {self.weights_layer if what == 'Weights' else self.layer}"
            if getattr(widget, "_title", None) != title:  # a new title re-lays the plot out
                widget._title = title
                widget.getPlotItem().setTitle(title, size="9pt")


def _diverging_lut(n=256):
    """Orange (negative / class 0) - white - blue (positive / class 1), as TensorFlow Playground."""
    t = np.linspace(-1, 1, n)[:, None]
    white = np.array([248, 248, 248], dtype=np.float64)
    o, b = np.array(ORANGE, dtype=np.float64), np.array(BLUE, dtype=np.float64)
    lut = np.where(t < 0, white + (o - white) * (-t), white + (b - white) * t)
    return lut.clip(0, 255).astype(np.uint8)


class _HoverImage(pg.ImageItem):
    """An ImageItem that reports hover enter/leave (the neuron thumbnails)."""

    def __init__(self, on_hover, index):
        super().__init__()
        self._on_hover = on_hover
        self._index = index
        self.setAcceptHoverEvents(True)

    def hoverEvent(self, ev):  # noqa: N802 - pyqtgraph API
        if ev.isEnter():
            self._on_hover(self._index)
        elif ev.isExit():
            self._on_hover(None)


class BoundaryPlot(QWidget):
    """Decision boundary of a 2-D data set with train (white-ringed) and test (black-ringed) points.

    Binary classification colours by the probability of class 1 (orange 0 .. blue 1); more classes
    by the predicted class; regression by the predicted value. Hover a hidden neuron's small map to
    show it large.
    """

    neuron_hovered = Signal(object)  # (node, unit) or None

    THUMBS_TEXT = "Hidden neurons (hover one to show its own map above):"
    THUMBS_HIDDEN_TEXT = "Hidden neurons: make the Training dock taller to see each one's own map."

    def __init__(self, parent=None):
        super().__init__(parent)
        self.lut = _diverging_lut()
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground("w")
        self.main = self.view.addPlot(row=0, col=0, colspan=1)
        self.main.setAspectLocked(True)
        self.main.setTitle("Decision boundary", size="9pt")
        self.image = pg.ImageItem()
        self.image.setLookupTable(self.lut)
        self.main.addItem(self.image)
        self.train_points = pg.ScatterPlotItem(size=6, pen=pg.mkPen("w", width=1))
        self.test_points = pg.ScatterPlotItem(size=6, pen=pg.mkPen("k", width=1))
        self.main.addItem(self.train_points)
        self.main.addItem(self.test_points)
        self.thumbs = pg.GraphicsLayoutWidget()
        self.thumbs.setBackground("w")
        self.thumbs.setFixedHeight(58)
        self.thumb_items = []
        self.discretize_box = QCheckBox("discretize output")
        self.discretize_box.setToolTip("Show only the predicted class (probability above or below 0.5) "
                                       "instead of the network's confidence.")
        self.discretize_box.toggled.connect(lambda _: self._draw())
        self.test_box = QCheckBox("show test data")
        self.test_box.setToolTip("Also draw the test examples (outlined): points the network never trained "
                                 "on, where a boundary that overfits goes wrong.")
        self.test_box.setChecked(True)
        self.test_box.toggled.connect(self.test_points.setVisible)
        self.info = QLabel("")
        top = QHBoxLayout()
        top.addWidget(self.discretize_box)
        top.addWidget(self.test_box)
        top.addStretch(1)
        top.addWidget(self.info)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        self.reason = QLabel("")  # why the map is empty (data that are not 2-D points)
        self.reason.setWordWrap(True)
        self.reason.setStyleSheet("color: #555; padding: 6px;")
        self.reason.hide()
        lay.addWidget(self.reason)
        lay.addWidget(self.view, 1)
        self.thumbs_label = QLabel(self.THUMBS_TEXT)
        lay.addWidget(self.thumbs_label)
        lay.addWidget(self.thumbs)
        self.extent = None
        self.values = None
        self.kind = "binary"
        self.neurons = []
        self.hovered = None
        self.n_classes = 2
        self.updates = 0

    def has_data(self):
        return self.extent is not None

    def set_unavailable(self, reason):
        """Empty the map and say why (``reason``); ``None`` hides the explanation again."""
        if reason:
            self.image.clear()
            self.train_points.setData([], [])
            self.test_points.setData([], [])
            self.extent = self.values = None
        self.reason.setText(reason or "")
        self.reason.setVisible(bool(reason))
        self.discretize_box.setEnabled(not reason)
        self.test_box.setEnabled(not reason)

    def set_points(self, x_train, y_train, x_test, y_test, n_classes=2, regression=False):
        self.n_classes = max(int(n_classes or 2), 2)

        def brushes(y):
            if regression:
                y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)[:, 0]
                s = np.clip(y / (np.abs(y).max() + 1e-12), -1, 1)
                idx = ((s + 1) / 2 * 255).astype(int)
                return [pg.mkBrush(*self.lut[i]) for i in idx]
            y = np.asarray(y).astype(int)
            if self.n_classes == 2:
                return [pg.mkBrush(*(BLUE if c == 1 else ORANGE)) for c in y]
            return [pg.mkBrush(*PALETTE[c % len(PALETTE)]) for c in y]

        self.train_points.setData(pos=np.asarray(x_train, dtype=np.float64), brush=brushes(y_train))
        if x_test is not None and len(x_test):
            self.test_points.setData(pos=np.asarray(x_test, dtype=np.float64), brush=brushes(y_test))
        else:
            self.test_points.setData([], [])

    def set_probe(self, probe):
        """Draw a worker probe: {"boundary": (values (G, G), kind), "neurons": [...], "extent"}."""
        if not probe or probe.get("boundary") is None:
            return
        if probe["extent"] != self.extent:
            x0, x1, y0, y1 = probe["extent"]
            self.main.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.02)
        self.extent = probe["extent"]
        self.values, self.kind = probe["boundary"]
        neurons = probe.get("neurons") or []
        if [(n, u) for n, u, _ in neurons] != [(n, u) for n, u, _ in self.neurons]:
            self._rebuild_thumbs(neurons)
        self.neurons = neurons
        for (n, u, m), img in zip(neurons, self.thumb_items):
            img.setImage(self._scaled(m).T, levels=(0, 1), autoLevels=False)
        self._draw()

    @staticmethod
    def _scaled(m):
        """A neuron's map in [0, 1] (0.5 = zero): negative orange, positive blue."""
        s = float(np.abs(m).max()) or 1.0
        return (np.asarray(m) / s + 1.0) / 2.0

    def _rebuild_thumbs(self, neurons):
        """One row of small maps per hidden layer, labelled with the layer's name."""
        self.thumbs.clear()
        self.thumb_items = []
        rows = {}
        for i, (n, u, _) in enumerate(neurons):
            if n not in rows:
                rows[n] = len(rows)
                self.thumbs.addLabel(n, row=rows[n], col=0, size="8pt")
            vb = self.thumbs.addViewBox(row=rows[n], col=u + 1, lockAspect=True, enableMouse=False)
            vb.setMenuEnabled(False)
            img = _HoverImage(self._on_thumb_hover, i)
            img.setLookupTable(self.lut)
            img.setToolTip(f"{n} unit {u}")
            vb.addItem(img)
            self.thumb_items.append(img)
        self._thumb_rows = max(1, len(rows))
        self._fit_thumbs()

    def _fit_thumbs(self):
        """Rows of neuron maps 52 px high, shown when the tab has room: in the main window's default
        (short, wide) training dock two rows squeezed the decision boundary to a line."""
        full = getattr(self, "_thumb_rows", 1) * 52 + 6
        h = self.height()
        short = 0 < h < 420
        self.thumbs.setFixedHeight(full)
        if short != getattr(self, "_short", None):
            # a short tab (the main window's default training dock): the map gets the room (no
            # neuron strip, no locked aspect, no title: the tab names it)
            self._short = short
            self.thumbs.setVisible(not short)
            self.thumbs_label.setText(self.THUMBS_HIDDEN_TEXT if short else self.THUMBS_TEXT)
            self.main.setAspectLocked(not short)
            self._title = None if short else "Decision boundary"
            self.main.setTitle(self._title, size="9pt")
            if self.extent is not None:
                self.main.autoRange()

    def resizeEvent(self, event):  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._fit_thumbs()

    def _on_thumb_hover(self, index):
        self.hovered = index
        self.neuron_hovered.emit(None if index is None else self.neurons[index][:2])
        self._draw()

    def show_neuron(self, index):
        """Show hidden neuron ``index`` (of the thumbnails) large, or the output for None."""
        self._on_thumb_hover(index)

    def current_image(self):
        """The (G, G) array in [0, 1] drawn in the large view (row = y, column = x)."""
        if self.hovered is not None and self.hovered < len(self.neurons):
            return self._scaled(self.neurons[self.hovered][2])
        if self.values is None:
            return None
        v = np.asarray(self.values, dtype=np.float64)
        if self.kind == "binary":
            return (v >= 0.5).astype(np.float64) if self.discretize_box.isChecked() else v
        if self.kind == "multiclass":
            return v / max(self.n_classes - 1, 1)
        s = float(np.abs(v).max()) or 1.0
        out = (v / s + 1) / 2
        return np.round(out) if self.discretize_box.isChecked() else out

    def _draw(self):
        img = self.current_image()
        if img is None or self.extent is None:
            return
        if self.kind == "multiclass" and self.hovered is None:
            lut = np.array([PALETTE[i % len(PALETTE)] for i in range(self.n_classes)], dtype=np.uint8)
            lut = (lut * 0.55 + 255 * 0.45).astype(np.uint8)
            self.image.setLookupTable(np.repeat(lut, max(1, 256 // self.n_classes), axis=0))
        else:
            self.image.setLookupTable(self.lut)
        self.image.setImage(img.T, levels=(0, 1), autoLevels=False)
        x0, x1, y0, y1 = self.extent
        self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        if self.hovered is not None and self.hovered < len(self.neurons):
            n, u, _ = self.neurons[self.hovered]
            title = f"Neuron {u} of {n}"
        else:
            # a short tab has no title (see _fit_thumbs)
            title = None if getattr(self, "_short", False) else "Decision boundary"
        if title != getattr(self, "_title", "Decision boundary"):  # a new title re-lays the plot out
            self._title = title
            self.main.setTitle(title, size="9pt")
        self.updates += 1
