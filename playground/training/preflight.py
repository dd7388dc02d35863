"""Checks made before a run starts, for mistakes the engine would train through silently or report
in its own terms: a network whose output does not fit the cost function or the data set.

:func:`preflight` returns a message that says what to change (or ``None``). The engine still
checks everything else (shapes, settings) when the run starts.
"""

import numpy as np

from engine.errors import EngineError


def _loss_of(training):
    """The loss object the run will use, or None (several outputs' losses, or an unknown name:
    the trainer reports those itself)."""
    from engine.losses import get_loss

    spec = (training or {}).get("loss", "softmax_cross_entropy")
    try:
        return get_loss(spec)
    except (EngineError, TypeError, ValueError):
        return None


def _makes(layer, kind):
    """Whether ``layer`` outputs ``kind`` ("softmax" or "sigmoid") probabilities."""
    cfg = layer.get_config()
    if kind == "softmax" and layer.type_name == "SoftmaxAxis":
        return True
    if cfg.get("kind") == kind or cfg.get("activation") == kind:
        return True
    inner = cfg.get("layer")  # wrappers (TimeDistributed, Bidirectional) name their inner layer
    if isinstance(inner, dict):
        inner_cfg = inner.get("config") or {}
        return inner_cfg.get("kind") == kind or inner_cfg.get("activation") == kind
    return False


def _units_layer(network, name):
    """The nearest layer at or before ``name`` (single-input chain) that sets the number of outputs
    ('units' or 'filters'), as (node name, key), or (None, None)."""
    seen = set()
    while name is not None and name not in seen:
        seen.add(name)
        cfg = network.nodes[name].layer.get_config()
        for key in ("units", "filters"):
            if key in cfg:
                return name, key
        inputs = network.nodes[name].inputs
        name = inputs[0] if len(inputs) == 1 else None
    return None, None


def _fmt(shape):
    shape = tuple(int(d) for d in shape)
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def preflight(network, splits, training):
    """A message naming what to change before ``network`` can learn ``splits`` with ``training``'s
    cost, or None. Finds: an Input whose shape is not the data's sample shape; a softmax (sigmoid)
    cross-entropy cost over an output that is not a softmax (sigmoid), which trains to a
    meaningless negative cost at chance accuracy; an output with a different number of values than
    the data set has classes."""
    data_name = getattr(splits, "name", "") or "the data set"
    x = getattr(splits, "x_train", None)
    y = getattr(splits, "y_train", None)
    if not network.nodes:
        return ("The network is empty: drag an Input from the Layers palette (Core) onto the canvas, then "
                "the layers that follow it, and connect each output port (right) to the next input port "
                "(left). Or open a ready-made network from File > Presets.")
    if not network.inputs:
        return ("The network has no Input layer: add one from the Layers palette (Core > Input) and "
                "connect it to the first layer.")
    if isinstance(x, np.ndarray) and len(network.inputs) > 1:
        return (f"The network has {len(network.inputs)} Input layers ({', '.join(network.inputs)}), but "
                f"'{data_name}' gives one array per sample: delete the extra Input layers.")
    if isinstance(y, np.ndarray) and len(network.outputs) > 1:
        return (f"The network has {len(network.outputs)} outputs ({', '.join(network.outputs)}), but "
                f"'{data_name}' gives one target per sample. Every layer that leads nowhere is an output: "
                "connect the extra ones onward or delete them.")
    try:
        shapes = network.infer_shapes()
    except EngineError:
        return None  # the engine's own message (shown on the canvas) is reported when the run starts
    if not network.outputs:
        return None
    if isinstance(x, np.ndarray) and len(network.inputs) == 1:
        inp = network.inputs[0]
        want = tuple(int(d) for d in x.shape[1:])
        have = tuple(int(d) for d in shapes.get(inp) or ())
        if have and have != want:
            return (f"The Input '{inp}' takes samples of shape {_fmt(have)}, but the samples of '{data_name}' "
                    f"have shape {_fmt(want)}: select '{inp}' and set its shape to {_fmt(want)} in the "
                    f"inspector (or choose another data set).")
    if len(network.outputs) != 1:
        return None
    loss = _loss_of(training)
    if loss is None:
        return None
    kind = getattr(loss, "fused_activation", None)
    out = network.outputs[0]
    layer = network.nodes[out].layer
    shape = shapes.get(out)
    if getattr(splits, "task", "classification") != "classification":
        if loss.classification:
            y = getattr(splits, "y_train", None)
            k = int(y.shape[-1]) if isinstance(y, np.ndarray) and y.ndim > 1 else 1
            return (f"'{data_name}' is a regression data set (a number to predict per sample), but the "
                    f"cost {loss.name} is for classes: choose the cost 'quadratic' in the training "
                    f"settings and end the network with a Dense layer of {k} unit{'' if k == 1 else 's'} "
                    f"(no softmax or sigmoid after it).")
        return None
    n_classes = len(getattr(splits, "classes", None) or [])
    if not loss.classification and shape and int(shape[-1]) != 1:
        return (f"The cost {loss.name} compares each output value with a target value, but '{data_name}' "
                f"gives a class per sample and '{out}' has {int(shape[-1])} outputs: for classes choose "
                f"the cost softmax_cross_entropy (with a softmax output layer).")
    if kind == "sigmoid" and shape and int(shape[-1]) != 1 and n_classes <= 2:
        return (f"The cost {loss.name} needs one sigmoid output per sample (the probability of class 1), "
                f"but '{out}' gives {int(shape[-1])} values: end the network with a Dense layer of 1 unit "
                f"and an Activation of kind sigmoid, or choose the cost softmax_cross_entropy (with a "
                f"softmax output).")
    if kind in ("softmax", "sigmoid") and not _makes(layer, kind):
        return (f"The cost {loss.name} needs {kind} probabilities, but the network's output '{out}' "
                f"({layer.type_name}) is not a {kind}: add an Activation layer after '{out}' and set its "
                f"kind to {kind} in the inspector. Trained as it is, the cost means nothing and the "
                f"accuracy stays at chance.")
    if kind == "softmax" and n_classes >= 2 and shape and int(shape[-1]) != n_classes:
        where, key = _units_layer(network, out)
        fix = (f"set the {key} of '{where}' to {n_classes}" if where is not None
               else f"make it give {n_classes} values")
        return (f"The output '{out}' gives {int(shape[-1])} values per sample (one probability per class), "
                f"but '{data_name}' has {n_classes} classes: {fix}.")
    return None
