"""Evaluation and run-history panels of the training dock.

- :class:`EvaluationPanel`: confusion matrix, precision / recall / F1 per class (on the dev or test
  set), and a bias/variance panel: give the Bayes (human-level) error and it shows the avoidable
  bias (training error - Bayes error) and the variance (dev error - training error) with the
  course notes' remedies (``engine.metrics.diagnose``).
- :class:`HistoryPanel`: the runs in the SQLite history; pick two to overlay their curves; export
  one as CSV.
"""

import threading

import numpy as np
from PySide6.QtCore import Qt, QThread, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QFrame,
                               QGroupBox, QHBoxLayout, QHeaderView, QLabel, QMessageBox, QProgressBar,
                               QPushButton, QScrollArea, QSplitter, QStackedWidget, QStyle, QTabBar, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from engine.errors import EngineError

from .plots import DEV_COLOR, TRAIN_COLOR, _pen, _plot


def _item(text, align=Qt.AlignRight | Qt.AlignVCenter):
    it = QTableWidgetItem(str(text))
    it.setFlags(it.flags() & ~Qt.ItemIsEditable)
    it.setTextAlignment(align)
    return it


class _Table(QTableWidget):
    """A read-only table whose size hint is as wide as its columns (set by the panel), so a row
    of tables shares the width by what each needs."""

    natural_width = 0

    def sizeHint(self):  # noqa: N802 - Qt API
        hint = super().sizeHint()
        if self.natural_width:
            hint.setWidth(self.natural_width)
        return hint


#: what the summary line starts with once the data changed after an evaluation (short: a second
#: line would push the tenth row of the confusion matrix out of a 1280x800 window's dock)
STALE_PREFIX = "Previous data (press Evaluate): "

#: examples per predict call of an evaluation (a multiple of Network.predict's 512-example batches,
#: so chunking changes no number); progress is reported after each chunk.
EVAL_CHUNK = 2048


def _rows(x, start, stop):
    if isinstance(x, dict):
        return {k: v[start:stop] for k, v in x.items()}
    return x[start:stop]


#: how invisible characters (the character models' classes) are named in the tables
_CHAR_NAMES = {"\n": "\u23ce end", " ": "\u2423 space", "\t": "\u21e5 tab", "": "(empty)"}


def class_label(name):
    """A class name a person can see: the end-of-name newline of a character model, a space or a
    tab would otherwise label a row of the confusion matrix with nothing."""
    name = str(name)
    if name in _CHAR_NAMES:
        return _CHAR_NAMES[name]
    if not name.isprintable():
        return repr(name)[1:-1]
    return name


def evaluation_report(predict, x, y, classes, threshold=0.5, progress=None, cancelled=None):
    """Predict ``x`` in chunks and score the predicted classes against ``y`` (any thread).

    predict : callable x -> outputs (an array, or a dict of them: the first is scored).
    x : ndarray of shape (n, *input_shape) (or a dict of them); y : int class indices of shape (n,)
        or (n, T) for sequences (label -1 marks padding, which is not scored).
    progress : called with (examples done, n) after each chunk; cancelled : callable, True stops
        (then None is returned). Returns ``engine.metrics.classification_report`` plus
        ``"unit"`` ("examples" or "tokens"). Raises EngineError for bad data.
    """
    from engine.metrics import classification_report, predicted_classes

    n = len(next(iter(x.values()))) if isinstance(x, dict) else len(x)
    chunked = isinstance(x, np.ndarray) or (isinstance(x, dict) and all(isinstance(v, np.ndarray)
                                                                        for v in x.values()))
    step = EVAL_CHUNK if chunked else max(n, 1)
    parts = []
    for start in range(0, max(n, 1), step):
        if cancelled is not None and cancelled():
            return None
        out = predict(_rows(x, start, start + step) if chunked else x)
        if isinstance(out, dict):
            out = next(iter(out.values()))
        parts.append(np.asarray(out))
        if progress is not None:
            progress(min(start + step, n), n)
    out = parts[0] if len(parts) == 1 else np.concatenate(parts)
    pred = predicted_classes(out, threshold=threshold)
    y = np.asarray(y).reshape(len(y), -1)[:, 0] if np.ndim(y) > 1 and np.shape(y)[1] == 1 else np.asarray(y)
    if y.ndim >= 2 and np.shape(pred) == y.shape and np.issubdtype(y.dtype, np.integer):
        # sequences: padding positions (label -1, which the cost ignores) are no tokens to score
        keep = y >= 0
        y, pred = y[keep], np.asarray(pred)[keep]
        unit = "tokens"
    else:
        unit = "examples"
    report = classification_report(y, pred, classes)
    report["unit"] = unit
    return report


