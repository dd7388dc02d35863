"""Export a Network to ONNX (opset 17) with the onnx helper API, checked at once by onnxruntime.

Each layer becomes one or a few ONNX nodes named after the layer (a layer 'dense_1' that needs two
ONNX nodes gives 'dense_1' and 'dense_1/add'); the tensor a layer outputs is named after its node,
the graph inputs after the Input nodes, with a dynamic batch dimension "batch". Weights are stored
as float32 initializers named "<node>/<key>". Dropout is left out (it is the identity at inference).
"""

import os
import tempfile

import numpy as np

from ..errors import ConfigError, EngineError

OPSET = 17

#: layer type name -> converter(ex, node, layer, xs, in_shapes, out_shape, out) -> output tensor name
CONVERTERS = {}


def converter(*type_names):
    def deco(fn):
        for t in type_names:
            CONVERTERS[t] = fn
        return fn
    return deco


class _Exporter:
    """Collects ONNX nodes and initializers while the network is walked in topological order."""

    def __init__(self):
        self.nodes = []
        self.inits = []
        self.used = set()

    def fresh(self, base):
        name = base
        i = 1
        while name in self.used:
            i += 1
            name = f"{base}_{i}"
        self.used.add(name)
        return name

    def const(self, base, arr, dtype=np.float32):
        from onnx import numpy_helper

        name = self.fresh(base)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(np.asarray(arr, dtype=dtype)), name))
        return name

    def ints(self, base, values):
        return self.const(base, np.asarray(values, dtype=np.int64), dtype=np.int64)

    def op(self, op_type, inputs, out=None, name=None, doc="", n_out=1, **attrs):
        """Append a node; ``out`` is its output tensor name (a fresh one when None)."""
        from onnx import helper

        name = name or self.fresh(op_type.lower())
        if out is None:
            outs = [self.fresh(f"{name}:{i}" if n_out > 1 else f"{name}:out") for i in range(n_out)]
        else:
            outs = [out] if isinstance(out, str) else list(out)
            self.used.update(outs)
        node = helper.make_node(op_type, list(inputs), outs, name=name, doc_string=doc or None, **attrs)
        self.nodes.append(node)
        return outs[0] if len(outs) == 1 else outs


def _w(layer, key):
    return np.asarray(layer.params[key], dtype=np.float32)


def _onnx_axis(axis, rank):
    """A per-sample axis (negative allowed) as an ONNX axis of the batched tensor."""
    axis = int(axis)
    return axis + 1 if axis >= 0 else axis + rank + 1


# -- converters --------------------------------------------------------------------------------------
@converter("Dense")
def _dense(ex, node, layer, xs, in_shapes, out_shape, out):
    W = ex.const(f"{node}/W", _w(layer, "W"))
    doc = layer.description
    if layer.use_bias:
        b = ex.const(f"{node}/b", _w(layer, "b"))
        return ex.op("Gemm", [xs[0], W, b], out, name=node, doc=doc)
    return ex.op("MatMul", [xs[0], W], out, name=node, doc=doc)


_ACT_OPS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "linear": "Identity"}


@converter("Activation")
def _activation(ex, node, layer, xs, in_shapes, out_shape, out):
    k = layer.kind
    doc = layer.description
    if k in _ACT_OPS:
        return ex.op(_ACT_OPS[k], [xs[0]], out, name=node, doc=doc)
    if k == "leaky_relu":
        return ex.op("LeakyRelu", [xs[0]], out, name=node, doc=doc, alpha=float(layer.alpha))
    if k == "elu":
        return ex.op("Elu", [xs[0]], out, name=node, doc=doc, alpha=float(layer.alpha))
    if k == "softmax":
        return ex.op("Softmax", [xs[0]], out, name=node, doc=doc, axis=-1)
    if k == "step":  # 1 where z > 0 else 0
        zero = ex.const(f"{node}/zero", np.zeros((), np.float32))
        gt = ex.op("Greater", [xs[0], zero], name=f"{node}/greater")
        from onnx import TensorProto

        return ex.op("Cast", [gt], out, name=node, doc=doc, to=TensorProto.FLOAT)
    raise ConfigError(f"{layer.label}: activation '{k}' has no ONNX form")


