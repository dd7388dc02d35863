"""The training dock's settings form: data set and split, data augmentation, the cost function,
batch size, epochs, optimizer and its hyperparameters (momentum's bias correction), learning-rate
schedule, early stopping, gradient clipping, L1/L2, initialization, seed, health overlay.

The form shows a document's "training" and "data" dicts (:meth:`TrainingControls.load`) and emits
the edited dicts; the dock writes them back into the document. Loading never emits (a guard
against feedback loops). Tooltips use the course notes' terms.
"""

import copy
import os

from ..canvas.help_texts import rich
from .data_options import DataOptionsForm

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout,
                               QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget)

OPTIMIZERS = ["sgd", "momentum", "rmsprop", "adam"]
#: which hyperparameters each optimizer takes (besides lr)
OPTIMIZER_OPTIONS = {"sgd": (), "momentum": ("beta",), "rmsprop": ("beta2", "eps"),
                     "adam": ("beta1", "beta2", "eps")}
SCHEDULES = ["constant", "inverse_time", "exponential", "staircase"]
INITIALIZERS = ["auto", "he", "xavier", "normal", "zeros"]
#: data sets made of images (augmentation shifts/rotates/scales/thickens them)
IMAGE_DATASETS = ("digits", "mnist")
#: augmentation setting -> (widget default when switched on, largest value, decimals)
AUGMENT_DEFAULTS = {"shift": (2, 64, 0), "rotate": (10.0, 180.0, 1), "scale": (0.1, 0.9, 2),
                    "thickness": (0.2, 1.0, 2)}


def loss_names():
    try:
        from engine.losses import loss_names as names

        return list(names())
    except Exception:  # noqa: BLE001 - the list is a convenience
        return ["quadratic", "binary_cross_entropy", "bce_logits", "softmax_cross_entropy"]


LOSS_TIPS = {
    "quadratic": "Quadratic cost C = 1/(2n) sum ||y - a||^2. With sigmoid outputs it learns slowly when "
                 "the neuron is badly wrong: its gradient carries the factor sigma'(z), near zero when "
                 "the output saturates. For regression targets.",
    "binary_cross_entropy": "Cross-entropy C = -1/n sum [y ln a + (1-y) ln(1-a)] on sigmoid outputs: "
                            "the sigma'(z) factor cancels, so the gradient is (a - y) and a badly wrong "
                            "neuron learns fast (no learning slowdown as with the quadratic cost).",
    "bce_logits": "Cross-entropy computed from the last layer's z (logits) with the sigmoid built in: "
                  "the same cost as binary cross-entropy, numerically stable.",
    "softmax_cross_entropy": "Softmax + log-likelihood: C = -ln a_y, the minus log of the probability "
                             "the softmax gives the right class. Like cross-entropy it does not slow "
                             "learning; for classifying into several classes.",
}
#: one line under the cost combo box
LOSS_SHORT = {
    "quadratic": "(y - a)^2 / 2: learns slowly when a sigmoid output saturates",
    "binary_cross_entropy": "-[y ln a + (1-y) ln(1-a)]: no learning slowdown",
    "bce_logits": "cross-entropy on z with the sigmoid built in (stable)",
    "softmax_cross_entropy": "softmax + log-likelihood: -ln a of the true class",
}

