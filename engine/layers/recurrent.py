"""Recurrent layers: SimpleRNN, GRU, LSTM, the Bidirectional wrapper and TimeDistributed.

A sequence sample has shape (T, features); batches are batch-first, (N, T, F). Every recurrent
layer reads the sequence one time step t at a time, carrying an activation a<t> (and, for the
LSTM, a memory cell c<t>) from step to step, and learns by backpropagation through time (BPTT):
the loss of every output is summed and its gradient flows back along the chain of a<t>.

Parameter layouts (kept simple so they map straight onto ONNX's RNN, GRU and LSTM operators)
------------------------------------------------------------------------------------------
Every recurrent layer keeps ONE stacked weight matrix ``W`` of shape (units + F, G * units) and a
bias ``b`` of shape (G * units,), where G is the number of gate blocks (1, 3 or 4). As in the
course notes, where Waa and Wax "are written side by side in one matrix Wa" acting on [a<t-1>, x<t>],
the first ``units`` rows of ``W`` act on a<t-1> (the recurrent part, Waa transposed) and the
remaining F rows act on x<t> (Wax transposed)::

    z<t> = [a<t-1>, x<t>] @ W + b  =  a<t-1> @ W[:units] + x<t> @ W[units:] + b

Column blocks (each ``units`` wide), and the ONNX mapping (ONNX W = W[units:].T, R = W[:units].T
per block, B = concat(b, zeros)):

- SimpleRNN: one block.  a<t> = tanh(z<t>).  ONNX RNN with activation Tanh.
- GRU: blocks [u, r, c] = update gate Γu, relevance gate Γr and the candidate c~<t>, with
  c~<t> = tanh(x<t> @ Wx_c + (Γr * c<t-1>) @ Wa_c + b_c) and c<t> = Γu * c~<t> + (1 - Γu) * c<t-1>
  (the course notes' GRU; ONNX GRU with linear_before_reset=0, gate order z, r, h). ONNX's update
  gate z keeps the OLD state (H = (1 - z) h~ + z H<t-1>), so z = 1 - Γu: export the u block
  negated (W_z = -W_u, b_z = -b_u, because sigmoid(-v) = 1 - sigmoid(v)).
- LSTM: blocks [i, o, f, c] = update gate Γu (ONNX "input" i), output gate Γo, forget gate Γf
  and candidate c~<t>; exactly ONNX's gate order i, o, f, c, so no reordering is needed.
  c<t> = Γu * c~<t> + Γf * c<t-1>, a<t> = Γo * tanh(c<t>).

Initial state: by default a<0> (and c<0>) are zeros; ``initial_state="learned"`` makes them
trainable parameters ``a0`` (and ``c0``); or feed them as extra inputs to the node (second input
a<0> of shape (units,), third input c<0> for the LSTM), e.g. from an encoder.

Speed: the input part W[units:]^T x<t> is computed for all steps up front (one batched product),
each step does one product with the recurrent weights, the gates are fused slices of one array,
buffers are preallocated, and backward accumulates dW with one product over all steps at the end.
Internally arrays are time-major and features-first ((T, features, N)), so every gate block is a
contiguous slice and the element-wise work runs on contiguous memory; the layer's inputs and
outputs stay batch-first. Batches of 16 or more run as two halves in two threads (see PARALLEL).
The LSTM goes further (see LSTM.forward): 7 NumPy calls per step forward and 7 backward, on
buffers and per-step views it keeps between training steps of one batch shape (_LSTMWork; SimpleRNN
and GRU likewise keep theirs in a _Work). benchmarks/bench_lstm.py compares a training step with
torch.nn.LSTM: on the shared 2-core machine (load average 0.6-1.4) about 1.4-1.47x its median time
and 1.3-1.4x its best time (1.56-1.60x and 1.46-1.53x before the kept buffers); GRU and SimpleRNN
~0.9x torch's GRU/RNN. Under heavier load from other processes the ratio swings both ways.
benchmarks/README.md says where the time goes.
"""

import os
import threading

import numpy as np

from .. import parallel
from ..errors import ConfigError, ShapeError
from .base import Layer, layer_from_config, register

#: How recurrent layers use the cores: "chunks" (default) splits the batch in two halves that run
#: their whole time loop in two threads (numpy releases the GIL inside its products and element-wise
#: loops; the halves are independent), with BLAS at one thread as engine.layers.conv sets it, so
#: threads never oversubscribe the cores; "serial" runs the batch in the calling thread (BLAS threads
#: untouched). Override with NNPLAY_RNN_PARALLEL; NNPLAY_THREADS=1 (engine.parallel) also turns the
#: halves off. Under load from other processes OpenBLAS' own busy-waiting threads made steps 10x
#: slower, which "chunks" avoids.
PARALLEL = os.environ.get("NNPLAY_RNN_PARALLEL", "chunks")
#: below this many multiply-adds per call (or 16 samples) the batch is not split
CHUNK_MIN_WORK = 2_000_000


def _batch_parts(n, work):
    """Batch slices to run in parallel: one (serial) or two halves."""
    if PARALLEL != "chunks" or not parallel.enabled() or n < 16 or work < CHUNK_MIN_WORK:
        return [slice(0, n)]
    from . import conv

    sync = getattr(conv, "_sync_blas_threads", None)
    if sync is not None and getattr(conv, "PARALLEL", None) == "chunks":
        sync()  # BLAS at one thread (conv's process-wide setting): the two halves are the parallelism
    return [slice(a, b) for a, b in parallel.chunks(n, 2)]


def _map(fn, items):
    """[fn(item) for item in items] on the shared pool (engine.parallel.map_chunks): the calling
    thread runs the first half itself, and the second too when no pool thread is free to start it."""
    return parallel.map_chunks(fn, items)


