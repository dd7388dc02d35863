"""Attention: additive (Bahdanau) attention, scaled dot-product attention and the attention decoder.

Attention lets each output step look at the whole input sequence and decide which input steps to
"give attention to": it computes weights alpha<t, t'> >= 0 over the input steps t' (a softmax, so
they sum to 1) and a context vector c<t> = sum_t' alpha<t, t'> a<t'>, a weighted average of the
encoder states a<t'>. The weights of the last forward pass are kept in ``last_weights`` so the
canvas can draw them (rows: output steps, columns: input steps).
"""

import numpy as np

from ..errors import ShapeError
from .base import Layer, register
from .recurrent import _glorot, _orthogonal, _sigmoid_inplace, _Wrapper


def _softmax(e, axis=-1):
    e = e - e.max(axis=axis, keepdims=True)
    np.exp(e, out=e)
    e /= e.sum(axis=axis, keepdims=True)
    return e


# -- additive attention maths (shared by AdditiveAttention and AttentionDecoder) --------------------
def _additive_forward(pk, qp, v, values):
    """Scores e = v . tanh(pk + qp), weights alpha = softmax over input steps, context = alpha @ values.

    pk : (N, Tx, A) projected keys (values @ W1 + b); qp : (N, Tq, A) projected queries;
    v : (A,); values : (N, Tx, Da). Returns context (N, Tq, Da), alpha (N, Tq, Tx), u (N, Tq, Tx, A).
    """
    u = np.tanh(pk[:, None, :, :] + qp[:, :, None, :])
    alpha = _softmax(u @ v, axis=-1)
    return alpha @ values, alpha, u


def _additive_backward(dctx, alpha, u, v, values):
    """Gradients of the additive attention step: returns dpk, dqp, dv, dvalues."""
    dalpha = dctx @ values.transpose(0, 2, 1)                       # (N, Tq, Tx)
    dvalues = alpha.transpose(0, 2, 1) @ dctx                        # (N, Tx, Da)
    de = alpha * (dalpha - np.sum(alpha * dalpha, axis=-1, keepdims=True))
    dv = np.einsum("nqta,nqt->a", u, de)
    dz = de[..., None] * v
    dz *= 1 - u * u                                                  # (N, Tq, Tx, A)
    return dz.sum(axis=1), dz.sum(axis=2), dv, dvalues


