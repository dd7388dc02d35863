"""Export a Network to ONNX (opset 17) with the onnx helper API, checked at once by onnxruntime.

Each layer becomes one or a few ONNX nodes named after the layer (a layer 'dense_1' that needs two
ONNX nodes gives 'dense_1' and 'dense_1/add'); the tensor a layer outputs is named after its node,
the graph inputs after the Input nodes, with a dynamic batch dimension "batch". Weights are stored
as float32 initializers named "<node>/<key>". Dropout is left out (it is the identity at inference).
"""

import os

import numpy as np

from ..errors import ConfigError, EngineError
from ..io import atomic_write

OPSET = 17
#: metadata key listing the composite layers exported as sub-graphs (our importer folds them back)
COMPOSITES_KEY = "network-playground.composites"

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
        self.node_names = set()
        self.composites = []
        self.notes = []

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
        self.inits.append(numpy_helper.from_array(np.array(arr, dtype=dtype, order="C"), name))  # keeps 0-d
        return name

    def ints(self, base, values):
        return self.const(base, np.asarray(values, dtype=np.int64), dtype=np.int64)

    def op(self, op_type, inputs, out=None, name=None, doc="", n_out=1, **attrs):
        """Append a node; ``out`` is its output tensor name (a fresh one when None)."""
        from onnx import helper

        name = name or op_type.lower()
        base, i = name, 1
        while name in self.node_names:
            i += 1
            name = f"{base}_{i}"
        self.node_names.add(name)
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
    ex.notes.append(f"{node}: Dropout left out (it passes values through at inference)")
    return xs[0]


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


