"""Normalization layers: BatchNorm."""

import numpy as np

from .. import parallel
from ..errors import ShapeError
from .base import Layer, register


@register
class BatchNorm(Layer):
    """Batch normalization: z_norm = (z - mu) / sqrt(sigma^2 + eps), then z~ = gamma * z_norm + beta.

    In training mu and sigma^2 are the batch's mean and variance, and exponentially weighted
    running averages of them are kept (``running = momentum * running + (1 - momentum) * batch``);
    in inference the running averages are used instead. gamma and beta are learned.

    For (features,) input it normalizes each feature; for (C, L) or (C, H, W) input it normalizes
    each channel (axis 0 of a sample) over the batch and every position.

    A frozen BatchNorm (``trainable=False``, transfer learning) uses its running averages in
    training too and leaves them unchanged, as at inference.

    x : ndarray of shape (batch, F) or (batch, C, ...) -> same shape.
    momentum : weight of the old running average, 0 <= momentum < 1 (default 0.9).
    epsilon : added to the variance so it never divides by zero.
    """

    family = "Normalization"
    description = ("Batch norm: normalizes each unit (channel) to mean 0 and variance 1 over the mini-batch, "
                   "then scales by gamma and shifts by beta; speeds up learning.")

    def __init__(self, momentum=0.9, epsilon=1e-5, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if not self.epsilon > 0:
            raise ValueError(f"epsilon must be positive, got {epsilon}")
        self.running_mean = None
        self.running_var = None
        self._cache = None

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon}

    def output_shape(self, input_shapes):
        self._expect_inputs(input_shapes)
        shape = tuple(input_shapes[0])
        if len(shape) < 1:
            raise ShapeError(f"{self.label} needs at least one axis per sample, got {shape}", self.name)
        return shape

    def param_count(self, input_shapes=None):
        if input_shapes is None:
            return super().param_count()
        return 2 * int(self.output_shape(input_shapes)[0])

    def build(self, input_shapes, rng=None, dtype=np.float32):
        c = int(self.output_shape(input_shapes)[0])
        self.params = {"gamma": np.ones(c, dtype=dtype), "beta": np.zeros(c, dtype=dtype)}
        self.grads = {}
        self.zero_grads()
        self.running_mean = np.zeros(c, dtype=dtype)
        self.running_var = np.ones(c, dtype=dtype)
        super().build(input_shapes, rng, dtype)

    def buffers(self):
        if self.running_mean is None:
            return {}
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def forward(self, x, training=False):
        """x : ndarray of shape (batch, C, ...) -> same shape, normalized per channel.

        Few passes over the data (this layer is a large share of a small CNN's step), for big
        batches split over batch chunks in threads (engine.parallel). Training, usual route: one
        read of x for the per-channel sums of x and x^2 (einsum), x itself kept for backward (no
        centred copy), and the output as one multiply and one add per cache-sized piece,
        y = x * s + (beta - mu s) with s = gamma / sigma. When a channel's mean is large against
        its spread (mu^2 > 4 var, where E[x^2] - mu^2 would cancel), the centred route runs
        instead: per chunk k its own mean mu_k, its values centred on mu_k (kept for backward)
        and their sum of squares, combined exactly (Chan's parallel variance: M2 = sum_k M2_k +
        sum_k m_k (mu_k - mu)^2). The input's dtype throughout, statistics in float64.
        """
        n, c = x.shape[0], x.shape[1]
        x3 = x.reshape(n, c, int(np.prod(x.shape[2:])))  # (not -1: a batch may be empty)
        L = x3.shape[2]
        row = c * L
        x2 = x3.reshape(n, row)
        dt = x.dtype
        gamma = self.params["gamma"].astype(np.float64)
        beta = self.params["beta"].astype(np.float64)
        batch_stats = training and self.trainable
        parts = parallel.batch_slices(n, work=x.size)
        bs = parallel.block_size(len(parts))
        y2 = np.empty_like(x2)
        if not training:  # inference: one fused affine map, nothing kept
            inv_std = 1.0 / np.sqrt(self.running_var.astype(np.float64) + self.epsilon)
            scale = gamma * inv_std
            scale_r = _per_position(scale, L, dt)
            shift_r = _per_position(beta - self.running_mean.astype(np.float64) * scale, L, dt)

            def affine(sl):
                for b in parallel.blocks(sl, row, bs):
                    np.multiply(x2[b], scale_r, out=y2[b])
                    y2[b] += shift_r

            parallel.map_chunks(affine, parts)
            return y2.reshape(x.shape)

        m = n * L
        if batch_stats and m == 0:  # (0/0 would make the running statistics NaN for good)
            raise ShapeError(f"{self.label}: a training batch needs at least one sample to take "
                             f"statistics of, got shape {x.shape}", self.name)
        mu = None
        if batch_stats:
            # one read of x for the per-channel sums of x and x^2 (mean and variance), and x itself
            # kept for backward (no centred copy): exact enough while mu^2 <= 4 var, i.e. at most
            # about two bits of float32 lost to cancellation in var = E[x^2] - mu^2 and later in
            # sum(dy (x - mu)). Otherwise (a channel far from zero) the centred route below runs.
            def moments(sl):
                xk = x3[sl]
                return _channel_sums(xk), np.einsum("ncl,ncl->c", xk, xk).astype(np.float64)

            mom = parallel.map_chunks(moments, parts)
            mu1 = sum(p[0] for p in mom) / m
            var1 = sum(p[1] for p in mom) / m - mu1 * mu1
            if np.all(mu1 * mu1 <= 4.0 * var1):  # (False for NaN too)
                mu, var = mu1, np.maximum(var1, 0.0)
                xc2, offsets = x2, [mu1] * len(parts)  # xhat = (x - mu) / sigma
        if batch_stats and mu is None:
            xc2 = np.empty_like(x2)  # the chunks' centred values, kept for backward
            xc3 = xc2.reshape(n, c, L)

            def centre(sl):
                cnt = (sl.stop - sl.start) * L
                mu_k = _channel_sums(x3[sl]) / cnt
                mu_r = _per_position(mu_k, L, dt)
                m2 = np.zeros(c)
                for b in parallel.blocks(sl, row, bs):
                    np.subtract(x2[b], mu_r, out=xc2[b])
                    xb = xc3[b]
                    m2 += np.einsum("ncl,ncl->c", xb, xb)
                return cnt, mu_k, m2

            stats = parallel.map_chunks(centre, parts)
            if len(stats) == 1:
                mu, var, offsets = stats[0][1], stats[0][2] / m, [np.zeros(c)]
            else:
                mu = sum(cnt * mu_k for cnt, mu_k, _ in stats) / m
                var = sum(m2 + cnt * (mu_k - mu) ** 2 for cnt, mu_k, m2 in stats) / m
                offsets = [mu - mu_k for _, mu_k, _ in stats]  # chunk k: xhat = (xc_k - offset_k) / sigma
        if batch_stats:
            # each new value computed first and written in one go (the same numbers as *= and +=):
            # an inference forward in another thread (the GUI's predict during training) never
            # reads a running mean already scaled by the momentum but not yet updated
            rm = self.momentum
            self.running_mean[...] = self.running_mean * rm + ((1 - rm) * mu).astype(self.running_mean.dtype)
            self.running_var[...] = self.running_var * rm + ((1 - rm) * var).astype(self.running_var.dtype)
        else:  # frozen: the running statistics, left unchanged
            xc2 = np.empty_like(x2)
            mu = self.running_mean.astype(np.float64)
            var = self.running_var.astype(np.float64)
            mu_r = _per_position(mu, L, dt)

            def centre(sl):
                for b in parallel.blocks(sl, row, bs):
                    np.subtract(x2[b], mu_r, out=xc2[b])

            parallel.map_chunks(centre, parts)
            offsets = [np.zeros(c) for _ in parts]
        inv_std = 1.0 / np.sqrt(var + self.epsilon)  # float64, per channel
        scale = gamma * inv_std
        scale_r = _per_position(scale, L, dt)

        def normalize(k):
            shift_r = _per_position(beta - offsets[k] * scale, L, dt)
            for b in parallel.blocks(parts[k], row, bs):
                np.multiply(xc2[b], scale_r, out=y2[b])
                y2[b] += shift_r

        parallel.map_chunks(normalize, range(len(parts)))
        self._cache = (xc2, inv_std, offsets, parts, x.shape, batch_stats)
        return y2.reshape(x.shape)

    def backward(self, dy):
        """dy : same shape as the output -> dx (the batch statistics' dependence included).

        With k = gamma / sigma, dx = k * (dy - mean(dy) - z_norm * mean(dy * z_norm)) per channel:
        per chunk the two per-channel sums (of dy and of dy times the chunk's centred input),
        combined; then, per cache-sized piece, dx = k * (dy - (xc_k * u + v_k)) with per-channel
        u and v_k (four passes that find the piece in the cache, no temporary array).
        """
        if self._cache is None:
            raise RuntimeError(f"{self.label}: backward needs a forward pass with training=True first")
        xc2, inv_std, offsets, parts, shape, batch_stats = self._cache
        n, row = xc2.shape
        c = shape[1]
        L = row // c
        dt = xc2.dtype
        dy2 = np.asarray(dy, dtype=dt).reshape(n, row)
        dy3 = dy2.reshape(n, c, L)
        xc3 = xc2.reshape(n, c, L)
        m = n * L
        bs = parallel.block_size(len(parts))

        def sums(sl):
            d = dy3[sl]
            return (_channel_sums(d),
                    np.einsum("ncl,ncl->c", d, xc3[sl]).astype(np.float64))

        partial = parallel.map_chunks(sums, parts)
        sum_dy = sum(p[0] for p in partial)
        # sum(dy * xhat), with xhat = (xc_k - offset_k) / sigma in chunk k
        sum_dyx = sum(p[1] - off * p[0] for p, off in zip(partial, offsets)) * inv_std
        pdt = self.params["gamma"].dtype
        _store(self.grads, "gamma", sum_dyx, pdt)
        _store(self.grads, "beta", sum_dy, pdt)
        k = self.params["gamma"].astype(np.float64) * inv_std
        k_r = _per_position(k, L, dt)
        dx2 = np.empty_like(dy2)
        if not batch_stats:  # frozen: fixed running statistics, a per-channel affine map
            def scaled(sl):
                for b in parallel.blocks(sl, row, bs):
                    np.multiply(dy2[b], k_r, out=dx2[b])

            parallel.map_chunks(scaled, parts)
            return dx2.reshape(shape)
        # dx = k * (dy - sum_dy/m - xhat * sum_dyx/m) = k * (dy - (xc_k * u + v_k))
        u = inv_std * sum_dyx / m
        u_r = _per_position(u, L, dt)

        def input_grad(i):
            v_r = _per_position(sum_dy / m - offsets[i] * u, L, dt)
            for b in parallel.blocks(parts[i], row, bs):
                out = dx2[b]
                np.multiply(xc2[b], u_r, out=out)
                out += v_r
                np.subtract(dy2[b], out, out=out)
                out *= k_r

        parallel.map_chunks(input_grad, range(len(parts)))
        return dx2.reshape(shape)


def _channel_sums(x3):
    """Per-channel sums of x3 (n, C, L) as float64 (C,). Summed over L by einsum first: its
    single-operand "ncl->c" reduction holds the GIL (threads would take turns), "ncl->nc" does not."""
    return np.einsum("ncl->nc", x3).sum(axis=0, dtype=np.float64)


def _per_position(v, L, dtype):
    """A per-channel vector (C,) repeated for each of the L positions of a channel, as a contiguous
    (C * L,) array in ``dtype``: multiplying a (batch, C * L) array by it takes numpy's fast
    contiguous inner loop (about 1.7x faster than broadcasting a (C, 1) column)."""
    v = np.asarray(v).astype(dtype, copy=False)
    return v if L == 1 else np.repeat(v, L)


def _store(grads, key, value, dtype):
    """Write a gradient into the existing array when it fits (no new array per step)."""
    g = grads.get(key)
    if g is not None and g.shape == value.shape and g.dtype == dtype:
        g[...] = value
    else:
        grads[key] = value.astype(dtype)
