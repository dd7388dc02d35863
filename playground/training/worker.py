"""The training worker: a QThread that runs the engine's Trainer and forwards throttled snapshots.

The GUI thread never trains. :class:`TrainingWorker` owns an ``engine.training.Trainer`` and calls
its ``run()`` inside the thread. The Trainer reports events (step, epoch, finished, diverged)
through a callback in that thread; the worker buffers them and, at most every ``interval``
seconds, emits ``events_ready`` (a queued signal, so the slot runs in the GUI thread) after which
the GUI drains the buffer with :meth:`take_events`. While a snapshot is due the worker also
computes, in the training thread where the weights are consistent between two mini-batches, a
"probe": the decision boundary on a grid (2-D data), each hidden neuron's map on that grid, and
histograms of the selected layer's activations and weights. So the GUI only draws, whatever the
training speed, and a listener is never flooded.

Pause/resume/step/cancel/set_lr/set_regularization go straight to the Trainer (thread-safe).
"""

import sys
import threading
import time
import traceback

import numpy as np
from PySide6.QtCore import QThread, Signal

from engine.errors import EngineError

#: side of the decision-boundary grid (GRID x GRID points).
GRID = 60
#: at most this many hidden neurons get their own small map.
MAX_NEURONS = 48
#: samples used for the activation histograms.
PROBE_BATCH = 256


def make_train_config(training):
    """An ``engine.training.TrainConfig`` from a document's "training" dict."""
    from engine.training import TrainConfig

    return TrainConfig.from_dict(dict(training or {}))


def grid_for(x, n=GRID, margin=0.1):
    """A regular grid covering 2-D points ``x`` (ndarray of shape (N, 2)).

    Returns (points of shape (n*n, 2), (xmin, xmax, ymin, ymax)); point k is (xs[k % n], ys[k // n]).
    """
    x = np.asarray(x, dtype=np.float64)
    lo, hi = x.min(axis=0), x.max(axis=0)
    pad = (hi - lo) * margin + 1e-6
    lo, hi = lo - pad, hi + pad
    # square extent (the toy sets are symmetric)
    lo = np.minimum(lo, -np.max(np.abs([lo, hi]))) if np.all(lo < 0) and np.all(hi > 0) else lo
    hi = -lo if np.all(lo < 0) and np.all(hi > 0) else hi
    xs = np.linspace(lo[0], hi[0], n)
    ys = np.linspace(lo[1], hi[1], n)
    xx, yy = np.meshgrid(xs, ys)
    return np.stack([xx.ravel(), yy.ravel()], axis=1), (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]))


def hidden_neuron_nodes(network, shapes=None):
    """Hidden nodes whose per-neuron maps make sense: 1-D outputs of activations (or Dense layers
    with no activation after them), excluding the output nodes; [(node, units)], capped."""
    try:
        shapes = shapes or network.infer_shapes()
        order = network.topological_order()
    except EngineError:
        return []
    outputs = set(network.outputs)
    acts = [n for n in order if network.nodes[n].layer.type_name == "Activation"]
    picked = []
    candidates = acts or [n for n in order if network.nodes[n].layer.type_name == "Dense"]
    total = 0
    for n in candidates:
        if n in outputs or network.consumers(n) and all(c in outputs for c in network.consumers(n)) \
                and network.nodes[n].layer.type_name == "Dense":
            continue
        shp = shapes.get(n)
        if not shp or len(shp) != 1:
            continue
        units = int(shp[0])
        if total + units > MAX_NEURONS:
            break
        picked.append((n, units))
        total += units
    return picked


def boundary_values(output, task="classification"):
    """The value to colour the decision boundary with, per grid point.

    output : ndarray of shape (n, k) network output. Binary classification (k == 1 sigmoid, or
    k == 2 softmax): probability of class 1 in [0, 1]; k > 2: the argmax class; regression: the value.
    """
    out = np.asarray(output, dtype=np.float64)
    if out.ndim == 1:
        out = out[:, None]
    if task != "classification":
        return out[:, 0], "regression"
    if out.shape[1] == 1:
        v = out[:, 0]
        if v.min() < 0 or v.max() > 1:  # logits
            v = 1.0 / (1.0 + np.exp(-np.clip(v, -50, 50)))
        return v, "binary"
    if out.shape[1] == 2:
        if out.min() >= 0 and np.allclose(out.sum(axis=1), 1, atol=1e-3):
            return out[:, 1], "binary"
        z = out - out.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p[:, 1] / p.sum(axis=1), "binary"
    return np.argmax(out, axis=1).astype(np.float64), "multiclass"