@converter("Elementwise")
def _elementwise(ex, node, layer, xs, in_shapes, out_shape, out):
    a, b = xs
    ra, rb = len(in_shapes[0]), len(in_shapes[1])
    if ra < rb:  # the engine lines up sample axes, ONNX the trailing ones: add axes after the batch
        a = ex.op("Unsqueeze", [a, ex.ints(f"{node}/axes_a", list(range(1, 1 + rb - ra)))], name=f"{node}/align_a")
    elif rb < ra:
        b = ex.op("Unsqueeze", [b, ex.ints(f"{node}/axes_b", list(range(1, 1 + ra - rb)))], name=f"{node}/align_b")
    op = {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div"}[layer.op]
    return ex.op(op, [a, b], out, name=node, doc=layer.description)


@converter("BatchMatMul")
def _batch_matmul(ex, node, layer, xs, in_shapes, out_shape, out):
    return ex.op("MatMul", xs, out, name=node, doc=layer.description)


# -- convolution and pooling ------------------------------------------------------------------------
def _onnx_pads2d(layer, in_shape):
    t, b, l, r = (int(v) for v in layer.pads(in_shape))
    return [t, l, b, r]


@converter("Conv2D", "Conv1x1")
def _conv2d(ex, node, layer, xs, in_shapes, out_shape, out):
    ins = [xs[0], ex.const(f"{node}/W", _w(layer, "W"))]
    if layer.use_bias:
        ins.append(ex.const(f"{node}/b", _w(layer, "b")))
    kh, kw = layer.kernel_size
    return ex.op("Conv", ins, out, name=node, doc=layer.description, kernel_shape=[kh, kw],
                 strides=list(layer.stride), dilations=list(getattr(layer, "dilation", (1, 1))),
                 pads=_onnx_pads2d(layer, in_shapes[0]))


@converter("Conv1D")
def _conv1d(ex, node, layer, xs, in_shapes, out_shape, out):
    ins = [xs[0], ex.const(f"{node}/W", _w(layer, "W"))]
    if layer.use_bias:
        ins.append(ex.const(f"{node}/b", _w(layer, "b")))
    W = layer.params["W"]
    begin, end = (int(v) for v in layer.pads(in_shapes[0]))
    stride = layer.stride[0] if isinstance(layer.stride, (tuple, list)) else layer.stride
    dil = getattr(layer, "dilation", 1)
    dil = dil[0] if isinstance(dil, (tuple, list)) else dil
    return ex.op("Conv", ins, out, name=node, doc=layer.description, kernel_shape=[int(W.shape[2])],
                 strides=[int(stride)], dilations=[int(dil)], pads=[begin, end])


@converter("MaxPool2D")
def _maxpool(ex, node, layer, xs, in_shapes, out_shape, out):
    return ex.op("MaxPool", xs, out, name=node, doc=layer.description, kernel_shape=list(layer.pool_size),
                 strides=list(layer.stride), pads=_onnx_pads2d(layer, in_shapes[0]))


@converter("AvgPool2D")
def _avgpool(ex, node, layer, xs, in_shapes, out_shape, out):
    # the engine averages over the real pixels only (padding not counted): count_include_pad=0
    return ex.op("AveragePool", xs, out, name=node, doc=layer.description, kernel_shape=list(layer.pool_size),
                 strides=list(layer.stride), pads=_onnx_pads2d(layer, in_shapes[0]), count_include_pad=0)


@converter("GlobalAveragePooling2D", "GlobalAveragePooling1D")
def _gap(ex, node, layer, xs, in_shapes, out_shape, out):
    g = ex.op("GlobalAveragePool", xs, name=f"{node}/pool", doc=layer.description)
    return ex.op("Flatten", [g], out, name=node, axis=1)


@converter("ZeroPadding2D")
def _zeropad(ex, node, layer, xs, in_shapes, out_shape, out):
    t, b, l, r = (int(v) for v in layer.padding)
    pads = ex.ints(f"{node}/pads", [0, 0, t, l, 0, 0, b, r])
    return ex.op("Pad", [xs[0], pads], out, name=node, doc=layer.description, mode="constant")


# -- recurrent ------------------------------------------------------------------------------------
_GATES = {"SimpleRNN": (1, "RNN"), "GRU": (3, "GRU"), "ResetAfterGRU": (3, "GRU"), "LSTM": (4, "LSTM")}


def _onnx_rnn_weights(layer):
    """The engine's stacked W (units + F, G*units), b (G*units) as ONNX W (G*H, F), R (G*H, H), B (2*G*H)."""
    g, _ = _GATES[layer.type_name]
    H = layer.units
    W = np.asarray(layer.params["W"], np.float64)
    b = np.asarray(layer.params["b"], np.float64)
    Wx = W[H:].T.copy()  # (G*H, F)
    Rh = W[:H].T.copy()  # (G*H, H)
    bx = b.copy()
    if layer.type_name in ("GRU", "ResetAfterGRU"):  # ONNX z keeps the old state: z = 1 - the update gate
        Wx[:H] *= -1
        Rh[:H] *= -1
        bx[:H] *= -1
    rb = np.zeros_like(bx)
    if "bh" in layer.params:  # ResetAfterGRU: the candidate's recurrent bias, inside Γr * (...)
        rb[2 * H:] = np.asarray(layer.params["bh"], np.float64)
    return Wx, Rh, np.concatenate([bx, rb])


def _initial_state(ex, node, layer, x_tm, state_inputs, key, dirs_layers):
    """initial_h/initial_c (dirs, N, H): from fed states, learned a0/c0, or none (zeros)."""
    H = dirs_layers[0].units
    if state_inputs is not None:
        return ex.op("Unsqueeze", [state_inputs, ex.ints(f"{node}/axes0", [0])], name=f"{node}/{key}")
    if all(key in lay.params for lay in dirs_layers):
        init = np.stack([np.asarray(lay.params[key], np.float32) for lay in dirs_layers])[:, None, :]
        c = ex.const(f"{node}/{key}", init)
        shp = ex.op("Shape", [x_tm], name=f"{node}/shape")
        nb = ex.op("Slice", [shp, ex.ints(f"{node}/s1", [1]), ex.ints(f"{node}/s2", [2])], name=f"{node}/batch")
        target = ex.op("Concat", [ex.ints(f"{node}/dirs", [len(dirs_layers)]), nb, ex.ints(f"{node}/h", [H])],
                       name=f"{node}/{key}_shape", axis=0)
        return ex.op("Expand", [c, target], name=f"{node}/{key}_expand")
    return ""


def _recurrent_core(ex, node, layer, dirs_layers, direction, xs, in_shapes, out_shape, out, merge="concat"):
    g, op = _GATES[dirs_layers[0].type_name]
    H = dirs_layers[0].units
    dirs = len(dirs_layers)
    ws = [_onnx_rnn_weights(lay) for lay in dirs_layers]
    W = ex.const(f"{node}/W", np.stack([w[0] for w in ws]))
    R = ex.const(f"{node}/R", np.stack([w[1] for w in ws]))
    B = ex.const(f"{node}/B", np.stack([w[2] for w in ws]))
    x_tm = ex.op("Transpose", [xs[0]], name=f"{node}/time_major", perm=[1, 0, 2])
    h0 = _initial_state(ex, node, layer, x_tm, xs[1] if len(xs) > 1 else None, "a0", dirs_layers)
    ins = [x_tm, W, R, B, "", h0]
    attrs = {"hidden_size": H, "direction": direction}
    if op == "LSTM":
        c0 = _initial_state(ex, node, layer, x_tm, xs[2] if len(xs) > 2 else None, "c0", dirs_layers)
        ins.append(c0)
    if op == "GRU":
        attrs["linear_before_reset"] = int(dirs_layers[0].type_name == "ResetAfterGRU")
    while ins and ins[-1] == "":
        ins.pop()
    n_out = 3 if op == "LSTM" else 2
    Y, Yh = ex.op(op, ins, name=f"{node}/{op.lower()}", doc=layer.description, n_out=n_out, **attrs)[:2]
    seq = dirs_layers[0].return_sequences
    if seq:
        if dirs == 1:
            y = ex.op("Squeeze", [Y, ex.ints(f"{node}/axis1", [1])], name=f"{node}/squeeze")
            return ex.op("Transpose", [y], out, name=node, perm=[1, 0, 2])
        if merge == "sum":
            y = ex.op("ReduceSum", [Y, ex.ints(f"{node}/axis1", [1])], name=f"{node}/sum", keepdims=0)
            return ex.op("Transpose", [y], out, name=node, perm=[1, 0, 2])
        y = ex.op("Transpose", [Y], name=f"{node}/batch_dirs", perm=[2, 0, 1, 3])  # (N, T, dirs, H)
        return ex.op("Reshape", [y, ex.ints(f"{node}/shape_out", [0, 0, -1])], out, name=node)
    if dirs == 1:
        return ex.op("Squeeze", [Yh, ex.ints(f"{node}/axis0", [0])], out, name=node)
    if merge == "sum":
        return ex.op("ReduceSum", [Yh, ex.ints(f"{node}/axis0", [0])], out, name=node, keepdims=0)
    y = ex.op("Transpose", [Yh], name=f"{node}/batch_dirs", perm=[1, 0, 2])  # (N, dirs, H)
    return ex.op("Reshape", [y, ex.ints(f"{node}/shape_out", [0, -1])], out, name=node)


@converter("SimpleRNN", "GRU", "ResetAfterGRU", "LSTM")
def _recurrent(ex, node, layer, xs, in_shapes, out_shape, out):
    direction = "reverse" if layer.go_backwards else "forward"
    return _recurrent_core(ex, node, layer, [layer], direction, xs, in_shapes, out_shape, out)


@converter("Bidirectional")
def _bidirectional(ex, node, layer, xs, in_shapes, out_shape, out):
    return _recurrent_core(ex, node, layer, [layer.forward_layer, layer.backward_layer], "bidirectional",
                           xs, in_shapes, out_shape, out, merge=layer.merge)


@converter("TimeDistributed")
def _time_distributed(ex, node, layer, xs, in_shapes, out_shape, out):
    inner = layer.sublayers()
    inner = next(iter(inner.values())) if isinstance(inner, dict) else layer.layer
    if inner.type_name == "Dense":  # MatMul broadcasts over time: as PyTorch writes a Linear on (N, T, F)
        y = ex.op("MatMul", [xs[0], ex.const(f"{node}/W", _w(inner, "W"))],
                  None if not inner.use_bias else None, name=f"{node}/matmul" if inner.use_bias else node,
                  doc=layer.description)
        if inner.use_bias:
            return ex.op("Add", [y, ex.const(f"{node}/b", _w(inner, "b"))], out, name=node)
        return ex.op("Identity", [y], out, name=f"{node}/out")
    fn = CONVERTERS.get(inner.type_name)
    if fn is None:
        raise ConfigError(f"{layer.label}: its {inner.type_name} has no ONNX export")
    T = in_shapes[0][0]
    step = tuple(in_shapes[0][1:])
    step_out = tuple(out_shape[1:])
    first = len(ex.nodes)
    flat = ex.op("Reshape", [xs[0], ex.ints(f"{node}/steps", [-1] + list(step))], name=f"{node}/merge_time")
    # the inner layer's weights keep the wrapper's keys: initializers "<node>/W", "<node>/b"
    y = fn(ex, node, inner, [flat], [step], step_out, None)
    y = ex.op("Reshape", [y, ex.ints(f"{node}/unsteps", [-1, T] + list(step_out))], out, name=f"{node}/split_time")
    # batch and time merged in one axis: no plain layer reads that back, so mark it as one layer
    _composite(ex, node, layer, xs, y, first=first)
    return y


# -- embedding and attention ------------------------------------------------------------------------------
@converter("Embedding")
def _embedding(ex, node, layer, xs, in_shapes, out_shape, out):
    from onnx import TensorProto

    key = "E" if "E" in layer.params else next(iter(layer.params))
    ids = ex.op("Cast", xs[:1], name=f"{node}/ids", to=TensorProto.INT64)
    return ex.op("Gather", [ex.const(f"{node}/{key}", _w(layer, key)), ids], out, name=node,
                 doc=layer.description, axis=0)


@converter("ScaledDotProductAttention")
def _dot_attention(ex, node, layer, xs, in_shapes, out_shape, out):
    q, k = xs[0], xs[1]
    v = xs[2] if len(xs) > 2 else k
    kt = ex.op("Transpose", [k], name=f"{node}/keys_t", perm=[0, 2, 1])
    s = ex.op("MatMul", [q, kt], name=f"{node}/scores")
    d = in_shapes[0][-1]
    s = ex.op("Mul", [s, ex.const(f"{node}/scale", np.array(1.0 / np.sqrt(d), np.float32))], name=f"{node}/scaled")
    if layer.causal:
        tq, tk = in_shapes[0][0], in_shapes[1][0]
        # -1e9 rather than -inf: the same softmax (exp underflows to exactly 0), and JSON-safe on import
        mask = np.where(np.tril(np.ones((tq, tk), dtype=bool)), 0.0, -1e9).astype(np.float32)
        s = ex.op("Add", [s, ex.const(f"{node}/causal_mask", mask)], name=f"{node}/masked")
    w = ex.op("Softmax", [s], name=f"{node}/weights", axis=-1)
    y = ex.op("MatMul", [w, v], out, name=node, doc=layer.description)
    _composite(ex, node, layer, xs, y)
    return y


@converter("AdditiveAttention")
def _additive_attention(ex, node, layer, xs, in_shapes, out_shape, out):
    q, values = xs
    flat = len(in_shapes[0]) == 1
    pk = ex.op("MatMul", [values, _param_const(ex, node, layer, "W1")], name=f"{node}/keys")
    pk = ex.op("Add", [pk, _param_const(ex, node, layer, "b")], name=f"{node}/keys_b")
    qp = ex.op("MatMul", [q, _param_const(ex, node, layer, "W2")], name=f"{node}/query")
    if flat:
        qp = ex.op("Unsqueeze", [qp, ex.ints(f"{node}/ax1", [1])], name=f"{node}/query_steps")
    u = ex.op("Add", [ex.op("Unsqueeze", [pk, ex.ints(f"{node}/axk", [1])], name=f"{node}/keys_grid"),
                      ex.op("Unsqueeze", [qp, ex.ints(f"{node}/axq", [2])], name=f"{node}/query_grid")],
              name=f"{node}/sum")
    u = ex.op("Tanh", [u], name=f"{node}/tanh")
    e = ex.op("MatMul", [u, _param_const(ex, node, layer, "v")], name=f"{node}/scores")
    alpha = ex.op("Softmax", [e], name=f"{node}/weights", axis=-1)
    if flat:
        ctx = ex.op("MatMul", [alpha, values], name=f"{node}/context")
        y = ex.op("Squeeze", [ctx, ex.ints(f"{node}/sq1", [1])], out, name=node, doc=layer.description)
    else:
        y = ex.op("MatMul", [alpha, values], out, name=node, doc=layer.description)
    _composite(ex, node, layer, xs, y)
    return y


# -- composites: exported as their sub-graph, folded back into one layer by our importer --------------
def _composite(ex, node, layer, xs, out, first=None):
    """Record that the ONNX nodes written for ``layer`` (from index ``first`` on, else those named
    ``node`` or ``node/...``) form that one engine layer, for our importer to fold back."""
    names = [n.name for n in ex.nodes[first:]] if first is not None else \
        [n.name for n in ex.nodes if n.name == node or n.name.startswith(f"{node}/")]
    ex.notes.append(f"{node}: {layer.type_name} written as its sub-graph of {len(names)} ONNX nodes")
    ex.composites.append({"node": node, "type": layer.type_name,
                          "config": {k: v for k, v in layer.get_config().items() if k != "name"},
                          "inputs": list(xs), "output": out, "prefix": f"{node}/", "nodes": names})


def _param_const(ex, node, layer, key):
    """A parameter stored verbatim under its engine name "<node>/<key>" (composites re-import from these)."""
    name = f"{node}/{key}"
    return ex.const(name, np.asarray(layer.params[key], np.float32))


@converter("AttentionDecoder")
def _attention_decoder(ex, node, layer, xs, in_shapes, out_shape, out):
    """Unrolled over the output steps: additive attention, then one LSTM step per output."""
    a = xs[0]
    h, A = layer.units, layer.attention_units
    steps = layer.steps
    W1, W2 = _param_const(ex, node, layer, "attention/W1"), _param_const(ex, node, layer, "attention/W2")
    ba, v = _param_const(ex, node, layer, "attention/b"), _param_const(ex, node, layer, "attention/v")
    Wl, bl = _param_const(ex, node, layer, "lstm/W"), _param_const(ex, node, layer, "lstm/b")
    p = f"{node}/"
    # s<0> = 0: the first step needs only the context rows of the LSTM's W
    Wx = ex.op("Slice", [Wl, ex.ints(p + "h", [h]), ex.ints(p + "big", [2 ** 62]), ex.ints(p + "ax0", [0])],
               name=p + "lstm_W_context")
    pk = ex.op("Add", [ex.op("MatMul", [a, W1], name=p + "keys"), ba], name=p + "keys_b")
    ax1 = ex.ints(p + "axis1", [1])
    split = ex.ints(p + "gate_sizes", [h, h, h, h])
    S = C = None
    states = []
    for t in range(steps):
        q = f"{p}t{t}/"
        if S is None:
            u = ex.op("Tanh", [pk], name=q + "tanh")
        else:
            qp = ex.op("MatMul", [S, W2], name=q + "query")
            u = ex.op("Tanh", [ex.op("Add", [pk, ex.op("Unsqueeze", [qp, ax1], name=q + "query_1")], name=q + "sum")],
                      name=q + "tanh")
        e = ex.op("MatMul", [u, v], name=q + "scores")
        alpha = ex.op("Softmax", [e], name=q + "alpha", axis=-1)
        ctx = ex.op("MatMul", [ex.op("Unsqueeze", [alpha, ax1], name=q + "alpha_1"), a], name=q + "context_1")
        ctx = ex.op("Squeeze", [ctx, ax1], name=q + "context")
        if S is None:
            g = ex.op("MatMul", [ctx, Wx], name=q + "gates_x")
        else:
            x = ex.op("Concat", [S, ctx], name=q + "lstm_input", axis=1)
            g = ex.op("MatMul", [x, Wl], name=q + "gates_x")
        g = ex.op("Add", [g, bl], name=q + "gates")
        gi, go, gf, gc = ex.op("Split", [g, split], name=q + "split", n_out=4, axis=1)
        gi = ex.op("Sigmoid", [gi], name=q + "update_gate")
        go = ex.op("Sigmoid", [go], name=q + "output_gate")
        gc = ex.op("Tanh", [gc], name=q + "candidate")
        ic = ex.op("Mul", [gi, gc], name=q + "update")
        if C is None:
            C = ic
        else:
            gf = ex.op("Sigmoid", [gf], name=q + "forget_gate")
            C = ex.op("Add", [ex.op("Mul", [gf, C], name=q + "keep"), ic], name=q + "memory")
        S = ex.op("Mul", [go, ex.op("Tanh", [C], name=q + "tanh_memory")], name=q + "state")
        states.append(ex.op("Unsqueeze", [S, ax1], name=q + "state_1"))
    y = ex.op("Concat", states, out, name=p + "states", axis=1, doc=layer.description)
    _composite(ex, node, layer, xs, y)
    return y


@converter("__composite__")
def _composite_block(ex, node, layer, xs, in_shapes, out_shape, out):
    """A block over an inner Network (residual, Inception): its sub-graph, node names prefixed "<block>/"."""
    inner = layer._net
    if inner is None:
        raise ConfigError(f"{layer.label} is not built")
    shapes = inner.infer_shapes()
    values = {inner.inputs[0]: xs[0]}
    export_graph(ex, inner, shapes, values, prefix=f"{node}/")
    y = values[inner.outputs[0]]
    if out is not None and y != out:
        y = ex.op("Identity", [y], out, name=f"{node}/output")
    _composite(ex, node, layer, xs, y)
    return y


# -- the walk --------------------------------------------------------------------------------------
def _layer_type(layer):
    if layer.type_name not in CONVERTERS and hasattr(layer, "subgraph_config") and hasattr(layer, "_net"):
        return "__composite__"
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
    return _build_model(network, doc_string, batch_name)[0]


def _build_model(network, doc_string="", batch_name="batch"):
    """(ModelProto, notes): notes say what was left out or written as a sub-graph."""
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
                              doc_string=doc_string or "")
    model = helper.make_model(graph, producer_name="network-playground",
                              opset_imports=[helper.make_opsetid("", OPSET)], doc_string=doc_string or "")
    if ex.composites:
        import json

        helper.set_model_props(model, {COMPOSITES_KEY: json.dumps(ex.composites)})
    model.ir_version = min(model.ir_version, 10)
    return model, list(ex.notes)