TIPS = {
    "dataset": "The data set to learn from. The 2-D toy sets (circle, xor, gaussian, spiral, plane) "
               "show the decision boundary as the network learns.",
    "dev": "Share of the data held out as the dev set (hold-out cross validation): the developer's set "
           "for choosing, between models and hyperparameters, and for watching overfitting (dev error - "
           "training error is the variance). With big data a small share is enough (the old 70/30 "
           "rule gave way to 98/1/1).",
    "test": "Share held out as the test set: never used for choosing, looked at only at the end, for "
            "an unbiased estimate of how the final network does on new data. Dev and test come from the "
            "same distribution.",
    "data_seed": "Seed of the data: which examples are drawn (toy sets) and which fall into the train, "
                 "dev and test sets. The same seed gives the same split; another seed gives another "
                 "split of the same data. (The weights' seed is under Weights.)",
    "options": "Options of this data set, as its loader declares them.",
    "batch": "Examples per gradient-descent step. 1 = stochastic gradient descent (noisy, no "
             "vectorization), the whole set = batch gradient descent (one step per epoch), in "
             "between = mini-batch gradient descent (64, 128, 256, 512 fit memory well).",
    "all": "Use the whole training set per step (batch gradient descent).",
    "epochs": "Passes over the whole training set.",
    "optimizer": "How a step uses the gradients. sgd: w -= alpha dW. momentum: an exponentially "
                 "weighted average of the gradients damps the oscillations. RMSprop: divides by the "
                 "root of an average of squared gradients. Adam: both, with bias correction.",
    "lr": "Learning rate alpha, the step size: too small learns slowly, too large overshoots the "
          "minimum or diverges. Takes effect at once, even while training.",
    "beta1": "Momentum's beta: how much of the previous gradient average is kept (0.9 averages over "
             "about 1/(1-beta) = 10 steps), smoothing the noise of mini-batches.",
    "beta2": "RMSprop's beta2: the averaging weight of the squared gradients (usually 0.999).",
    "eps": "Epsilon: a tiny number added before dividing by the root mean square, so the step never "
           "divides by zero (usually 1e-8).",
    "schedule": "Learning-rate decay: shrink alpha as the epochs go by, so the steps settle near the "
                "minimum instead of wandering around it.",
    "decay": "Decay rate of the schedule: inverse_time alpha0/(1 + k epoch); exponential alpha0 "
             "rate^epoch; staircase alpha0 rate^floor(epoch/step).",
    "step": "Staircase schedule: epochs between two drops of the learning rate.",
    "l1": "L1 regularization strength: adds lambda * sum|w| to the cost, pushing weights to exactly "
          "zero. Takes effect at once, even while training.",
    "l2": "L2 regularization (weight decay) strength: adds lambda/(2m) * sum w^2 to the cost, keeping "
          "weights small against overfitting (high variance). Takes effect at once.",
    "init": "Weight initialization. auto: He (variance 2/n) before ReLU, Xavier (variance 1/n) "
            "before tanh/sigmoid; normal: small random numbers (0.01); zeros breaks nothing but "
            "symmetry: every unit learns the same thing. Changing it re-initializes the weights.",
    "seed": "Random seed of the weight initialization and the shuffling: the same seed gives the "
            "same run.",
    "loss": "The cost function the network minimizes. Cross-entropy does not slow learning the way "
            "the quadratic cost does (no sigma'(z) factor in its gradient); softmax + log-likelihood "
            "(-ln a_y) is the pair for several classes.",
    "bias_correction": "Momentum's bias correction: divide the gradient average v by (1 - beta^t), so "
                       "the first steps (when v still starts from zero) are not too small. Adam always "
                       "corrects its averages.",
    "early": "Early stopping: stop when the dev cost has not improved for 'patience' epochs and keep "
             "the weights of the best epoch. Stops before the network overfits (a regularizer that "
             "needs no lambda, but mixes optimizing the cost with not overfitting). Needs a dev split.",
    "patience": "Epochs without an improvement of the dev cost before training stops.",
    "min_delta": "Smallest decrease of the dev cost that counts as an improvement.",
    "clip": "Gradient clipping by norm: when the norm of all gradients together is larger than this, "
            "rescale them to it. A remedy for exploding gradients (deep nets, RNNs over long sequences).",
    "clip_norm": "Largest allowed global L2 norm of the gradients.",
    "augment": "Data augmentation: more (slightly different) training images for free, a remedy for "
               "overfitting (high variance). Each training batch is shifted, rotated, scaled and its "
               "strokes thickened or thinned at random; dev and test data are never changed. "
               "Only for image data sets (digits, mnist).",
    "shift": "Largest shift in pixels, drawn per image on each axis.",
    "rotate": "Largest rotation in degrees (drawn in [-rotate, rotate]).",
    "scale": "Largest relative size change: the factor is drawn in [1 - scale, 1 + scale].",
    "thickness": "Largest stroke-thickness change: each image's strokes are thickened or thinned by "
                 "up to this much (0..1).",
    "health": "Tint each layer on the canvas: by the size of its gradient (vanishing or exploding), "
              "by its share of dead ReLU units, or by its share of saturated tanh/sigmoid values.",
}


