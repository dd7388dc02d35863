"""Losses (cost functions) and the cost of a whole network, with the fused output gradient.

Every loss is an object from :func:`get_loss`; calling it gives the mean loss over the batch and
its gradient with respect to the prediction::

    loss = get_loss("softmax_cross_entropy")
    value, dy = loss(y_pred, y_true)        # value: float, dy: dL/dy_pred, same shape as y_pred

Losses and their conventions (m = batch size):

- ``quadratic`` (alias ``mse``): the notes' quadratic cost C = 1/(2m) sum_x ||a(x) - y(x)||^2, summed
  over the output units of a sample and averaged over the batch; dC/da = (a - y)/m. Targets are
  floats of the prediction's shape ((N,) is accepted for an (N, 1) output).
- ``binary_cross_entropy`` (alias ``bce``), from probabilities a in (0, 1) (after a sigmoid):
  C = -mean(y log a + (1 - y) log(1 - a)), the mean over every element (batch and outputs).
- ``bce_logits``: the same cost computed from logits z (no sigmoid layer), in the stable form
  max(z, 0) - z y + log(1 + e^-|z|); dC/dz = (sigmoid(z) - y)/n.
- ``softmax_cross_entropy`` (aliases ``cross_entropy``, ``log_likelihood``,
  ``categorical_cross_entropy``): the log-likelihood cost C = -mean log a_y over softmax
  probabilities a. Targets are int class indices of shape (N,), or (N, T) for sequences whose
  outputs are (N, T, C): the mean is then over the N*T positions. Positions whose target is
  ``ignore_index`` (-1, padding) count for nothing. One-hot/probability targets of the output's
  shape are accepted too.

The fused gradient (the protocol the training loop and the gradient check follow)
-------------------------------------------------------------------------------
Softmax followed by cross-entropy has the simple gradient dC/dz = (a - y)/m with respect to the
softmax INPUT z (sigmoid + binary cross-entropy alike). It is exact and avoids dividing by tiny
probabilities. The protocol:

1. ``net.forward(x, training=True)`` (this clears any stale fusion flag);
2. ``cost, dy = compute_cost(net, outputs, targets, loss_spec)``: for every output whose layer is
   ``Activation('softmax')`` with a softmax cross-entropy loss (or ``Activation('sigmoid')`` with
   binary cross-entropy), ``dy[output]`` is already dC/dz and that Activation's ``fused`` flag is
   set for the next backward only;
3. ``net.backward(dy, input_grads=False)``: the fused Activation passes dy through unchanged and
   clears its flag (``input_grads=False`` lets the first layer skip the unneeded input gradient);
4. ``regularizers.add_gradients(net, m)`` adds the L1/L2 terms (``compute_cost`` already added
   their penalty to ``cost``).

:func:`cost_and_gradients` does steps 1-4 in one call. For one loss on its own,
``loss.fused_with(net, name)`` tells whether fusion applies and ``loss.fused(y_pred, y_true)``
returns ``(value, dC/dz)``; whoever uses those must set ``net[name].fused = True`` before backward.
"""

import numpy as np

from .errors import ConfigError, DataError

_TINY = 1e-12


class Loss:
    """Base class: ``value, dy = loss(y_pred, y_true)``."""

    name = "loss"
    #: the output activation kind this loss fuses with ("softmax", "sigmoid") or None.
    fused_activation = None
    #: whether targets are class indices (classification) rather than values.
    classification = False

    def __call__(self, y_pred, y_true):
        raise NotImplementedError

    def value(self, y_pred, y_true):
        """The loss alone."""
        return self(y_pred, y_true)[0]

    def fused(self, y_pred, y_true):
        """(value, gradient with respect to the output activation's input)."""
        raise ConfigError(f"the {self.name} loss has no fused gradient")

    def fused_with(self, network, output_name):
        """True when ``output_name``'s layer is the activation this loss fuses with."""
        if self.fused_activation is None:
            return False
        layer = network[output_name]
        if layer.type_name != "Activation" or getattr(layer, "kind", None) != self.fused_activation:
            return False
        # an output that also feeds other nodes gets their gradient too: no fusion then
        return not network.consumers(output_name)

    def get_config(self):
        return {"type": self.name}

    def __repr__(self):
        return f"<loss {self.name}>"


def _values_like(y_pred, y_true, what):
    y_true = np.asarray(y_true)
    if y_true.shape != y_pred.shape:
        if y_true.size == y_pred.size and y_true.shape[:1] == y_pred.shape[:1]:
            y_true = y_true.reshape(y_pred.shape)
        else:
            raise DataError(f"{what}: targets of shape {y_true.shape} do not fit outputs of shape {y_pred.shape}")
    return y_true.astype(y_pred.dtype, copy=False)


class Quadratic(Loss):
    """C = 1/(2m) sum ||a - y||^2 (the notes' quadratic cost); dC/da = (a - y)/m."""

    name = "quadratic"

    def __call__(self, y_pred, y_true):
        y_true = _values_like(y_pred, y_true, self.name)
        m = max(y_pred.shape[0], 1)
        diff = y_pred - y_true
        return float(0.5 * np.sum(np.square(diff, dtype=np.float64)) / m), diff / m