def weights_of(layer):
    """The layer's weights (the regularized keys, else every param) as one flat array, or None."""
    keys = [k for k in getattr(layer, "regularized", ()) if k in layer.params] or list(layer.params)
    if not keys:
        return None
    return np.concatenate([np.asarray(layer.params[k]).ravel() for k in keys])


def histogram(values, bins=40):
    """(counts, edges) of the finite values, or None."""
    if values is None:
        return None
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return None
    lo, hi = float(v.min()), float(v.max())
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
    return counts, edges


class Probe:
    """What to compute for a snapshot: grid maps for 2-D data and the selected layer's histograms.

    Runs wherever it is called (the training thread during a run, the GUI thread when idle).
    """

    def __init__(self, network, splits):
        self.network = network
        self.task = getattr(splits, "task", "classification")
        self.selected = None  # node name, set by the GUI (a plain attribute: atomic in Python)
        x_train = splits.x_train
        self.batch = None
        if isinstance(x_train, np.ndarray) and len(x_train):
            idx = np.linspace(0, len(x_train) - 1, min(PROBE_BATCH, len(x_train))).astype(int)
            self.batch = x_train[idx]
        self.grid = None
        self.extent = None
        self.neurons = []
        if isinstance(x_train, np.ndarray) and x_train.ndim == 2 and x_train.shape[1] == 2:
            pts = np.concatenate([x_train, splits.x_test if len(splits.x_test) else x_train[:0]])
            self.grid, self.extent = grid_for(pts)
            self.neurons = hidden_neuron_nodes(network)

    def compute(self):
        """A dict: {"boundary": (values (G, G), kind) or None, "neurons": [(node, unit, map (G, G))],
        "extent", "selected": node, "act_hist": (counts, edges) or None, "w_hist": ... or None}."""
        net = self.network
        out = {"extent": self.extent, "boundary": None, "neurons": [], "selected": self.selected,
               "act_hist": None, "w_hist": None}
        dtype = net.dtype
        if self.grid is not None:
            keep = {n for n, _ in self.neurons}
            y, acts = net.forward_with_activations(self.grid.astype(dtype), keep=keep)
            if isinstance(y, dict):
                y = next(iter(y.values()))
            v, kind = boundary_values(y, self.task)
            out["boundary"] = (v.reshape(GRID, GRID), kind)
            for n, units in self.neurons:
                a = acts.get(n)
                if a is None:
                    continue
                a = np.asarray(a, dtype=np.float64).reshape(len(self.grid), -1)
                for u in range(min(units, a.shape[1])):
                    out["neurons"].append((n, u, a[:, u].reshape(GRID, GRID)))
        sel = self.selected
        if sel and sel in net.nodes:
            layer = net.nodes[sel].layer
            if self.batch is not None:
                try:
                    _, acts = net.forward_with_activations(
                        self.batch.astype(dtype) if self.batch.dtype.kind == "f" else self.batch, keep={sel})
                    out["act_hist"] = histogram(acts.get(sel))
                except EngineError:
                    pass
            # a layer without weights (an activation) shows the weights of the layer feeding it
            source = sel
            while not layer.params and len(net.nodes[source].inputs) == 1:
                source = net.nodes[source].inputs[0]
                layer = net.nodes[source].layer
            if layer.built and layer.params:
                out["w_hist"] = histogram(weights_of(layer))
                out["weights_of"] = source
        return out