def choose_mnist_path(parent):
    """Ask for one of the MNIST files; returns the .npz file or the IDX files' folder ('' when
    cancelled). A module function: tests replace it."""
    from PySide6.QtWidgets import QFileDialog

    path, _ = QFileDialog.getOpenFileName(parent, "MNIST files", "", "MNIST (*.npz *-ubyte *-ubyte.gz);;All files (*)")
    if not path:
        return ""
    return path if path.lower().endswith(".npz") else os.path.dirname(path)


def _dspin(lo, hi, decimals, step, tip):
    w = QDoubleSpinBox()
    w.setRange(lo, hi)
    w.setDecimals(decimals)
    w.setSingleStep(step)
    w.setToolTip(tip)
    w.setKeyboardTracking(False)
    return w


class TrainingControls(QWidget):
    """Settings form. Signals carry the edited dicts/values; :meth:`load` fills it silently."""

    training_edited = Signal(dict)
    data_edited = Signal(dict)
    lr_edited = Signal(float)
    regularization_edited = Signal(float, float)
    initializer_edited = Signal(str)
    health_mode_changed = Signal(str)
    #: the user asked to download the full MNIST (the dock runs it in a thread)
    mnist_download_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._loading = False
        self._training = {}
        self._data = {}
        # data
        self.dataset = QComboBox()
        self.dataset.setToolTip(TIPS["dataset"])
        try:
            from engine.data import dataset_names

            from engine.data import DATASET_DESCRIPTIONS

            for i, name in enumerate(dataset_names()):
                self.dataset.addItem(name)
                if DATASET_DESCRIPTIONS.get(name):
                    self.dataset.setItemData(i, DATASET_DESCRIPTIONS[name], Qt.ToolTipRole)
        except Exception:  # noqa: BLE001 - the list is a convenience
            pass
        self.dev = _dspin(0, 90, 0, 5, TIPS["dev"])
        self.dev.setSuffix(" % dev")
        self.test = _dspin(0, 90, 0, 5, TIPS["test"])
        self.test.setSuffix(" % test")
        self.split_label = QLabel()
        # wraps: with a train ratio or MNIST the line is longer than the settings column is wide at
        # 1280 px (one unbreakable line gave the column a horizontal scroll bar and cut the spin boxes)
        self.split_label.setWordWrap(True)
        self.data_seed = QSpinBox()
        self.data_seed.setRange(0, 2**31 - 1)
        self.data_seed.setToolTip(TIPS["data_seed"])
        self.data_seed.setKeyboardTracking(False)
        self.data_error = QLabel()
        self.data_error.setObjectName("data_error")
        self.data_error.setWordWrap(True)
        self.data_error.setStyleSheet("color: #c33;")
        self.data_error.setVisible(False)
        # batch, epochs
        self.batch = QSpinBox()
        self.batch.setRange(1, 100000)
        self.batch.setToolTip(TIPS["batch"])
        self.batch.setKeyboardTracking(False)
        self.batch_all = QCheckBox("all")
        self.batch_all.setToolTip(TIPS["all"])
        self.batch_kind = QLabel()
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 100000)
        self.epochs.setToolTip(TIPS["epochs"])
        self.epochs.setKeyboardTracking(False)
        # optimizer
        self.optimizer = QComboBox()
        self.optimizer.addItems(OPTIMIZERS)
        self.optimizer.setToolTip(TIPS["optimizer"])
        # up to 1000: a typed 100 (to see what too large a step does) was silently cut to 10
        self.lr = _dspin(1e-6, 1000.0, 6, 0.0005, TIPS["lr"])
        self.beta1 = _dspin(0.0, 0.9999, 4, 0.01, TIPS["beta1"])
        self.beta2 = _dspin(0.0, 0.99999, 5, 0.001, TIPS["beta2"])
        self.eps = _dspin(0.0, 1.0, 10, 1e-8, TIPS["eps"])
        self.schedule = QComboBox()
        self.schedule.addItems(SCHEDULES)
        self.schedule.setToolTip(TIPS["schedule"])
        self.decay = _dspin(0.0, 100.0, 4, 0.05, TIPS["decay"])
        self.decay_step = QSpinBox()
        self.decay_step.setRange(1, 10000)
        self.decay_step.setToolTip(TIPS["step"])
        # regularization, init, seed
        self.l1 = _dspin(0.0, 10.0, 5, 0.001, TIPS["l1"])
        self.l2 = _dspin(0.0, 10.0, 5, 0.001, TIPS["l2"])
        self.init = QComboBox()
        self.init.addItems(INITIALIZERS)
        self.init.setToolTip(TIPS["init"])
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip(TIPS["seed"])
        self.seed.setKeyboardTracking(False)
        self.health = QComboBox()
        self.health.addItems(["off", "gradient", "dead", "saturation"])
        self.health.setCurrentText("gradient")
        self.health.setToolTip(TIPS["health"])
        # cost function
        self.loss = QComboBox()
        for name in loss_names():
            self.loss.addItem(name)
            self.loss.setItemData(self.loss.count() - 1, LOSS_TIPS.get(name, ""), Qt.ToolTipRole)
        self.loss.setToolTip(TIPS["loss"])
        self.loss_label = QLabel()
        self.loss_label.setWordWrap(True)
        self.loss_label.setStyleSheet("color: #555;")
        # momentum's bias correction
        self.bias_correction = QCheckBox("bias correction")
        self.bias_correction.setToolTip(TIPS["bias_correction"])
        # early stopping
        self.early = QCheckBox("on dev cost")
        self.early.setToolTip(TIPS["early"])
        self.patience = QSpinBox()
        self.patience.setRange(1, 10000)
        self.patience.setValue(5)
        self.patience.setPrefix("patience ")
        self.patience.setSuffix(" epochs")
        self.patience.setToolTip(TIPS["patience"])
        self.patience.setKeyboardTracking(False)
        self.min_delta = _dspin(0.0, 100.0, 4, 0.001, TIPS["min_delta"])
        self.min_delta.setPrefix("min delta ")
        # gradient clipping
        self.clip = QCheckBox("clip")
        self.clip.setToolTip(TIPS["clip"])
        self.clip_norm = _dspin(0.001, 1e6, 3, 0.5, TIPS["clip_norm"])
        self.clip_norm.setValue(5.0)
        self.clip_norm.setPrefix("norm ")
        # data augmentation
        self.augment = QCheckBox("augment training images")
        self.augment.setToolTip(TIPS["augment"])
        self.augment_fields = {}
        for key, (default, top, decimals) in AUGMENT_DEFAULTS.items():
            if decimals == 0:
                w = QSpinBox()
                w.setRange(0, int(top))
                w.setKeyboardTracking(False)
                w.setToolTip(TIPS[key])
            else:
                w = _dspin(0.0, top, decimals, 1.0 if decimals == 1 else 0.05, TIPS[key])
            w.setValue(default)
            self.augment_fields[key] = w
        self.augment_fields["shift"].setSuffix(" px")
        self.augment_fields["rotate"].setSuffix(" deg")

        data_box = QGroupBox("Data")
        f = QFormLayout(data_box)
        f.addRow("data set", self.dataset)
        self.data_options = DataOptionsForm(f, self.dataset, self)
        split = QHBoxLayout()
        split.addWidget(self.dev)
        split.addWidget(self.test)
        f.addRow("split", split)
        f.addRow("", self.split_label)
        f.addRow("data seed", self.data_seed)
        f.addRow(self.data_error)
        # the full MNIST is not bundled: point at your copy, or download it (11 MB) once
        self.mnist_files = QPushButton("Use files\u2026")
        self.mnist_files.setToolTip("Read MNIST from your copy: the four IDX files (train-images-idx3-ubyte "
                                    "... t10k-labels-idx1-ubyte, .gz or not) or an .npz with x_train, "
                                    "y_train, x_test, y_test.")
        self.mnist_download = QPushButton("Download (11 MB)")
        self.mnist_download.setToolTip("Download the four MNIST files once into the cache folder "
                                       "(checked against their SHA-256), then train on 60,000 digits.")
        self.mnist_row = QWidget()
        row = QHBoxLayout(self.mnist_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.mnist_files)
        row.addWidget(self.mnist_download)
        self.mnist_label = QLabel("MNIST")
        f.addRow(self.mnist_label, self.mnist_row)
        f.addRow("", self.augment)
        self.augment_labels = {}
        for key, w in self.augment_fields.items():
            self.augment_labels[key] = QLabel(key)
            f.addRow(self.augment_labels[key], w)
        train_box = QGroupBox("Gradient descent")
        f = QFormLayout(train_box)
        row = QHBoxLayout()
        row.addWidget(self.batch, 1)
        row.addWidget(self.batch_all)
        f.addRow("batch size", row)
        f.addRow("", self.batch_kind)
        f.addRow("epochs", self.epochs)
        f.addRow("cost", self.loss)
        f.addRow("", self.loss_label)
        f.addRow("optimizer", self.optimizer)
        f.addRow("learning rate", self.lr)
        self.beta1_label, self.beta2_label, self.eps_label = QLabel("beta"), QLabel("beta2"), QLabel("epsilon")
        f.addRow(self.beta1_label, self.beta1)
        f.addRow("", self.bias_correction)
        f.addRow(self.beta2_label, self.beta2)
        f.addRow(self.eps_label, self.eps)
        f.addRow("schedule", self.schedule)
        self.decay_label, self.step_label = QLabel("decay rate"), QLabel("step (epochs)")
        f.addRow(self.decay_label, self.decay)
        f.addRow(self.step_label, self.decay_step)
        # patience and the clipping norm on rows of their own: beside their check boxes the column was
        # ~130 px wider, which the plots and the Evaluation tables need on a 1280 px screen
        f.addRow("early stopping", self.early)
        f.addRow("", self.patience)
        f.addRow("", self.min_delta)
        f.addRow("gradient clipping", self.clip)
        f.addRow("", self.clip_norm)
        net_box = QGroupBox("Weights")
        f = QFormLayout(net_box)
        f.addRow("L1", self.l1)
        f.addRow("L2", self.l2)
        f.addRow("initialization", self.init)
        f.addRow("seed", self.seed)
        f.addRow("health overlay", self.health)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(data_box)
        lay.addWidget(train_box)
        lay.addWidget(net_box)
        lay.addStretch(1)

        for w in (self.dev, self.test):
            w.valueChanged.connect(self._on_data_changed)
        self.dataset.currentTextChanged.connect(self._on_data_changed)
        self.data_seed.valueChanged.connect(self._on_data_changed)
        self.data_options.edited.connect(self._on_data_changed)
        for w in (self.batch, self.epochs, self.decay_step, self.seed):
            w.valueChanged.connect(self._on_training_changed)
        for w in (self.beta1, self.beta2, self.eps, self.decay):
            w.valueChanged.connect(self._on_training_changed)
        self.batch_all.toggled.connect(self._on_training_changed)
        for w in (self.bias_correction, self.early, self.clip, self.augment):
            w.toggled.connect(self._on_training_changed)
        for w in (self.patience, self.min_delta, self.clip_norm, *self.augment_fields.values()):
            w.valueChanged.connect(self._on_training_changed)
        self.loss.currentTextChanged.connect(self._on_training_changed)
        self.optimizer.currentTextChanged.connect(self._on_optimizer_changed)
        self.schedule.currentTextChanged.connect(self._on_training_changed)
        self.lr.valueChanged.connect(self._on_lr_changed)
        self.l1.valueChanged.connect(self._on_regularization_changed)
        self.l2.valueChanged.connect(self._on_regularization_changed)
        self.init.currentTextChanged.connect(self._on_init_changed)
        self.health.currentTextChanged.connect(self.health_mode_changed)
        self.mnist_files.clicked.connect(self._choose_mnist_files)
        self.mnist_download.clicked.connect(self.mnist_download_requested)
        self._wrap_tooltips()
        self._update_visibility()

    def _wrap_tooltips(self):
        """Make every tooltip rich text so Qt word-wraps it (plain text shows as one very long line)."""
        for w in self.findChildren(QWidget):
            w.setToolTip(rich(w.toolTip()))
            if isinstance(w, QComboBox):
                for i in range(w.count()):
                    tip = w.itemData(i, Qt.ToolTipRole)
                    if tip:
                        w.setItemData(i, rich(tip), Qt.ToolTipRole)

    # -- model -> view ---------------------------------------------------------------------------
    def load(self, training, data, l1=0.0, l2=0.0, initializer="auto"):
        """Show a document's settings without emitting anything."""
        self._loading = True
        try:
            self._training = copy.deepcopy(training or {})
            self._data = copy.deepcopy(data or {})
            t, d = self._training, self._data
            name = d.get("name", "")
            if name and self.dataset.findText(name) < 0:
                self.dataset.addItem(name)
            self.dataset.setCurrentText(name)
            split = d.get("split") or {}
            self.dev.setValue(100 * float(split.get("dev", 0.1)))
            self.test.setValue(100 * float(split.get("test", 0.2)))
            self.data_options.show_options(name, d.get("options"))
            seed = d.get("seed", 0)
            self.data_seed.setValue(int(seed) if isinstance(seed, int) and not isinstance(seed, bool) else 0)
            bs = t.get("batch_size", 64)
            is_all = bs in (None, 0, "all", "batch", "full")
            self.batch_all.setChecked(is_all)
            if not is_all:
                self.batch.setValue(int(bs))
            self.epochs.setValue(int(t.get("epochs", 20)))
            opt = t.get("optimizer") or {"type": "adam"}
            if isinstance(opt, str):
                opt = {"type": opt}
            self.optimizer.setCurrentText(str(opt.get("type", "adam")).lower())
            self.lr.setValue(float(opt.get("lr", 0.001)))
            self.beta1.setValue(float(opt.get("beta1", opt.get("beta", 0.9))))
            self.beta2.setValue(float(opt.get("beta2", 0.999)))
            self.eps.setValue(float(opt.get("eps", 1e-8)))
            sch = t.get("schedule") or {"type": "constant"}
            if isinstance(sch, str):
                sch = {"type": sch}
            self.schedule.setCurrentText(str(sch.get("type", "constant")))
            self.decay.setValue(float(sch.get("decay_rate", sch.get("rate", 0.5 if sch.get("type") == "staircase" else 1.0))))
            self.decay_step.setValue(int(sch.get("step", 10)))
            self.seed.setValue(int(t.get("seed", 0)))
            self.bias_correction.setChecked(bool(opt.get("bias_correction", False)))
            loss = t.get("loss", "softmax_cross_entropy")
            per_output = isinstance(loss, dict) and "type" not in loss
            if isinstance(loss, dict) and not per_output:
                loss = loss.get("type")
            if per_output:
                self.loss.setEnabled(False)
                self.loss.setToolTip(rich(TIPS["loss"] + " This network has several outputs, each with "
                                          "its own cost (edit them in the document)."))
            else:
                self.loss.setEnabled(True)
                self.loss.setToolTip(rich(TIPS["loss"]))
                if self.loss.findText(str(loss)) < 0:
                    self.loss.addItem(str(loss))
                self.loss.setCurrentText(str(loss))
            es = t.get("early_stopping")
            self.early.setChecked(bool(es))
            if isinstance(es, dict):
                self.patience.setValue(int(es.get("patience", 5)))
                self.min_delta.setValue(float(es.get("min_delta", 0.0)))
            clip = t.get("clip_norm")
            self.clip.setChecked(clip is not None)
            if clip is not None:
                self.clip_norm.setValue(float(clip))
            aug = t.get("augment")
            self.augment.setChecked(isinstance(aug, dict) and any(aug.values()))
            if isinstance(aug, dict):
                for key, w in self.augment_fields.items():
                    if key in aug:
                        w.setValue(aug[key])
            self.l1.setValue(float(l1))
            self.l2.setValue(float(l2))
            self.init.setCurrentText(initializer if initializer in INITIALIZERS else "auto")
            self._update_visibility()
        finally:
            self._loading = False

    # -- view -> model ---------------------------------------------------------------------------
    def training_dict(self):
        """The "training" dict the form shows (keys the form does not edit are kept)."""
        t = copy.deepcopy(self._training)
        t["batch_size"] = "all" if self.batch_all.isChecked() else int(self.batch.value())
        t["epochs"] = int(self.epochs.value())
        kind = self.optimizer.currentText()
        opt = {"type": kind, "lr": float(self.lr.value())}
        values = {"beta": self.beta1.value(), "beta1": self.beta1.value(), "beta2": self.beta2.value(),
                  "eps": self.eps.value()}
        for k in OPTIMIZER_OPTIONS[kind]:
            opt[k] = float(values[k])
        if kind == "momentum" and self.bias_correction.isChecked():
            opt["bias_correction"] = True
        t["optimizer"] = opt
        if self.loss.isEnabled():
            t["loss"] = self.loss.currentText()
        t["early_stopping"] = ({"patience": int(self.patience.value()), "min_delta": float(self.min_delta.value())}
                               if self.early.isChecked() else None)
        t["clip_norm"] = float(self.clip_norm.value()) if self.clip.isChecked() else None
        if self.augment.isChecked() and self.augment.isEnabled():
            aug = {}
            for key, w in self.augment_fields.items():
                aug[key] = int(w.value()) if key == "shift" else float(w.value())
            t["augment"] = aug
        else:
            t["augment"] = None
        sch = {"type": self.schedule.currentText()}
        if sch["type"] in ("inverse_time", "exponential", "staircase"):
            sch["decay_rate"] = float(self.decay.value())
        if sch["type"] == "staircase":
            sch["step"] = int(self.decay_step.value())
        t["schedule"] = sch
        t["seed"] = int(self.seed.value())
        return t

    def data_dict(self):
        d = copy.deepcopy(self._data)
        d["name"] = self.dataset.currentText()
        d["split"] = {"dev": round(self.dev.value() / 100.0, 4), "test": round(self.test.value() / 100.0, 4)}
        if d.get("name") != self._data.get("name"):
            d["options"] = {}
        else:
            d["options"] = self.data_options.options()
        seed = self._data.get("seed", 0)
        if not (isinstance(seed, int) and self.data_seed.value() == min(max(seed, 0), self.data_seed.maximum())):
            d["seed"] = int(self.data_seed.value())  # a seed the spin box cannot show stays unless edited
        return d

    def show_data_error(self, message):
        """Say why a data edit was not applied (under the data settings); '' hides it."""
        self.data_error.setText(message)
        self.data_error.setVisible(bool(message))

    def set_data_editable(self, on):
        """Lock the data settings while a run trains on them."""
        for w in (self.dataset, self.dev, self.data_seed):
            w.setEnabled(on)
        self.data_options.set_editable(on)
        self._update_visibility()  # the test share: editable unless MNIST or a train ratio decides it

    def _update_visibility(self):
        kind = self.optimizer.currentText()
        opts = OPTIMIZER_OPTIONS.get(kind, ())
        self.beta1_label.setText("beta1" if kind == "adam" else "beta")
        for label, w, key in ((self.beta1_label, self.beta1, ("beta", "beta1")),
                              (self.beta2_label, self.beta2, ("beta2",)), (self.eps_label, self.eps, ("eps",))):
            on = any(k in opts for k in key)
            label.setVisible(on)
            w.setVisible(on)
        self.bias_correction.setVisible(kind == "momentum")
        self.loss_label.setText(LOSS_SHORT.get(self.loss.currentText(), "") if self.loss.isEnabled()
                                else "one cost per output")
        self.patience.setEnabled(self.early.isChecked())
        no_dev = self.early.isChecked() and self.dev.value() == 0
        self.early.setText("needs a dev split" if no_dev else "on dev cost")
        self.early.setStyleSheet("color: #c33;" if no_dev else "")
        self.min_delta.setVisible(self.early.isChecked())
        self.clip_norm.setEnabled(self.clip.isChecked())
        mnist = self.dataset.currentText() == "mnist"
        self.mnist_label.setVisible(mnist)
        self.mnist_row.setVisible(mnist)
        image = self.dataset.currentText() in IMAGE_DATASETS
        self.augment.setEnabled(image)
        self.augment.setVisible(image)
        for key, w in self.augment_fields.items():
            on = image and self.augment.isChecked()
            w.setVisible(on)
            self.augment_labels[key].setVisible(on)
        sch = self.schedule.currentText()
        self.decay_label.setVisible(sch != "constant")
        self.decay.setVisible(sch != "constant")
        self.step_label.setVisible(sch == "staircase")
        self.decay_step.setVisible(sch == "staircase")
        self.batch.setEnabled(not self.batch_all.isChecked())
        if self.batch_all.isChecked():
            self.batch_kind.setText("batch gradient descent")
        elif self.batch.value() == 1:
            self.batch_kind.setText("stochastic gradient descent")
        else:
            self.batch_kind.setText("mini-batch gradient descent")
        mnist = self.dataset.currentText() == "mnist"
        ratio = self._train_ratio()
        self.test.setEnabled(not mnist and ratio is None and self.dataset.isEnabled())  # MNIST keeps its own test set
        if mnist:
            self.split_label.setText(f"train {100 - self.dev.value():.0f} % of 60,000; test: MNIST's own 10,000")
        elif ratio is not None:  # the toy sets' "ratio of training to test data" replaces the test share
            train = ratio * (100 - self.dev.value()) / 100
            self.split_label.setText(f"train {train:.0f} %, dev {ratio - train:.0f} %, test {100 - ratio:.0f} % "
                                     f"(the train ratio {ratio:.0f} % sets the test share)")
        else:
            self.split_label.setText(f"train {max(0.0, 100 - self.dev.value() - self.test.value()):.0f} %")

    def _train_ratio(self):
        """The toy sets' train_ratio option in percent, or None when it is not set."""
        if "train_ratio" not in self.data_options.widgets:
            return None
        v = self.data_options.widget_value("train_ratio")
        if v is None:
            return None
        return v * 100.0 if 0 < v < 1 else float(v)

    def _on_optimizer_changed(self, kind):
        if not self._loading:
            defaults = {"sgd": 0.01, "momentum": 0.01, "rmsprop": 0.001, "adam": 0.001}
            self._loading = True
            self.lr.setValue(defaults.get(kind, self.lr.value()))
            self._loading = False
        self._on_training_changed()

    def _on_training_changed(self, *_):
        self._update_visibility()
        if not self._loading:
            self._training = self.training_dict()
            self.training_edited.emit(copy.deepcopy(self._training))

    def _on_lr_changed(self, value):
        if not self._loading:
            self._on_training_changed()
            self.lr_edited.emit(float(value))

    def _on_data_changed(self, *_):
        self._update_visibility()
        if not self._loading:
            self._data = self.data_dict()
            self._loading = True
            try:  # another data set: its own options (the document's data_changed shows them again)
                self.data_options.show_options(self._data["name"], self._data.get("options"))
            finally:
                self._loading = False
            self.data_edited.emit(copy.deepcopy(self._data))
            if self._training.get("augment") and self._data.get("name") not in IMAGE_DATASETS:
                self._on_training_changed()  # augmentation only makes sense for images

    def set_data_options(self, options):
        """Replace the data set's options (e.g. MNIST's path) and emit the edited data dict."""
        self._data = self.data_dict()
        self._data["options"] = dict(options)
        self.data_edited.emit(copy.deepcopy(self._data))

    def _choose_mnist_files(self):
        path = choose_mnist_path(self)
        if path:
            self.set_data_options({"path": path})

    def _on_regularization_changed(self, *_):
        if not self._loading:
            self.regularization_edited.emit(float(self.l1.value()), float(self.l2.value()))

    def _on_init_changed(self, name):
        if not self._loading:
            self.initializer_edited.emit(name)