class EvaluationThread(QThread):
    """Runs :func:`evaluation_report` away from the GUI thread (on full MNIST it takes seconds).

    Signals (queued to the GUI thread): ``progressed(done, n)``, ``report_ready(dict)``,
    ``failed(str)`` (a readable message). ``cancel()`` stops it before its next chunk.
    """

    progressed = Signal(int, int)
    report_ready = Signal(object)
    failed = Signal(str)

    def __init__(self, predict, x, y, classes, threshold, which, parent=None):
        super().__init__(parent)
        self.predict, self.x, self.y = predict, x, y
        self.classes, self.threshold, self.which = classes, threshold, which
        self._cancel = threading.Event()

    def cancel(self):
        self._cancel.set()

    def run(self):
        try:
            report = evaluation_report(self.predict, self.x, self.y, self.classes, self.threshold,
                                       progress=self.progressed.emit, cancelled=self._cancel.is_set)
        except EngineError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a thread must hand every failure to the GUI
            self.failed.emit(f"the evaluation failed: {type(exc).__name__}: {exc}")
            return
        if report is not None and not self._cancel.is_set():
            self.report_ready.emit(report)


class EvaluationPanel(QWidget):
    """Confusion matrix, per-class scores and the bias/variance diagnosis.

    The dock gives it a predict function and the splits (:meth:`set_source`) and the last epoch's
    train/dev accuracy (:meth:`set_errors`). The Evaluate button and the dock's end-of-run
    evaluation run in an :class:`EvaluationThread` (:meth:`start_evaluation`) with a progress bar;
    :meth:`evaluate` computes the same report at once in the calling thread.

    Signals: ``evaluated(dict)`` when a report is shown (either way).
    """

    evaluated = Signal(dict)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._predict = None
        self._snapshot = None
        self._threshold = 0.5
        self._splits = None
        self._source_id = 0  # bumped by set_source: a report for older data is not shown
        self._available = True
        self._thread = None  # the evaluation thread whose report will be shown
        self._threads = []  # every thread still running (kept referenced until it ends)
        self.report = None
        self.set_combo = QComboBox()
        self.set_combo.addItems(["dev", "test", "train"])
        self.set_combo.setToolTip("Which split to evaluate on. Pick hyperparameters on dev; look at test "
                                  "only at the end for an unbiased estimate of the error on new data.")
        self.eval_button = QPushButton("Evaluate")
        self.eval_button.setToolTip("Predict the chosen split now (in the background) and fill the confusion "
                                    "matrix and the per-class scores.")
        self.eval_button.clicked.connect(self.start_evaluation)
        self.summary = QLabel("Train a network, then evaluate it.")
        self.summary.setWordWrap(True)
        self.summary.setMinimumWidth(120)  # wraps: the dock stays narrow enough for a 1280 px screen
        self.busy = QProgressBar()
        self.busy.setToolTip("The network predicts the chosen split in a background thread: the "
                             "window stays responsive meanwhile.")
        self.busy.setMaximumWidth(220)
        self.busy.hide()
        self.confusion = _Table()
        self.confusion.setToolTip("Confusion matrix: rows are the true classes, columns the predicted "
                                  "ones; the diagonal holds the correct predictions.")
        self.scores = _Table()
        self.scores.setToolTip("Precision: of the examples predicted as a class, the share that are that "
                               "class. Recall: of the examples of a class, the share found. F1: their "
                               "harmonic mean, one number to compare models by.")
        row_height = self.fontMetrics().height() + 4  # compact rows: ten classes fit a short dock
        for t in (self.confusion, self.scores):
            t.setEditTriggers(QAbstractItemView.NoEditTriggers)
            t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
            # two digits wide at least; ResizeToContents widens a column for larger counts
            t.horizontalHeader().setMinimumSectionSize(self.fontMetrics().horizontalAdvance("00") + 12)
            t.verticalHeader().setMinimumSectionSize(row_height)
            t.verticalHeader().setDefaultSectionSize(row_height)
            t.verticalHeader().setSectionResizeMode(QHeaderView.Fixed)
        # bias / variance
        self.bayes = QDoubleSpinBox()
        self.bayes.setRange(0.0, 100.0)
        self.bayes.setDecimals(2)
        self.bayes.setSuffix(" %")
        self.bayes.setValue(0.0)
        self.bayes.setToolTip("Bayes error: the lowest error any classifier can reach (use human-level "
                              "error as its proxy). No model can beat it.")
        self.bayes.valueChanged.connect(self._update_diagnosis)
        self.train_err = QLabel("-")
        self.dev_err = QLabel("-")
        self.bias_label = QLabel("-")
        self.bias_label.setToolTip("Avoidable bias = training error - Bayes error. High: the network "
                                   "underfits; train a bigger network, longer, or with a better optimizer.")
        self.var_label = QLabel("-")
        self.var_label.setToolTip("Variance = dev error - training error. High: the network overfits; get "
                                  "more data, regularize (L2, dropout) or augment the data.")
        self.verdict = QLabel("")
        self.verdict.setWordWrap(True)
        self.diagnosis = None
        self._errors = None
        bv = QGroupBox("Bias and variance")
        form = QFormLayout(bv)
        form.addRow("Bayes (human) error", self.bayes)
        form.addRow("training error", self.train_err)
        form.addRow("dev error", self.dev_err)
        form.addRow("avoidable bias", self.bias_label)
        form.addRow("variance", self.var_label)
        form.addRow(self.verdict)

        top = QHBoxLayout()
        top.addWidget(QLabel("evaluate on"))
        top.addWidget(self.set_combo)
        top.addWidget(self.eval_button)
        top.addWidget(self.busy)
        # pages of the sections when they do not fit side by side (in the top row: it saves height)
        self.page_bar = QTabBar()
        self.page_bar.setDocumentMode(True)
        self.page_bar.setExpanding(False)
        self.page_bar.setDrawBase(False)
        top.addStretch(1)
        top.addWidget(self.page_bar)
        # the diagnosis is a paragraph: in a short dock it scrolls instead of being cut off
        self.bias_scroll = QScrollArea()
        self.bias_scroll.setWidget(bv)
        self.bias_scroll.setWidgetResizable(True)
        self.bias_scroll.setFrameShape(QFrame.NoFrame)
        self.bias_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.bias_scroll.setMinimumWidth(bv.minimumSizeHint().width() + 4 + self.style().pixelMetric(
            QStyle.PM_ScrollBarExtent))  # its rows never narrower than they need (nothing cut at the right)
        # three sections; side by side when they fit at their natural width, else on two pages
        # (the tables together, or the per-class scores beside the diagnosis), else one page each
        self.sections = {}
        for key, title, widget in (("confusion", "Confusion matrix (rows: true, columns: predicted)", self.confusion),
                                   ("scores", "Per class", self.scores)):
            box = QWidget()
            box_lay = QVBoxLayout(box)
            box_lay.setContentsMargins(0, 0, 0, 0)
            label = QLabel(title)
            label.setWordWrap(True)
            box_lay.addWidget(label)
            box_lay.addWidget(widget, 1)
            box.title = label
            self.sections[key] = box
        self.sections["bias"] = self.bias_scroll
        self.section_titles = {"confusion": "Confusion matrix", "scores": "Per class",
                               "bias": "Bias and variance"}
        self.pages = QStackedWidget()
        self.page_bar.currentChanged.connect(self.pages.setCurrentIndex)
        self.page_bar.currentChanged.connect(self._update_titles)
        self.layout_mode = None
        self._relayout_pending = False
        lay = QVBoxLayout(self)
        lay.setSpacing(4)
        lay.addLayout(top)
        lay.addWidget(self.summary)
        lay.addWidget(self.pages, 1)
        self._arrange("columns")

    # -- layout ------------------------------------------------------------------------------------
    #: layout mode -> pages, each a tuple of the sections it shows side by side
    LAYOUTS = {"columns": (("confusion", "scores", "bias"),),
               "pair": (("confusion", "scores"), ("bias",)),
               "split": (("confusion",), ("scores", "bias")),
               "tabs": (("confusion",), ("scores",), ("bias",))}

    def _table_width(self, table, empty_width):
        """The width ``table`` needs to show every column (and a vertical scroll bar)."""
        if table.columnCount() == 0:
            return empty_width
        table.resizeColumnsToContents()
        header = table.horizontalHeader()
        cols = sum(max(header.sectionSizeHint(j), table.sizeHintForColumn(j), header.minimumSectionSize())
                   for j in range(table.columnCount()))
        return (table.verticalHeader().sizeHint().width() + cols + 2 * table.frameWidth()
                + self.style().pixelMetric(QStyle.PM_ScrollBarExtent) + 2)

    def natural_widths(self):
        """{section: the width it needs to be read without scrolling sideways}."""
        return {"confusion": self._table_width(self.confusion, 220),
                "scores": self._table_width(self.scores, 260),
                "bias": self.bias_scroll.minimumWidth()}

    def _choose_mode(self, width):
        need = self.natural_widths()
        gap = 12
        if width >= need["confusion"] + need["scores"] + need["bias"] + 2 * gap:
            return "columns"
        if width >= need["confusion"] + need["scores"] + gap:
            return "pair"
        if width >= need["scores"] + need["bias"] + gap:
            return "split"
        return "tabs"

    def _arrange(self, mode, force=False):
        """Put the sections on the pages of ``mode`` (see LAYOUTS), keeping the shown section in view."""
        if mode == self.layout_mode and not force:
            return
        shown = None
        if self.layout_mode is not None and self.pages.count():
            shown = self.LAYOUTS[self.layout_mode][max(self.page_bar.currentIndex(), 0)][0]
        need = self.natural_widths()
        for w in self.sections.values():
            w.setParent(None)
        self.page_bar.blockSignals(True)
        while self.page_bar.count():
            self.page_bar.removeTab(0)
        while self.pages.count():
            page = self.pages.widget(0)
            self.pages.removeWidget(page)
            page.deleteLater()
        for group in self.LAYOUTS[mode]:
            page = QWidget()
            row = QHBoxLayout(page)
            row.setContentsMargins(0, 4, 0, 0)
            for key in group:
                sec = self.sections[key]
                # side by side, each table as wide as its columns and the diagnosis takes the rest
                # (no minimum widths: they would widen the window past a small screen)
                if key != "bias":
                    table = self.confusion if key == "confusion" else self.scores
                    table.natural_width = need[key]
                    table.setMaximumWidth(need[key] if len(group) > 1 else 16777215)
                    table.updateGeometry()
                row.addWidget(sec, 1 if key == "bias" or len(group) == 1 else 0)
                sec.show()
            self.pages.addWidget(page)
            self.page_bar.addTab(" \u00b7 ".join(self.section_titles[k] for k in group))
        self.page_bar.blockSignals(False)
        self.page_bar.setVisible(self.page_bar.count() > 1)
        self.page_bar.setCurrentIndex(0)
        self.pages.setCurrentIndex(0)
        self.layout_mode = mode
        if shown is not None:
            for i, group in enumerate(self.LAYOUTS[mode]):
                if shown in group:
                    self.page_bar.setCurrentIndex(i)
        self._update_titles()

    def relayout(self):
        """Choose the layout for the panel's width now (also done after a resize and a report)."""
        self._relayout_pending = False
        self._arrange(self._choose_mode(self.width()))
        self._update_titles()

    def _table_height(self, table):
        """The height ``table`` needs to show every row."""
        return (table.horizontalHeader().sizeHint().height() + 2 * table.frameWidth()
                + sum(table.rowHeight(i) for i in range(table.rowCount())))

    def _update_titles(self):
        """A table's title line shows when the table shares its page with the other table (on a page
        of its own, or beside the titled diagnosis, the page's tab names it), and only when the page
        is tall enough for the title and every row (on a short dock the rows matter more; the
        table's tooltip says the same)."""
        if self.layout_mode is None:
            return
        group = self.LAYOUTS[self.layout_mode][max(self.page_bar.currentIndex(), 0)]
        page_h = self.pages.height()
        for key in ("confusion", "scores"):
            sec = self.sections[key]
            table = self.confusion if key == "confusion" else self.scores
            room = page_h - 4 - sec.title.sizeHint().height() - 6 >= self._table_height(table)
            sec.title.setVisible("confusion" in group and "scores" in group and (room or table.rowCount() == 0))

    def _schedule_relayout(self):
        if not self._relayout_pending:
            self._relayout_pending = True
            QTimer.singleShot(0, self.relayout)

    def resizeEvent(self, event):  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._schedule_relayout()

    def show_section(self, key):
        """Bring the page with section ``key`` ("confusion", "scores", "bias") forward."""
        for i, group in enumerate(self.LAYOUTS[self.layout_mode]):
            if key in group:
                self.page_bar.setCurrentIndex(i)

    def set_source(self, predict, splits, threshold=0.5, snapshot=None):
        """predict : callable x -> outputs; splits : engine.data.Splits (or None); threshold : where a
        one-unit output switches class (engine.metrics.decision_threshold: 0 for logits).
        snapshot : optional callable returning a predict function over a private copy of the network,
        called in the GUI thread when a background evaluation starts (so edits or a new run meanwhile
        change nothing it reads); without it the background thread calls ``predict``."""
        if self.report is not None and splits is not self._splits and self._splits is not None:
            # the tables stay for comparison, but they no longer describe the data now
            text = self.summary.text()
            if not text.startswith(STALE_PREFIX):
                self.summary.setText(STALE_PREFIX + text)
        self._predict = predict
        self._snapshot = snapshot
        self._splits = splits
        self._threshold = threshold
        self._source_id += 1

    # -- running ---------------------------------------------------------------------------------
    @property
    def busy_evaluating(self):
        """True while a background evaluation whose report will be shown runs."""
        return self._thread is not None

    def set_available(self, available):
        """The owner allows evaluating (the dock: not while its run updates the weights)."""
        self._available = bool(available)
        self._update_button()

    def _update_button(self):
        self.eval_button.setEnabled(self._available and self._thread is None)

    def _prepare(self):
        """(which, x, y) of the chosen split, or None after saying in the summary why not."""
        sp = self._splits
        if self._predict is None or sp is None:
            self.summary.setText("No data: pick a data set first.")
            return None
        if getattr(sp, "task", "classification") != "classification":
            self.summary.setText("Confusion matrix and F1 need a classification data set.")
            return None
        which = self.set_combo.currentText()
        x, y = getattr(sp, f"x_{which}"), getattr(sp, f"y_{which}")
        if x is None or len(x) == 0:
            self.summary.setText(f"The {which} set is empty: change the split.")
            return None
        return which, x, y

    def start_evaluation(self):
        """Evaluate the chosen split in a background thread; the report is shown (and ``evaluated``
        emitted) when it is ready. Returns the thread, or None when there is nothing to evaluate.
        A running evaluation is cancelled (its report would be older)."""
        prepared = self._prepare()
        if prepared is None:
            return None
        which, x, y = prepared
        predict = self._predict
        if self._snapshot is not None:
            try:
                predict = self._snapshot()
            except EngineError as exc:
                self.summary.setText(str(exc))
                return None
        self.cancel()
        thread = EvaluationThread(predict, x, y, list(self._splits.classes) or None, self._threshold, which,
                                  parent=self)
        thread.source_id = self._source_id
        thread.progressed.connect(self._on_progress)
        thread.report_ready.connect(self._on_report_ready)
        thread.failed.connect(self._on_failed)
        thread.finished.connect(self._on_thread_finished)
        self._thread = thread
        self._threads.append(thread)
        n = len(next(iter(x.values()))) if isinstance(x, dict) else len(x)
        self.busy.setRange(0, 0)  # busy until the first chunk reports
        self.busy.setFormat(f"evaluating {which}: %v / %m")
        self.busy.show()
        self.summary.setText(f"Evaluating on {which} ({n} examples)\u2026")
        self._update_button()
        thread.start()
        return thread

    def cancel(self):
        """Stop showing the running evaluation (its thread ends before its next chunk)."""
        if self._thread is not None:
            self._thread.cancel()
            self._thread = None
        self.busy.hide()
        self._update_button()

    def shutdown(self, timeout=5000):
        """Cancel and wait for every evaluation thread (the dock calls this when it closes)."""
        self.cancel()
        for t in list(self._threads):
            t.cancel()
            t.wait(timeout)
        self._threads = [t for t in self._threads if t.isRunning()]

    def _on_progress(self, done, n):
        if self.sender() is self._thread:
            self.busy.setRange(0, max(n, 1))
            self.busy.setValue(done)

    def _on_report_ready(self, report):
        thread = self.sender()
        if thread is not self._thread:
            return
        if getattr(thread, "source_id", None) != self._source_id:
            self.summary.setText("The data set changed during the evaluation: evaluate again.")
            return
        self._show_report(report, thread.which)

    def _on_failed(self, message):
        if self.sender() is self._thread:
            self.summary.setText(message)

    def _on_thread_finished(self):
        thread = self.sender()
        if thread in self._threads:
            self._threads.remove(thread)
        if thread is self._thread:
            self._thread = None
            self.busy.hide()
            self._update_button()
        if thread is not None:
            thread.deleteLater()

    def set_errors(self, train_error, dev_error):
        """Training and dev error rates in [0, 1] (None when unknown)."""
        self._errors = (train_error, dev_error)
        self.train_err.setText("-" if train_error is None else f"{train_error:.2%}")
        self.dev_err.setText("-" if dev_error is None else f"{dev_error:.2%}")
        self._update_diagnosis()

    def _update_diagnosis(self):
        from engine.metrics import diagnose

        if not self._errors or None in self._errors:
            self.diagnosis = None
            return
        train, dev = self._errors
        try:
            d = diagnose(self.bayes.value() / 100.0, float(train), float(dev))
        except EngineError as exc:
            self.verdict.setText(str(exc))
            return
        self.diagnosis = d
        self.bias_label.setText(f"{d['avoidable_bias']:.2%}")
        self.var_label.setText(f"{d['variance']:.2%}")
        text = d["verdict"]
        if d["remedies"]:
            text += "<br>Try: " + "; ".join(d["remedies"][:4]) + "."
        self.verdict.setText(text)

    def evaluate(self):
        """Evaluate the network on the chosen split at once (in the calling thread) and fill the
        tables; returns the report (None when there is nothing to evaluate or it failed)."""
        prepared = self._prepare()
        if prepared is None:
            return None
        which, x, y = prepared
        try:
            report = evaluation_report(self._predict, x, y, list(self._splits.classes) or None, self._threshold)
        except EngineError as exc:
            self.summary.setText(str(exc))
            return None
        self._show_report(report, which)
        return report

    def _show_report(self, report, which):
        self.report = report
        self._fill(report, which)
        # the tables' widths depend on the classes and counts: arrange anew
        self._arrange(self._choose_mode(self.width()), force=True)
        self.evaluated.emit(report)

    def _fill(self, report, which):
        names = [class_label(c["name"]) for c in report["classes"]]
        # headers a little shortened for long class names ("orange (-1)" stays whole)
        short = [n if len(n) <= 12 else n[:11] + "\u2026" for n in names]
        cm = np.asarray(report["confusion_matrix"])
        k = len(names)
        self.confusion.clear()
        self.confusion.setRowCount(k)
        self.confusion.setColumnCount(k)
        self.confusion.setHorizontalHeaderLabels(short)
        self.confusion.setVerticalHeaderLabels(short)
        row_sums = cm.sum(axis=1, keepdims=True).clip(min=1)
        for i in range(k):
            for j in range(k):
                it = _item(int(cm[i, j]), Qt.AlignCenter)
                share = cm[i, j] / row_sums[i, 0]
                if i == j:
                    c = QColor(46, 125, 50, int(40 + 180 * share))
                else:
                    c = QColor(198, 40, 40, int(min(220, 400 * share)))
                it.setBackground(QBrush(c))
                self.confusion.setItem(i, j, it)
        self.scores.clear()
        self.scores.setRowCount(k + 1)
        self.scores.setColumnCount(4)
        self.scores.setHorizontalHeaderLabels(["precision", "recall", "F1", "support"])
        self.scores.setVerticalHeaderLabels(names + ["macro avg"])
        for i, c in enumerate(report["classes"]):
            for j, key in enumerate(("precision", "recall", "f1")):
                self.scores.setItem(i, j, _item(f"{c[key]:.3f}"))
            self.scores.setItem(i, 3, _item(c["support"]))
        for j, key in enumerate(("precision", "recall", "f1")):
            self.scores.setItem(k, j, _item(f"{report['macro'][key]:.3f}"))
        self.scores.setItem(k, 3, _item(report["n"]))
        info = getattr(self._splits, "info", None) or {}
        if isinstance(info, dict) and info.get("accuracy") == "sequence":
            # the training curves count a sequence right only when every token is; here each token counts
            self.summary.setText(f"{which}: per-token accuracy {report['accuracy']:.2%} on {report['n']} tokens, "
                                 f"macro F1 {report['macro']['f1']:.3f} (the Curves tab's accuracy counts a "
                                 "whole sequence, right only when every token is)")
        else:
            unit = report.get("unit", "examples")
            what = "per-token accuracy" if unit == "tokens" else "accuracy"
            self.summary.setText(f"{which}: {what} {report['accuracy']:.2%} on {report['n']} {unit}, "
                                 f"macro F1 {report['macro']['f1']:.3f}")


