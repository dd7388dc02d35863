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
        """x : ndarray of shape (batch, C, ...) -> same shape, normalized per channel."""
        n, c = x.shape[0], x.shape[1]
        x3 = x.reshape(n, c, -1)
        gamma = self.params["gamma"][None, :, None]
        beta = self.params["beta"][None, :, None]
        batch_stats = training and self.trainable
        if batch_stats:
            mu = x3.mean(axis=(0, 2))
            var = x3.var(axis=(0, 2))
            m = self.momentum
            self.running_mean *= m
            self.running_mean += (1 - m) * mu.astype(self.running_mean.dtype)
            self.running_var *= m
            self.running_var += (1 - m) * var.astype(self.running_var.dtype)
        else:
            mu, var = self.running_mean, self.running_var
        inv_std = 1.0 / np.sqrt(var + self.epsilon)
        xhat = (x3 - mu[None, :, None]) * inv_std[None, :, None]
        y = gamma * xhat + beta
        if training:  # inference leaves the training cache alone
            self._cache = (xhat, inv_std, x.shape, batch_stats)
        return y.reshape(x.shape).astype(x.dtype, copy=False)

    def backward(self, dy):
        """dy : same shape as the output -> dx (the batch statistics' dependence included)."""
        if self._cache is None:
            raise RuntimeError(f"{self.label}: backward needs a forward pass with training=True first")
        xhat, inv_std, shape, batch_stats = self._cache
        n, c = shape[0], shape[1]
        dy3 = dy.reshape(n, c, -1)
        m = dy3.shape[0] * dy3.shape[2]
        self.grads["gamma"] = (dy3 * xhat).sum(axis=(0, 2))
        self.grads["beta"] = dy3.sum(axis=(0, 2))
        dxhat = dy3 * self.params["gamma"][None, :, None]
        if not batch_stats:  # frozen: fixed running statistics, a per-channel affine map
            return (dxhat * inv_std[None, :, None]).reshape(shape)
        sum_d = dxhat.sum(axis=(0, 2), keepdims=True)
        sum_dx = (dxhat * xhat).sum(axis=(0, 2), keepdims=True)
        dx = (inv_std[None, :, None] / m) * (m * dxhat - sum_d - xhat * sum_dx)
        return dx.reshape(shape)
