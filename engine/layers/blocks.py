"""Composite layers: residual blocks and the Inception module.

A composite is a small graph of ordinary layers (an inner :class:`engine.graph.Network` whose
first node is an ``Input`` named "input") that behaves as one layer:

- ``params`` / ``grads`` hold every sub-layer's arrays under prefixed keys ("conv1/W", "bn1/gamma")
  that are the *same* arrays as the sub-layers' own, so optimizers updating ``params`` in place
  update the sub-layers.
- ``sublayers()`` returns {prefix: layer} and ``subgraph_config(input_shape)`` the inner graph
  (nodes and links), for the canvas to show the block folded or unfolded.
- ``buffers()`` exposes the sub-layers' buffers (BatchNorm running averages) the same way.
- ``output_shape`` reports problems with the block's name and what to do.
"""

import numpy as np

from ..errors import ShapeError
from .base import Layer, register


class Composite(Layer):
    """Base class of layers made of a small graph of other layers."""

    family = "Blocks"

    def __init__(self, name=None, trainable=True, l1=0.0, l2=0.0):
        super().__init__(name=name, trainable=trainable)
        self.l1 = float(l1)
        self.l2 = float(l2)
        if self.l1 < 0 or self.l2 < 0:
            raise ValueError("l1 and l2 cannot be negative")
        self._net = None
        self._layers = None  # prefix -> layer, created once (hyperparameters only)

    # -- the inner graph -------------------------------------------------------------------------
    def _wire(self, net, x):
        """Add the sub-layers to ``net`` reading from node ``x``; subclasses implement it.

        Use ``self._sub(name, factory)`` to create each sub-layer once.
        """
        raise NotImplementedError

    def _sub(self, name, factory):
        if name not in self._layers:
            self._layers[name] = factory()
        return self._layers[name]

    def _graph(self, input_shape):
        from ..graph import Network  # late import: graph imports the layer registry
        from .core import Input

        if self._layers is None:
            self._layers = {}
        net = Network(name=self.name or self.type_name)
        x = net.add(Input(tuple(input_shape)), name="input")
        self._wire(net, x)
        return net

    def _check_input(self, shape):
        if len(shape) != 3:
            raise ShapeError(f"{self.label} needs (C, H, W) input, got {tuple(shape)}", self.name)

    def output_shape(self, input_shapes):
        self._expect_inputs(input_shapes)
        shape = tuple(input_shapes[0])
        self._check_input(shape)
        net = self._graph(shape)
        try:
            shapes = net.infer_shapes()
        except ShapeError as exc:
            raise ShapeError(f"{self.label}, inside at '{exc.node}': {exc}", self.name) from None
        return shapes[net.outputs[0]]

    def param_count(self, input_shapes=None):
        if input_shapes is None:
            return super().param_count()
        net = self._graph(tuple(input_shapes[0]))
        return int(sum(r["params"] or 0 for r in net.summary_rows()))

    def sublayers(self):
        if self._layers is None:
            self._graph(self.input_shapes[0] if self.input_shapes else self._probe_shape())
        return dict(self._layers)

    def _probe_shape(self):
        return (getattr(self, "filters", 8), 8, 8)

    @property
    def network(self):
        """The built inner Network (node "input" feeds the block; its single output is the block's), or None."""
        return self._net

    def subgraph_config(self, input_shape=None):
        """The inner graph as Network.get_config() (node "input" is where the block's input enters)."""
        shape = input_shape or (self.input_shapes[0] if self.input_shapes else self._probe_shape())
        return self._graph(tuple(shape)).get_config()

    # -- parameters ------------------------------------------------------------------------------
    def build(self, input_shapes, rng=None, dtype=np.float32):
        self._expect_inputs(input_shapes)
        self.output_shape(input_shapes)
        net = self._graph(tuple(input_shapes[0]))
        for layer in self._layers.values():
            layer.built = False
        net.build(rng=rng if rng is not None else np.random.default_rng(), dtype=dtype, rebuild=True)
        self._net = net
        self._refresh()
        super().build(input_shapes, rng, dtype)

    def _refresh(self):
        """Point params/grads at the sub-layers' current arrays (the same objects)."""
        self.params = {f"{p}/{k}": v for p, lay in self._layers.items() for k, v in lay.params.items()}
        grads = {}
        for p, lay in self._layers.items():
            for k in lay.params:
                if k not in lay.grads or lay.grads[k].shape != lay.params[k].shape:
                    lay.grads[k] = np.zeros_like(lay.params[k])
                grads[f"{p}/{k}"] = lay.grads[k]
        self.grads = grads

    @property
    def regularized(self):
        return tuple(f"{p}/{k}" for p, lay in (self._layers or {}).items() for k in lay.regularized)

    def zero_grads(self):
        if self._layers:
            for lay in self._layers.values():
                lay.zero_grads()
            self._refresh()

    def astype(self, dtype):
        if self._net is not None:
            self._net.astype(dtype)
            self._refresh()

    def buffers(self):
        return {f"{p}/{k}": v for p, lay in (self._layers or {}).items() for k, v in lay.buffers().items()}

    # -- computation -----------------------------------------------------------------------------
    def forward(self, x, training=False):
        """x : ndarray of shape (batch, C, H, W) -> ndarray of shape (batch, *output_shape)."""
        if self._net is None:
            raise RuntimeError(f"{self.label} must be built before it runs")
        return self._net.forward(x, training=training)

    def backward(self, dy):
        """dy : gradient of the block's output -> gradient of its input (None if not needed)."""
        dx = self._net.backward(dy, input_grads=self.need_input_grad)
        self._refresh()
        return dx


