"""The training loop: shuffled mini-batches, epochs, events, pause/step/cancel, divergence checks.

Usage (what ``nnplay train`` and the training dock do)::

    from engine.training import TrainConfig, Trainer
    config = TrainConfig.from_dict(document["training"])      # validated, clear ConfigError
    trainer = Trainer(network, splits, config, callback=print, throttle=0.1)
    result = trainer.run()             # trains in the calling thread, returns the result dict
    # or: trainer.start() (a daemon thread of its own) ... trainer.join(timeout) -> result or None

``splits`` is anything with ``x_train, y_train, x_dev, y_dev, x_test, y_test`` (dev/test may be None
or empty; ``engine.data.Splits`` has exactly these plus ``task``, ``classes``, ``input_shape``).
Inputs may be dicts input name -> array (several inputs), targets dicts output name -> array
(several outputs, with ``loss`` a dict output name -> loss).

One epoch is one pass over the shuffled training set in mini-batches of ``batch_size``
(m = the whole set: batch gradient descent; 1: stochastic; in between: mini-batch). For each batch:
forward (training), cost (with the fused softmax/sigmoid gradient and the L1/L2 penalty, see
``engine.losses``), backward, regularization gradients, optional global gradient-norm clipping, a
NaN/Inf check, then the optimizer's update. A prefetch thread prepares the next shuffled (and
augmented) batches in a bounded queue while the current one computes.

Control, from any thread, at any time: :meth:`Trainer.pause`, :meth:`Trainer.resume`,
:meth:`Trainer.step` (one mini-batch while paused), :meth:`Trainer.cancel` (honoured before the
next batch; wakes a paused trainer), :meth:`Trainer.set_lr` (the base learning rate; the schedule
still applies), :meth:`Trainer.set_regularization` (l1, l2 of every layer with weights). Changes
take effect at the next batch, without resetting anything.

Events, passed to ``callback(event)`` as dicts (in the training thread):

- ``{"type": "step", "epoch", "step", "steps_per_epoch", "global_step", "loss", "accuracy",
  "lr", "grad_norms": {node: norm}, "activation_stats": {node: {"mean", "std", "dead",
  "saturated"}}, "time_left": seconds, "elapsed": seconds, "recent": [[global_step, loss], ...]}``
  at most once per ``throttle`` seconds (plus one after every :meth:`step` while paused). Gradient
  norms and activation statistics are computed only for batches that send an event. ``recent``
  holds every batch loss since the previous step event, so a per-step plot misses nothing.
  ``epoch`` and ``step`` count from 0.
- ``{"type": "epoch", "epoch", "epochs", "train_loss", "train_accuracy", "dev_loss",
  "dev_accuracy", "lr", "seconds"}`` after every epoch. train_* are running means over the epoch's
  batches (with dropout on, as the network trained); dev_* are evaluated with ``training=False``.
  Accuracies are None for regression; dev_* are None without a dev set. ``history`` holds the
  per-epoch lists (the keys of the result's history) of every epoch since the previous epoch
  event: when epochs are faster than ``epoch_throttle`` (tiny data sets, batch gradient descent)
  they are sent together, so a listener is never flooded; the last epoch is always sent.
- ``{"type": "diverged", "node", "epoch", "step", "message"}`` when a cost, output or gradient
  turns NaN/Inf: ``node`` is the first layer (in topological order) whose output holds NaN/Inf,
  or, when every output is finite, the layer where the backward pass first produced one. The bad
  update is skipped and the weights (and BatchNorm statistics) are restored from the last good
  snapshot: one is taken at every epoch start and at most once a second, and counts as good once
  the step that used it had finite cost and gradients. Training then stops with
  ``stopped == "diverged"``.
- ``{"type": "finished", "result": result, "recent": [[global_step, loss], ...],
  "steps_per_epoch": n}`` at the end, whatever the reason (``recent``: the steps no step event sent).
- ``{"type": "error", "message"}`` when :meth:`start` 's thread stopped on an error (the error is
  also kept in ``trainer.error``).

The result dict: ``train_loss, train_accuracy, dev_loss, dev_accuracy, test_loss, test_accuracy``
(evaluated after training with ``network.predict``, training=False; None where a set is missing or
accuracy does not apply), ``epochs`` (completed), ``seconds``, ``seconds_per_epoch``, ``history``
(per-epoch lists: epoch, train_loss, train_accuracy, dev_loss, dev_accuracy, lr, seconds),
``stopped`` ("finished", "cancelled", "diverged", "early_stopping"), ``best_epoch`` (with early
stopping) and ``diverged`` (the diverged event, or None). Every reported cost includes the L1/L2
penalty.
"""

import copy
import math
import numbers
import queue
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from . import diagnostics, metrics, regularizers
from .errors import ConfigError, DataError, EngineError
from .losses import Loss, compute_cost, get_loss
from .optimizers import get_optimizer
from .schedules import get_schedule

