"""Import an ONNX model (as PyTorch's and Keras' exporters write them) into a Network.

How it works
------------
The graph is walked in order. Every tensor is either

- a *constant* (initializers, Constant nodes, and anything computed only from constants and from
  the known shapes of the inputs: the Shape -> Gather -> Unsqueeze -> Concat -> Expand plumbing
  PyTorch writes around recurrent layers is folded away with NumPy), or
- a *symbolic* tensor: the output of an engine node, possibly seen through a lazy view (a reshape
  followed by a transposition) so that time-major tensors around ONNX's RNN/GRU/LSTM operators
  (whose batch axis is not first) never need a layer of their own.

Operators on symbolic tensors become engine layers (Gemm -> Dense, Conv -> Conv2D, ...). Every
problem found (an unknown operator, an unsupported attribute) is collected and reported in ONE
:class:`UnsupportedOnnxError` listing all of them.
"""

import re

import numpy as np

from ..errors import ConfigError, EngineError
from ..layers.base import LAYER_TYPES

#: the ONNX operators this importer understands (the issue's list).
SUPPORTED_OPS = (
    "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Conv", "MaxPool", "AveragePool", "GlobalAveragePool",
    "BatchNormalization", "Relu", "LeakyRelu", "Elu", "Sigmoid", "Tanh", "Softmax", "LogSoftmax",
    "Flatten", "Reshape", "Transpose", "Concat", "Gather", "RNN", "GRU", "LSTM", "Dropout", "Identity",
    "Constant", "Shape", "Unsqueeze", "Squeeze", "Expand", "Cast", "ConstantOfShape", "Slice",
    # beyond the list, for round trips of the engine's own exports
    "Pad", "Greater", "ReduceSum", "Sum",
)


class UnsupportedOnnxError(ConfigError):
    """The model uses operators or attributes the engine has no layer for; ``missing`` lists them all."""

    def __init__(self, missing, path=None):
        self.missing = list(missing)
        where = f"{path}: " if path else ""
        lines = "\n".join(f"  - {m}" for m in self.missing)
        super().__init__(f"{where}cannot import this ONNX model, {len(self.missing)} thing(s) not supported:\n{lines}")


class _Problem(Exception):
    """One unsupported thing about one node (collected, not raised to the user)."""


class Sym:
    """A symbolic tensor: engine node ``node`` (full shape ``eshape``) seen as
    transpose(reshape(E, split), perm). ``split`` and ``perm`` are None for a plain tensor."""

    __slots__ = ("node", "eshape", "split", "perm")

    def __init__(self, node, eshape, split=None, perm=None):
        self.node = node
        self.eshape = tuple(int(d) for d in eshape)
        self.split = tuple(split) if split is not None else self.eshape
        self.perm = tuple(perm) if perm is not None else tuple(range(len(self.split)))

    @property
    def shape(self):
        return tuple(self.split[p] for p in self.perm)

    @property
    def plain(self):
        return self.perm == tuple(range(len(self.perm))) and self.split == self.eshape


def _attrs(node):
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _np_dtype(onnx_type):
    from onnx import helper

    return helper.tensor_dtype_to_np_dtype(onnx_type)