def _conv(filters, k, stride=1, bias=True):
    from .conv import Conv2D

    return lambda: Conv2D(filters, kernel_size=k, stride=stride, padding="same", use_bias=bias)


def _bn():
    from .normalization import BatchNorm

    return BatchNorm()


def _relu():
    from .activations import Activation

    return Activation("relu")


def _add():
    from .merge import Add

    return Add()


class _Residual(Composite):
    """Shared settings of the two residual blocks."""

    def __init__(self, filters, kernel_size=3, batchnorm=True, l1=0.0, l2=0.0, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable, l1=l1, l2=l2)
        self.filters = int(filters)
        if self.filters < 1:
            raise ValueError(f"filters must be at least 1, got {filters}")
        self.kernel_size = int(kernel_size)
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be an odd number >= 1 (so 'same' padding is symmetric), got {kernel_size}")
        self.batchnorm = bool(batchnorm)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "batchnorm": self.batchnorm, "l1": self.l1, "l2": self.l2}

    def _main_path(self, net, x, stride):
        """conv1 (stride) -> bn1 -> relu1 -> conv2 -> bn2: the "main path" of the block."""
        bn = self.batchnorm
        k = self.kernel_size
        h = net.add(self._sub("conv1", _conv(self.filters, k, stride, not bn)), [x], name="conv1")
        if bn:
            h = net.add(self._sub("bn1", _bn), [h], name="bn1")
        h = net.add(self._sub("relu1", _relu), [h], name="relu1")
        h = net.add(self._sub("conv2", _conv(self.filters, k, 1, not bn)), [h], name="conv2")
        if bn:
            h = net.add(self._sub("bn2", _bn), [h], name="bn2")
        return h


@register
class ResidualIdentityBlock(_Residual):
    """Residual (ResNet) identity block: a[l+2] = ReLU(z[l+2] + a[l]).

    Main path: conv(kxk, same) -> BatchNorm -> ReLU -> conv(kxk, same) -> BatchNorm; the shortcut
    carries the block's input a[l] unchanged and is added before the last ReLU. Because the block
    can always fall back to the identity (weights near zero), stacking many of them does not make
    training worse, which is why very deep ResNets train. The shortcut needs the output to match
    the input: input channels must equal ``filters`` (otherwise use ResidualConvBlock).

    Shapes: x : ndarray of shape (batch, filters, H, W) -> ndarray of the same shape.
    """

    description = (
        "ResNet identity block: two convolutions plus a shortcut that adds the block's input back "
        "before the last ReLU (input and output shapes match)."
    )

    def _check_input(self, shape):
        super()._check_input(shape)
        if shape[0] != self.filters:
            raise ShapeError(
                f"{self.label}: the identity shortcut needs input channels ({shape[0]}) equal to filters "
                f"({self.filters}); use a ResidualConvBlock (1x1 projection on the shortcut) when they differ",
                self.name,
            )

    def _wire(self, net, x):
        h = self._main_path(net, x, 1)
        s = net.add(self._sub("add", _add), [h, x], name="add")
        net.add(self._sub("relu_out", _relu), [s], name="relu_out")