class HistoryPanel(QWidget):
    """The run history: a table of runs, an overlay of two runs' curves, CSV export."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.history = None
        self.table = QTableWidget(0, 7)
        self.table.setHorizontalHeaderLabels(["run", "network", "data", "status", "epochs",
                                              "dev accuracy", "test accuracy"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.setToolTip("Select one run to see its curves, two (Ctrl+click) to overlay them.")
        self.table.verticalHeader().setVisible(False)
        self.table.itemSelectionChanged.connect(self._on_table_selection)
        self._follow_newest = True  # until the user picks runs, the newest run is shown
        self.export_button = QPushButton("Export CSV...")
        self.export_button.setToolTip("Write the selected run's per-epoch costs and accuracies to a CSV file.")
        self.export_button.clicked.connect(self._on_export)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Reload the runs from the history database.")
        self.refresh_button.clicked.connect(self.refresh)
        self.metric = QComboBox()
        self.metric.addItems(["dev_loss", "train_loss", "dev_accuracy", "train_accuracy", "lr"])
        self.metric.setToolTip("The per-epoch value to draw for the selected runs (dev cost, training cost, "
                               "accuracies or the learning rate).")
        self.metric.currentIndexChanged.connect(self._on_selection_changed)
        self.plot = _plot("Overlay of the selected runs", "value")
        self.plot.getPlotItem().addLegend(offset=(-10, 10), brush=(255, 255, 255, 170))
        self.curves = [self.plot.getPlotItem().plot([], [], pen=_pen(TRAIN_COLOR), symbol="o", symbolSize=4,
                                                     symbolBrush=TRAIN_COLOR, name="run A"),
                       self.plot.getPlotItem().plot([], [], pen=_pen(DEV_COLOR), symbol="o", symbolSize=4,
                                                     symbolBrush=DEV_COLOR, name="run B")]
        self.path_label = QLabel("")
        self.path_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        buttons = QHBoxLayout()
        buttons.addWidget(self.refresh_button)
        buttons.addWidget(self.export_button)
        buttons.addWidget(QLabel("curve"))
        buttons.addWidget(self.metric)
        buttons.addStretch(1)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addLayout(buttons)
        ll.addWidget(self.table, 1)
        ll.addWidget(self.path_label)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(left)
        split.addWidget(self.plot)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)

    def set_history(self, history):
        self.history = history
        self.path_label.setText(f"database: {history.path}" if history else "")
        self.refresh()

    def refresh(self):
        """Reload the runs; the selected runs stay selected, else the newest is (its curve shows)."""
        keep = [] if self._follow_newest else self.selected_runs()
        self.table.setRowCount(0)
        if self.history is None:
            self._on_selection_changed()
            return
        runs = self.history.runs()
        self.table.setRowCount(len(runs))
        for i, r in enumerate(runs):
            f = r["final"] or {}

            def pct(v):
                return "-" if v is None else f"{v:.2%}"

            vals = [r["id"], r["name"], r["dataset"], r["status"], r["epochs"],
                    pct(f.get("dev_accuracy")), pct(f.get("test_accuracy"))]
            for j, v in enumerate(vals):
                it = _item(v, Qt.AlignLeft | Qt.AlignVCenter)
                it.setData(Qt.UserRole, r["id"])
                self.table.setItem(i, j, it)
        rows = [i for i, r in enumerate(runs) if r["id"] in keep]
        if not rows and runs:  # nothing picked (or the picked runs are gone): the newest
            rows, self._follow_newest = [0], True
        self.table.blockSignals(True)
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.MultiSelection)
        for i in rows:
            self.table.selectRow(i)
        self.table.setSelectionMode(mode)
        self.table.blockSignals(False)
        self._on_selection_changed()

    def selected_runs(self):
        ids = []
        for idx in self.table.selectionModel().selectedRows():
            ids.append(int(self.table.item(idx.row(), 0).data(Qt.UserRole)))
        return ids

    def overlay(self, run_ids, metric=None):
        """Draw ``metric`` (default: the combo's) of up to two runs; returns the drawn arrays."""
        metric = metric or self.metric.currentText()
        drawn = []
        legend = self.plot.getPlotItem().legend
        for k, curve in enumerate(self.curves):
            if k < len(run_ids) and self.history is not None:
                data = self.history.epochs(run_ids[k])
                x = np.asarray(data["epoch"], dtype=np.float64)
                y = np.asarray([np.nan if v is None else v for v in data[metric]], dtype=np.float64)
                ok = np.isfinite(y)
                curve.setData(x[ok], y[ok])
                if legend is not None:
                    legend.items[k][1].setText(f"run {run_ids[k]}")
                drawn.append((x[ok], y[ok]))
            else:
                curve.setData([], [])
        title = (f"{metric} per epoch" if run_ids else
                 "Select a run in the table to see its curve (two with Ctrl+click to compare)")
        self.plot.getPlotItem().setTitle(title, size="9pt")
        return drawn

    def _on_table_selection(self):
        self._follow_newest = False  # the user picked (or cleared) runs: refreshes keep them
        self._on_selection_changed()

    def _on_selection_changed(self, *_):
        self.overlay(self.selected_runs()[:2])

    def _on_export(self):
        ids = self.selected_runs()
        if not ids or self.history is None:
            QMessageBox.information(self, "Export run", "Select a run first.")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export run as CSV", f"run_{ids[0]}.csv", "CSV (*.csv)")
        if path:
            try:
                self.history.export_csv(ids[0], path)
            except (OSError, EngineError) as exc:
                QMessageBox.warning(self, "Export run", f"Could not write {path}: {exc}")