def _safe_name(name):
    """A node name the engine's "node/key" weight names can hold: no '/' (PyTorch writes "/fc/MatMul")."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)).strip("_.")
    return name


def _in_composite(name, comp):
    """Whether ONNX node ``name`` belongs to the composite layer ``comp`` (from our exporter's metadata)."""
    if "nodes" in comp:
        return name in comp["nodes"]
    return name == comp["node"] or name.startswith(comp["prefix"])


def _s(v):
    return v.decode() if isinstance(v, bytes) else v


def _static_problems(node, a, consts):
    """Unsupported attributes that can be seen without shapes (so that ALL of them are listed)."""
    op, out = node.op_type, []
    if op == "Conv":
        W = consts.get(node.input[1]) if len(node.input) > 1 else None
        nd = len(a["kernel_shape"]) if "kernel_shape" in a else (W.ndim - 2 if W is not None else 2)
        if int(a.get("group", 1)) != 1:
            out.append(f"group={a['group']} (grouped or depthwise convolution)")
        if nd not in (1, 2):
            out.append(f"a {nd}-D convolution (the engine has 1-D and 2-D ones)")
    if op in ("Conv", "MaxPool", "AveragePool") and _s(a.get("auto_pad", "NOTSET")) not in ("NOTSET", "VALID"):
        out.append(f"auto_pad={_s(a['auto_pad'])}")
    if op in ("MaxPool", "AveragePool"):
        nd = len(a.get("kernel_shape", [0, 0]))
        if nd not in (1, 2):
            out.append(f"{nd}-D pooling (the engine pools 1-D and 2-D maps)")
        if a.get("ceil_mode", 0):
            out.append("ceil_mode=1")
        if any(d != 1 for d in a.get("dilations", [])):
            out.append(f"dilations={list(a['dilations'])}")
        if a.get("storage_order", 0):
            out.append("storage_order=1")
        if op == "AveragePool" and any(a.get("pads", [])) and a.get("count_include_pad", 0):
            out.append("average pooling that counts the padding (the engine averages real pixels only)")
    if op == "Pad" and _s(a.get("mode", "constant")) != "constant":
        out.append(f"mode='{_s(a['mode'])}' padding (the engine pads with zeros)")
    if op == "Gemm" and a.get("transA", 0):
        out.append("transA=1 (the batch would not be the first axis)")
    if op == "BatchNormalization" and a.get("training_mode", 0):
        out.append("training_mode=1")
    if op in ("RNN", "GRU", "LSTM"):
        if a.get("clip") is not None:
            out.append("clip")
        if a.get("input_forget", 0):
            out.append("input_forget=1")
        if op == "LSTM" and len(node.input) > 7 and node.input[7]:
            out.append("peephole weights P")
    return out


class _Importer:
    def __init__(self, model, batch=None, composites=True):
        from ..graph import Network

        self.model = model
        self.graph = model.graph
        self.opset = 13
        for imp in model.opset_import:
            if imp.domain in ("", "ai.onnx"):
                self.opset = int(imp.version)
        self.net = Network(name=_safe_name(self.graph.name) or "imported")
        self.consts = {}
        self.syms = {}
        self.weights = {}  # node -> {key: array}
        self.buffers = {}  # node -> {attr: array}
        self.problems = []
        self.depth = {}
        self.batch = batch
        self.fold_composites = composites
        self.consumers = {}
        for n in self.graph.node:
            for i in n.input:
                if i:
                    self.consumers[i] = self.consumers.get(i, 0) + 1
        for o in self.graph.output:
            self.consumers[o.name] = self.consumers.get(o.name, 0) + 1
        self._bidir_uses = {}
        self.composite_prefix = {}
        self.from_matmul = {}  # engine node of a bias-less Dense made from MatMul -> its tensor

    # -- helpers --------------------------------------------------------------------------------
    def problem(self, msg):
        raise _Problem(msg)

    def const(self, name, what="this input"):
        if name in self.consts:
            return self.consts[name]
        self.problem(f"{what} must be a constant (a weight), but it is computed from the network input")

    def is_const(self, name):
        return name == "" or name in self.consts

    def sym(self, name):
        s = self.syms.get(name)
        if s is None:
            if name in self.consts:
                self.problem("an operation on constants only that does not feed the network")
            raise _Problem(f"input '{name}' is not available")
        return s

    def plain(self, name):
        """The engine node of tensor ``name``, materializing a lazy view (batch must come first)."""
        s = self.sym(name)
        if s.plain:
            return s.node, s.eshape
        if s.perm[0] != 0:
            self.problem(f"a tensor whose first axis is not the batch (shape {s.shape}) is used by a layer")
        node = s.node
        if s.split != s.eshape:
            node = self.add(LAYER_TYPES["Reshape"](shape=list(s.split[1:])), [node], f"{node}_view")
        if s.perm != tuple(range(len(s.perm))):
            node = self.add(LAYER_TYPES["Transpose"](perm=[p - 1 for p in s.perm[1:]]), [node], f"{node}_transpose")
        shape = s.shape
        self.syms[name] = Sym(node, shape)
        return node, shape

    def layer(self, type_name, **cfg):
        cls = LAYER_TYPES.get(type_name)
        if cls is None:
            self.problem(f"the engine has no {type_name} layer")
        try:
            return cls(**cfg)
        except (TypeError, ValueError, ConfigError) as exc:
            self.problem(f"{type_name} with {cfg} is not possible: {exc}")

    def add(self, layer, inputs, base):
        base = _safe_name(base) or layer.type_name.lower()
        name = base
        i = 1
        while name in self.net.nodes:
            i += 1
            name = f"{base}_{i}"
        depth = 1 + max((self.depth.get(s, 0) for s in inputs), default=-1)
        self.depth[name] = depth
        row = sum(1 for d in self.depth.values() if d == depth) - 1
        self.net.add(layer, list(inputs), name=name, meta={"pos": [220.0 * depth, 120.0 * row]})
        return name

    def out_sym(self, tensor, node, shape):
        self.syms[tensor] = Sym(node, shape)

    def per_sample_axis(self, axis, rank, what="axis"):
        a = int(axis)
        if a < 0:
            a += rank
        if a == 0:
            self.problem(f"{what} 0 is the batch axis, which a layer cannot change")
        return a - 1

    # -- constants ------------------------------------------------------------------------------
    def fold(self, node, a):
        """Evaluate ``node`` with NumPy when all its inputs are constants; returns outputs or None."""
        op = node.op_type
        ins = [self.consts.get(i) if i else None for i in node.input]
        if op == "Shape":
            if node.input[0] in self.syms:
                shp = np.array(self.sym(node.input[0]).shape, dtype=np.int64)
            elif node.input[0] in self.consts:
                shp = np.array(self.consts[node.input[0]].shape, dtype=np.int64)
            else:
                return None
            start, end = a.get("start", 0), a.get("end", None)
            return [shp[start:end]]
        if op == "Constant":
            return [self._constant_value(node, a)]
        if any(x is None for i, x in zip(node.input, ins) if i):
            return None
        if not node.input:
            if op == "ConstantOfShape":
                pass
            else:
                return None
        from onnx import numpy_helper

        x = ins[0] if ins else None
        if op in ("Identity", "Dropout"):
            return [x]
        if op == "Cast":
            return [x.astype(_np_dtype(a["to"]))]
        if op == "Unsqueeze":
            axes = a.get("axes") if "axes" in a else ins[1].tolist()
            out = x
            rank = x.ndim + len(axes)
            for ax in sorted(int(v) % rank for v in axes):
                out = np.expand_dims(out, ax)
            return [out]
        if op == "Squeeze":
            axes = a.get("axes") if "axes" in a else (ins[1].tolist() if len(ins) > 1 and ins[1] is not None else None)
            return [np.squeeze(x, axis=tuple(int(v) for v in axes) if axes is not None else None)]
        if op == "Concat":
            return [np.concatenate([np.atleast_1d(v) for v in ins], axis=a["axis"])]
        if op == "Gather":
            return [np.take(x, ins[1].astype(np.int64), axis=a.get("axis", 0))]
        if op == "Expand":
            shape = tuple(int(v) for v in ins[1])
            return [x * np.ones(shape, dtype=x.dtype)]
        if op == "ConstantOfShape":
            val = numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, np.float32)
            return [np.full(tuple(int(v) for v in ins[0]), val.reshape(-1)[0], dtype=val.dtype)]
        if op == "Reshape":
            shape = a.get("shape") if "shape" in a else ins[1].tolist()
            shape = [x.shape[i] if d == 0 else d for i, d in enumerate(shape)]
            return [x.reshape(shape)]
        if op == "Transpose":
            return [np.transpose(x, a.get("perm"))]
        if op == "Flatten":
            ax = a.get("axis", 1)
            return [x.reshape(int(np.prod(x.shape[:ax])), -1)]
        if op in ("Add", "Sub", "Mul", "Div"):
            f = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}[op]
            y = ins[1]
            if "broadcast" in a and a.get("axis") is not None and y.ndim < x.ndim:
                y = y.reshape(y.shape + (1,) * (x.ndim - a["axis"] - y.ndim))
            out = f(x, y)
            if op == "Div" and np.issubdtype(x.dtype, np.integer):
                out = (x // y).astype(x.dtype)
            return [out.astype(np.result_type(x, y))]
        if op == "Slice":
            if "starts" in a:
                starts, ends = a["starts"], a["ends"]
                axes = a.get("axes", list(range(len(starts))))
                steps = [1] * len(starts)
            else:
                starts, ends = ins[1].tolist(), ins[2].tolist()
                axes = ins[3].tolist() if len(ins) > 3 and ins[3] is not None else list(range(len(starts)))
                steps = ins[4].tolist() if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
            sl = [slice(None)] * x.ndim
            for s, e, ax, st in zip(starts, ends, axes, steps):
                sl[ax] = slice(int(s), int(e) if abs(e) < 2**62 else None, int(st))
            return [x[tuple(sl)]]
        if op in ("Relu", "Sigmoid", "Tanh"):
            f = {"Relu": lambda v: np.maximum(v, 0), "Sigmoid": lambda v: 1 / (1 + np.exp(-v)), "Tanh": np.tanh}[op]
            return [f(x)]
        if op == "MatMul":
            return [x @ ins[1]]
        return None

    def _constant_value(self, node, a):
        from onnx import numpy_helper

        if "value" in a:
            return numpy_helper.to_array(a["value"])
        for k, cast in (("value_float", np.float32), ("value_int", np.int64)):
            if k in a:
                return np.array(a[k], dtype=cast)
        for k, cast in (("value_floats", np.float32), ("value_ints", np.int64)):
            if k in a:
                return np.array(list(a[k]), dtype=cast)
        self.problem("Constant with a sparse or string value")

    # -- the walk -------------------------------------------------------------------------------
    def run(self):
        from onnx import numpy_helper

        g = self.graph
        for init in g.initializer:
            self.consts[init.name] = numpy_helper.to_array(init)
        inputs = [i for i in g.input if i.name not in self.consts]
        batches = {}
        for inp in inputs:
            tt = inp.type.tensor_type
            if not inp.type.HasField("tensor_type"):
                self.problems.append(f"input '{inp.name}': only tensor inputs are supported")
                continue
            dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
            if len(dims) < 2:
                self.problems.append(
                    f"input '{inp.name}' has shape {dims}: a network input needs a batch axis and a sample of "
                    "at least one axis")
                continue
            if any(d is None or d <= 0 for d in dims[1:]):
                self.problems.append(f"input '{inp.name}' has unknown sizes {dims}: every axis but the batch must "
                                     "have a fixed size")
                continue
            batches[inp.name] = dims[0]
            from ..layers.core import Input

            name = self.add(Input(shape=dims[1:]), [], inp.name)
            b = dims[0] if dims[0] else (self.batch or 1)
            self.syms[inp.name] = Sym(name, [b] + dims[1:])
        known = {b for b in batches.values() if b}
        if len(known) > 1:
            self.problems.append(
                "the inputs have different batch sizes (" + ", ".join(f"'{k}': {v}" for k, v in batches.items())
                + "): the first axis of every network input must be the shared batch axis")
        composites = self._read_composites() if self.fold_composites else []
        done = set()
        for node in g.node:
            where = f"{node.op_type} '{node.name}'" if node.name else node.op_type
            comp = next((c for c in composites if _in_composite(node.name, c)), None)
            if comp is not None:
                if comp["node"] not in done:
                    done.add(comp["node"])
                    try:
                        self.add_composite(comp)
                    except _Problem as exc:
                        self.problems.append(f"{comp['type']} '{comp['node']}': {exc}")
                continue
            try:
                a = _attrs(node)
                if node.domain not in ("", "ai.onnx"):
                    self.problem(f"operator from domain '{node.domain}'")
                if node.op_type not in SUPPORTED_OPS:
                    raise _Problem("operator not supported")
                static = _static_problems(node, a, self.consts)
                if static:
                    self.problems.extend(f"{where}: {m}" for m in static)
                    continue
                outs = self.fold(node, a)
                if outs is not None:
                    for o, v in zip(node.output, outs):
                        self.consts[o] = np.asarray(v)
                    continue
                if any(i not in self.syms and i not in self.consts for i in node.input if i) or \
                        not any(i in self.syms for i in node.input if i):
                    # depends on something already broken: do not report twice
                    continue
                getattr(self, "op_" + node.op_type)(node, a)
            except _Problem as exc:
                self.problems.append(f"{where}: {exc}")
        outputs = []
        for o in g.output:
            if o.name in self.syms:
                try:
                    node, _ = self.plain(o.name)
                    outputs.append(node)
                except _Problem as exc:
                    self.problems.append(f"output '{o.name}': {exc}")
            elif o.name in self.consts:
                self.problems.append(f"output '{o.name}' is a constant, not computed from the input")
        if self.problems:
            # unique, in order
            seen, uniq = set(), []
            for p in self.problems:
                if p not in seen:
                    seen.add(p)
                    uniq.append(p)
            raise UnsupportedOnnxError(uniq)
        self.net.outputs = outputs
        return self.finish()

    def _read_composites(self):
        """Composite layers our exporter wrote as sub-graphs (metadata), to fold back into one layer each."""
        import json

        from .export import COMPOSITES_KEY

        for prop in self.model.metadata_props:
            if prop.key == COMPOSITES_KEY:
                try:
                    items = json.loads(prop.value)
                    comps = [c for c in items if isinstance(c, dict) and {"node", "type", "config", "inputs",
                                                                          "output", "prefix"} <= set(c)]
                    for c in comps:
                        if "nodes" in c:
                            c["nodes"] = set(c["nodes"])
                    return comps
                except (ValueError, TypeError):
                    return []
        return []

    def add_composite(self, comp):
        from ..layers.base import layer_from_config

        xs = [self.plain(t) for t in comp["inputs"]]
        try:
            layer = layer_from_config(comp["type"], {**comp["config"], "name": comp["node"]})
            out = layer.output_shape([s[1:] for _, s in xs])
        except Exception as exc:  # noqa: BLE001
            self.problem(f"cannot rebuild the layer: {exc}")
        name = self.add(layer, [x for x, _ in xs], comp["node"])
        self.composite_prefix[name] = comp["prefix"]
        self.out_sym(comp["output"], name, (xs[0][1][0],) + tuple(out))

    def finish(self):
        net = self.net
        net.build(seed=0)
        for name, prefix in self.composite_prefix.items():
            layer = net[name]
            missing = [k for k in layer.params if prefix + k not in self.consts]
            if missing:
                raise UnsupportedOnnxError([f"{name}: no weights {', '.join(prefix + k for k in missing)}"])
            self.weights[name] = {k: self.consts[prefix + k] for k in layer.params}
            for k, arr in layer.buffers().items():  # composites: the sub-layers' own arrays, in place
                if arr is not None and prefix + k in self.consts:
                    arr[...] = np.asarray(self.consts[prefix + k], dtype=arr.dtype).reshape(arr.shape)
        for name, ws in self.weights.items():
            layer = net[name]
            for k, v in ws.items():
                target = layer.params[k]
                v = np.asarray(v, dtype=target.dtype)
                if v.shape != target.shape:
                    raise UnsupportedOnnxError([f"{name}/{k}: ONNX weights of shape {v.shape} do not fit {target.shape}"])
                target[...] = v
        for name, bufs in self.buffers.items():
            layer = net[name]
            for attr, v in bufs.items():
                cur = getattr(layer, attr)
                cur[...] = np.asarray(v, dtype=cur.dtype).reshape(cur.shape)
        return net

    # -- operators ------------------------------------------------------------------------------
    def simple(self, node, type_name, base=None, **cfg):
        x, shape = self.plain(node.input[0])
        layer = self.layer(type_name, **cfg)
        name = self.add(layer, [x], node.name or base or type_name.lower())
        out = layer.output_shape([shape[1:]])
        self.out_sym(node.output[0], name, (shape[0],) + tuple(out))
        return name

    def op_Relu(self, node, a):
        self.simple(node, "Activation", kind="relu")

    def op_Sigmoid(self, node, a):
        self.simple(node, "Activation", kind="sigmoid")

    def op_Tanh(self, node, a):
        self.simple(node, "Activation", kind="tanh")

    def op_LeakyRelu(self, node, a):
        self.simple(node, "Activation", kind="leaky_relu", alpha=float(a.get("alpha", 0.01)))

    def op_Elu(self, node, a):
        self.simple(node, "Activation", kind="elu", alpha=float(a.get("alpha", 1.0)))

    def _softmax_like(self, node, a, last_kind, axis_type):
        s = self.sym(node.input[0])
        rank = len(s.shape)
        default = -1 if self.opset >= 13 else 1
        axis = int(a.get("axis", default))
        axis = axis + rank if axis < 0 else axis
        if self.opset < 13 and axis != rank - 1:
            # old semantics: over all axes from `axis` on, flattened
            if all(d == 1 for d in s.shape[axis + 1:]):
                pass
            else:
                self.problem(f"opset-{self.opset} {node.op_type} over axes {axis}.. of a rank-{rank} tensor")
        if axis == rank - 1:
            if last_kind:
                self.simple(node, "Activation", kind=last_kind)
            else:
                self.simple(node, axis_type, axis=-1)
        else:
            self.simple(node, axis_type, axis=self.per_sample_axis(axis, rank))

    def op_Softmax(self, node, a):
        self._softmax_like(node, a, "softmax", "SoftmaxAxis")

    def op_LogSoftmax(self, node, a):
        self._softmax_like(node, a, None, "LogSoftmax")

    def op_Identity(self, node, a):
        self.syms[node.output[0]] = self.sym(node.input[0])

    def op_Dropout(self, node, a):
        if len(node.output) > 1 and node.output[1] and self.consumers.get(node.output[1]):
            self.problem("the dropout mask output is used")
        self.syms[node.output[0]] = self.sym(node.input[0])

    def op_Flatten(self, node, a):
        axis = int(a.get("axis", 1))
        s = self.sym(node.input[0])
        if axis < 0:
            axis += len(s.shape)
        if axis != 1:
            self.problem(f"Flatten with axis={axis} (only axis 1, keeping the batch, is a layer)")
        if s.perm == tuple(range(len(s.perm))) and len(s.eshape) == 2 and s.eshape[1] == int(np.prod(s.shape[1:])):
            self.syms[node.output[0]] = Sym(s.node, s.eshape)  # the view already is that engine tensor
            return
        if len(s.shape) == 2:
            self.op_Identity(node, a)
            return
        self.simple(node, "Flatten")

    def op_Gemm(self, node, a):
        x, shape = self.plain(node.input[0])
        if a.get("transA", 0):
            self.problem("transA=1 (the batch would not be the first axis)")
        if len(shape) != 2:
            self.problem(f"input of shape {shape}: Gemm needs (batch, features)")
        B = self.const(node.input[1], "the weight matrix B")
        W = B.T if a.get("transB", 0) else B
        W = float(a.get("alpha", 1.0)) * W.astype(np.float64)
        units = W.shape[1]
        weights = {"W": W}
        use_bias = len(node.input) > 2 and node.input[2] != ""
        if use_bias:
            C = self.const(node.input[2], "the bias C").astype(np.float64) * float(a.get("beta", 1.0))
            if C.size not in (1, units) or (C.ndim == 2 and C.shape[0] != 1):
                self.problem(f"a bias C of shape {C.shape} (a per-sample bias needs ({units},))")
            weights["b"] = np.broadcast_to(C.reshape(-1), (units,)).copy()
        if W.shape[0] != shape[1]:
            self.problem(f"weights of shape {B.shape} do not fit an input of shape {shape}")
        layer = self.layer("Dense", units=units, use_bias=use_bias)
        name = self.add(layer, [x], node.name or "dense")
        self.weights[name] = weights
        self.out_sym(node.output[0], name, (shape[0], units))

    def op_MatMul(self, node, a):
        if not self.is_const(node.input[1]):
            if self.is_const(node.input[0]):
                self.problem("a constant matrix @ a computed tensor")
            x, sx = self.plain(node.input[0])
            y, sy = self.plain(node.input[1])
            layer = self.layer("BatchMatMul")
            try:
                out = layer.output_shape([sx[1:], sy[1:]])
            except Exception as exc:  # noqa: BLE001
                self.problem(str(exc))
            name = self.add(layer, [x, y], node.name or "matmul")
            self.out_sym(node.output[0], name, (sx[0],) + tuple(out))
            return
        x, shape = self.plain(node.input[0])
        W = self.const(node.input[1]).astype(np.float64)
        vector = W.ndim == 1
        if vector:  # x @ v (e.g. attention scores): a one-unit Dense whose unit axis is dropped
            W = W[:, None]
        if W.ndim != 2 or len(shape) < 2 or W.shape[0] != shape[-1]:
            self.problem(f"x of shape {shape} @ weights of shape {W.shape} (x @ constant weights needs "
                         "x's last axis to match the weights' first)")
        lead = tuple(shape[1:-1])
        if len(lead) > 1:  # (batch, a, b, F): steps merged for a TimeDistributed Dense, a lazy view after
            x = self.add(self.layer("Reshape", shape=[int(np.prod(lead)), shape[-1]]), [x], f"{node.name or 'dense'}_steps")
        units = W.shape[1]
        layer = self._dense_like(2 if not lead else 3, units, False)
        name = self.add(layer, [x], node.name or "dense")
        self.weights[name] = {"W": W}
        eshape = (shape[0], units) if not lead else (shape[0], int(np.prod(lead)), units)
        split = (shape[0],) + lead + (() if vector else (units,))
        self.syms[node.output[0]] = Sym(name, eshape, split)
        if not vector and len(lead) <= 1:
            self.from_matmul[name] = node.output[0]

    def _dense_like(self, rank, units, use_bias):
        if rank == 2:
            return self.layer("Dense", units=units, use_bias=use_bias)
        return self.layer("TimeDistributed", layer={"type": "Dense", "config": {"units": units, "use_bias": use_bias}})

    def _binary(self, node, a, op):
        x_name, y_name = node.input[0], node.input[1]
        xc, yc = self.is_const(x_name), self.is_const(y_name)
        if not xc and not yc:
            sx, sy = self.sym(x_name), self.sym(y_name)
            if op == "add" and sx.shape == sy.shape:
                x, shape = self.plain(x_name)
                y, _ = self.plain(y_name)
                name = self.add(self.layer("Add"), [x, y], node.name or "add")
                self.out_sym(node.output[0], name, shape)
                return
            if len(sx.shape) != len(sy.shape):
                self.problem(f"{node.op_type} of shapes {sx.shape} and {sy.shape}: the batch axes would not line up")
            x, shape_x = self.plain(x_name)
            y, shape_y = self.plain(y_name)
            layer = self.layer("Elementwise", op=op)
            try:
                out = layer.output_shape([shape_x[1:], shape_y[1:]])
            except Exception as exc:  # noqa: BLE001
                self.problem(str(exc))
            name = self.add(layer, [x, y], node.name or node.op_type.lower())
            self.out_sym(node.output[0], name, (shape_x[0],) + tuple(out))
            return
        if xc and yc:
            self.problem("an operation on constants only")
        sym_name, c_name = (y_name, x_name) if xc else (x_name, y_name)
        if xc and op in ("sub", "div"):
            if op == "div":
                self.problem("a constant divided by a computed tensor")
            op = "rsub"
        c = np.asarray(self.const(c_name), dtype=np.float64)
        s = self.sym(sym_name)
        rank = len(s.shape)
        if a.get("broadcast") and "axis" in a and c.ndim < rank:
            c = c.reshape(c.shape + (1,) * (rank - int(a["axis"]) - c.ndim))
        if c.ndim == rank:
            if c.shape[0] != 1:
                self.problem(f"a constant of shape {c.shape} differs across the batch")
            c = c[0]
        # a bias right after a bias-less Dense made from MatMul: fold it into the Dense
        if op == "add" and s.plain and s.node in self.from_matmul and self.from_matmul[s.node] == sym_name \
                and self.consumers.get(sym_name, 0) == 1 and c.size in (1, s.shape[-1]) and c.ndim <= 1:
            self.net.replace_layer(s.node, self._dense_like(len(s.shape), s.shape[-1], True))
            self.weights[s.node]["b"] = np.broadcast_to(c.reshape(-1), (s.shape[-1],)).copy()
            del self.from_matmul[s.node]
            self.syms[node.output[0]] = s
            return
        x, shape = self.plain(sym_name)
        try:
            np.broadcast_shapes(tuple(shape[1:]), c.shape)
        except ValueError:
            self.problem(f"a constant of shape {c.shape} does not broadcast onto samples of shape {shape[1:]}")
        layer = self.layer("ConstantOp", op=op, value=c, trainable=False)
        name = self.add(layer, [x], node.name or node.op_type.lower())
        self.out_sym(node.output[0], name, shape)

    def op_Sum(self, node, a):
        names = [i for i in node.input if i]
        if len(names) == 1:
            self.op_Identity(node, a)
            return
        if any(self.is_const(i) for i in names):
            self.problem("a Sum with constant terms")
        shapes = {self.sym(i).shape for i in names}
        if len(shapes) != 1:
            self.problem(f"a Sum of shapes {sorted(shapes)} (a layer adds equal shapes only)")
        xs = [self.plain(i) for i in names]
        name = self.add(self.layer("Add"), [x for x, _ in xs], node.name or "add")
        self.out_sym(node.output[0], name, xs[0][1])

    def op_Add(self, node, a):
        self._binary(node, a, "add")

    def op_Sub(self, node, a):
        self._binary(node, a, "sub")

    def op_Mul(self, node, a):
        self._binary(node, a, "mul")

    def op_Div(self, node, a):
        self._binary(node, a, "div")

    def op_Concat(self, node, a):
        names = [i for i in node.input if i]
        if any(self.is_const(i) for i in names):
            self.problem("concatenating a constant with computed tensors")
        rank = len(self.sym(names[0]).shape)
        axis = self.per_sample_axis(a.get("axis", 1), rank)
        xs = [self.plain(i) for i in names]
        layer = self.layer("Concatenate", axis=axis)
        name = self.add(layer, [x for x, _ in xs], node.name or "concat")
        out = layer.output_shape([s[1:] for _, s in xs])
        self.out_sym(node.output[0], name, (xs[0][1][0],) + tuple(out))

    # -- shape operators on symbolic tensors --------------------------------------------------------
    def _reshape_plain(self, node, x_name, target):
        s = self.sym(x_name)
        if s.perm == tuple(range(len(s.perm))) and tuple(target) == s.eshape:
            self.syms[node.output[0]] = Sym(s.node, s.eshape)
            return
        x, shape = self.plain(x_name)
        if target[0] != shape[0]:
            self.problem(f"a reshape from {shape} to {tuple(target)} mixes the batch axis with the others")
        if tuple(target) == tuple(shape):
            self.syms[node.output[0]] = self.sym(x_name)
            return
        name = self.add(self.layer("Reshape", shape=list(target[1:])), [x], node.name or "reshape")
        self.out_sym(node.output[0], name, tuple(target))

    def _resolve_shape(self, in_shape, shape, allowzero=0):
        shape = [int(d) for d in shape]
        out = [in_shape[i] if (d == 0 and not allowzero) else d for i, d in enumerate(shape)]
        if -1 in out:
            known = int(np.prod([d for d in out if d != -1]))
            total = int(np.prod(in_shape))
            if known == 0 or total % known:
                self.problem(f"cannot reshape {tuple(in_shape)} into {shape}")
            out[out.index(-1)] = total // known
        if int(np.prod(out)) != int(np.prod(in_shape)):
            self.problem(f"cannot reshape {tuple(in_shape)} into {shape}")
        return out

    def op_Reshape(self, node, a):
        s = self.sym(node.input[0])
        shape = a["shape"] if "shape" in a else self.const(node.input[1], "the target shape").tolist()
        # the batch size in a folded shape is only a placeholder: keep the real one
        target = self._resolve_shape(s.shape, shape, a.get("allowzero", 0))
        if s.perm[0] == 0:
            self._reshape_plain(node, node.input[0], target)
            return
        # lazy view: only merging consecutive axes that are consecutive in the engine tensor
        src = list(s.shape)
        groups, i = [], 0
        for d in target:
            g, prod = [], 1
            while i < len(src) and (prod < d or not g or (src[i] == 1 and prod == d and False)):
                g.append(i)
                prod *= src[i]
                i += 1
            if prod != d:
                self.problem(f"a reshape of a time-major tensor {tuple(src)} into {tuple(target)}")
            groups.append(g)
        while i < len(src) and src[i] == 1:
            groups[-1].append(i)
            i += 1
        new_split, new_perm = [], []
        order = []
        for g in groups:
            sp = [s.perm[k] for k in g]
            if sp != list(range(sp[0], sp[0] + len(sp))):
                self.problem(f"a reshape of a time-major tensor {tuple(src)} into {tuple(target)}")
            order.append(sp)
        # rebuild split in engine order
        by_start = sorted(range(len(order)), key=lambda k: order[k][0])
        pos = {}
        for new_axis, k in enumerate(by_start):
            pos[k] = new_axis
            new_split.append(int(np.prod([s.split[j] for j in order[k]])))
        new_perm = [pos[k] for k in range(len(order))]
        self.syms[node.output[0]] = Sym(s.node, s.eshape, new_split, new_perm)

    def op_Transpose(self, node, a):
        s = self.sym(node.input[0])
        perm = a.get("perm") or list(reversed(range(len(s.shape))))
        new_perm = [s.perm[p] for p in perm]
        self.syms[node.output[0]] = Sym(s.node, s.eshape, s.split, new_perm)

    def _axes(self, node, a, rank):
        if "axes" in a:
            axes = a["axes"]
        elif len(node.input) > 1 and node.input[1]:
            axes = self.const(node.input[1], "the axes").tolist()
        else:
            axes = None
        return None if axes is None else [int(v) % rank for v in axes]

    def op_Squeeze(self, node, a):
        s = self.sym(node.input[0])
        rank = len(s.shape)
        axes = self._axes(node, a, rank)
        if axes is None:  # every size-1 axis except the batch (whose size here may be a placeholder 1)
            axes = [i for i, d in enumerate(s.shape) if d == 1 and s.perm[i] != 0]
        if any(s.shape[i] != 1 for i in axes):
            self.problem(f"squeezing an axis that is not of size 1 in {s.shape}")
        if 0 in axes and s.perm[0] == 0:
            self.problem("squeezing the batch axis")
        drop = sorted(s.perm[i] for i in axes)
        keep_split = [j for j in range(len(s.split)) if j not in drop]
        remap = {j: k for k, j in enumerate(keep_split)}
        new_perm = [remap[p] for i, p in enumerate(s.perm) if i not in axes]
        self.syms[node.output[0]] = Sym(s.node, s.eshape, [s.split[j] for j in keep_split], new_perm)

    def op_Unsqueeze(self, node, a):
        s = self.sym(node.input[0])
        rank = len(s.shape)
        raw = a["axes"] if "axes" in a else self.const(node.input[1], "the axes").tolist()
        axes = [int(v) % (rank + len(raw)) for v in raw]
        split, perm = list(s.split), list(s.perm)
        for ax in sorted(axes):
            # put the new size-1 axis right after the split axis of the onnx axis before it (a lazy
            # view: a (1, batch, units) state in front of the batch is fine until a layer needs it)
            after = perm[ax - 1] + 1 if ax > 0 else 1
            split.insert(after, 1)
            perm = [p + 1 if p >= after else p for p in perm]
            perm.insert(ax, after)
        self.syms[node.output[0]] = Sym(s.node, s.eshape, split, perm)

    def op_Expand(self, node, a):
        s = self.sym(node.input[0])
        shape = tuple(int(v) for v in self.const(node.input[1], "the target shape"))
        try:
            out = np.broadcast_shapes(s.shape, shape)
        except ValueError:
            self.problem(f"expanding {s.shape} to {shape}")
        if tuple(out) != s.shape:
            self.problem(f"expanding a computed tensor {s.shape} to {shape}")
        self.syms[node.output[0]] = s

    def op_Cast(self, node, a):
        to = _np_dtype(a["to"])
        if not np.issubdtype(to, np.floating) and not np.issubdtype(to, np.integer):
            self.problem(f"a cast to {to}")
        self.syms[node.output[0]] = self.sym(node.input[0])

    def op_Greater(self, node, a):
        """x > 0 followed by a Cast to float: the step activation."""
        if not self.is_const(node.input[1]) or np.any(self.const(node.input[1]) != 0):
            self.problem("a comparison other than x > 0 (the step activation)")
        self.simple(node, "Activation", kind="step")

    def op_Pad(self, node, a):
        mode = a.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        if mode != "constant":
            self.problem(f"mode='{mode}' padding (the engine pads with zeros)")
        pads = a["pads"] if "pads" in a else self.const(node.input[1], "the pads").tolist()
        value = a.get("value", 0.0)
        if len(node.input) > 2 and node.input[2]:
            value = float(np.asarray(self.const(node.input[2], "the pad value")).reshape(-1)[0])
        if value != 0:
            self.problem(f"padding with the value {value} (the engine pads with zeros)")
        if len(node.input) > 3 and node.input[3]:
            self.problem("padding along selected axes")
        s = self.sym(node.input[0])
        if len(s.shape) != 4 or any(pads[i] for i in (0, 1, 4, 5)) or min(pads) < 0:
            self.problem(f"pads {pads} on a tensor of shape {s.shape} (only the height and width of (N, C, H, W))")
        self.simple(node, "ZeroPadding2D", padding=[int(pads[2]), int(pads[6]), int(pads[3]), int(pads[7])])

    def op_ReduceSum(self, node, a):
        """Summing the two directions of a bidirectional recurrent layer: its merge='sum' form."""
        s = self.sym(node.input[0])
        axes = a.get("axes")
        if axes is None and len(node.input) > 1 and node.input[1]:
            axes = self.const(node.input[1], "the axes").tolist()
        layer = self.net[s.node] if s.node in self.net else None
        if (layer is None or layer.type_name != "Bidirectional" or layer.merge != "concat" or axes is None
                or len(axes) != 1 or a.get("keepdims", 1) or self._bidir_uses.get(s.node) != 1):
            self.problem("a sum over axes (only the two directions of a bidirectional layer can be summed)")
        ax = int(axes[0]) % len(s.shape)
        dirs_axis = s.perm[ax]
        if s.split[dirs_axis] != 2 or dirs_axis != len(s.split) - 2:
            self.problem("a sum over axes (only the two directions of a bidirectional layer can be summed)")
        new = self.layer("Bidirectional", layer=layer.layer, merge="sum")
        self.net.replace_layer(s.node, new)
        split = [d for i, d in enumerate(s.split) if i != dirs_axis]
        perm = [p - (p > dirs_axis) for p in s.perm if p != dirs_axis]
        eshape = tuple(s.eshape[:-1]) + (s.eshape[-1] // 2,)
        self.syms[node.output[0]] = Sym(s.node, eshape, split, perm)

    def op_Shape(self, node, a):
        self.problem("the shape of a tensor whose shape is unknown")

    def op_Slice(self, node, a):
        """Constant slices of a computed tensor (e.g. the last step of a sequence): Take layers."""
        s = self.sym(node.input[0])
        if "starts" in a:
            starts, ends = list(a["starts"]), list(a["ends"])
            axes = list(a.get("axes", range(len(starts))))
            steps = [1] * len(starts)
        else:
            ins = list(node.input) + [""] * 5
            starts = self.const(ins[1], "the starts").tolist()
            ends = self.const(ins[2], "the ends").tolist()
            axes = self.const(ins[3], "the axes").tolist() if ins[3] else list(range(len(starts)))
            steps = self.const(ins[4], "the steps").tolist() if ins[4] else [1] * len(starts)
        cur = node.input[0]
        todo = []
        for st, en, ax, step in zip(starts, ends, axes, steps):
            ax = int(ax) % len(s.shape)
            idx = np.arange(s.shape[ax])[slice(int(st), int(en) if abs(int(en)) < 2 ** 62 else None, int(step))]
            if len(idx) == 0:
                self.problem("an empty slice")
            if len(idx) != s.shape[ax] or np.any(idx != np.arange(s.shape[ax])):
                todo.append((ax, idx))
        if not todo:
            self.syms[node.output[0]] = s
            return
        for i, (ax, idx) in enumerate(todo):
            out = node.output[0] if i == len(todo) - 1 else f"{node.output[0]}::slice{i}"
            self._take(out, cur, ax, idx.astype(np.int64), node.name or "slice")
            cur = out

    def op_ConstantOfShape(self, node, a):
        self.problem("a shape computed from the network input")

    def op_Constant(self, node, a):
        self.problem("a constant that could not be read")

    def op_Gather(self, node, a):
        data, idx = node.input[0], node.input[1]
        axis = int(a.get("axis", 0))
        if self.is_const(data) and not self.is_const(idx):
            table = self.const(data)
            if axis != 0 or table.ndim != 2:
                self.problem(f"a lookup in a constant table of shape {table.shape} along axis {axis} "
                             "(an Embedding needs a (vocabulary, dimension) table and axis 0)")
            x, shape = self.plain(idx)
            layer = self.layer("Embedding", input_dim=int(table.shape[0]), output_dim=int(table.shape[1]))
            name = self.add(layer, [x], node.name or "embedding")
            self.weights[name] = {self._embedding_key(layer, table): table}
            self.out_sym(node.output[0], name, tuple(shape) + (table.shape[1],))
            return
        if not self.is_const(idx):
            self.problem("indices computed from the network input")
        ind = self.const(idx).astype(np.int64)
        if ind.ndim > 1:
            self.problem("multi-dimensional constant indices")
        self._take(node.output[0], data, axis, ind, node.name or "take")

    def _take(self, out, data, axis, ind, base):
        """out = data picked at constant indices ``ind`` along ONNX axis ``axis`` (a Take layer)."""
        s = self.sym(data)
        ax = int(axis) % len(s.shape)
        sa = s.perm[ax]
        if sa == 0:
            self.problem("picking samples out of the batch")
        n = s.shape[ax]
        if np.any(ind >= n) or np.any(ind < -n):
            self.problem(f"indices {ind.tolist()} out of range for an axis of size {n}")
        src = s.node
        if s.split != s.eshape:  # a lazy view, e.g. h[-1] of a recurrent layer's (directions, batch, units)
            src = self.add(self.layer("Reshape", shape=list(s.split[1:])), [src], f"{src}_view")
        take = self.layer("Take", indices=ind.tolist(), axis=sa - 1)
        name = self.add(take, [src], base)
        eshape = (s.split[0],) + tuple(take.output_shape([s.split[1:]]))
        if ind.ndim == 0:
            perm = [p - (p > sa) for i, p in enumerate(s.perm) if i != ax]
        else:
            perm = list(s.perm)
        self.syms[out] = Sym(name, eshape, eshape, perm)

    def _embedding_key(self, layer, table):
        return "E" if "E" in getattr(layer, "regularized", ()) or layer.type_name == "Embedding" else "W"

    # -- convolution and pooling ----------------------------------------------------------------------
    def _pads(self, a, nd, what):
        """ONNX pads as (begin, end) lists (symmetric or not)."""
        if a.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID", b"NOTSET", b"VALID"):
            self.problem(f"auto_pad={a['auto_pad']!r} on {what}")
        pads = [int(v) for v in a.get("pads", [0] * (2 * nd))]
        return pads[:nd], pads[nd:]

    def _padding(self, type_name, cfg, begin, end, in_shape, zero_pad_ok):
        """The layer's padding setting for ONNX pads: a number, "same" when it pads alike, or
        ("zeropad", (t, b, l, r)) for a ZeroPadding2D in front (convolutions only)."""
        if begin == end:
            return begin if any(begin) else "valid"
        try:
            probe = LAYER_TYPES[type_name](**{**cfg, "padding": "same"})
            got = [int(v) for v in probe.pads(in_shape)]
        except Exception:  # noqa: BLE001
            got = None
        want = [begin[0], end[0]] if len(begin) == 1 else [begin[0], end[0], begin[1], end[1]]
        if got == want:
            return "same"
        if zero_pad_ok and len(begin) == 2 and min(begin + end) >= 0:
            return ("zeropad", want)
        self.problem(f"asymmetric padding {begin + end} (the layer pads every side alike)")

    def op_Conv(self, node, a):
        s = self.sym(node.input[0])
        W = self.const(node.input[1], "the filters W").astype(np.float64)
        nd = W.ndim - 2
        if nd not in (1, 2):
            self.problem(f"a {nd}-D convolution (the engine has 1-D and 2-D ones)")
        if int(a.get("group", 1)) != 1:
            self.problem(f"group={a['group']} (grouped or depthwise convolution)")
        ks = list(a.get("kernel_shape", W.shape[2:]))
        strides = list(a.get("strides", [1] * nd))
        dil = list(a.get("dilations", [1] * nd))
        begin, end = self._pads(a, nd, "Conv")
        use_bias = len(node.input) > 2 and node.input[2] != ""
        weights = {"W": W}
        if use_bias:
            weights["b"] = self.const(node.input[2], "the bias").astype(np.float64)
        x, shape = self.plain(node.input[0])
        if nd == 2:
            cfg = dict(filters=int(W.shape[0]), kernel_size=ks, stride=strides, dilation=dil, use_bias=use_bias)
            type_name = "Conv2D"
        else:
            cfg = dict(filters=int(W.shape[0]), kernel_size=ks[0], stride=strides[0], dilation=dil[0],
                       use_bias=use_bias)
            type_name = "Conv1D"
        padding = self._padding(type_name, cfg, begin, end, shape[1:], zero_pad_ok=(nd == 2))
        if isinstance(padding, tuple):
            zp = self.layer("ZeroPadding2D", padding=list(padding[1]))
            x = self.add(zp, [x], f"{node.name or 'conv'}_pad")
            shape = (shape[0],) + tuple(zp.output_shape([shape[1:]]))
            padding = "valid"
        elif isinstance(padding, list) and nd == 1:
            padding = padding[0]
        cfg["padding"] = padding
        layer = self.layer(type_name, **cfg)
        name = self.add(layer, [x], node.name or type_name.lower())
        self.weights[name] = weights
        try:
            out = layer.output_shape([shape[1:]])
        except Exception as exc:  # noqa: BLE001
            self.problem(str(exc))
        self.out_sym(node.output[0], name, (shape[0],) + tuple(out))

    def _pool(self, node, a, kind):
        s = self.sym(node.input[0])
        nd = len(s.shape) - 2
        if nd == 1:
            return self._pool1d(node, a, kind)
        if nd != 2:
            self.problem(f"{nd}-D pooling (the engine pools 2-D maps)")
        if a.get("ceil_mode", 0):
            self.problem("ceil_mode=1")
        if any(d != 1 for d in a.get("dilations", [1] * nd)):
            self.problem(f"dilations={a['dilations']}")
        if a.get("storage_order", 0):
            self.problem("storage_order=1")
        begin, end = self._pads(a, nd, node.op_type)
        if kind == "AvgPool2D" and any(begin + end) and a.get("count_include_pad", 0):
            self.problem("average pooling that counts the padding (the engine averages real pixels only)")
        cfg = dict(pool_size=list(a["kernel_shape"]), stride=list(a.get("strides", [1] * nd)))
        cfg["padding"] = self._padding(kind, cfg, begin, end, s.shape[1:], zero_pad_ok=False)
        self.simple(node, kind, **cfg)

    def _pool1d(self, node, a, kind):
        """A 1-D pool over (C, L) as a 2-D pool over (C, 1, L) between two Reshapes."""
        x, shape = self.plain(node.input[0])
        b, c, n = shape
        if a.get("ceil_mode", 0) or any(d != 1 for d in a.get("dilations", [1])) or a.get("storage_order", 0):
            self.problem("ceil_mode, dilations or storage_order on a 1-D pool")
        begin, end = self._pads(a, 1, node.op_type)
        if any(begin + end):
            self.problem(f"padding {begin + end} on a 1-D pool")
        base = node.name or kind.lower()
        r = self.add(self.layer("Reshape", shape=[c, 1, n]), [x], f"{base}_to2d")
        layer = self.layer(kind, pool_size=[1, int(a["kernel_shape"][0])],
                           stride=[1, int(a.get("strides", [1])[0])], padding="valid")
        p = self.add(layer, [r], base)
        out = layer.output_shape([(c, 1, n)])
        r2 = self.add(self.layer("Reshape", shape=[out[0], out[2]]), [p], f"{base}_to1d")
        self.out_sym(node.output[0], r2, (b, out[0], out[2]))

    def op_MaxPool(self, node, a):
        if len(node.output) > 1 and node.output[1] and self.consumers.get(node.output[1]):
            self.problem("the Indices output of MaxPool")
        self._pool(node, a, "MaxPool2D")

    def op_AveragePool(self, node, a):
        self._pool(node, a, "AvgPool2D")

    def op_GlobalAveragePool(self, node, a):
        s = self.sym(node.input[0])
        nd = len(s.shape) - 2
        kind = {2: "GlobalAveragePooling2D", 1: "GlobalAveragePooling1D"}.get(nd)
        if kind is None:
            self.problem(f"global pooling of a {nd}-D map")
        x, shape = self.plain(node.input[0])
        name = self.add(self.layer(kind), [x], node.name or "global_pool")
        c = shape[1]
        # the engine's global pooling gives (C,); ONNX keeps (C, 1, 1): a lazy view, no layer
        self.syms[node.output[0]] = Sym(name, (shape[0], c), (shape[0], c) + (1,) * nd)

    def op_BatchNormalization(self, node, a):
        if len([o for o in node.output if o]) > 1 and any(self.consumers.get(o) for o in node.output[1:] if o):
            self.problem("training-mode outputs (running mean/var) are used")
        if a.get("training_mode", 0):
            self.problem("training_mode=1")
        s = self.sym(node.input[0])
        gamma, beta, mean, var = (self.const(node.input[i], n).astype(np.float64)
                                  for i, n in ((1, "scale"), (2, "bias"), (3, "mean"), (4, "var")))
        eps = float(a.get("epsilon", 1e-5))
        cls = LAYER_TYPES.get("BatchNorm") or LAYER_TYPES.get("BatchNormalization")
        if cls is None:
            self.problem("the engine has no BatchNorm layer")
        name = self._batchnorm_layer(node, cls, s, gamma, beta, mean, var, eps)
        self.out_sym(node.output[0], name, s.shape)

    def _batchnorm_layer(self, node, cls, s, gamma, beta, mean, var, eps):
        import inspect

        params = inspect.signature(cls.__init__).parameters
        cfg = {}
        for k in ("eps", "epsilon"):
            if k in params:
                cfg[k] = eps
        try:
            layer = cls(**cfg)
        except (TypeError, ValueError) as exc:
            self.problem(f"BatchNorm: {exc}")
        x, shape = self.plain(node.input[0])
        try:
            layer.output_shape([shape[1:]])
        except Exception as exc:  # noqa: BLE001
            self.problem(str(exc))
        name = self.add(layer, [x], node.name or "batchnorm")
        self.weights[name] = {"gamma": gamma, "beta": beta}
        self.buffers[name] = {"running_mean": mean, "running_var": var}
        return name

    # -- recurrent ---------------------------------------------------------------------------------
    def _recurrent(self, node, a, kind):
        gates = {"RNN": 1, "GRU": 3, "LSTM": 4}[kind]
        H = int(a["hidden_size"])
        direction = a.get("direction", b"forward")
        direction = direction.decode() if isinstance(direction, bytes) else direction
        acts = [v.decode() if isinstance(v, bytes) else v for v in a.get("activations", [])]
        default_acts = {"RNN": ["Tanh"], "GRU": ["Sigmoid", "Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"]}[kind]
        dirs = 2 if direction == "bidirectional" else 1
        if acts and [x.lower() for x in acts] != [x.lower() for x in default_acts * dirs]:
            self.problem(f"activations {acts} (the engine's {kind} uses {default_acts})")
        if a.get("clip") is not None:
            self.problem("clip")
        if a.get("input_forget", 0):
            self.problem("input_forget=1")
        layout = int(a.get("layout", 0))
        ins = list(node.input) + [""] * 8
        if ins[4] and not self.is_const(ins[4]):
            self.problem("sequence_lens computed from the input")
        learned = {}
        fed = []  # initial states computed by the network: extra inputs of the engine layer
        for k, what in ((5, "initial_h"), (6, "initial_c")):
            if ins[k] and not self.is_const(ins[k]):
                st = self.sym(ins[k])
                if dirs != 1 or len(st.shape) != 3 or st.shape[0] != 1 or st.shape[2] != H:
                    self.problem(f"a computed {what} of shape {st.shape} (a fed state must be (1, batch, {H}))")
                tmp = f"{ins[k]}::state"
                self.syms[tmp] = Sym(st.node, st.eshape, [d for i, d in enumerate(st.split) if i != st.perm[0]],
                                     [p - (p > st.perm[0]) for p in st.perm[1:]])
                fed.append(self.plain(tmp)[0])
        if fed and (len(fed) != (2 if kind == "LSTM" else 1) or ins[5] == "" or self.is_const(ins[5])):
            self.problem("an LSTM fed only one of its initial states (a<0> and c<0> go together)")
        for k, what, key in ((5, "initial_h", "a0"), (6, "initial_c", "c0")):
            if ins[k] and self.is_const(ins[k]):
                h0 = np.asarray(self.consts[ins[k]], dtype=np.float64)
                if h0.ndim != 3 or h0.shape[0] != dirs or h0.shape[2] != H:
                    self.problem(f"{what} of shape {h0.shape}")
                if np.any(h0 != 0):
                    if np.any(h0 != h0[:, :1, :]):
                        self.problem(f"a {what} that differs from sample to sample")
                    learned[key] = h0[:, 0, :]
        if kind == "LSTM" and ins[7]:
            self.problem("peephole weights P")
        W = self.const(ins[1], "W").astype(np.float64)
        R = self.const(ins[2], "R").astype(np.float64)
        B = self.const(ins[3], "B").astype(np.float64) if ins[3] else np.zeros((dirs, 2 * gates * H))
        s = self.sym(ins[0])
        if layout == 0:
            if len(s.shape) != 3 or s.perm[0] != 1:
                self.problem(f"a sequence of shape {s.shape} whose axis 0 would be time and axis 1 batch; "
                             "the engine's recurrent layers are batch-first")
            # view to batch-first
            swapped = Sym(s.node, s.eshape, s.split, [s.perm[1], s.perm[0], s.perm[2]])
            tmp = f"{node.output[0] or node.name}::batch_first"
            self.syms[tmp] = swapped
            x, shape = self.plain(tmp)
        else:
            x, shape = self.plain(ins[0])
        b, T, F = shape
        if ins[4] and np.any(np.asarray(self.consts[ins[4]]) != T):
            self.problem("sequence_lens shorter than the sequence (padded sequences)")
        init_kw = {"initial_state": "learned"} if learned else {}
        if learned and kind == "LSTM":
            learned.setdefault("a0", np.zeros((dirs, H)))
            learned.setdefault("c0", np.zeros((dirs, H)))
        y_used = bool(node.output[0]) and self.consumers.get(node.output[0], 0) > 0
        outs = list(node.output) + ["", ""]
        yh_used = bool(outs[1]) and self.consumers.get(outs[1], 0) > 0
        if kind == "LSTM" and outs[2] and self.consumers.get(outs[2], 0):
            self.problem("the last cell state Y_c is used")
        if y_used and yh_used and dirs == 2:
            self.problem("both Y and Y_h of a bidirectional layer are used")
        reset_after = kind == "GRU" and bool(a.get("linear_before_reset", 0))
        # PyTorch's and Keras' GRU (linear_before_reset=1) is the engine's ResetAfterGRU
        type_name = {"RNN": "SimpleRNN", "GRU": "ResetAfterGRU" if reset_after else "GRU", "LSTM": "LSTM"}[kind]
        return_seq = y_used

        def weights_for(d):
            Wd, Rd, Bd = W[d], R[d], B[d]
            Wb, Rb = Bd[:gates * H], Bd[gates * H:]
            Wt = np.empty((H + F, gates * H))
            bt = np.empty(gates * H)
            order = range(gates)
            for k in order:
                blk = slice(k * H, (k + 1) * H)
                Wt[:H, blk] = Rd[blk].T
                Wt[H:, blk] = Wd[blk].T
                bt[blk] = Wb[blk] + (Rb[blk] if not (reset_after and k == 2) else 0.0)
            if kind == "GRU":  # ONNX z (keeps the old state) = 1 - the engine's update gate
                Wt[:, :H] *= -1
                bt[:H] *= -1
            out = {"W": Wt, "b": bt}
            if reset_after:
                out["bh"] = Rb[2 * H:3 * H].copy()
            for key, v in learned.items():
                out[key] = v[d]
            return out

        if direction not in ("forward", "reverse", "bidirectional"):
            self.problem(f"direction={direction}")
        if dirs == 1:
            layer = self.layer(type_name, units=H, return_sequences=return_seq,
                               go_backwards=(direction == "reverse"), **init_kw)
            name = self.add(layer, [x] + fed, node.name or type_name.lower())
            self.weights[name] = weights_for(0)
        else:
            inner = self.layer(type_name, units=H, return_sequences=return_seq, **init_kw)
            layer = self.layer("Bidirectional", layer=inner)
            name = self.add(layer, [x], node.name or "bidirectional")
            self._bidir_uses[name] = self.consumers.get(node.output[0] if return_seq else outs[1], 0)
            fw, bw = weights_for(0), weights_for(1)
            keys = self._bidir_keys(layer)
            self.weights[name] = {**{keys[0] + k: v for k, v in fw.items()},
                                  **{keys[1] + k: v for k, v in bw.items()}}
        if return_seq:
            # engine (b, T, dirs*H) seen as ONNX Y (T, dirs, b, H)
            self.syms[node.output[0]] = Sym(name, (b, T, dirs * H), (b, T, dirs, H), (1, 2, 0, 3))
            if yh_used:  # dirs == 1: Y_h is the last step of Y
                take = self.add(self.layer("Take", indices=T - 1, axis=0), [name], f"{name}_last")
                self.syms[outs[1]] = Sym(take, (b, H), (b, 1, H), (1, 0, 2))
        elif yh_used:
            self.syms[outs[1]] = Sym(name, (b, dirs * H), (b, dirs, H), (1, 0, 2))

    def _bidir_keys(self, layer):
        subs = layer.sublayers() if hasattr(layer, "sublayers") else {}
        names = list(subs)
        if len(names) >= 2:
            return names[0] + "/", names[1] + "/"
        return "forward/", "backward/"

    def op_RNN(self, node, a):
        self._recurrent(node, a, "RNN")

    def op_GRU(self, node, a):
        self._recurrent(node, a, "GRU")

    def op_LSTM(self, node, a):
        self._recurrent(node, a, "LSTM")


def network_from_onnx(model, batch=None, composites=True):
    """Turn an in-memory onnx.ModelProto into a built Network with its weights.

    composites : fold the sub-graphs our exporter wrote for composite layers (residual and Inception
        blocks, the attention decoder) back into one layer each; False imports their plain operators.
    """
    net = _Importer(model, batch=batch, composites=composites).run()
    from onnx import TensorProto

    inits = {i.name for i in model.graph.initializer}
    types = {i.type.tensor_type.elem_type for i in model.graph.input if i.name not in inits}
    if types == {TensorProto.DOUBLE}:
        net.astype(np.float64)
    return net


def import_onnx(path, composites=True, model=None):
    """Read an .onnx file and return a built :class:`~engine.graph.Network` with its weights.

    model : the ``onnx.ModelProto`` of ``path`` when the caller has already read it with
        ``check.load_onnx_file`` (the file is then not read again; ``path`` only names it in messages).
    A truncated or corrupted file raises DocumentError; unsupported operators or attributes raise
    one :class:`UnsupportedOnnxError` (a ConfigError) listing all of them.
    """
    from .check import load_onnx_file

    if model is None:
        model = load_onnx_file(path)
    try:
        return network_from_onnx(model, composites=composites)
    except UnsupportedOnnxError as exc:
        raise UnsupportedOnnxError(exc.missing, path=str(path)) from None
    except EngineError:
        raise
    except (KeyError, ValueError, TypeError, IndexError, AttributeError, ArithmeticError) as exc:
        # a structure this importer did not foresee: still one readable message, never a traceback
        raise UnsupportedOnnxError([f"an unexpected model structure ({type(exc).__name__}: {exc})"],
                                   path=str(path)) from None
