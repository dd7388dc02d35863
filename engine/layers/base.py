"""The layer contract every layer of the engine follows.

After Keras' build/call/get_config and tinygrad's forward/backward:

- ``__init__`` takes hyperparameters only (plus ``name`` and ``trainable``).
- ``get_config()`` returns them JSON-safe; ``from_config(cfg)`` rebuilds the layer.
- ``output_shape(input_shapes)`` infers the per-sample output shape with no data and raises a
  :class:`~engine.errors.ShapeError` a person understands.
- ``build(input_shapes, rng, dtype)`` creates ``params`` (a dict of arrays) from the input shapes.
- ``forward(*xs, training=False)`` caches only what backward needs, and only when training; an
  inference forward never touches that cache (the GUI predicts while the worker thread may be
  between a forward and its backward: tests/test_layer_contract.py checks every layer type).
- ``backward(dy)`` writes ``grads[k]`` (same keys as ``params``) and returns the gradient with
  respect to the input (a single array), or a tuple of them for layers with several inputs.

Shapes given to ``output_shape`` and ``build`` are per sample (no batch dimension): a list with one
tuple per input. Arrays given to ``forward`` carry the batch as their first axis.

Optimizers update ``params[k]`` in place, so a layer must never rebind a parameter array after
``build``.
"""

import functools
import inspect

import numpy as np

from ..errors import ConfigError, ShapeError

#: layer type name -> class, filled by :func:`register`.
LAYER_TYPES = {}


def register(cls):
    """Class decorator: make a layer type known to documents, the palette and the loader."""
    LAYER_TYPES[cls.__name__] = cls
    return cls


def layer_from_config(type_name, config):
    """Build a layer from its type name and config, with a clear error for unknown types."""
    cls = LAYER_TYPES.get(type_name)
    if cls is None:
        known = ", ".join(sorted(LAYER_TYPES))
        raise ConfigError(f"unknown layer type '{type_name}' (known types: {known})")
    try:
        return cls.from_config(dict(config))
    except ConfigError:
        raise
    except (TypeError, ValueError, OverflowError, AttributeError, KeyError, IndexError) as exc:
        raise ConfigError(f"bad settings for {type_name}: {exc}") from None


def _noting_training_forward(forward):
    """Wrap a layer's forward so that a training forward is remembered (see ``_checked_backward``)."""
    # where ``training`` may come positionally (``def forward(self, x, training=False)`` takes
    # ``layer.forward(x, True)``): the wrapper passes every call on unchanged
    params = list(inspect.signature(forward).parameters.values())[1:]
    pos = next((i for i, p in enumerate(params)
                if p.name == "training" and p.kind is p.POSITIONAL_OR_KEYWORD), None)

    @functools.wraps(forward)
    def wrapper(self, *args, **kwargs):
        y = forward(self, *args, **kwargs)
        if "training" in kwargs:
            training = kwargs["training"]
        else:
            training = pos is not None and len(args) > pos and args[pos]
        if training:
            self._trained_forward = True
        return y
    wrapper._notes_training = True
    return wrapper


def _checked_backward(backward):
    """Wrap a layer's backward so that one without a training forward first raises the same clear
    RuntimeError for every layer type (not an AttributeError from a missing cache)."""
    @functools.wraps(backward)
    def wrapper(self, dy, *args, **kwargs):
        if not self._trained_forward:
            raise RuntimeError(f"{self.label}: backward needs a forward pass with training=True first")
        return backward(self, dy, *args, **kwargs)
    wrapper._notes_training = True
    return wrapper