def export_network(network, path=None, doc_string="", batch=4, seed=0, tolerance=1e-4):
    """Export ``network`` to an ONNX file and check it at once.

    Writes atomically to ``path`` (when given), runs onnx.checker, runs onnxruntime on a random
    float32 batch and compares with the engine. Returns an :class:`ExportReport`; it never raises
    for a mismatch (the report says so), but does raise ConfigError for layers with no ONNX form.
    """
    import onnx

    from .check import ExportReport, compare_with_onnxruntime

    dtype = network.dtype
    # ONNX files hold float32: a float64 network is cast for the export and then gets its own
    # dtype AND exact weights back (a float32 round trip would round them), also on errors
    saved = None
    if network.built and np.dtype(dtype) != np.float32:
        saved = network.get_weights()
        network.astype(np.float32)
    try:
        model, notes = _build_model(network, doc_string=doc_string)
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
        if saved is not None:
            network.astype(dtype)
            network.set_weights(saved)
    if path is not None:
        path = os.fspath(path)
        data = model.SerializeToString()
        atomic_write(path, lambda fh: fh.write(data))
    return ExportReport(max_abs_diff=diff, checker_ok=checker_ok, path=path, opset=OPSET, tolerance=tolerance,
                        checker_message=msg, batch_size=batch, notes=notes)