@register
class ResidualConvBlock(_Residual):
    """Residual (ResNet) convolutional block, for when the shortcut does not match the output.

    Main path: conv(kxk, stride) -> BatchNorm -> ReLU -> conv(kxk) -> BatchNorm; shortcut: a 1x1
    convolution with the same stride (and BatchNorm) that projects the input to ``filters``
    channels and the new size, so the two can be added; then ReLU.

    Shapes: x : ndarray of shape (batch, C, H, W) -> ndarray of shape (batch, filters, ceil(H/stride), ceil(W/stride)).
    """

    description = (
        "ResNet convolutional block: two convolutions plus a 1x1-convolution shortcut that matches the "
        "shortcut to the new channels/size before adding."
    )

    def __init__(self, filters, kernel_size=3, stride=2, batchnorm=True, l1=0.0, l2=0.0, name=None, trainable=True):
        super().__init__(filters, kernel_size=kernel_size, batchnorm=batchnorm, l1=l1, l2=l2, name=name,
                         trainable=trainable)
        self.stride = int(stride)
        if self.stride < 1:
            raise ValueError(f"stride must be at least 1, got {stride}")

    def get_config(self):
        return {**super().get_config(), "stride": self.stride}

    def _wire(self, net, x):
        from .conv import Conv1x1

        h = self._main_path(net, x, self.stride)
        bn = self.batchnorm
        s = net.add(self._sub("shortcut", lambda: Conv1x1(self.filters, stride=self.stride, use_bias=not bn)),
                    [x], name="shortcut")
        if bn:
            s = net.add(self._sub("bn_shortcut", _bn), [s], name="bn_shortcut")
        a = net.add(self._sub("add", _add), [h, s], name="add")
        net.add(self._sub("relu_out", _relu), [a], name="relu_out")


@register
class InceptionModule(Composite):
    """Inception module: parallel branches concatenated along channels (GoogLeNet).

    Branches, each followed by ReLU: a 1x1 conv (``f1`` filters); a 1x1 reduction (``f3_reduce``)
    then a 3x3 conv (``f3``); a 1x1 reduction (``f5_reduce``) then a 5x5 conv (``f5``); a 3x3 max
    pool (stride 1, same) then a 1x1 conv (``pool_proj``). The 1x1 reductions shrink the channels
    before the expensive 3x3 and 5x5 convolutions: that is what makes the module cheap. All
    branches keep H and W, so they can be stacked along channels.

    Shapes: x : ndarray of shape (batch, C, H, W) -> ndarray of shape (batch, f1+f3+f5+pool_proj, H, W).
    """

    description = (
        "Inception module: 1x1, 1x1->3x3, 1x1->5x5 and pool->1x1 branches side by side, stacked along "
        "channels; the 1x1 reductions keep it cheap."
    )

    def __init__(self, f1=8, f3_reduce=8, f3=16, f5_reduce=4, f5=8, pool_proj=8, l1=0.0, l2=0.0, name=None,
                 trainable=True):
        super().__init__(name=name, trainable=trainable, l1=l1, l2=l2)
        self.f1, self.f3_reduce, self.f3 = int(f1), int(f3_reduce), int(f3)
        self.f5_reduce, self.f5, self.pool_proj = int(f5_reduce), int(f5), int(pool_proj)
        for key in ("f1", "f3_reduce", "f3", "f5_reduce", "f5", "pool_proj"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be at least 1, got {getattr(self, key)}")

    def get_config(self):
        return {**super().get_config(), "f1": self.f1, "f3_reduce": self.f3_reduce, "f3": self.f3,
                "f5_reduce": self.f5_reduce, "f5": self.f5, "pool_proj": self.pool_proj, "l1": self.l1, "l2": self.l2}

    def _probe_shape(self):
        return (self.f1, 8, 8)

    def _wire(self, net, x):
        from .conv import Conv1x1, Conv2D, MaxPool2D
        from .merge import Concatenate

        def branch(names, factories, src):
            h = src
            for name, factory in zip(names, factories):
                h = net.add(self._sub(name, factory), [h], name=name)
            return h

        b1 = branch(["b1_1x1", "b1_relu"], [lambda: Conv1x1(self.f1), _relu], x)
        b3 = branch(["b3_reduce", "b3_reduce_relu", "b3_3x3", "b3_relu"],
                    [lambda: Conv1x1(self.f3_reduce), _relu, lambda: Conv2D(self.f3, 3, padding="same"), _relu], x)
        b5 = branch(["b5_reduce", "b5_reduce_relu", "b5_5x5", "b5_relu"],
                    [lambda: Conv1x1(self.f5_reduce), _relu, lambda: Conv2D(self.f5, 5, padding="same"), _relu], x)
        bp = branch(["bp_pool", "bp_1x1", "bp_relu"],
                    [lambda: MaxPool2D(3, stride=1, padding="same"), lambda: Conv1x1(self.pool_proj), _relu], x)
        net.add(self._sub("concat", lambda: Concatenate(axis=0)), [b1, b3, b5, bp], name="concat")