@converter("Dropout")
def _dropout(ex, node, layer, xs, in_shapes, out_shape, out):
    return xs[0]  # the identity at inference: left out


@converter("Flatten")
def _flatten(ex, node, layer, xs, in_shapes, out_shape, out):
    return ex.op("Flatten", [xs[0]], out, name=node, doc=layer.description, axis=1)


@converter("Reshape")
def _reshape(ex, node, layer, xs, in_shapes, out_shape, out):
    shape = ex.ints(f"{node}/shape", [-1] + list(out_shape))
    return ex.op("Reshape", [xs[0], shape], out, name=node, doc=layer.description)


@converter("Add")
def _add(ex, node, layer, xs, in_shapes, out_shape, out):
    if len(xs) == 1:
        return ex.op("Identity", xs, out, name=node)
    if len(xs) == 2:
        return ex.op("Add", xs, out, name=node, doc=layer.description)
    return ex.op("Sum", xs, out, name=node, doc=layer.description)


@converter("Concatenate")
def _concat(ex, node, layer, xs, in_shapes, out_shape, out):
    axis = _onnx_axis(getattr(layer, "axis", -1), len(out_shape))
    return ex.op("Concat", xs, out, name=node, doc=layer.description, axis=axis)


@converter("BatchNorm", "BatchNormalization")
def _batchnorm(ex, node, layer, xs, in_shapes, out_shape, out):
    p = layer.params
    bufs = layer.buffers()
    n = len(out_shape)
    C = out_shape[0]
    gamma = np.asarray(p.get("gamma", np.ones(C)), np.float32).reshape(-1)
    beta = np.asarray(p.get("beta", np.zeros(C)), np.float32).reshape(-1)
    mean = np.asarray(bufs.get("running_mean", getattr(layer, "running_mean", np.zeros(C))), np.float32).reshape(-1)
    var = np.asarray(bufs.get("running_var", getattr(layer, "running_var", np.ones(C))), np.float32).reshape(-1)
    eps = float(getattr(layer, "eps", getattr(layer, "epsilon", 1e-5)))
    args = [ex.const(f"{node}/gamma", gamma), ex.const(f"{node}/beta", beta),
            ex.const(f"{node}/running_mean", mean), ex.const(f"{node}/running_var", var)]
    if gamma.size != C:
        raise ConfigError(f"{layer.label}: {gamma.size} scales for {C} channels cannot be exported")
    del n
    return ex.op("BatchNormalization", [xs[0]] + args, out, name=node, doc=layer.description, epsilon=eps)


@converter("Transpose")
def _transpose(ex, node, layer, xs, in_shapes, out_shape, out):
    return ex.op("Transpose", xs, out, name=node, doc=layer.description, perm=[0] + [p + 1 for p in layer.perm])


@converter("Take")
def _take(ex, node, layer, xs, in_shapes, out_shape, out):
    idx = ex.const(f"{node}/indices", layer.indices, dtype=np.int64)
    axis = _onnx_axis(layer.axis, len(in_shapes[0]))
    return ex.op("Gather", [xs[0], idx], out, name=node, doc=layer.description, axis=axis)


@converter("LogSoftmax")
def _logsoftmax(ex, node, layer, xs, in_shapes, out_shape, out):
    return ex.op("LogSoftmax", xs, out, name=node, doc=layer.description, axis=_onnx_axis(layer.axis, len(out_shape)))


@converter("SoftmaxAxis")
def _softmax_axis(ex, node, layer, xs, in_shapes, out_shape, out):
    return ex.op("Softmax", xs, out, name=node, doc=layer.description, axis=_onnx_axis(layer.axis, len(out_shape)))


@converter("ConstantOp")
def _constant_op(ex, node, layer, xs, in_shapes, out_shape, out):
    c = ex.const(f"{node}/c", np.asarray(layer.params.get("c", layer.value), np.float32))
    op = layer.op
    onnx_op = {"add": "Add", "sub": "Sub", "rsub": "Sub", "mul": "Mul", "div": "Div"}[op]
    ins = [c, xs[0]] if op == "rsub" else [xs[0], c]
    return ex.op(onnx_op, ins, out, name=node, doc=layer.description)