@register
class AdditiveAttention(Layer):
    """Bahdanau (additive) attention over encoder states.

    Inputs: query s of shape (Dq,) or (Tq, Dq) (e.g. the decoder state s<t-1>) and the encoder
    states a of shape (Tx, Da). Scores e<t'> = v . tanh(W1 a<t'> + W2 s + b), weights
    alpha = softmax(e) over t', output the context sum_t' alpha<t'> a<t'> of shape (Da,) or (Tq, Da).
    ``last_weights`` holds alpha of the last forward: (N, Tx) or (N, Tq, Tx).
    """

    family = "Attention"
    n_inputs = 2
    regularized = ("W1", "W2")
    description = ("Additive attention: a small network scores how much each input step a<t'> matters for the "
                   "current state s, a softmax turns scores into weights alpha, the context is their weighted sum.")

    def __init__(self, units=10, l1=0.0, l2=0.0, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self.units = int(units)
        if self.units <= 0:
            raise ValueError(f"units must be positive, got {units}")
        self.l1, self.l2 = float(l1), float(l2)
        self.last_weights = None
        self._cache = None

    def get_config(self):
        return {**super().get_config(), "units": self.units, "l1": self.l1, "l2": self.l2}

    def output_shape(self, input_shapes):
        self._expect_inputs(input_shapes)
        q, a = tuple(input_shapes[0]), tuple(input_shapes[1])
        if len(a) != 2:
            raise ShapeError(f"{self.label}: the second input must be encoder states (Tx, features), got {a}",
                             self.name)
        if len(q) not in (1, 2):
            raise ShapeError(f"{self.label}: the query must be (features,) or (Tq, features), got {q}", self.name)
        return (a[1],) if len(q) == 1 else (q[0], a[1])

    def param_count(self, input_shapes=None):
        if input_shapes is None:
            return super().param_count()
        dq, da = int(input_shapes[0][-1]), int(input_shapes[1][-1])
        return (dq + da + 2) * self.units

    def build(self, input_shapes, rng=None, dtype=np.float32):
        super().build(input_shapes, rng, dtype)
        self.output_shape(input_shapes)
        rng = rng if rng is not None else np.random.default_rng(0)
        dq, da, A = int(input_shapes[0][-1]), int(input_shapes[1][-1]), self.units
        self.params = {"W1": _glorot(rng, da, A, (da, A), dtype), "W2": _glorot(rng, dq, A, (dq, A), dtype),
                       "b": np.zeros(A, dtype), "v": _glorot(rng, A, 1, (A,), dtype)}
        self.grads = {k: np.zeros_like(p) for k, p in self.params.items()}

    def forward(self, query, values, training=False):
        p = self.params
        flat = query.ndim == 2
        q = query[:, None, :] if flat else query
        pk = values @ p["W1"] + p["b"]
        qp = q @ p["W2"]
        ctx, alpha, u = _additive_forward(pk, qp, p["v"], values)
        self.last_weights = alpha[:, 0] if flat else alpha
        if training:  # an inference pass leaves the training cache alone (the GUI predicts meanwhile)
            self._cache = (q, values, alpha, u, flat)
        return ctx[:, 0] if flat else ctx

    def backward(self, dy):
        q, values, alpha, u, flat = self._cache
        p = self.params
        dctx = dy[:, None, :] if flat else dy
        dpk, dqp, dv, dvalues = _additive_backward(dctx, alpha, u, p["v"], values)
        da = values.shape[-1]
        self.grads["W1"] = values.reshape(-1, da).T @ dpk.reshape(-1, self.units)
        self.grads["b"] = dpk.sum(axis=(0, 1))
        self.grads["W2"] = q.reshape(-1, q.shape[-1]).T @ dqp.reshape(-1, self.units)
        self.grads["v"] = dv
        dvalues += dpk @ p["W1"].T
        dq = dqp @ p["W2"].T
        return (dq[:, 0] if flat else dq), dvalues


@register
class ScaledDotProductAttention(Layer):
    """Scaled dot-product attention: softmax(Q K^T / sqrt(d)) V.

    Inputs: queries Q (Tq, d), keys K (Tk, d) and optionally values V (Tk, dv) (else V = K).
    Output (Tq, dv). ``causal`` masks future steps (query t sees keys <= t; needs Tq == Tk).
    ``last_weights`` holds the (N, Tq, Tk) weights of the last forward. No parameters.
    """

    family = "Attention"
    n_inputs = None
    description = ("Scaled dot-product attention: each query scores every key by a dot product divided by "
                   "sqrt(d), a softmax gives the weights, the output is the weighted sum of the values.")

    def __init__(self, causal=False, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self.causal = bool(causal)
        self.last_weights = None
        self._cache = None

    def get_config(self):
        return {**super().get_config(), "causal": self.causal}

    def output_shape(self, input_shapes):
        shapes = [tuple(s) for s in input_shapes]
        if len(shapes) not in (2, 3):
            raise ShapeError(f"{self.label} takes queries, keys and optionally values, got {len(shapes)} inputs",
                             self.name)
        if any(len(s) != 2 for s in shapes):
            raise ShapeError(f"{self.label} needs sequences (T, features), got {shapes}", self.name)
        q, k = shapes[0], shapes[1]
        v = shapes[2] if len(shapes) == 3 else k
        if q[1] != k[1]:
            raise ShapeError(f"{self.label}: queries have {q[1]} features but keys {k[1]}", self.name)
        if v[0] != k[0]:
            raise ShapeError(f"{self.label}: {k[0]} keys but {v[0]} values", self.name)
        if self.causal and q[0] != k[0]:
            raise ShapeError(f"{self.label}: a causal mask needs as many queries as keys", self.name)
        return (q[0], v[1])

    def forward(self, q, k, v=None, training=False):
        has_v = v is not None
        v = k if v is None else v
        scale = 1.0 / np.sqrt(q.shape[-1])
        s = (q @ k.transpose(0, 2, 1)) * scale
        if self.causal:
            tq, tk = s.shape[1], s.shape[2]
            s = np.where(np.tril(np.ones((tq, tk), dtype=bool)), s, -np.inf)
        w = _softmax(s, axis=-1)
        self.last_weights = w
        if training:
            self._cache = (q, k, v, w, scale, has_v)
        return w @ v

    def backward(self, dy):
        q, k, v, w, scale, has_v = self._cache
        dw = dy @ v.transpose(0, 2, 1)
        dv = w.transpose(0, 2, 1) @ dy
        ds = w * (dw - np.sum(w * dw, axis=-1, keepdims=True))
        ds *= scale
        dq = ds @ k
        dk = ds.transpose(0, 2, 1) @ q
        if has_v:
            return dq, dk, dv
        return dq, dk + dv


@register
class AttentionDecoder(_Wrapper):
    """The post-attention decoder of the dates translation model (as in the course's assignment).

    Input: encoder states a of shape (Tx, Da) (e.g. from a Bidirectional LSTM). For each of
    ``steps`` output steps t it computes the attention weights alpha<t, t'> from its previous state
    s<t-1> (additive attention over a), the context c<t> = sum_t' alpha<t, t'> a<t'>, and runs one
    step of a post-attention LSTM on c<t>: s<t> = LSTM(c<t>, s<t-1>). Output: every s<t>, shape
    (steps, units); follow it with TimeDistributed(Dense) and a softmax for y<t>.
    ``last_weights``: (N, steps, Tx) attention weights of the last forward.
    Sub-layers: "attention" (AdditiveAttention: W1, W2, b, v) and "lstm" (the LSTM's W, b with the
    LSTM's layout: rows [s<t-1>; c<t>], gate blocks [i, o, f, c~]).
    """

    family = "Attention"
    description = ("Attention decoder: for every output step it attends over the encoder states a<t'> with "
                   "weights alpha<t,t'>, and feeds the context to a post-attention LSTM whose state s<t> predicts y<t>.")

    def __init__(self, steps, units, attention_units=10, l1=0.0, l2=0.0, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        from .recurrent import LSTM
        self.steps = int(steps)
        self.units = int(units)
        self.attention_units = int(attention_units)
        if self.steps <= 0 or self.units <= 0 or self.attention_units <= 0:
            raise ValueError("steps, units and attention_units must be positive")
        self.attention = AdditiveAttention(units=self.attention_units, name="attention")
        self.lstm = LSTM(units=self.units, name="lstm")
        self.regularized = ("attention/W1", "attention/W2", "lstm/W")
        self.l1, self.l2 = float(l1), float(l2)  # applied to attention/W1, attention/W2 and lstm/W
        self.last_weights = None
        self._cache = None

    def get_config(self):
        return {**super().get_config(), "steps": self.steps, "units": self.units,
                "attention_units": self.attention_units, "l1": self.l1, "l2": self.l2}

    def sublayers(self):
        return {"attention": self.attention, "lstm": self.lstm}

    def output_shape(self, input_shapes):
        self._expect_inputs(input_shapes)
        a = tuple(input_shapes[0])
        if len(a) != 2:
            raise ShapeError(f"{self.label} needs encoder states of shape (Tx, features), got {a}", self.name)
        return (self.steps, self.units)

    def param_count(self, input_shapes=None):
        if input_shapes is None:
            return super().param_count()
        da = int(input_shapes[0][-1])
        return (self.units + da + 2) * self.attention_units + (self.units + da + 1) * 4 * self.units

    def build(self, input_shapes, rng=None, dtype=np.float32):
        super().build(input_shapes, rng, dtype)
        self.output_shape(input_shapes)
        rng = rng if rng is not None else np.random.default_rng(0)
        tx, da = input_shapes[0]
        self.attention.build([(self.units,), (tx, da)], rng, dtype)
        self.lstm.build([(1, da)], rng, dtype)
        for sub in (self.attention, self.lstm):
            sub.built = True
            sub.zero_grads()
        self._collect()

    def forward(self, a, training=False):
        pa, pl = self.attention.params, self.lstm.params
        n, tx, da = a.shape
        h, ty, dtype = self.units, self.steps, pl["W"].dtype
        a = np.asarray(a, dtype=dtype)
        pk = a @ pa["W1"] + pa["b"]
        S = np.zeros((ty + 1, n, h), dtype)
        C = np.zeros((ty + 1, n, h), dtype)
        X = np.empty((ty, n, h + da), dtype)  # LSTM input rows [s<t-1>, context<t>]
        G = np.empty((ty, n, 4 * h), dtype)
        TC = np.empty((ty, n, h), dtype)
        alphas = np.empty((n, ty, tx), dtype)
        us = [] if training else None
        for t in range(ty):
            qp = (S[t] @ pa["W2"])[:, None, :]
            ctx, alpha, u = _additive_forward(pk, qp, pa["v"], a)
            alphas[:, t] = alpha[:, 0]
            if training:
                us.append(u)
            X[t, :, :h] = S[t]
            X[t, :, h:] = ctx[:, 0]
            g = G[t]
            np.matmul(X[t], pl["W"], out=g)
            g += pl["b"]
            _sigmoid_inplace(g[:, :3 * h])
            np.tanh(g[:, 3 * h:], out=g[:, 3 * h:])
            C[t + 1] = g[:, 2 * h:3 * h] * C[t] + g[:, :h] * g[:, 3 * h:]
            np.tanh(C[t + 1], out=TC[t])
            np.multiply(g[:, h:2 * h], TC[t], out=S[t + 1])
        self.last_weights = alphas
        if training:
            self._cache = (a, pk, S, C, X, G, TC, alphas, us)
        return np.ascontiguousarray(S[1:].transpose(1, 0, 2))

    def backward(self, dy):
        a, pk, S, C, X, G, TC, alphas, us = self._cache
        pa, pl = self.attention.params, self.lstm.params
        n, tx, da = a.shape
        h, ty = self.units, self.steps
        W = pl["W"]
        WT = np.ascontiguousarray(W.T)
        W2T = np.ascontiguousarray(pa["W2"].T)
        dY = dy.transpose(1, 0, 2)
        ds = np.zeros((n, h), a.dtype)
        dc = np.zeros((n, h), a.dtype)
        dZ = np.empty((ty, n, 4 * h), a.dtype)
        dpk = np.zeros_like(pk)
        da_total = np.zeros_like(a)
        dv = np.zeros_like(pa["v"])
        dqp_all = np.empty((ty, n, self.attention_units), a.dtype)
        for t in range(ty - 1, -1, -1):
            g = G[t]
            ds = ds + dY[t]
            dz = dZ[t]
            dz[:, h:2 * h] = ds * TC[t] * g[:, h:2 * h] * (1 - g[:, h:2 * h])
            dc = dc + ds * g[:, h:2 * h] * (1 - TC[t] * TC[t])
            dz[:, :h] = dc * g[:, 3 * h:] * g[:, :h] * (1 - g[:, :h])
            dz[:, 2 * h:3 * h] = dc * C[t] * g[:, 2 * h:3 * h] * (1 - g[:, 2 * h:3 * h])
            dz[:, 3 * h:] = dc * g[:, :h] * (1 - g[:, 3 * h:] ** 2)
            dc = dc * g[:, 2 * h:3 * h]
            dx = dz @ WT                      # (n, h + da)
            ds = dx[:, :h].copy()
            dctx = dx[:, None, h:]
            dpk_t, dqp, dv_t, dval = _additive_backward(dctx, alphas[:, t:t + 1], us[t], pa["v"], a)
            dpk += dpk_t
            dv += dv_t
            da_total += dval
            dqp_all[t] = dqp[:, 0]
            ds += dqp[:, 0] @ W2T
        self.lstm.grads["W"] = X.reshape(ty * n, -1).T @ dZ.reshape(ty * n, -1)
        self.lstm.grads["b"] = dZ.sum(axis=(0, 1))
        self.attention.grads["W2"] = S[:-1].reshape(ty * n, h).T @ dqp_all.reshape(ty * n, -1)
        self.attention.grads["W1"] = a.reshape(-1, da).T @ dpk.reshape(-1, self.attention_units)
        self.attention.grads["b"] = dpk.sum(axis=(0, 1))
        self.attention.grads["v"] = dv
        da_total += dpk @ pa["W1"].T
        self._collect()
        return da_total