#: A document's "training" settings when it gives none (engine.io fills documents from this too).
DEFAULT_TRAINING = {
    "loss": "softmax_cross_entropy",
    "optimizer": {"type": "adam", "lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
    "schedule": {"type": "constant"},
    "batch_size": 64,
    "epochs": 20,
    "seed": 0,
    "early_stopping": None,
    "clip_norm": None,
    "augment": None,
}


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_number(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


@dataclass
class TrainConfig:
    """The hyperparameters of a training run: a document's "training" dict, validated.

    loss : a loss name/dict, or a dict output name -> loss spec for several outputs.
    optimizer : dict {"type": "adam", "lr": 0.001, ...} (see engine.optimizers).
    schedule : dict {"type": "constant"} (see engine.schedules).
    batch_size : int >= 1, or None for the whole training set (documents say "all" or 0).
    epochs : int >= 1.
    seed : int; seeds the shuffling (and the weights when the network is not built yet).
    early_stopping : None or {"patience": int >= 1, "min_delta": float >= 0} on the dev loss; the
        best weights are restored at the end.
    clip_norm : None or float > 0: rescale all gradients together when their global L2 norm is
        larger (exploding gradients in RNNs).
    augment : None or the document's augmentation settings (a dict); the Trainer turns it into a
        callable ``augment(x_batch, rng) -> x_batch`` (or takes one directly).
    """

    loss: object = "softmax_cross_entropy"
    optimizer: dict = field(default_factory=lambda: dict(DEFAULT_TRAINING["optimizer"]))
    schedule: dict = field(default_factory=lambda: {"type": "constant"})
    batch_size: object = 64
    epochs: int = 20
    seed: int = 0
    early_stopping: object = None
    clip_norm: object = None
    augment: object = None

    def __post_init__(self):
        self.validate()

    @classmethod
    def from_dict(cls, d=None, **overrides):
        """Build from a document's "training" dict; ``overrides`` (not None) replace entries.

        Unknown keys raise ConfigError; missing keys take the defaults. Overrides may also be
        ``lr`` (the optimizer's learning rate) and ``optimizer`` given as a name.
        """
        if d is None:
            d = {}
        if not isinstance(d, dict):
            raise ConfigError("the 'training' settings must be an object")
        d = dict(d)
        unknown = [k for k in d if k not in DEFAULT_TRAINING]
        if unknown:
            raise ConfigError(f"unknown training setting {unknown[0]!r} (known: {', '.join(DEFAULT_TRAINING)})")
        overrides = {k: v for k, v in overrides.items() if v is not None}
        lr = overrides.pop("lr", None)
        if "optimizer" in overrides and isinstance(overrides["optimizer"], str):
            old = d.get("optimizer")
            old_lr = old.get("lr") if isinstance(old, dict) else None
            overrides["optimizer"] = {"type": overrides["optimizer"], **({"lr": old_lr} if old_lr else {})}
        bad = [k for k in overrides if k not in DEFAULT_TRAINING]
        if bad:
            raise ConfigError(f"unknown training setting {bad[0]!r}")
        d.update(overrides)
        opt = d.get("optimizer", DEFAULT_TRAINING["optimizer"])
        if isinstance(opt, str):
            opt = {"type": opt}
        if lr is not None:
            if not isinstance(opt, dict):
                raise ConfigError("the optimizer must be an object with a 'type'")
            opt = {**opt, "lr": lr}
        d["optimizer"] = opt
        # copies: the config must share no dict with the document (or with DEFAULT_TRAINING)
        values = {k: d.get(k, v) for k, v in DEFAULT_TRAINING.items()}
        values = {k: v if callable(v) else copy.deepcopy(v) for k, v in values.items()}
        for k in ("optimizer", "schedule"):
            if values[k] is None:
                values[k] = dict(DEFAULT_TRAINING[k])
        return cls(**values)

    def to_dict(self):
        """JSON-safe dict for a document ("all" for the whole-set batch)."""
        return {
            "loss": self.loss,
            "optimizer": dict(self.optimizer),
            "schedule": dict(self.schedule),
            "batch_size": "all" if self.batch_size is None else int(self.batch_size),
            "epochs": int(self.epochs),
            "seed": int(self.seed),
            "early_stopping": None if self.early_stopping is None else dict(self.early_stopping),
            "clip_norm": self.clip_norm,
            "augment": self.augment if not callable(self.augment) else None,
        }

    def validate(self):
        """Check every setting; normalise batch_size, early_stopping. Raises ConfigError."""
        # loss
        if isinstance(self.loss, dict) and "type" not in self.loss:
            if not self.loss:
                raise ConfigError("the loss dict names no output")
            for name, spec in self.loss.items():
                if isinstance(spec, dict) and "weight" in spec and not _is_number(spec["weight"]):
                    raise ConfigError(f"loss weight for output '{name}' must be a number")
                get_loss(spec)
        else:
            get_loss(self.loss)
        # optimizer and schedule
        if isinstance(self.optimizer, str):
            self.optimizer = {"type": self.optimizer}
        if not isinstance(self.optimizer, dict):
            raise ConfigError("the optimizer must be an object like {\"type\": \"adam\", \"lr\": 0.001}")
        get_optimizer(self.optimizer, [])
        if isinstance(self.schedule, str):
            self.schedule = {"type": self.schedule}
        if self.schedule is None:
            self.schedule = {"type": "constant"}
        if not isinstance(self.schedule, dict):
            raise ConfigError("the schedule must be an object like {\"type\": \"constant\"}")
        get_schedule(self.schedule)
        # batch size
        bs = self.batch_size
        if bs is None or (isinstance(bs, str) and bs.lower() in ("all", "batch", "full")) or (_is_int(bs) and bs == 0):
            self.batch_size = None
        elif _is_int(bs) and bs >= 1:
            self.batch_size = int(bs)
        elif isinstance(bs, float) and bs.is_integer() and bs >= 1:
            self.batch_size = int(bs)
        else:
            raise ConfigError(f"batch_size must be a whole number >= 1, or \"all\" for batch gradient descent, got {bs!r}")
        # epochs, seed
        if isinstance(self.epochs, float) and self.epochs.is_integer():
            self.epochs = int(self.epochs)
        if not _is_int(self.epochs) or self.epochs < 1:
            raise ConfigError(f"epochs must be a whole number >= 1, got {self.epochs!r}")
        self.epochs = int(self.epochs)
        if not _is_int(self.seed) or self.seed < 0:
            raise ConfigError(f"seed must be a whole number >= 0, got {self.seed!r}")
        self.seed = int(self.seed)
        # early stopping
        es = self.early_stopping
        if es is not None and es is not False:
            if es is True:
                es = {}
            if not isinstance(es, dict):
                raise ConfigError("early_stopping must be null or an object {\"patience\": n, \"min_delta\": x}")
            unknown = [k for k in es if k not in ("patience", "min_delta")]
            if unknown:
                raise ConfigError(f"early_stopping has no option {unknown[0]!r} (its options: patience, min_delta)")
            patience = es.get("patience", 5)
            min_delta = es.get("min_delta", 0.0)
            if not _is_int(patience) or patience < 1:
                raise ConfigError(f"early_stopping patience must be a whole number of epochs >= 1, got {patience!r}")
            if not _is_number(min_delta) or min_delta < 0:
                raise ConfigError(f"early_stopping min_delta must be a number >= 0, got {min_delta!r}")
            self.early_stopping = {"patience": int(patience), "min_delta": float(min_delta)}
        else:
            self.early_stopping = None
        # clipping
        if self.clip_norm is not None:
            if not _is_number(self.clip_norm) or self.clip_norm <= 0:
                raise ConfigError(f"clip_norm must be a number > 0 (or null for no clipping), got {self.clip_norm!r}")
            self.clip_norm = float(self.clip_norm)
        if self.augment is not None and not (isinstance(self.augment, dict) or callable(self.augment)):
            raise ConfigError("augment must be null or an object of augmentation settings")
        return self

    @property
    def lr(self):
        return float(self.optimizer.get("lr", get_optimizer(self.optimizer, []).lr))


# -- helpers for arrays and dicts of arrays ---------------------------------------------------------
def _n_samples(x):
    if x is None:
        return 0
    if isinstance(x, dict):
        if not x:
            return 0
        return len(next(iter(x.values())))
    return len(x)


def _take(x, idx):
    if isinstance(x, dict):
        return {k: v[idx] for k, v in x.items()}
    return x[idx]


def _slice(x, start, stop):
    if isinstance(x, dict):
        return {k: v[start:stop] for k, v in x.items()}
    return x[start:stop]


def _as_array(x, dtype=None):
    if x is None:
        return None
    if isinstance(x, dict):
        return {k: np.asarray(v) if dtype is None else np.asarray(v, dtype=dtype) for k, v in x.items()}
    return np.asarray(x) if dtype is None else np.asarray(x, dtype=dtype)


def _cast_floats(x, dtype):
    """Floating arrays (or dict values) in ``dtype``, cast once here rather than every batch."""
    if x is None:
        return None
    if isinstance(x, dict):
        return {k: _cast_floats(v, dtype) for k, v in x.items()}
    if x.dtype.kind == "f" and x.dtype != dtype:
        return x.astype(dtype)
    return x


def _all_finite(x):
    if isinstance(x, dict):
        return all(_all_finite(v) for v in x.values())
    x = np.asarray(x)
    if x.dtype.kind not in "fc":
        return True
    with np.errstate(all="ignore"):
        return bool(np.isfinite(np.sum(x)) or np.isfinite(x).all())


def build_augment(spec):
    """Turn the document's "augment" setting into a callable ``augment(x_batch, rng)`` (or None).

    A callable is returned as it is; a dict goes to :func:`engine.data.augment.build_augment`
    (image augmentation: shifts, rotations, scaling, stroke thickness).
    """
    from .data.augment import build_augment as build

    try:
        return build(spec)
    except EngineError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"bad augmentation settings: {exc}") from None


class _Stop(Exception):
    """Raised inside the loop to unwind on cancel."""


class Trainer:
    """Trains a network on a data set; runs in the calling thread or a thread of its own.

    network : engine.graph.Network (built here with ``config.seed`` if not built yet).
    data : object with x_train, y_train, x_dev, y_dev, x_test, y_test (dev/test may be None).
    config : TrainConfig or a document's "training" dict.
    callback : callable(event: dict) or None; see the module docstring for the events.
    throttle : minimum seconds between two step events.
    augment : callable ``augment(x_batch, rng) -> x_batch`` run in the prefetch thread, or None
        (then ``config.augment`` is used, see :func:`build_augment`).
    accuracy_fn : callable(outputs, targets) -> float, replacing the default accuracy (argmax /
        sigmoid threshold, per token for sequences; per sequence when ``data.info["accuracy"] ==
        "sequence"``).
    eval_batch_size : batch size of evaluation (``network.predict``).
    prefetch : number of batches the prefetch thread prepares ahead (0: no thread).
    epoch_throttle : minimum seconds between two epoch events (default ``throttle / 4``); faster
        epochs are sent together (see the "epoch" event's ``history``).
    """

    def __init__(self, network, data, config=None, callback=None, throttle=0.1, augment=None,
                 accuracy_fn=None, eval_batch_size=512, prefetch=4, epoch_throttle=None):
        if config is None:
            config = TrainConfig()
        elif isinstance(config, dict):
            config = TrainConfig.from_dict(config)
        elif not isinstance(config, TrainConfig):
            raise ConfigError("the training config must be a TrainConfig or a dict")
        self.network = network
        self.config = config
        self.callback = callback
        self.throttle = float(throttle)
        self.eval_batch_size = int(eval_batch_size)
        self.prefetch = int(prefetch)
        self.epoch_throttle = self.throttle / 4 if epoch_throttle is None else float(epoch_throttle)
        self.augment = build_augment(augment if augment is not None else config.augment)

        # data
        self.x_train = _as_array(getattr(data, "x_train", None))
        self.y_train = _as_array(getattr(data, "y_train", None))
        self.x_dev = _as_array(getattr(data, "x_dev", None))
        self.y_dev = _as_array(getattr(data, "y_dev", None))
        self.x_test = _as_array(getattr(data, "x_test", None))
        self.y_test = _as_array(getattr(data, "y_test", None))
        self.n_train = _n_samples(self.x_train)
        if self.n_train == 0:
            raise DataError("there is no training data")
        if _n_samples(self.y_train) != self.n_train:
            raise DataError(f"{self.n_train} training inputs but {_n_samples(self.y_train)} targets")
        for what, x, y in (("dev", self.x_dev, self.y_dev), ("test", self.x_test, self.y_test)):
            if _n_samples(x) != _n_samples(y):
                raise DataError(f"{_n_samples(x)} {what} inputs but {_n_samples(y)} targets")
        self.has_dev = _n_samples(self.x_dev) > 0
        self.has_test = _n_samples(self.x_test) > 0
        if config.early_stopping and not self.has_dev:
            raise ConfigError("early stopping watches the dev loss: give the data a dev split")

        # network, loss, optimizer, schedule
        if not network.built:
            network.build(seed=config.seed)
        else:
            network.infer_shapes()
        dtype = np.dtype(network.dtype)
        for attr in ("x_train", "y_train", "x_dev", "y_dev", "x_test", "y_test"):
            setattr(self, attr, _cast_floats(getattr(self, attr), dtype))
        loss = config.loss
        if isinstance(loss, dict) and "type" not in loss:
            self.loss_spec = dict(loss)
            losses = [get_loss(s) for s in loss.values()]
        else:
            self.loss_spec = get_loss(loss)
            losses = [self.loss_spec]
        task = getattr(data, "task", None)
        self.classification = task == "classification" if task else any(l.classification for l in losses)
        self._threshold = 0.0 if any(getattr(l, "name", "") == "bce_logits" for l in losses) else 0.5
        info = getattr(data, "info", None) or {}
        self._sequence_accuracy = isinstance(info, dict) and info.get("accuracy") == "sequence"
        self.accuracy_fn = accuracy_fn
        self._check_fit()
        self.optimizer = get_optimizer(config.optimizer, network.parameters())
        self.schedule = get_schedule(config.schedule)
        self.lr0 = self.optimizer.lr
        self.batch_size = min(config.batch_size or self.n_train, self.n_train)
        self.steps_per_epoch = -(-self.n_train // self.batch_size)

        # state
        self.epoch = 0
        self.global_step = 0
        self.result = None
        self.error = None
        self.history = {k: [] for k in ("epoch", "train_loss", "train_accuracy", "dev_loss",
                                         "dev_accuracy", "lr", "seconds")}
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._paused = False
        self._steps_allowed = 0
        self._cancel = threading.Event()
        self._pending = {}
        self._thread = None
        self._producer = None
        self._producer_stop = threading.Event()
        self._node_kinds = {name: getattr(node.layer, "kind", None) for name, node in network.nodes.items()}

    def _check_fit(self):
        """Fail early, with a clear error, when the data does not fit the network or the loss."""
        try:
            out = self.network.forward(_slice(self.x_train, 0, 2), training=False)
            compute_cost(self.network, out, _slice(self.y_train, 0, 2), self.loss_spec,
                         regularization=False, fuse=False)
        except EngineError:
            raise
        except (ValueError, IndexError, TypeError) as exc:
            raise DataError(f"the data does not fit the network: {exc}") from None

    # -- control (any thread) --------------------------------------------------------------------
    def pause(self):
        """Stop before the next batch until :meth:`resume`, :meth:`step` or :meth:`cancel`."""
        with self._cond:
            self._paused = True

    def resume(self):
        with self._cond:
            self._paused = False
            self._steps_allowed = 0
            self._cond.notify_all()

    def step(self, n=1):
        """While paused, train ``n`` more mini-batches (each sends a step event), then wait again.

        Ignored when not paused."""
        with self._cond:
            if not self._paused:
                return
            self._steps_allowed += int(n)
            self._cond.notify_all()

    def cancel(self):
        """Stop before the next batch (a paused trainer wakes up and stops)."""
        self._cancel.set()
        with self._cond:
            self._cond.notify_all()

    @property
    def paused(self):
        return self._paused

    @property
    def cancelled(self):
        return self._cancel.is_set()

    def set_lr(self, lr):
        """Set the base learning rate (the schedule still scales it by epoch) from the next batch."""
        if not _is_number(lr) or lr <= 0:
            raise ConfigError(f"the learning rate must be a number > 0, got {lr!r}")
        with self._lock:
            self._pending["lr"] = float(lr)

    def set_regularization(self, l1=None, l2=None):
        """Set L1/L2 strength of every layer with weights (None keeps a value) from the next batch."""
        for name, v in (("l1", l1), ("l2", l2)):
            if v is not None and (not _is_number(v) or v < 0):
                raise ConfigError(f"{name} must be a number >= 0, got {v!r}")
        with self._lock:
            if l1 is not None:
                self._pending["l1"] = float(l1)
            if l2 is not None:
                self._pending["l2"] = float(l2)

    # -- threads -----------------------------------------------------------------------------------
    def start(self):
        """Run :meth:`run` in a daemon thread of its own and return at once."""
        if self._thread is not None and self._thread.is_alive():
            raise EngineError("this trainer is already running")

        def target():
            try:
                self.run()
            except Exception as exc:  # noqa: BLE001 - reported to the listener
                self.error = exc
                self._emit({"type": "error", "message": str(exc) or type(exc).__name__})

        self._thread = threading.Thread(target=target, name="trainer", daemon=True)
        self._thread.start()
        return self

    def join(self, timeout=None):
        """Wait for the training thread; return the result dict (None if still running)."""
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                return None
        return self.result

    @property
    def running(self):
        return self._thread is not None and self._thread.is_alive()

    def _emit(self, event):
        if self.callback is not None:
            self.callback(event)

    # -- batches -----------------------------------------------------------------------------------
    def _batches(self, epochs, rng, aug_rng):
        """Yield (epoch, step, x_batch, y_batch) for every epoch: shuffled, augmented."""
        bs = self.batch_size
        for epoch in range(epochs):
            if self.batch_size >= self.n_train and self.augment is None and epoch > 0:
                perm = None  # batch gradient descent: order does not matter
            else:
                perm = rng.permutation(self.n_train)
            for step in range(self.steps_per_epoch):
                if perm is None:
                    xb, yb = self.x_train, self.y_train
                else:
                    idx = perm[step * bs:(step + 1) * bs]
                    xb, yb = _take(self.x_train, idx), _take(self.y_train, idx)
                if self.augment is not None:
                    xb = self.augment(xb, aug_rng)
                yield epoch, step, xb, yb

    def _start_producer(self, epochs, rng, aug_rng):
        gen = self._batches(epochs, rng, aug_rng)
        if self.prefetch <= 0:
            return gen
        q = queue.Queue(maxsize=self.prefetch)
        stop = self._producer_stop
        stop.clear()
        done = object()

        def produce():
            try:
                for item in gen:
                    while not stop.is_set():
                        try:
                            q.put(item, timeout=0.05)
                            break
                        except queue.Full:
                            continue
                    if stop.is_set():
                        return
                item = done
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer
                item = ("error", exc)
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.05)
                    return
                except queue.Full:
                    continue

        self._producer = threading.Thread(target=produce, name="trainer-prefetch", daemon=True)
        self._producer.start()

        def consume():
            while True:
                item = q.get()
                if item is done:
                    return
                if isinstance(item, tuple) and len(item) == 2 and item[0] == "error":
                    raise item[1]
                yield item

        return consume()

    def _stop_producer(self):
        self._producer_stop.set()
        if self._producer is not None:
            self._producer.join(timeout=5)
            self._producer = None

    # -- accuracy and evaluation --------------------------------------------------------------------
    def _accuracy(self, outputs, targets):
        if self.accuracy_fn is not None:
            return float(self.accuracy_fn(outputs, targets))
        if not self.classification:
            return None
        if isinstance(outputs, dict):
            accs = []
            for name, out in outputs.items():
                if isinstance(targets, dict) and name not in targets:
                    continue
                if isinstance(self.loss_spec, dict):
                    spec = self.loss_spec.get(name)
                    if spec is None or not get_loss(spec).classification:
                        continue
                accs.append(self._accuracy_one(out, targets[name] if isinstance(targets, dict) else targets))
            return float(np.mean(accs)) if accs else None
        return self._accuracy_one(outputs, targets)

    def _accuracy_one(self, out, y):
        if self._sequence_accuracy and np.ndim(out) == 3:
            return metrics.sequence_accuracy(out, y)
        return metrics.accuracy(out, y, threshold=self._threshold)

    def evaluate(self, x, y):
        """(cost, accuracy) of the network on a data set, in batches, with training=False.

        The cost includes the L1/L2 penalty at the training batch size (as the training cost does).
        Returns (None, None) for an empty set.
        """
        if _n_samples(x) == 0:
            return None, None
        outputs = self.network.predict(x, batch_size=self.eval_batch_size)
        cost, _ = compute_cost(self.network, outputs, y, self.loss_spec, regularization=False, fuse=False)
        cost += regularizers.penalty(self.network, self.batch_size)
        return float(cost), self._accuracy(outputs, y)

    # -- divergence ----------------------------------------------------------------------------------
    def _locate_nan(self, xb, grads_fresh=False):
        """The first node (topological order) whose output holds NaN/Inf on this batch, else the
        node where backward first produced a non-finite gradient, else None."""
        net = self.network
        saved = net.get_weights()
        try:
            with np.errstate(all="ignore"):
                _, acts = net.forward_with_activations(xb, keep=True, training=True)
        except Exception:  # noqa: BLE001 - locating is best effort
            acts = {}
        finally:
            net.set_weights(saved, strict=False)
        order = net.topological_order()
        for name in order:
            if name in acts and not _all_finite(acts[name]):
                return name, "output"
        for name in reversed(order):
            layer = net.nodes[name].layer
            if any(not _all_finite(g) for g in layer.grads.values()):
                return name, "gradient"
        # every value finite, but the gradients' squared norm overflowed: name the layer whose
        # gradient is the largest (an exploding gradient)
        biggest, worst = None, 0.0
        for name in (order if grads_fresh else ()):
            for g in net.nodes[name].layer.grads.values():
                if getattr(g, "size", 0):
                    m = float(np.max(np.abs(g)))
                    if m > worst:
                        biggest, worst = name, m
        if biggest is not None:
            return biggest, "exploding"
        return None, None

    def _weights_finite(self):
        for node in self.network.nodes.values():
            for v in node.layer.params.values():
                if not _all_finite(v):
                    return False
            for v in node.layer.buffers().values():
                if not _all_finite(v):
                    return False
        return True

    # -- the loop ------------------------------------------------------------------------------------
    def _apply_pending(self, epoch):
        with self._lock:
            pending, self._pending = self._pending, {}
        if "lr" in pending:
            self.lr0 = pending["lr"]
            self.optimizer.lr = self.schedule(self.lr0, epoch)
        if "l1" in pending or "l2" in pending:
            for node in self.network.nodes.values():
                layer = node.layer
                if layer.regularized and layer.params:
                    if "l1" in pending:
                        layer.l1 = pending["l1"]
                    if "l2" in pending:
                        layer.l2 = pending["l2"]

    def _wait_if_paused(self):
        """Block while paused. Returns (single, seconds): single is True when this batch is one
        step granted by :meth:`step`; seconds is how long the wait took."""
        if not self._paused:
            return False, 0.0
        t0 = time.perf_counter()
        with self._cond:
            while self._paused and self._steps_allowed == 0 and not self._cancel.is_set():
                self._cond.wait()
            waited = time.perf_counter() - t0
            if self._cancel.is_set():
                return False, waited
            if self._paused and self._steps_allowed > 0:
                self._steps_allowed -= 1
                return True, waited
            return False, waited

    def _trainable_grads(self):
        return [p.grad for p in self.optimizer.params if p.trainable]

    def _emit_epoch(self, first, total_epochs):
        """Send one epoch event for the latest epoch, carrying every epoch since ``first``."""
        h = self.history
        self._emit({
            "type": "epoch", "epoch": h["epoch"][-1], "epochs": total_epochs,
            "train_loss": h["train_loss"][-1], "train_accuracy": h["train_accuracy"][-1],
            "dev_loss": h["dev_loss"][-1], "dev_accuracy": h["dev_accuracy"][-1], "lr": h["lr"][-1],
            "seconds": h["seconds"][-1], "history": {k: list(v[first:]) for k, v in h.items()},
        })

    def run(self):
        """Train in the calling thread; return the result dict (see the module docstring)."""
        cfg = self.config
        net = self.network
        opt = self.optimizer
        epochs = cfg.epochs
        # a second run() continues: epochs count on, the schedule goes on from there
        offset = len(self.history["epoch"])
        start_step = self.global_step
        rng = np.random.default_rng(cfg.seed if offset == 0 else [cfg.seed, offset])
        aug_rng = np.random.default_rng([cfg.seed, 1, offset])
        clip = cfg.clip_norm
        es = cfg.early_stopping
        stopped = "finished"
        diverged = None
        best = None  # (dev_loss, epoch, weights)
        bad_epochs = 0
        t_start = time.perf_counter()
        last_event = -math.inf
        recent = []
        epoch_time_sum = 0.0
        self._apply_pending(offset)
        unsent_from = offset  # first history index not yet sent in an epoch event
        last_epoch_event = -math.inf
        batches = self._start_producer(epochs, rng, aug_rng)
        # Rollback point for divergence: a copy of the weights taken before a step (each epoch
        # and at most once a second) becomes "good" once that step's cost and gradients are finite.
        good_snapshot = net.get_weights()
        pending_snapshot = None
        last_snapshot = time.perf_counter()
        epoch = -1
        try:
            loss_sum = acc_sum = 0.0
            n_seen = 0
            acc_n = 0
            t_epoch = time.perf_counter()
            for epoch_b, step, xb, yb in batches:
                if step == 0:
                    # new epoch
                    epoch = offset + epoch_b
                    self.epoch = epoch
                    opt.lr = self.schedule(self.lr0, epoch)
                    loss_sum = acc_sum = 0.0
                    n_seen = acc_n = 0
                    t_epoch = time.perf_counter()
                    if epoch > 0:
                        pending_snapshot = net.get_weights()
                        last_snapshot = t_epoch
                single, waited = self._wait_if_paused()
                if waited:  # paused time counts neither as training time nor toward time_left
                    t_start += waited
                    t_epoch += waited
                if self._cancel.is_set():
                    stopped = "cancelled"
                    break
                if self._pending:
                    self._apply_pending(epoch)
                now = time.perf_counter()
                if pending_snapshot is None and now - last_snapshot >= 1.0:
                    pending_snapshot = net.get_weights()
                    last_snapshot = now
                due = single or (now - last_event >= self.throttle)
                if due and self.callback:
                    out, acts = net.forward_with_activations(xb, keep=True, training=True)
                else:
                    out, acts = net.forward(xb, training=True), None
                cost, dy = compute_cost(net, out, yb, self.loss_spec)
                m = _n_samples(yb)
                finite = math.isfinite(cost)
                if finite:
                    net.backward(dy, input_grads=False)  # the input gradient is not needed
                    regularizers.add_gradients(net, m)
                    sq = 0.0
                    grads = self._trainable_grads()
                    with np.errstate(over="ignore"):  # an overflow is reported as divergence below
                        for g in grads:
                            flat = g.reshape(-1)
                            sq += float(np.dot(flat, flat))
                    finite = math.isfinite(sq)
                if not finite:
                    node, where = self._locate_nan(xb, grads_fresh=math.isfinite(cost))
                    net.set_weights(good_snapshot, strict=False)
                    stopped = "diverged"
                    what = f"{net[node].label}" if node else "the cost"
                    where_txt = {"output": "output", "gradient": "gradient",
                                 "exploding": "gradient"}.get(where, "value")
                    became = ("grew too large to represent (an exploding gradient)" if where == "exploding"
                              else "became NaN/Inf (not a number or infinite)")
                    diverged = {
                        "type": "diverged", "node": node, "epoch": epoch, "step": step,
                        "global_step": self.global_step, "where": where,
                        "message": (
                            f"Training diverged at epoch {epoch + 1}, step {step + 1}: the {where_txt} of {what} "
                            f"{became}. The learning rate {opt.lr:g} is probably "
                            f"too large: try a lower one (e.g. {opt.lr / 10:g}), or gradient clipping. The last "
                            "good weights were kept."
                        ),
                    }
                    self._emit(diverged)
                    break
                if pending_snapshot is not None:
                    good_snapshot, pending_snapshot = pending_snapshot, None
                if clip is not None:
                    norm = math.sqrt(sq)
                    if norm > clip:
                        scale = clip / (norm + 1e-12)
                        for g in grads:
                            g *= scale
                opt.step()
                self.global_step += 1
                loss_sum += cost * m
                n_seen += m
                acc = None
                if self.accuracy_fn is not None or self.classification:
                    acc = self._accuracy(out, yb)
                    if acc is not None and not math.isnan(acc):
                        acc_sum += acc * m
                        acc_n += m
                if self.callback is not None:
                    recent.append([self.global_step, cost])
                    if due:
                        elapsed = time.perf_counter() - t_start
                        total_steps = epochs * self.steps_per_epoch
                        done = self.global_step - start_step
                        time_left = elapsed / done * (total_steps - done)
                        stats = {}
                        for name, a in (acts or {}).items():
                            if name in net.inputs:
                                continue
                            if isinstance(a, np.ndarray) and a.dtype.kind == "f":
                                stats[name] = diagnostics.activation_stats(self._node_kinds.get(name), a)
                        self._emit({
                            "type": "step", "epoch": epoch, "step": step,
                            "steps_per_epoch": self.steps_per_epoch, "global_step": self.global_step,
                            "loss": cost, "accuracy": acc, "lr": opt.lr,
                            "grad_norms": diagnostics.grad_norms(net), "activation_stats": stats,
                            "time_left": time_left, "elapsed": elapsed, "recent": recent,
                        })
                        acts = None  # the step's activations are not kept past their statistics
                        recent = []
                        last_event = time.perf_counter()
                if step == self.steps_per_epoch - 1:
                    # end of epoch
                    train_loss = loss_sum / max(n_seen, 1)
                    train_acc = acc_sum / acc_n if acc_n else None
                    dev_loss, dev_acc = self.evaluate(self.x_dev, self.y_dev) if self.has_dev else (None, None)
                    seconds = time.perf_counter() - t_epoch
                    epoch_time_sum += seconds
                    h = self.history
                    for k, v in (("epoch", epoch), ("train_loss", train_loss), ("train_accuracy", train_acc),
                                 ("dev_loss", dev_loss), ("dev_accuracy", dev_acc), ("lr", opt.lr),
                                 ("seconds", seconds)):
                        h[k].append(v)
                    stop_now = False
                    if es is not None and dev_loss is not None:
                        if best is None or dev_loss < best[0] - es["min_delta"]:
                            best = (dev_loss, epoch, net.get_weights())
                            bad_epochs = 0
                        else:
                            bad_epochs += 1
                            if bad_epochs >= es["patience"]:
                                stopped = "early_stopping"
                                stop_now = True
                    now = time.perf_counter()
                    if stop_now or epoch_b == epochs - 1 or now - last_epoch_event >= self.epoch_throttle:
                        self._emit_epoch(unsent_from, offset + epochs)
                        unsent_from = len(h["epoch"])
                        last_epoch_event = now
                    if stop_now:
                        break
        finally:
            self._stop_producer()
            if unsent_from < len(self.history["epoch"]):
                self._emit_epoch(unsent_from, offset + epochs)
            self._cancel.clear()  # a later run() starts afresh
        completed = len(self.history["epoch"]) - offset
        best_epoch = None
        if best is not None and stopped != "diverged":
            net.set_weights(best[2], strict=False)
            best_epoch = best[1]
        train_seconds = time.perf_counter() - t_start
        result = {"stopped": stopped, "epochs": offset + completed, "seconds": train_seconds,
                  "seconds_per_epoch": epoch_time_sum / completed if completed else None,
                  "history": self.history, "best_epoch": best_epoch, "diverged": diverged,
                  "global_steps": self.global_step, "lr": opt.lr}
        for prefix, x, y in (("train", self.x_train, self.y_train), ("dev", self.x_dev, self.y_dev),
                             ("test", self.x_test, self.y_test)):
            loss, acc = self.evaluate(x, y) if _n_samples(x) else (None, None)
            result[f"{prefix}_loss"] = loss
            result[f"{prefix}_accuracy"] = acc
        self.result = result
        # the per-step costs since the last step event (a throttled run's tail) go with it
        self._emit({"type": "finished", "result": result, "recent": recent,
                    "steps_per_epoch": self.steps_per_epoch})
        return result


def train(network, data, config=None, callback=None, **kwargs):
    """Train in the calling thread: ``Trainer(network, data, config, callback, **kwargs).run()``."""
    return Trainer(network, data, config, callback=callback, **kwargs).run()