class BinaryCrossEntropy(Loss):
    """C = -mean(y log a + (1 - y) log(1 - a)) over probabilities a (after a sigmoid)."""

    name = "binary_cross_entropy"
    fused_activation = "sigmoid"
    classification = True

    @staticmethod
    def _clipped(y_pred):
        tiny = _TINY if y_pred.dtype == np.float64 else 1e-7  # 1 - 1e-12 is 1.0 in float32
        return np.clip(y_pred, tiny, 1 - tiny)

    @staticmethod
    def _value(a, y, n):
        return float(-np.sum(y * np.log(a) + (1 - y) * np.log1p(-a), dtype=np.float64) / n)

    def __call__(self, y_pred, y_true):
        y = _values_like(y_pred, y_true, self.name)
        n = max(y_pred.size, 1)
        a = self._clipped(y_pred)
        dy = (a - y) / (a * (1 - a)) / n
        return self._value(a, y, n), dy.astype(y_pred.dtype, copy=False)

    def fused(self, y_pred, y_true):
        y = _values_like(y_pred, y_true, self.name)
        n = max(y_pred.size, 1)
        return self._value(self._clipped(y_pred), y, n), (y_pred - y) / n


class BinaryCrossEntropyLogits(Loss):
    """Binary cross-entropy from logits z, numerically stable; dC/dz = (sigmoid(z) - y)/n."""

    name = "bce_logits"
    classification = True

    def __call__(self, y_pred, y_true):
        from .layers.activations import sigmoid

        y = _values_like(y_pred, y_true, self.name)
        n = max(y_pred.size, 1)
        z = y_pred
        value = np.sum(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))), dtype=np.float64) / n
        return float(value), (sigmoid(z) - y) / n


class SoftmaxCrossEntropy(Loss):
    """Log-likelihood cost -mean log a_y over softmax probabilities a (last axis = classes).

    y_pred : ndarray of shape (N, C) or (N, T, C); y_true : int ndarray of shape (N,) or (N, T)
    (``ignore_index`` marks padding), or one-hot of y_pred's shape.
    """

    name = "softmax_cross_entropy"
    fused_activation = "softmax"
    classification = True

    def __init__(self, ignore_index=-1):
        self.ignore_index = None if ignore_index is None else int(ignore_index)

    def get_config(self):
        return {"type": self.name, "ignore_index": self.ignore_index}

    def _targets(self, y_pred, y_true):
        """(one-hot targets of y_pred's shape, mask of counted positions of shape y_pred.shape[:-1], count)."""
        y_true = np.asarray(y_true)
        lead = y_pred.shape[:-1]
        n_classes = y_pred.shape[-1]
        if y_true.shape == y_pred.shape:  # one-hot or probability targets
            onehot = y_true.astype(y_pred.dtype, copy=False)
            mask = np.ones(lead, dtype=bool)
            return onehot, mask, int(mask.sum())
        if y_true.shape != lead:
            if y_true.size == int(np.prod(lead)) and y_true.shape[:1] == lead[:1]:
                y_true = y_true.reshape(lead)
            else:
                raise DataError(
                    f"{self.name}: targets of shape {y_true.shape} do not fit outputs of shape {y_pred.shape} "
                    f"(expected class indices of shape {lead})"
                )
        if y_true.dtype.kind == "f":
            if not np.all(np.isfinite(y_true)) or np.any(y_true != np.round(y_true)):
                raise DataError(f"{self.name}: targets must be whole class indices")
        labels = y_true.astype(np.int64)
        mask = np.ones(lead, dtype=bool) if self.ignore_index is None else labels != self.ignore_index
        valid = labels[mask]
        if valid.size and (valid.min() < 0 or valid.max() >= n_classes):
            raise DataError(
                f"{self.name}: class index {int(valid.max() if valid.max() >= n_classes else valid.min())} "
                f"is out of range for {n_classes} classes"
            )
        onehot = np.zeros(y_pred.shape, dtype=y_pred.dtype)
        idx = np.where(mask, labels, 0)
        np.put_along_axis(onehot, idx[..., None], 1, axis=-1)
        onehot *= mask[..., None]
        return onehot, mask, int(mask.sum())

    def __call__(self, y_pred, y_true):
        onehot, mask, count = self._targets(y_pred, y_true)
        if count == 0:
            return 0.0, np.zeros_like(y_pred)
        p = np.maximum(y_pred, _TINY)
        value = -np.sum(onehot * np.log(p), dtype=np.float64) / count
        dy = -onehot / (p * count)
        return float(value), dy.astype(y_pred.dtype, copy=False)

    def fused(self, y_pred, y_true):
        """(value, dC/dz = (a - y) / count) at the counted positions, zero at the padding."""
        onehot, mask, count = self._targets(y_pred, y_true)
        if count == 0:
            return 0.0, np.zeros_like(y_pred)
        value = -np.sum(onehot * np.log(np.maximum(y_pred, _TINY)), dtype=np.float64) / count
        dz = (y_pred - onehot) * (mask[..., None] / count)
        return float(value), dz.astype(y_pred.dtype, copy=False)