def _sigmoid_inplace(z):
    """sigmoid(z) computed in place as 0.5 * (1 + tanh(z / 2)): stable and one transcendental."""
    z *= 0.5
    np.tanh(z, out=z)
    z *= 0.5
    z += 0.5
    return z


def _glorot(rng, fan_in, fan_out, shape, dtype):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def _orthogonal(rng, n, dtype):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    q *= np.sign(np.diag(r))
    return q.astype(dtype)


class _Recurrent(Layer):
    """Shared machinery of SimpleRNN, GRU and LSTM (not registered)."""

    family = "Recurrent"
    regularized = ("W",)
    n_inputs = None
    n_gates = 1
    n_states = 1  # a (and c for the LSTM)
    #: the first ``sigmoid_rows`` gate blocks are sigmoid gates (their pre-activations come halved)
    sigmoid_rows = 0

    def __init__(self, units, return_sequences=False, go_backwards=False, initial_state="zeros",
                 l1=0.0, l2=0.0, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self.units = int(units)
        if self.units <= 0:
            raise ValueError(f"units must be positive, got {units}")
        self.return_sequences = bool(return_sequences)
        self.go_backwards = bool(go_backwards)
        if initial_state not in ("zeros", "learned"):
            raise ConfigError(f"initial_state must be 'zeros' or 'learned', got {initial_state!r}")
        self.initial_state = initial_state
        self.l1 = float(l1)
        self.l2 = float(l2)
        self._cache = None

    def get_config(self):
        return {**super().get_config(), "units": self.units, "return_sequences": self.return_sequences,
                "go_backwards": self.go_backwards, "initial_state": self.initial_state,
                "l1": self.l1, "l2": self.l2}

    # -- shapes ---------------------------------------------------------------------------------
    def output_shape(self, input_shapes):
        n = len(input_shapes)
        if n < 1 or n > 1 + self.n_states:
            extra = "a<0>" if self.n_states == 1 else "a<0> and c<0>"
            raise ShapeError(f"{self.label} takes a sequence and optionally {extra}, got {n} inputs", self.name)
        shape = tuple(input_shapes[0])
        if len(shape) != 2:
            raise ShapeError(
                f"{self.label} needs a sequence of shape (T, features), got {shape}: "
                "put an Embedding or a Reshape in front", self.name)
        for s in input_shapes[1:]:
            if tuple(s) != (self.units,):
                raise ShapeError(f"{self.label}: an initial state must have shape ({self.units},), got {tuple(s)}",
                                 self.name)
        return (shape[0], self.units) if self.return_sequences else (self.units,)

    def param_count(self, input_shapes=None):
        if input_shapes is None:
            return super().param_count()
        f = int(input_shapes[0][-1])
        g = self.n_gates * self.units
        n = (self.units + f) * g + g
        if self.initial_state == "learned":
            n += self.n_states * self.units
        return n

    # -- parameters -----------------------------------------------------------------------------
    def build(self, input_shapes, rng=None, dtype=np.float32):
        super().build(input_shapes, rng, dtype)
        rng = rng if rng is not None else np.random.default_rng(0)
        self.output_shape(input_shapes)
        f = int(input_shapes[0][-1])
        h, g = self.units, self.n_gates
        W = np.empty((h + f, g * h), dtype=dtype)
        for k in range(g):
            W[:h, k * h:(k + 1) * h] = _orthogonal(rng, h, dtype)
        W[h:] = _glorot(rng, f, g * h, (f, g * h), dtype)
        b = np.zeros(g * h, dtype=dtype)
        self._init_bias(b)
        self.params = {"W": W, "b": b}
        if self.initial_state == "learned":
            self.params["a0"] = np.zeros(h, dtype=dtype)
            if self.n_states == 2:
                self.params["c0"] = np.zeros(h, dtype=dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def _init_bias(self, b):
        pass

    # -- computation ----------------------------------------------------------------------------
    # Internally every array is time-major and features-first: x<t> is (F, N), a<t> is (H, N) and
    # the gate pre-activations z<t> = W^T [a<t-1>; x<t>] + b are (G H, N), so each gate block is a
    # contiguous slice of rows and every element-wise operation runs on contiguous memory.
    def _initial(self, n, states, dtype, which):
        """Initial a<0> (which=0) or c<0> (which=1) as a (units, n) array."""
        if len(states) > which:
            return np.asarray(states[which], dtype=dtype).T
        key = "a0" if which == 0 else "c0"
        if key in self.params:
            return np.broadcast_to(self.params[key][:, None], (self.units, n))
        return np.zeros((self.units, n), dtype=dtype)

    def forward(self, x, *states, training=False):
        W, b = self.params["W"], self.params["b"]
        dtype = W.dtype
        x = np.asarray(x, dtype=dtype)
        if x.ndim != 3:
            raise ShapeError(f"{self.label} needs batches of shape (N, T, features), got {x.shape}", self.name)
        n, T, f = x.shape
        h = self.units
        WxT = np.empty((W.shape[1], f + 1), dtype=dtype)  # [W[units:]^T | b]
        WxT[:, :f] = W[h:].T
        WxT[:, f] = b
        WhT = np.ascontiguousarray(W[:h].T)
        if self.sigmoid_rows:
            # sigmoid(z) = 0.5 tanh(z / 2) + 0.5: halve the sigmoid gates' rows of these copies so one
            # tanh call covers every gate block of a step
            k = self.sigmoid_rows * h
            WxT[:k] *= 0.5
            WhT[:k] *= 0.5
        parts = _batch_parts(n, T * n * W.shape[1] * (h + f))
        states = [np.asarray(s, dtype=dtype) for s in states]
        # training reuses the buffers and per-step views of the previous training step of the same
        # shape (see _Work); inference gets its own, so it never touches what backward will read
        works = self._workspaces(parts, T, f, dtype, lambda nc: _Work()) if training else [_Work() for _ in parts]

        def run(i):
            sl, work = parts[i], works[i]
            xs = x[sl]
            nc = xs.shape[0]
            # inputs time-major, features-first, with a row of ones so the bias rides in the same product
            xt = work.array("xt", (T, f + 1, nc), dtype)
            xt[:, :f] = xs.transpose(1, 2, 0)[::-1] if self.go_backwards else xs.transpose(1, 2, 0)
            xt[:, f] = 1
            # the input part of every step at once: (T, G H, nc)
            XW = np.matmul(WxT, xt, out=work.array("XW", (T, W.shape[1], nc), dtype))
            out, cache = self._run(WhT, XW, nc, T, [s[sl] for s in states], dtype, work)  # out: (T, H, nc)
            # copies, never views: out lives in the kept training buffers
            if self.return_sequences:
                if self.go_backwards:
                    out = out[::-1]
                y = out.transpose(2, 0, 1).copy()
            else:
                y = out[-1].T.copy()
            return y, (cache, xt, nc, work)

        results = _map(run, range(len(parts)))
        if training:  # inference leaves the training cache alone
            self._cache = ([r[1] for r in results], parts, len(states), n, T)
        return results[0][0] if len(results) == 1 else np.concatenate([r[0] for r in results])

    def backward(self, dy):
        if self._cache is None:
            raise RuntimeError(f"{self.label}: backward needs a forward pass with training=True")
        caches, parts, n_states_in, n, T = self._cache
        W = self.params["W"]
        h = self.units
        dtype = W.dtype
        dy = np.asarray(dy, dtype=dtype)

        def run(i):
            cache, xt, nc, work = caches[i]
            d = dy[parts[i]]
            if self.return_sequences:
                dv = d.transpose(1, 2, 0)
                dY = work.array("dY", (T, h, nc), dtype)  # (T, H, nc)
                dY[...] = dv[::-1] if self.go_backwards else dv
                dlast = None
            else:
                dY = None
                dlast = d.T
            dZ, dstates, sources = self._bptt(cache, dY, dlast, nc, T, work)
            f = xt.shape[1] - 1
            gh = dZ.shape[1]
            # one product over all steps for each weight block
            dZc = np.ascontiguousarray(dZ.transpose(1, 0, 2)).reshape(gh, T * nc)
            gW = np.empty_like(W)
            for src, cols in sources:
                srcc = np.ascontiguousarray(src.transpose(1, 0, 2)).reshape(h, T * nc)
                gW[:h, cols] = srcc @ dZc[cols].T
            xc = np.ascontiguousarray(xt.transpose(1, 0, 2)).reshape(f + 1, T * nc)
            dWxb = xc @ dZc.T  # rows: dW for x (F rows), then db (the row of ones)
            gW[h:] = dWxb[:f]
            dx = (W[h:] @ dZc).reshape(f, T, nc).transpose(2, 1, 0)  # (nc, T, F)
            if self.go_backwards:
                dx = dx[:, ::-1]
            return gW, dWxb[f], np.ascontiguousarray(dx), dstates

        results = _map(run, range(len(parts)))
        gW = self.grads.get("W")
        if gW is None or gW.shape != W.shape or gW.dtype != W.dtype:
            gW = self.grads["W"] = np.zeros_like(W)
        gW[...] = results[0][0]
        gb = results[0][1].copy()
        for r in results[1:]:
            gW += r[0]
            gb += r[1]
        self.grads["b"] = gb
        if len(results) == 1:
            dx, dstates = results[0][2], results[0][3]
        else:
            dx = np.concatenate([r[2] for r in results])
            dstates = [np.concatenate([r[3][k] for r in results], axis=1) for k in range(len(results[0][3]))]
        return self._state_grads(dx, dstates, n_states_in)

    def _workspaces(self, parts, T, f, dtype, make):
        """The training buffers of each batch part (``make(n)`` for a part of n samples), kept while
        the batch shape and the calling thread stay the same (one set per layer: another shape, or a
        training forward from another thread, replaces it). The thread is part of the key so that a
        layer shared by two networks trained in two threads never computes one forward into the
        buffers of the other's still running forward (each gets its own set)."""
        key = (tuple((sl.start, sl.stop) for sl in parts), T, f, np.dtype(dtype), self.units,
               threading.get_ident())
        kept = getattr(self, "_work", None)
        if kept is None or kept[0] != key:
            kept = self._work = (key, [make(sl.stop - sl.start) for sl in parts])
        return kept[1]

    def _state_grads(self, dx, dstates, n_states_in):
        """Gradients of learned initial states (a0/c0 used when no state came in) and backward's return.

        dstates : list of (units, N) arrays, the gradients of a<0> (and c<0>).
        """
        if "a0" in self.params:
            self.grads["a0"] = dstates[0].sum(axis=1) if n_states_in < 1 else np.zeros_like(self.params["a0"])
        if "c0" in self.params:
            self.grads["c0"] = dstates[1].sum(axis=1) if n_states_in < 2 else np.zeros_like(self.params["c0"])
        if n_states_in == 0:
            return dx
        return (dx,) + tuple(np.ascontiguousarray(d.T) for d in dstates[:n_states_in])

    def notes(self):
        return []


@register
class SimpleRNN(_Recurrent):
    """The basic recurrent layer: a<t> = tanh(Waa a<t-1> + Wax x<t> + b).

    x : ndarray of shape (N, T, F); optional a<0> of shape (N, units).
    Returns ndarray of shape (N, T, units) with ``return_sequences``, else (N, units) (the last a<t>).
    """

    description = ("Basic RNN: each step computes a<t> = tanh(Wa [a<t-1>, x<t>] + b), passing the previous "
                   "block's activation to the next.")
    n_gates = 1

    def notes(self):
        T = self.input_shapes[0][0] if self.input_shapes else 0
        if T > 20:
            return [f"a basic RNN struggles to carry information across {T} steps (vanishing gradients): "
                    "a GRU or LSTM remembers longer"]
        return []

    def _run(self, WhT, XW, n, T, states, dtype, work):
        h = self.units
        H = work.array("H", (T + 1, h, n), dtype)
        H[0] = self._initial(n, states, dtype, 0)
        steps = work.views.get("fwd")
        if steps is None:
            steps = work.views["fwd"] = [(H[t], H[t + 1], XW[t]) for t in range(T)]
        mm, th = np.matmul, np.tanh
        for a, z, xw in steps:
            mm(WhT, a, out=z)
            z += xw
            th(z, out=z)
        return H[1:], H

    def _bptt(self, H, dY, dlast, n, T, work):
        h = self.units
        Wh = self.params["W"][:h]
        dtype = H.dtype
        D = np.multiply(H[1:], H[1:], out=work.array("D", (T, h, n), dtype))
        np.subtract(1, D, out=D)
        dZ = work.array("dZ", (T, h, n), dtype)
        dh = work.array("dh", (h, n), dtype)
        dh[...] = 0 if dlast is None else dlast
        steps = work.views.get("bwd")
        if steps is None:
            steps = work.views["bwd"] = [(dZ[t], D[t]) for t in range(T)]
        mm, mul = np.matmul, np.multiply
        for t in range(T - 1, -1, -1):
            dz, dt = steps[t]
            if dY is not None:
                np.add(dY[t], dh, out=dz)
                dz *= dt
            else:
                mul(dh, dt, out=dz)
            mm(Wh, dz, out=dh)
        return dZ, (dh.copy(),), [(H[:-1], slice(0, h))]


@register
class GRU(_Recurrent):
    """Gated recurrent unit (the course notes' GRU with update gate Γu and relevance gate Γr).

    c~<t> = tanh(Wc [Γr * c<t-1>, x<t>] + bc), c<t> = Γu * c~<t> + (1 - Γu) * c<t-1>, a<t> = c<t>.
    x : ndarray of shape (N, T, F). Returns (N, T, units) or (N, units).
    """

    description = ("Gated recurrent unit: an update gate Γu decides how much of the memory c<t> to replace "
                   "and a relevance gate Γr how much of it the candidate sees; helps against vanishing gradients.")
    n_gates = 3
    sigmoid_rows = 2

    def _run(self, WhT, XW, n, T, states, dtype, work):
        h = self.units
        WzrT, WcT = WhT[:2 * h], WhT[2 * h:]
        H = work.array("H", (T + 1, h, n), dtype)
        H[0] = self._initial(n, states, dtype, 0)
        G = work.array("G", (T, 3 * h, n), dtype)  # [u, r, c~] after activation
        RH = work.array("RH", (T, h, n), dtype)    # Γr * c<t-1>
        steps = work.views.get("fwd")
        if steps is None:
            steps = work.views["fwd"] = [
                (H[t], G[t, :2 * h], XW[t, :2 * h], G[t, :h], G[t, h:2 * h], G[t, 2 * h:], RH[t],
                 XW[t, 2 * h:], H[t + 1]) for t in range(T)]
        mm, th, mul, sub = np.matmul, np.tanh, np.multiply, np.subtract
        for a, zr, xzr, u, r, c, rh, xc, an in steps:
            mm(WzrT, a, out=zr)
            zr += xzr   # halved pre-activations
            th(zr, out=zr)
            zr *= 0.5
            zr += 0.5
            mul(r, a, out=rh)
            mm(WcT, rh, out=c)
            c += xc
            th(c, out=c)
            # c<t> = c<t-1> + u * (c~ - c<t-1>)
            sub(c, a, out=an)
            an *= u
            an += a
        return H[1:], (H, G, RH)

    def _bptt(self, cache, dY, dlast, n, T, work):
        H, G, RH = cache
        h = self.units
        dtype = H.dtype
        W = self.params["W"]
        Wzr = np.ascontiguousarray(W[:h, :2 * h])  # d c<t-1> += Wzr @ dz_ur<t>
        Wc = np.ascontiguousarray(W[:h, 2 * h:])   # d (Γr c<t-1>) = Wc @ dz_c<t>
        Hp = H[:-1]
        U, R, C = G[:, :h], G[:, h:2 * h], G[:, 2 * h:]
        # For all steps at once, the factors that turn d c<t> into dz<t>:
        #   dz_u = d c<t> (c~ - c<t-1>) Γu (1 - Γu),  dz_c = d c<t> Γu (1 - c~^2),
        #   dz_r = (Wc @ dz_c) c<t-1> Γr (1 - Γr),
        #   d c<t-1> = d c<t> (1 - Γu) + (Wc @ dz_c) Γr + Wzr @ dz_ur   (no temporaries in the loop)
        D = np.subtract(1, U, out=work.array("D", (T, h, n), dtype))
        Ku = np.subtract(C, Hp, out=work.array("Ku", (T, h, n), dtype))
        Ku *= U
        Ku *= D
        Kc = np.multiply(C, C, out=work.array("Kc", (T, h, n), dtype))
        np.subtract(1, Kc, out=Kc)
        Kc *= U
        Kr = np.subtract(1, R, out=work.array("Kr", (T, h, n), dtype))
        Kr *= R
        Kr *= Hp
        dZ = work.array("dZ", (T, 3 * h, n), dtype)
        dh = work.array("dh", (h, n), dtype)
        dh[...] = 0 if dlast is None else dlast
        drh = work.array("drh", (h, n), dtype)
        tmp = work.array("tmp", (h, n), dtype)
        steps = work.views.get("bwd")
        if steps is None:
            steps = work.views["bwd"] = [(dZ[t, :h], dZ[t, h:2 * h], dZ[t, 2 * h:], dZ[t, :2 * h], Ku[t], Kc[t],
                                          Kr[t], D[t], R[t]) for t in range(T)]
        mm, mul = np.matmul, np.multiply
        for t in range(T - 1, -1, -1):
            dzu, dzr, dzc, dzur, ku, kc, kr, d, r = steps[t]
            if dY is not None:
                dh += dY[t]
            mul(dh, ku, out=dzu)         # dz of Γu
            mul(dh, kc, out=dzc)         # dz of c~
            mm(Wc, dzc, out=drh)         # d (Γr c<t-1>)
            mul(drh, kr, out=dzr)        # dz of Γr
            mm(Wzr, dzur, out=tmp)
            dh *= d
            drh *= r
            dh += drh
            dh += tmp                    # d c<t-1>
        return dZ, (dh.copy(),), [(H[:-1], slice(0, 2 * h)), (RH, slice(2 * h, 3 * h))]


@register
class LSTM(_Recurrent):
    """Long short-term memory: update (Γu), forget (Γf) and output (Γo) gates and a memory cell c<t>.

    c<t> = Γu * c~<t> + Γf * c<t-1>, a<t> = Γo * tanh(c<t>). Gate blocks in W are [Γu, Γo, Γf, c~]
    (ONNX's i, o, f, c). The forget-gate bias starts at 1 so the cell remembers from the start.
    x : ndarray of shape (N, T, F); optional a<0>, c<0> of shape (N, units).
    Returns (N, T, units) with ``return_sequences``, else (N, units).
    """

    description = ("LSTM: update, forget and output gates control a memory cell c<t>, so the network can keep "
                   "information over many steps.")
    n_gates = 4
    n_states = 2
    sigmoid_rows = 3

    def _init_bias(self, b):
        h = self.units
        b[2 * h:3 * h] = 1.0

    # The LSTM has its own forward and backward (the hot path of benchmarks/bench_lstm.py): fewer,
    # larger NumPy calls per step. Internally its gate blocks are reordered to [o, i, f, c~] (``_PERM``
    # maps them to W's [i, o, f, c~]) so that the three sigmoid gates are one slice and each step's
    # buffer B[t] = [Γo; Γu; Γf; c~<t>; c<t-1>] puts (Γu, Γf) next to (c~<t>, c<t-1>): one einsum gives
    # c<t> = Γu c~<t> + Γf c<t-1>. The step inputs live in S = [a<t>; x<t>; 1] of shape
    # (units + F + 1, T + 1, n), so one product per step covers the recurrent part, the input part and
    # the bias, and backward gets dW and db for all steps from ONE product S @ dZ^T with no copies.
    # Backward computes, for all steps at once, the factors K that turn d a<t> and d c<t> into dz<t>,
    # so each step is 7 calls. Why so few calls matter: the two batch halves run in two threads, and
    # every NumPy call releases and re-takes the GIL; with many small calls the threads queue on it.
    _PERM = (1, 0, 2, 3)

    def _internal(self, M, out=None):
        """Columns of M (..., 4 units) reordered from W's gate order to the internal one (into ``out``)."""
        h = self.units
        if out is None:
            out = np.empty_like(M)
        for j, k in enumerate(self._PERM):
            out[..., j * h:(j + 1) * h] = M[..., k * h:(k + 1) * h]
        return out

    def forward(self, x, *states, training=False):
        W, b = self.params["W"], self.params["b"]
        dtype = W.dtype
        x = np.asarray(x, dtype=dtype)
        if x.ndim != 3:
            raise ShapeError(f"{self.label} needs batches of shape (N, T, features), got {x.shape}", self.name)
        n, T, f = x.shape
        h = self.units
        k = h + f + 1
        Wk = np.empty((k, 4 * h), dtype=dtype)  # [W; b] in the internal gate order
        self._internal(W, Wk[:h + f])
        self._internal(b, Wk[h + f])
        Wk[:, :3 * h] *= 0.5  # sigmoid(z) = 0.5 tanh(z / 2) + 0.5: one tanh call covers every gate
        Wt = Wk.T  # Fortran-ordered view: BLAS reads it transposed, no copy
        y = np.empty((n, T, h) if self.return_sequences else (n, h), dtype=dtype)
        parts = _batch_parts(n, T * n * 4 * h * (h + f))
        states = [np.asarray(s, dtype=dtype) for s in states]
        # training reuses the buffers (and their per-step views) of the previous training step of the
        # same shape; inference gets its own, so it never touches what backward will read
        works = [_LSTMWork(h, f, T, sl.stop - sl.start, dtype) for sl in parts] if not training else \
            self._workspaces(parts, T, f, dtype, lambda nc: _LSTMWork(h, f, T, nc, dtype))
        mm, th, es, mul = np.matmul, np.tanh, np.einsum, np.multiply

        def run(i):
            sl, work = parts[i], works[i]
            xs = x[sl]
            nc = xs.shape[0]
            S, B = work.S, work.B  # S column t: [a<t>; x<t>; 1]; B[t]: [o, i, f, c~, c<t-1>] after activation
            xv = xs.transpose(2, 1, 0)
            S[h:h + f, :T] = xv[:, ::-1] if self.go_backwards else xv
            st = [s[sl] for s in states]
            S[:h, 0] = self._initial(nc, st, dtype, 0)
            B[0, 4 * h:] = self._initial(nc, st, dtype, 1)
            for s_t, z, sg, uf, cc, c, tc, o, a in work.steps:
                mm(Wt, s_t, out=z)
                th(z, out=z)
                sg *= 0.5
                sg += 0.5
                # c<t> = Γu c~<t> + Γf c<t-1>: one sum of products over the two adjacent pairs of blocks
                es("kij,kij->ij", uf, cc, out=c)
                th(c, out=tc)                # tanh(c<t>)
                mul(o, tc, out=a)            # a<t> = Γo tanh(c<t>)
            if self.return_sequences:
                out = S[:h, 1:].transpose(2, 1, 0)  # (nc, T, H)
                y[sl] = out[:, ::-1] if self.go_backwards else out
            else:
                y[sl] = S[:h, T].T
            return work

        results = _map(run, range(len(parts)))
        if training:  # inference leaves the training cache alone
            self._cache = (results, parts, len(states), n, T)
        return y

    def backward(self, dy):
        if self._cache is None:
            raise RuntimeError(f"{self.label}: backward needs a forward pass with training=True")
        works, parts, n_states_in, n, T = self._cache
        W = self.params["W"]
        h = self.units
        f = W.shape[0] - h
        dtype = W.dtype
        dy = np.asarray(dy, dtype=dtype)
        Wi = self._internal(W)
        Wh = Wi[:h]      # (H, 4H): d a<t-1> = Wh @ dz<t>
        WxT = Wi[h:].T   # (4H, F), Fortran-ordered view
        dx = np.empty((n, T, f), dtype=dtype)
        # d a<0> and d c<0> are only needed for a learned or fed initial state
        need0 = n_states_in > 0 or "a0" in self.params
        mm, mul = np.matmul, np.multiply

        def run(i):
            work = works[i]
            S, B, TC, nc = work.S, work.B, work.TC, work.n
            K, DTC, dZ, dh, dc, tmp = work.backward_buffers()
            d = dy[parts[i]]
            G = B[:T, :4 * h]
            # for all steps at once, the factors that turn d a<t> and d c<t> into the gates' dz<t>:
            # the activations' derivatives s (1 - s) and 1 - c~^2 times the other factor of each product
            np.subtract(1, G[:, :3 * h], out=K[:, :3 * h])
            K[:, :3 * h] *= G[:, :3 * h]
            np.multiply(G[:, 3 * h:], G[:, 3 * h:], out=K[:, 3 * h:])
            np.subtract(1, K[:, 3 * h:], out=K[:, 3 * h:])
            K[:, :h] *= TC                   # Γo:  tanh(c<t>) s(1 - s)
            K[:, h:3 * h] *= B[:T, 3 * h:]   # Γu:  c~<t> s(1 - s);  Γf: c<t-1> s(1 - s)
            K[:, 3 * h:] *= G[:, h:2 * h]    # c~:  Γu (1 - c~^2)
            np.multiply(TC, TC, out=DTC)
            np.subtract(1, DTC, out=DTC)
            DTC *= G[:, :h]  # Γo (1 - tanh(c)^2)
            if self.return_sequences:
                dY = work.dY
                dv = d.transpose(1, 2, 0)
                dY[...] = dv[::-1] if self.go_backwards else dv  # (T, H, nc)
                dh[...] = 0
            else:
                dY = None
                dh[...] = d.T
            dc[...] = 0
            steps = work.back_steps
            for t in range(T - 1, -1, -1):
                dyt, dzo, ko, dtc, k3, dz3, gf, dzt = steps[t]
                if dY is not None:
                    dh += dyt
                mul(dh, ko, out=dzo)         # dz of Γo
                mul(dh, dtc, out=tmp)
                dc += tmp                    # d c<t>
                mul(dc, k3, out=dz3)         # dz of Γu, Γf, c~
                dc *= gf                     # d c<t-1> = d c<t> Γf
                if t or need0:
                    mm(Wh, dzt, out=dh)      # d a<t-1>
            dZf = dZ.reshape(4 * h, T * nc)
            gWb = S[:, :T].reshape(h + f + 1, T * nc) @ dZf.T   # [dW; db], internal gate order
            dxs = (dZf.T @ WxT).reshape(T, nc, f).transpose(1, 0, 2)
            dx[parts[i]] = dxs[:, ::-1] if self.go_backwards else dxs
            return gWb, (dh.copy(), dc.copy())  # copies: the buffers are reused by the next step

        results = _map(run, range(len(parts)))
        gWb = results[0][0]
        for r in results[1:]:
            gWb += r[0]
        gW = self.grads.get("W")
        if gW is None or gW.shape != W.shape or gW.dtype != W.dtype:
            gW = self.grads["W"] = np.empty_like(W)
        gb = np.empty(4 * h, dtype=dtype)
        for j, k in enumerate(self._PERM):  # back to W's gate order
            gW[:, k * h:(k + 1) * h] = gWb[:h + f, j * h:(j + 1) * h]
            gb[k * h:(k + 1) * h] = gWb[h + f, j * h:(j + 1) * h]
        self.grads["b"] = gb
        if len(results) == 1:
            dstates = results[0][1]
        else:
            dstates = [np.concatenate([r[1][k] for r in results], axis=1) for k in range(2)]
        return self._state_grads(dx, dstates, n_states_in)


class _Work:
    """Buffers of one batch part of a SimpleRNN/GRU step and their per-step views, kept by the layer
    between training steps of one batch shape (see _Recurrent._workspaces): the step loops then
    create no views (each costs tenths of a microsecond holding the GIL, on which the two batch
    halves' threads queue) and allocate nothing. An inference forward gets a fresh one."""

    def __init__(self):
        self.arrays = {}
        self.views = {}

    def array(self, name, shape, dtype):
        """The buffer ``name`` (uninitialised the first time)."""
        a = self.arrays.get(name)
        if a is None or a.shape != shape or a.dtype != dtype:
            a = self.arrays[name] = np.empty(shape, dtype=dtype)
            self.views.clear()
        return a


class _LSTMWork:
    """One batch part's LSTM buffers and their per-step views, built once per batch shape.

    Every NumPy call of a step loop takes its operands as views; creating them costs a few tenths of
    a microsecond each, holding the GIL, and the two batch halves' threads queue on the GIL (about
    13 views per step and direction). The layer keeps these for training steps of the same shape.
    S (units + F + 1, T + 1, n): column t is [a<t>; x<t>; 1] (the row of ones carries the bias);
    B (T + 1, 5 units, n): step t's [Γo, Γu, Γf, c~<t>, c<t-1>] after activation; TC: tanh(c<t>).
    """

    def __init__(self, h, f, T, n, dtype):
        self.h, self.f, self.T, self.n, self.dtype = h, f, T, n, dtype
        k = h + f + 1
        S = self.S = np.empty((k, T + 1, n), dtype=dtype)
        S[h + f, :T] = 1
        S[:, T] = 0
        B = self.B = np.empty((T + 1, 5 * h, n), dtype=dtype)
        TC = self.TC = np.empty((T, h, n), dtype=dtype)
        self.steps = [(S[:, t], B[t, :4 * h], B[t, :3 * h], B[t, h:3 * h].reshape(2, h, n),
                       B[t, 3 * h:].reshape(2, h, n), B[t + 1, 4 * h:], TC[t], B[t, :h], S[:h, t + 1])
                      for t in range(T)]
        self._back = None

    def backward_buffers(self):
        """(K, DTC, dZ, dh, dc, tmp), made on the first backward; also sets dY and back_steps."""
        if self._back is None:
            h, T, n, dtype = self.h, self.T, self.n, self.dtype
            K = np.empty((T, 4 * h, n), dtype=dtype)
            DTC = np.empty((T, h, n), dtype=dtype)
            dZ = np.empty((4 * h, T, n), dtype=dtype)  # laid out for the products over all steps
            dY = self.dY = np.empty((T, h, n), dtype=dtype)
            self._back = (K, DTC, dZ, np.empty((h, n), dtype=dtype), np.empty((h, n), dtype=dtype),
                          np.empty((h, n), dtype=dtype))
            B = self.B
            self.back_steps = [(dY[t], dZ[:h, t], K[t, :h], DTC[t], K[t, h:].reshape(3, h, n),
                                dZ[h:, t].reshape(3, h, n), B[t, 2 * h:3 * h], dZ[:, t]) for t in range(T)]
        return self._back


# ------------------------------------------------------------------------------------------------
# Wrappers
# ------------------------------------------------------------------------------------------------
def _layer_spec(layer):
    if isinstance(layer, Layer):
        cfg = layer.get_config()
        cfg.pop("name", None)
        return {"type": layer.type_name, "config": cfg}
    if not isinstance(layer, dict) or "type" not in layer:
        raise ConfigError("a wrapped layer must be given as {'type': ..., 'config': {...}}")
    return {"type": str(layer["type"]), "config": dict(layer.get("config", {}))}


class _Wrapper(Layer):
    """A layer holding sub-layers whose arrays it exposes under prefixed keys (same arrays)."""

    #: expose sub-layer arrays as "prefix/key" (False: under the sub-layer's own keys)
    prefix_keys = True

    def _collect(self):
        params, grads = {}, {}
        for prefix, sub in self.sublayers().items():
            for k, v in sub.params.items():
                key = f"{prefix}/{k}" if self.prefix_keys else k
                params[key] = v
                g = sub.grads.get(k)
                grads[key] = g if g is not None else np.zeros_like(v)
        self.params, self.grads = params, grads

    def zero_grads(self):
        for sub in self.sublayers().values():
            sub.zero_grads()
        self._collect()

    def astype(self, dtype):
        for sub in self.sublayers().values():
            sub.astype(dtype)
        self._collect()


@register
class Bidirectional(_Wrapper):
    """Runs a recurrent layer forwards and a copy of it backwards over the sequence (a BRNN).

    layer : {"type": "LSTM", "config": {...}} (or a layer instance); merge : "concat" or "sum".
    Output at step t joins the forward a<t> (which has read x<1..t>) and the backward a<t> (which has
    read x<t..T>). x : ndarray of shape (N, T, F) -> (N, T, 2 units) for concat with return_sequences.
    Params are exposed as "forward/W", "backward/W", ... (the sub-layers' own arrays).
    """

    family = "Recurrent"
    description = ("Bidirectional RNN: one RNN reads the sequence forwards, another backwards, and each "
                   "output sees the whole sentence (needs the full sequence before predicting).")

    def __init__(self, layer, merge="concat", name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self.layer = _layer_spec(layer)
        if merge not in ("concat", "sum"):
            raise ConfigError(f"merge must be 'concat' or 'sum', got {merge!r}")
        self.merge = merge
        cfg = dict(self.layer["config"])
        cfg.pop("go_backwards", None)
        self.forward_layer = layer_from_config(self.layer["type"], {**cfg, "go_backwards": False, "name": "forward"})
        self.backward_layer = layer_from_config(self.layer["type"], {**cfg, "go_backwards": True, "name": "backward"})
        if not isinstance(self.forward_layer, _Recurrent):
            raise ConfigError(f"Bidirectional wraps SimpleRNN, GRU or LSTM, not {self.layer['type']}")
        self.regularized = tuple(f"{p}/{k}" for p in ("forward", "backward") for k in self.forward_layer.regularized)

    def get_config(self):
        return {**super().get_config(), "layer": self.layer, "merge": self.merge}

    def notes(self):
        return ["a bidirectional RNN needs the whole sequence before it predicts (not for real-time use)"]

    def sublayers(self):
        return {"forward": self.forward_layer, "backward": self.backward_layer}

    def output_shape(self, input_shapes):
        self._expect_inputs(input_shapes)
        out = self.forward_layer.output_shape(input_shapes)
        if self.merge == "concat":
            return out[:-1] + (2 * out[-1],)
        return out

    def param_count(self, input_shapes=None):
        if input_shapes is None:
            return super().param_count()
        return 2 * self.forward_layer.param_count(input_shapes)

    def build(self, input_shapes, rng=None, dtype=np.float32):
        super().build(input_shapes, rng, dtype)
        rng = rng if rng is not None else np.random.default_rng(0)
        self.output_shape(input_shapes)
        self.forward_layer.build(input_shapes, rng, dtype)
        self.backward_layer.build(input_shapes, rng, dtype)
        self._collect()

    @property
    def l1(self):
        return self.forward_layer.l1

    @l1.setter
    def l1(self, value):
        self.forward_layer.l1 = self.backward_layer.l1 = float(value)
        self.layer["config"]["l1"] = float(value)

    @property
    def l2(self):
        return self.forward_layer.l2

    @l2.setter
    def l2(self, value):
        self.forward_layer.l2 = self.backward_layer.l2 = float(value)
        self.layer["config"]["l2"] = float(value)

    def forward(self, x, training=False):
        yf = self.forward_layer.forward(x, training=training)
        yb = self.backward_layer.forward(x, training=training)
        if self.merge == "concat":
            return np.concatenate([yf, yb], axis=-1)
        return yf + yb

    def backward(self, dy):
        if self.merge == "concat":
            u = self.forward_layer.units
            dyf, dyb = dy[..., :u], dy[..., u:]
        else:
            dyf = dyb = dy
        dx = self.forward_layer.backward(dyf)
        dx = dx + self.backward_layer.backward(dyb)
        self._collect()
        return dx


@register
class TimeDistributed(_Wrapper):
    """Applies one layer (e.g. a Dense) at every time step, with the same weights at every step.

    layer : {"type": "Dense", "config": {...}} (or a layer instance).
    x : ndarray of shape (N, T, *step_shape) -> (N, T, *inner_output_shape).
    Params keep the inner layer's own keys ("W", "b").
    """

    family = "Recurrent"
    description = "Applies the same layer (e.g. a Dense softmax) to every time step ŷ<t> of a sequence."

    def __init__(self, layer, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self.layer = _layer_spec(layer)
        self.inner = layer_from_config(self.layer["type"], {**self.layer["config"], "name": "layer"})
        if self.inner.n_inputs != 1:
            raise ConfigError("TimeDistributed wraps a layer with exactly one input")
        self.regularized = tuple(self.inner.regularized)

    def get_config(self):
        return {**super().get_config(), "layer": self.layer}

    prefix_keys = False

    def sublayers(self):
        return {"layer": self.inner}

    def _step_shape(self, input_shapes):
        self._expect_inputs(input_shapes)
        shape = tuple(input_shapes[0])
        if len(shape) < 2:
            raise ShapeError(f"{self.label} needs a sequence of shape (T, ...), got {shape}", self.name)
        return shape

    def output_shape(self, input_shapes):
        shape = self._step_shape(input_shapes)
        try:
            inner = self.inner.output_shape([shape[1:]])
        except ShapeError as exc:
            raise ShapeError(f"{self.label}: {exc}", self.name) from None
        return (shape[0],) + tuple(inner)

    def param_count(self, input_shapes=None):
        if input_shapes is None:
            return super().param_count()
        return self.inner.param_count([tuple(input_shapes[0])[1:]])

    def build(self, input_shapes, rng=None, dtype=np.float32):
        super().build(input_shapes, rng, dtype)
        shape = self._step_shape(input_shapes)
        self.inner.build([shape[1:]], rng, dtype)
        self.inner.input_shapes = [shape[1:]]
        self.inner.built = True
        self.inner.zero_grads()
        self._collect()

    @property
    def l1(self):
        return getattr(self.inner, "l1", 0.0)

    @l1.setter
    def l1(self, value):
        if hasattr(self.inner, "l1"):
            self.inner.l1 = float(value)
            self.layer["config"]["l1"] = float(value)

    @property
    def l2(self):
        return getattr(self.inner, "l2", 0.0)

    @l2.setter
    def l2(self, value):
        if hasattr(self.inner, "l2"):
            self.inner.l2 = float(value)
            self.layer["config"]["l2"] = float(value)

    def notes(self):
        return self.inner.notes()

    def forward(self, x, training=False):
        n, T = x.shape[:2]
        y = self.inner.forward(x.reshape((n * T,) + x.shape[2:]), training=training)
        if training:
            self._nt = (n, T, x.shape[2:])
        return y.reshape((n, T) + y.shape[1:])

    def backward(self, dy):
        n, T, step = self._nt
        dx = self.inner.backward(dy.reshape((n * T,) + dy.shape[2:]))
        self._collect()
        return dx.reshape((n, T) + step)
