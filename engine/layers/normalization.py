"""Normalization layers: BatchNorm."""

import numpy as np

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

        Few passes over the data (this layer is a large share of a small CNN's step): per-channel
        sums with einsum, one centred copy that is scaled in place into z_norm (kept for backward),
        and gamma/beta applied as one multiply and one in-place add; the input's dtype throughout.
        """
        n, c = x.shape[0], x.shape[1]
        x3 = x.reshape(n, c, -1)
        dt = x.dtype
        gamma = self.params["gamma"].astype(dt, copy=False)
        beta = self.params["beta"].astype(dt, copy=False)
        batch_stats = training and self.trainable
        m = x3.shape[0] * x3.shape[2]
        if batch_stats:
            mu = np.einsum("ncl->c", x3) / m
            xhat = x3 - mu.astype(dt, copy=False)[None, :, None]  # centred (a new array)
            var = np.einsum("ncl,ncl->c", xhat, xhat) / m  # two-pass variance: no cancellation
            rm = self.momentum
            self.running_mean *= rm
            self.running_mean += (1 - rm) * mu.astype(self.running_mean.dtype)
            self.running_var *= rm
            self.running_var += (1 - rm) * var.astype(self.running_var.dtype)
            inv_std = (1.0 / np.sqrt(var + self.epsilon)).astype(dt, copy=False)
            xhat *= inv_std[None, :, None]
        else:
            mu, var = self.running_mean, self.running_var
            inv_std = (1.0 / np.sqrt(var + self.epsilon)).astype(dt, copy=False)
            if not training:  # inference: one fused affine map, nothing kept
                scale = gamma * inv_std
                y = x3 * scale[None, :, None]
                y += (beta - mu.astype(dt, copy=False) * scale)[None, :, None]
                return y.reshape(x.shape)
            xhat = (x3 - mu.astype(dt, copy=False)[None, :, None]) * inv_std[None, :, None]
        y = xhat * gamma[None, :, None]
        y += beta[None, :, None]
        self._cache = (xhat, inv_std, x.shape, batch_stats)
        return y.reshape(x.shape)

    def backward(self, dy):
        """dy : same shape as the output -> dx (the batch statistics' dependence included).

        With k = gamma / sigma, dx = k * (dy - mean(dy) - z_norm * mean(dy * z_norm)) per channel:
        two per-channel sums and then dx = a * dy + b * z_norm + c with per-channel a, b, c.
        """
        if self._cache is None:
            raise RuntimeError(f"{self.label}: backward needs a forward pass with training=True first")
        xhat, inv_std, shape, batch_stats = self._cache
        n, c = shape[0], shape[1]
        dy3 = dy.reshape(n, c, -1)
        dt = xhat.dtype
        m = dy3.shape[0] * dy3.shape[2]
        sum_dy = np.einsum("ncl->c", dy3)
        sum_dyx = np.einsum("ncl,ncl->c", dy3, xhat)
        pdt = self.params["gamma"].dtype
        self.grads["gamma"] = sum_dyx.astype(pdt, copy=False)
        self.grads["beta"] = sum_dy.astype(pdt, copy=False)
        k = (self.params["gamma"].astype(dt, copy=False) * inv_std).astype(dt, copy=False)
        if not batch_stats:  # frozen: fixed running statistics, a per-channel affine map
            return (dy3 * k[None, :, None]).reshape(shape)
        dx = dy3 * k[None, :, None]
        tmp = xhat * (-k * sum_dyx / m).astype(dt, copy=False)[None, :, None]
        dx += tmp
        dx += (-k * sum_dy / m).astype(dt, copy=False)[None, :, None]
        return dx.reshape(shape)