#: loss name -> class (aliases included). Other modules may add their own with register_loss.
LOSSES = {
    "quadratic": Quadratic,
    "mse": Quadratic,
    "binary_cross_entropy": BinaryCrossEntropy,
    "bce": BinaryCrossEntropy,
    "bce_logits": BinaryCrossEntropyLogits,
    "softmax_cross_entropy": SoftmaxCrossEntropy,
    "cross_entropy": SoftmaxCrossEntropy,
    "categorical_cross_entropy": SoftmaxCrossEntropy,
    "log_likelihood": SoftmaxCrossEntropy,
}


def loss_names():
    """The canonical loss names (no aliases), for menus."""
    seen, out = set(), []
    for name, cls in LOSSES.items():
        if cls not in seen:
            seen.add(cls)
            out.append(getattr(cls, "name", name))
    return out


def register_loss(name):
    """Decorator: make a Loss subclass available to get_loss under ``name``."""
    def deco(cls):
        LOSSES[name] = cls
        return cls
    return deco


def get_loss(spec, **options):
    """A loss object from a name ("mse"), a dict {"type": name, **options} or a Loss (returned as is).

    Raises ConfigError for an unknown name or option.
    """
    if isinstance(spec, Loss):
        return spec
    if isinstance(spec, dict):
        options = {**{k: v for k, v in spec.items() if k not in ("type", "weight")}, **options}
        spec = spec.get("type")
    if not isinstance(spec, str):
        raise ConfigError(f"a loss must be named by a string, got {spec!r}")
    cls = LOSSES.get(spec.lower())
    if cls is None:
        raise ConfigError(f"unknown loss '{spec}' (known: {', '.join(sorted(LOSSES))})")
    try:
        return cls(**options)
    except TypeError as exc:
        raise ConfigError(f"bad options for loss '{spec}': {exc}") from None


def _as_dict(network, values, what):
    names = network.outputs
    if isinstance(values, dict):
        return values
    if len(names) != 1:
        raise DataError(f"the network has {len(names)} outputs ({', '.join(names)}): give {what} as a dict")
    return {names[0]: values}


def _loss_for(loss_spec, name):
    """(Loss, weight) for output ``name``, or (None, 0) when the spec gives it no loss."""
    spec = loss_spec
    if isinstance(loss_spec, dict) and "type" not in loss_spec:
        if name not in loss_spec:
            return None, 0.0
        spec = loss_spec[name]
    weight = float(spec.get("weight", 1.0)) if isinstance(spec, dict) else 1.0
    return get_loss(spec), weight


def compute_cost(network, outputs, targets, loss_spec, regularization=True, fuse=True):
    """The network's cost for one batch and the gradient to start backward with.

    network : the Network that produced ``outputs`` (with ``forward(..., training=True)``).
    outputs : ndarray (one output) or dict output name -> ndarray.
    targets : same structure as outputs.
    loss_spec : a loss name / dict / Loss for every output, or a dict output name -> loss spec
        (multitask; a spec may carry a "weight"); outputs without a loss or target contribute nothing.
    regularization : add the L1/L2 penalty (engine.regularizers, divided by the batch size m).
    fuse : apply the fused softmax/sigmoid gradient where it fits (see the module docstring).

    Returns (cost as float, dy: dict output name -> gradient for ``network.backward``).
    """
    from . import regularizers

    outputs = _as_dict(network, outputs, "outputs")
    targets = _as_dict(network, targets, "targets")
    cost = 0.0
    dy = {}
    m = None
    for name, y_pred in outputs.items():
        if name not in targets:
            continue
        loss, weight = _loss_for(loss_spec, name)
        if loss is None:
            continue
        y_pred = np.asarray(y_pred)
        m = m or y_pred.shape[0]
        if fuse and loss.fused_with(network, name):
            value, grad = loss.fused(y_pred, targets[name])
            network[name].fused = True
        else:
            value, grad = loss(y_pred, targets[name])
        if weight != 1.0:
            grad = grad * weight
        cost += weight * value
        dy[name] = grad
    if not dy:
        raise ConfigError("no output has both a loss and targets: nothing to train")
    if regularization:
        cost += regularizers.penalty(network, m)
    return float(cost), dy


def cost_and_gradients(network, x, targets, loss_spec, regularization=True):
    """One full step of backpropagation: forward (training), cost, backward, regularization.

    Returns (cost, outputs); every layer's ``grads`` hold dCost/dparams afterwards.
    """
    from . import regularizers

    outputs = network.forward(x, training=True)
    cost, dy = compute_cost(network, outputs, targets, loss_spec, regularization=regularization)
    network.backward(dy, input_grads=False)
    if regularization:
        first = next(iter(dy.values()))
        regularizers.add_gradients(network, first.shape[0])
    return cost, outputs