def _one_blas_thread():
    """While training: BLAS on one thread (when threadpoolctl is installed), leaving the other
    core(s) to the GUI. On a busy machine a multi-threaded OpenBLAS spin-waits for cores it cannot
    get and a run can take ten times longer; the engine's small matrices gain little from more
    threads anyway."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it BLAS keeps its own setting
        import contextlib

        return contextlib.nullcontext()
    try:
        return threadpool_limits(limits=1, user_api="blas")
    except Exception:  # noqa: BLE001 - a missing/odd BLAS must never stop training
        import contextlib

        return contextlib.nullcontext()


class TrainingWorker(QThread):
    """Runs ``Trainer(network, splits, config).run()`` in its own thread.

    Signals (all queued to the GUI thread)
    -------
    events_ready : new events (and maybe a probe) wait in the buffer; call :meth:`take_events`.
    run_failed(str) : the run could not start or crashed (a readable message).
    """

    events_ready = Signal()
    run_failed = Signal(str)

    def __init__(self, network, splits, config, probe=None, interval=0.04, throttle=0.01, probe_interval=0.1,
                 parent=None):
        super().__init__(parent)
        from engine.training import Trainer

        self.network = network
        self.probe = probe
        self.interval = float(interval)
        self.probe_interval = float(probe_interval)
        self._last_probe = 0.0
        self._probe_seconds = 0.0
        #: cleared by the GUI while it redraws from a snapshot (see _on_event)
        self.gui_idle = threading.Event()
        self.gui_idle.set()
        self._lock = threading.Lock()
        self._pending = []
        self._probe_result = None
        self._last_emit = 0.0
        self._force = False
        self.result = None
        self.trainer = Trainer(network, splits, config, callback=self._on_event, throttle=throttle)

    # -- controls (any thread) -----------------------------------------------------------------
    def pause(self):
        self.trainer.pause()

    def resume(self):
        self.trainer.resume()

    def step(self):
        """One mini-batch while paused; the next event is forwarded at once with a fresh probe."""
        self._force = True
        self.trainer.step()

    def cancel(self):
        self.trainer.cancel()

    def set_lr(self, lr):
        self.trainer.set_lr(lr)

    def set_regularization(self, l1, l2):
        self.trainer.set_regularization(l1, l2)

    def set_selected(self, name):
        if self.probe is not None:
            self.probe.selected = name
            self._force = True

    def stop(self, timeout_ms=2000):
        """Cancel and wait for the thread to end; True when it has."""
        if self.isRunning():
            try:
                self.trainer.cancel()
            except Exception:  # noqa: BLE001 - stopping must not raise
                pass
            return self.wait(timeout_ms)
        return True

    # -- thread --------------------------------------------------------------------------------
    #: GIL hand-over interval while training (Python's default is 5 ms): the GUI thread waits at
    #: most this long for the interpreter between two of the trainer's numpy calls.
    SWITCH_INTERVAL = 0.001

    def run(self):  # noqa: D401 - QThread API
        previous = sys.getswitchinterval()
        sys.setswitchinterval(min(previous, self.SWITCH_INTERVAL))
        try:
            with _one_blas_thread():
                self._run()
        finally:
            sys.setswitchinterval(previous)

    def _run(self):
        try:
            self.result = self.trainer.run()
        except EngineError as exc:
            self._push({"type": "error", "message": str(exc)})
            self.run_failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - report, never crash the GUI
            traceback.print_exc()
            msg = f"training stopped: {type(exc).__name__}: {exc}"
            self._push({"type": "error", "message": msg})
            self.run_failed.emit(msg)
        self._flush(force=True)

    def _push(self, event):
        with self._lock:
            self._pending.append(event)

    #: longest the training thread waits for a GUI redraw to finish (seconds)
    GUI_YIELD = 0.03

    def _on_event(self, event):
        """The Trainer's callback (training thread): buffer; refresh the probe at most every
        ``probe_interval`` seconds; announce at most every ``interval`` seconds.

        While the GUI redraws (``gui_idle`` cleared) the trainer waits up to GUI_YIELD seconds
        here, without the GIL, so a redraw is not stretched by sharing the interpreter with
        training."""
        if not self.gui_idle.is_set():
            self.gui_idle.wait(self.GUI_YIELD)
        self._push(event)
        kind = event.get("type")
        self._flush(force=kind in ("finished", "diverged") or self._force)

    def _flush(self, force=False):
        now = time.monotonic()
        if not force and now - self._last_emit < self.interval:
            return
        # a probe may take at most ~1/6 of the training thread's time (histograms of a big layer
        # are not free), and never runs more often than probe_interval
        wait = max(self.probe_interval, 5.0 * self._probe_seconds)
        if self.probe is not None and (force or now - self._last_probe >= wait):
            self._force = False
            try:
                result = self.probe.compute()
            except Exception:  # noqa: BLE001 - a probe must never stop training
                result = None
            with self._lock:
                self._probe_result = result
            self._last_probe = time.monotonic()
            self._probe_seconds = self._last_probe - now
        self._force = False
        self._last_emit = time.monotonic()
        self.events_ready.emit()

    def take_events(self):
        """(events list, latest probe dict or None) since the last call; GUI thread."""
        with self._lock:
            events, self._pending = self._pending, []
            probe, self._probe_result = self._probe_result, None
        return events, probe
