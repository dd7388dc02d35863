"""Evaluation and run-history panels of the training dock.

- :class:`EvaluationPanel`: confusion matrix, precision / recall / F1 per class (on the dev or test
  set), and a bias/variance panel: give the Bayes (human-level) error and it shows the avoidable
  bias (training error - Bayes error) and the variance (dev error - training error) with the
  course notes' remedies (``engine.metrics.diagnose``).
- :class:`HistoryPanel`: the runs in the SQLite history; pick two to overlay their curves; export
  one as CSV.
"""

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QGroupBox, QHBoxLayout, QHeaderView, QLabel, QMessageBox, QPushButton,
                               QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from engine.errors import EngineError

from .plots import DEV_COLOR, TRAIN_COLOR, _pen, _plot


def _item(text, align=Qt.AlignRight | Qt.AlignVCenter):
    it = QTableWidgetItem(str(text))
    it.setFlags(it.flags() & ~Qt.ItemIsEditable)
    it.setTextAlignment(align)
    return it


class EvaluationPanel(QWidget):
    """Confusion matrix, per-class scores and the bias/variance diagnosis.

    The dock gives it a predict function and the splits (:meth:`set_source`) and the last epoch's
    train/dev accuracy (:meth:`set_errors`).
    """

    evaluated = Signal(dict)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._predict = None
        self._threshold = 0.5
        self._splits = None
        self.report = None
        self.set_combo = QComboBox()
        self.set_combo.addItems(["dev", "test", "train"])
        self.set_combo.setToolTip("Which split to evaluate on. Pick hyperparameters on dev; look at test "
                                  "only at the end for an unbiased estimate of the error on new data.")
        self.eval_button = QPushButton("Evaluate")
        self.eval_button.clicked.connect(self.evaluate)
        self.summary = QLabel("Train a network, then evaluate it.")
        self.summary.setWordWrap(True)
        self.confusion = QTableWidget()
        self.confusion.setToolTip("Confusion matrix: rows are the true classes, columns the predicted "
                                  "ones; the diagonal holds the correct predictions.")
        self.scores = QTableWidget()
        self.scores.setToolTip("Precision: of the examples predicted as a class, the share that are that "
                               "class. Recall: of the examples of a class, the share found. F1: their "
                               "harmonic mean, one number to compare models by.")
        for t in (self.confusion, self.scores):
            t.setEditTriggers(QAbstractItemView.NoEditTriggers)
            t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
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
        top.addWidget(self.summary, 1)
        tables = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(QLabel("Confusion matrix (rows: true, columns: predicted)"))
        left.addWidget(self.confusion)
        mid = QVBoxLayout()
        mid.addWidget(QLabel("Per class"))
        mid.addWidget(self.scores)
        tables.addLayout(left, 3)
        tables.addLayout(mid, 3)
        tables.addWidget(bv, 3)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addLayout(tables, 1)

    def set_source(self, predict, splits, threshold=0.5):
        """predict : callable x -> outputs; splits : engine.data.Splits (or None); threshold : where a
        one-unit output switches class (engine.metrics.decision_threshold: 0 for logits)."""
        self._predict = predict
        self._splits = splits
        self._threshold = threshold

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
        """Evaluate the network on the chosen split and fill the tables; returns the report."""
        from engine.metrics import classification_report, predicted_classes

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
        try:
            out = self._predict(x)
            if isinstance(out, dict):
                out = next(iter(out.values()))
            pred = predicted_classes(out, threshold=self._threshold)
            classes = list(sp.classes) or None
            y = np.asarray(y).reshape(len(y), -1)[:, 0] if np.ndim(y) > 1 and np.shape(y)[1] == 1 else np.asarray(y)
            if y.ndim >= 2 and np.shape(pred) == y.shape and np.issubdtype(y.dtype, np.integer):
                # sequences: padding positions (label -1, which the cost ignores) are no tokens to score
                keep = y >= 0
                y, pred = y[keep], np.asarray(pred)[keep]
                report_unit = "tokens"
            else:
                report_unit = "examples"
            report = classification_report(y, pred, classes)
        except EngineError as exc:
            self.summary.setText(str(exc))
            return None
        self.report = report
        report["unit"] = report_unit
        self._fill(report, which)
        self.evaluated.emit(report)
        return report

    def _fill(self, report, which):
        names = [c["name"] for c in report["classes"]]
        short = [n if len(n) <= 10 else n[:9] + "." for n in names]
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
        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        self.export_button = QPushButton("Export CSV...")
        self.export_button.clicked.connect(self._on_export)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.metric = QComboBox()
        self.metric.addItems(["dev_loss", "train_loss", "dev_accuracy", "train_accuracy", "lr"])
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
        self.table.setRowCount(0)
        if self.history is None:
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
        self.plot.getPlotItem().setTitle(f"{metric} per epoch", size="9pt")
        return drawn

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