class Layer:
    """Base class of all layers.

    Subclasses set the class attributes below and override the methods they need. Every
    subclass's ``forward`` and ``backward`` are wrapped (``__init_subclass__``) so that a
    ``backward`` before any ``forward(training=True)`` raises one RuntimeError message.
    """

    #: set by the first forward(training=True); backward refuses to run before it.
    _trained_forward = False

    #: number of inputs the layer takes; ``None`` means "one or more" (Add, Concatenate).
    n_inputs = 1
    #: names of params that L1/L2 regularization applies to (weights, not biases).
    regularized = ()
    #: one sentence for tooltips and the palette, in the course notes' own terms.
    description = ""
    #: palette family ("Core", "Activations", "Convolution", ...).
    family = "Core"
    #: set to False by ``Network.backward(..., input_grads=False)`` for the duration of a backward
    #: call when nobody needs this layer's input gradient (it reads only Input nodes); a layer may
    #: then skip computing it and return None (Dense does: it saves a third of the first layer's work).
    need_input_grad = True
    #: True for an element-wise map g that never decreases and is one-to-one wherever its
    #: gradient is not zero, in floating point too (ReLU). A max pool right after it may then run
    #: first: max(g(x)) = g(max(x)), and the gradients agree too, ties included (see
    #: ``Network._swaps``), on a map a quarter of the size.
    commutes_with_max = False

    def max_pools(self, input_shape):
        """True when this layer is a max pool whose every window holds only input values (no
        padding) for the per-sample ``input_shape``: what ``commutes_with_max`` layers may swap with."""
        return False

    def __init__(self, name=None, trainable=True):
        self.name = name
        self.trainable = bool(trainable)
        self.params = {}
        self.grads = {}
        self.built = False
        self.input_shapes = None
        #: what an ``initializer="auto"`` setting resolves to; set by Network.build ("he"/"xavier").
        self.init_hint = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, wrap in (("forward", _noting_training_forward), ("backward", _checked_backward)):
            fn = cls.__dict__.get(name)
            if callable(fn) and not getattr(fn, "_notes_training", False):
                setattr(cls, name, wrap(fn))

    # -- configuration -------------------------------------------------------------------------
    def get_config(self):
        """Hyperparameters as a JSON-safe dict; subclasses extend the base dict."""
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @property
    def type_name(self):
        return type(self).__name__

    # -- shapes --------------------------------------------------------------------------------
    def output_shape(self, input_shapes):
        """Per-sample output shape for the given per-sample input shapes (default: identity)."""
        self._expect_inputs(input_shapes)
        return tuple(input_shapes[0])

    def _expect_inputs(self, input_shapes):
        """Raise a readable ShapeError when the number of inputs is wrong."""
        n = len(input_shapes)
        if self.n_inputs is None:
            if n < 1:
                raise ShapeError(f"{self.label} needs at least one input, got none", self.name)
        elif n != self.n_inputs:
            what = "one input" if self.n_inputs == 1 else f"{self.n_inputs} inputs"
            raise ShapeError(f"{self.label} takes {what}, got {n}", self.name)

    @property
    def label(self):
        """How messages name this layer: "Conv2D 'conv1'"."""
        return f"{self.type_name} '{self.name}'" if self.name else self.type_name

    # -- parameters ----------------------------------------------------------------------------
    def build(self, input_shapes, rng=None, dtype=np.float32):
        """Create ``params`` for the given per-sample input shapes (default: no parameters)."""
        self.input_shapes = [tuple(s) for s in input_shapes]
        self.built = True

    def resolve_initializer(self, name):
        """The concrete initializer name for a setting: ``"auto"`` becomes the network's hint
        (He before a ReLU-family activation, else Xavier), other names are returned unchanged."""
        if str(name).lower() == "auto":
            return self.init_hint or "xavier"
        return name

    def param_count(self, input_shapes=None):
        """Number of parameters; computed from ``params`` once built."""
        return int(sum(p.size for p in self.params.values()))

    def zero_grads(self):
        for k, p in self.params.items():
            g = self.grads.get(k)
            if g is None or g.shape != p.shape or g.dtype != p.dtype:
                self.grads[k] = np.zeros_like(p)
            else:
                g.fill(0)

    def astype(self, dtype):
        """Cast every parameter (and buffer) to ``dtype``: used by gradient checks in float64."""
        for k in list(self.params):
            self.params[k] = self.params[k].astype(dtype)
        for k in list(self.grads):
            self.grads[k] = self.grads[k].astype(dtype)
        for k, v in list(self.buffers().items()):
            setattr(self, k, v.astype(dtype))

    def buffers(self):
        """Non-trainable state that is saved with the weights (BatchNorm's running averages).

        Returns a dict attribute name -> array. The default has none.
        """
        return {}

    def sublayers(self):
        """Composite layers (residual/inception blocks, Bidirectional) return their inner layers as
        {prefix: layer}; their params/grads appear in this layer's dicts as "prefix/key" and are
        the same arrays. Plain layers have none."""
        return {}

    # -- computation ---------------------------------------------------------------------------
    def forward(self, *xs, training=False):
        raise NotImplementedError

    def backward(self, dy):
        raise NotImplementedError

    # -- information for summaries and the canvas ------------------------------------------------
    def notes(self):
        """Warnings a summary shows next to this layer (e.g. a step activation cannot learn)."""
        return []

    def __repr__(self):
        return f"<{self.label}>"