# -- the walk --------------------------------------------------------------------------------------
def _layer_type(layer):
    return layer.type_name


def export_graph(ex, network, shapes, values, order=None, prefix=""):
    """Convert the nodes of ``network`` in order; ``values`` maps node name -> tensor name."""
    for name in order or network.topological_order():
        node = network.nodes[name]
        layer = node.layer
        if not node.inputs:
            continue
        fn = CONVERTERS.get(_layer_type(layer))
        if fn is None:
            raise ConfigError(f"{layer.label} has no ONNX export")
        xs = [values[s] for s in node.inputs]
        in_shapes = [shapes[s] for s in node.inputs]
        out = prefix + name
        values[name] = fn(ex, prefix + name, layer, xs, in_shapes, shapes[name], out)
    return values


def to_onnx_model(network, doc_string="", batch_name="batch"):
    """Build the ONNX ModelProto of a built network (no file, no check)."""
    from onnx import TensorProto, helper

    if not network.built:
        network.build()
    shapes = network.infer_shapes()
    missing = sorted({n.layer.type_name for n in network.nodes.values()
                      if n.inputs and _layer_type(n.layer) not in CONVERTERS})
    if missing:
        raise ConfigError(
            "these layer types cannot be exported to ONNX yet: " + ", ".join(missing)
            + f" (exportable: {', '.join(sorted(CONVERTERS))})"
        )
    ex = _Exporter()
    values = {}
    inputs = []
    for name in network.inputs:
        ex.used.add(name)
        values[name] = name
        inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [batch_name] + list(shapes[name])))
    ex.used.update(network.nodes)
    export_graph(ex, network, shapes, values)
    outputs = []
    for o in network.outputs:
        t = values[o]
        if t != o:  # a left-out Dropout (or an input) is an output: give the output its node's name
            ex.used.discard(o)
            ex.op("Identity", [t], o, name=f"{o}/output")
        outputs.append(helper.make_tensor_value_info(o, TensorProto.FLOAT, [batch_name] + list(shapes[o])))
    graph = helper.make_graph(ex.nodes, network.name or "network", inputs, outputs, ex.inits,
                              doc_string=doc_string or None)
    model = helper.make_model(graph, producer_name="network-playground",
                              opset_imports=[helper.make_opsetid("", OPSET)], doc_string=doc_string or None)
    model.ir_version = min(model.ir_version, 10)
    return model


def export_network(network, path=None, doc_string="", batch=4, seed=0, tolerance=1e-4):
    """Export ``network`` to an ONNX file and check it at once.

    Writes atomically to ``path`` (when given), runs onnx.checker, runs onnxruntime on a random
    float32 batch and compares with the engine. Returns an :class:`ExportReport`; it never raises
    for a mismatch (the report says so), but does raise ConfigError for layers with no ONNX form.
    """
    import onnx

    from .check import ExportReport, compare_with_onnxruntime

    dtype = network.dtype
    if network.built and np.dtype(dtype) != np.float32:
        network.astype(np.float32)
    model = to_onnx_model(network, doc_string=doc_string)
    checker_ok, msg = True, ""
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as exc:  # noqa: BLE001
        checker_ok, msg = False, str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    try:
        diff = compare_with_onnxruntime(network, model, batch=batch, seed=seed)
    except EngineError:
        raise
    except Exception as exc:  # noqa: BLE001 - onnxruntime failures are reported, not crashes
        diff = float("inf")
        msg = msg or f"onnxruntime could not run the model: {str(exc).strip().splitlines()[0]}"
    finally:
        if np.dtype(dtype) != np.float32:
            network.astype(dtype)
    if path is not None:
        path = os.fspath(path)
        data = model.SerializeToString()
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".onnx-", dir=folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    return ExportReport(max_abs_diff=diff, checker_ok=checker_ok, path=path, opset=OPSET, tolerance=tolerance,
                        checker_message=msg, batch_size=batch)
