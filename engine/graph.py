"""Network: a directed acyclic graph of named layers.

A network has one or more ``Input`` nodes and one or more outputs (multitask heads). Every other
node is a layer that reads the outputs of the nodes named in its ``inputs`` list, in order.

    >>> from engine.layers import Input, Dense, Activation
    >>> net = Network()
    >>> x = net.add(Input(shape=(2,)))
    >>> h = net.add(Dense(units=8), [x])
    >>> y = net.add(Activation("tanh"), [h])
    >>> net.infer_shapes()[y]
    (8,)

Shapes are per sample (no batch axis). ``forward`` takes arrays whose first axis is the batch.
"""

import re

import numpy as np

from .errors import ConfigError, GraphError, ShapeError
from .layers.base import Layer, layer_from_config


class Node:
    """One node of the graph: a layer and the names of the nodes that feed it."""

    __slots__ = ("name", "layer", "inputs", "meta")

    def __init__(self, name, layer, inputs, meta=None):
        self.name = name
        self.layer = layer
        self.inputs = list(inputs)
        self.meta = dict(meta or {})

    def __repr__(self):
        return f"Node({self.name!r}, {self.layer.type_name}, inputs={self.inputs})"


class Parameter:
    """A view of one parameter array of one layer, for optimizers.

    ``value`` and ``grad`` always read the layer's current arrays; optimizers update ``value`` in
    place.
    """

    __slots__ = ("node", "layer", "key")

    def __init__(self, node, layer, key):
        self.node = node
        self.layer = layer
        self.key = key

    @property
    def name(self):
        return f"{self.node}/{self.key}"

    @property
    def value(self):
        return self.layer.params[self.key]

    @property
    def grad(self):
        return self.layer.grads[self.key]

    @property
    def trainable(self):
        return self.layer.trainable

    @property
    def regularized(self):
        return self.key in self.layer.regularized

    def __repr__(self):
        return f"Parameter({self.name}, shape={self.value.shape})"


def _snake(name):
    """Node-name stem of a layer type: Conv2D -> conv2d, ResetAfterGRU -> reset_after_gru."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


class Network:
    """A DAG of layers with shape inference, forward and backward passes."""

    def __init__(self, name="network"):
        self.name = name
        self.nodes = {}  # insertion-ordered: name -> Node
        self._outputs = None  # None: every node no one reads
        self.dtype = np.float32
        self._order = None
        #: the layers the last training forward ran at each other's places ({node: layer}), for
        #: backward to run them in the same order (see ``_swaps``)
        self._backward_swaps = {}

    # -- editing -------------------------------------------------------------------------------
    def unique_name(self, base):
        base = _snake(base)
        i = 1
        while f"{base}_{i}" in self.nodes:
            i += 1
        return f"{base}_{i}"

    def add(self, layer, inputs=(), name=None, meta=None):
        """Add ``layer`` reading from the nodes named in ``inputs``; return the node's name."""
        if not isinstance(layer, Layer):
            raise ConfigError(f"not a layer: {layer!r}")
        if isinstance(inputs, str):
            inputs = [inputs]
        name = name or layer.name or self.unique_name(layer.type_name)
        if name in self.nodes:
            raise GraphError(f"a node named '{name}' already exists", name)
        for src in inputs:
            if src not in self.nodes:
                raise GraphError(f"node '{name}' reads from '{src}', which does not exist", name)
        layer.name = name
        self.nodes[name] = Node(name, layer, inputs, meta)
        self._changed()
        return name

    def remove(self, name):
        """Remove a node and every link to or from it."""
        self._node(name)
        del self.nodes[name]
        for node in self.nodes.values():
            node.inputs = [s for s in node.inputs if s != name]
        if self._outputs is not None:
            self._outputs = [o for o in self._outputs if o != name]
        self._changed()

    def connect(self, src, dst, index=None):
        """Feed ``src``'s output into ``dst`` (appended, or inserted at ``index``)."""
        self._node(src)
        node = self._node(dst)
        if index is None:
            node.inputs.append(src)
        else:
            node.inputs.insert(index, src)
        self._changed()

    def creates_cycle(self, src, dst):
        """True when linking ``src`` -> ``dst`` would close a loop (``src`` already depends on
        ``dst``, or they are the same node): the canvas refuses such a link."""
        self._node(src)
        self._node(dst)
        stack, seen = [src], set()
        while stack:
            n = stack.pop()
            if n == dst:
                return True
            if n in seen:
                continue
            seen.add(n)
            stack.extend(self.nodes[n].inputs)
        return False

    def disconnect(self, src, dst):
        node = self._node(dst)
        if src not in node.inputs:
            raise GraphError(f"'{src}' does not feed '{dst}'", dst)
        node.inputs.remove(src)
        self._changed()

    def rename(self, old, new):
        if new in self.nodes:
            raise GraphError(f"a node named '{new}' already exists", new)
        node = self._node(old)
        self.nodes = {(new if k == old else k): v for k, v in self.nodes.items()}
        node.name = new
        node.layer.name = new
        for n in self.nodes.values():
            n.inputs = [new if s == old else s for s in n.inputs]
        if self._outputs is not None:
            self._outputs = [new if o == old else o for o in self._outputs]
        self._changed()

    def replace_layer(self, name, layer):
        """Swap a node's layer for another (an edited copy); it is rebuilt on the next build."""
        node = self._node(name)
        layer.name = name
        node.layer = layer
        self._changed()

    def _node(self, name):
        try:
            return self.nodes[name]
        except KeyError:
            raise GraphError(f"there is no node named '{name}'", name) from None

    def _changed(self):
        self._order = None

    def __len__(self):
        return len(self.nodes)

    def __contains__(self, name):
        return name in self.nodes

    def __getitem__(self, name):
        return self._node(name).layer

    @property
    def layers(self):
        return [n.layer for n in self.nodes.values()]

    # -- structure -----------------------------------------------------------------------------
    @property
    def inputs(self):
        """Names of the Input nodes, in insertion order."""
        return [n.name for n in self.nodes.values() if n.layer.type_name == "Input"]

    @property
    def outputs(self):
        """Names of the output nodes: those set explicitly, else every node no one reads."""
        if self._outputs is not None:
            return list(self._outputs)
        read = {s for n in self.nodes.values() for s in n.inputs}
        return [n for n in self.nodes if n not in read and self.nodes[n].layer.type_name != "Input"]

    @outputs.setter
    def outputs(self, names):
        if not names:  # None or empty: every node no one reads
            self._outputs = None
        else:
            for n in names:
                self._node(n)
            self._outputs = list(names)
        self._changed()

    def consumers(self, name):
        return [n.name for n in self.nodes.values() if name in n.inputs]

    def topological_order(self):
        """Node names so that every node comes after the nodes it reads (Kahn's algorithm).

        Raises GraphError naming a node on a cycle.
        """
        if self._order is not None:
            return list(self._order)
        indeg = {name: len(node.inputs) for name, node in self.nodes.items()}
        readers = {name: [] for name in self.nodes}
        for name, node in self.nodes.items():
            for src in node.inputs:
                if src not in self.nodes:
                    raise GraphError(f"node '{name}' reads from '{src}', which does not exist", name)
                readers[src].append(name)
        ready = [n for n, d in indeg.items() if d == 0]
        order = []
        while ready:
            n = ready.pop(0)
            order.append(n)
            for r in readers[n]:
                indeg[r] -= 1
                if indeg[r] == 0:
                    ready.append(r)
        if len(order) != len(self.nodes):
            stuck = [n for n in self.nodes if indeg[n] > 0]
            raise GraphError(
                f"the graph has a cycle through {', '.join(repr(s) for s in stuck[:4])}: "
                "a network must flow one way from inputs to outputs",
                stuck[0],
            )
        self._order = order
        return list(order)

    # -- shapes --------------------------------------------------------------------------------
    def infer_shapes(self, strict=True):
        """Per-sample output shape of every node, computed with no data.

        strict=True raises the first ShapeError/GraphError (its ``node`` names the culprit).
        strict=False returns ``(shapes, errors)``: errors maps node -> message, and nodes
        downstream of an error are left out of ``shapes`` (the canvas shows all errors at once).
        """
        order = self.topological_order() if strict else self._order_or_none()
        shapes, errors = {}, {}
        if order is None:
            try:
                self.topological_order()
            except GraphError as exc:
                return shapes, {exc.node: str(exc)}
        for name in order:
            node = self.nodes[name]
            layer = node.layer
            if any(s not in shapes for s in node.inputs):
                continue  # upstream error (non-strict only)
            try:
                if layer.type_name != "Input" and not node.inputs:
                    raise ShapeError(f"{layer.label} has no input: connect something to it", name)
                out = layer.output_shape([shapes[s] for s in node.inputs])
                shapes[name] = tuple(int(d) for d in out)
            except ShapeError as exc:
                exc.node = name
                if strict:
                    raise
                errors[name] = str(exc)
        return (shapes, errors) if not strict else shapes

    def _order_or_none(self):
        try:
            return self.topological_order()
        except GraphError:
            return None

    # -- parameters ----------------------------------------------------------------------------
    def build(self, seed=0, dtype=None, rng=None, rebuild=False):
        """Create every layer's parameters from the inferred shapes.

        Layers already built for the same input shapes keep their weights unless ``rebuild``.
        """
        if dtype is not None:
            self.dtype = np.dtype(dtype).type
        rng = rng if rng is not None else np.random.default_rng(seed)
        shapes = self.infer_shapes()
        for name in self.topological_order():
            node = self.nodes[name]
            in_shapes = [shapes[s] for s in node.inputs] if node.inputs else [shapes[name]]
            layer = node.layer
            layer.init_hint = self.auto_initializer(name)
            if rebuild or not layer.built or layer.input_shapes != [tuple(s) for s in in_shapes]:
                layer.build(in_shapes, rng=rng, dtype=self.dtype)
                layer.input_shapes = [tuple(s) for s in in_shapes]
                layer.built = True
                layer.zero_grads()
            elif any(p.dtype != self.dtype for p in layer.params.values()):
                layer.astype(self.dtype)  # same weights in the asked precision
                layer.zero_grads()
        return self

    #: activations after which "auto" initializers choose He (variance 2/n); Xavier otherwise.
    HE_ACTIVATIONS = ("relu", "leaky_relu", "elu")
    #: layers "auto" looks through on the way to the activation (they keep the shape and meaning).
    _TRANSPARENT = ("BatchNorm", "Dropout")

    def auto_initializer(self, name):
        """What ``initializer="auto"`` means for node ``name``: "he" or "xavier".

        Follows the node's single consumer (looking through BatchNorm and Dropout): He when it is
        an Activation of the ReLU family, Xavier (variance 1/n, for tanh/sigmoid/linear/softmax)
        otherwise, including when the node feeds several others.
        """
        seen = set()
        current = name
        while current not in seen:
            seen.add(current)
            readers = self.consumers(current)
            if len(readers) != 1:
                return "xavier"
            layer = self.nodes[readers[0]].layer
            if layer.type_name == "Activation":
                return "he" if getattr(layer, "kind", None) in self.HE_ACTIVATIONS else "xavier"
            if layer.type_name not in self._TRANSPARENT:
                return "xavier"
            current = readers[0]
        return "xavier"

    @property
    def built(self):
        return all(n.layer.built for n in self.nodes.values())

    def parameters(self, trainable_only=False):
        """Every parameter as a :class:`Parameter`, in topological order."""
        out = []
        for name in self.topological_order():
            layer = self.nodes[name].layer
            if trainable_only and not layer.trainable:
                continue
            for key in layer.params:
                out.append(Parameter(name, layer, key))
        return out

    def param_count(self):
        return int(sum(p.value.size for p in self.parameters()))

    def get_weights(self):
        """Every parameter and buffer as ``{"node/key": array}`` (copies)."""
        out = {}
        for name, node in self.nodes.items():
            for k, v in node.layer.params.items():
                out[f"{name}/{k}"] = np.array(v, copy=True)
            for k, v in node.layer.buffers().items():
                out[f"{name}/{k}"] = np.array(v, copy=True)
        return out

    def set_weights(self, weights, strict=True):
        """Load weights saved by :meth:`get_weights` into the built network, in place."""
        missing = []
        for name, node in self.nodes.items():
            layer = node.layer
            for k, v in layer.params.items():
                key = f"{name}/{k}"
                if key in weights:
                    w = np.asarray(weights[key])
                    if w.shape != v.shape:
                        raise ShapeError(
                            f"weights for {key} have shape {w.shape}, the layer needs {v.shape}", name
                        )
                    v[...] = w
                else:
                    missing.append(key)
            for k, v in layer.buffers().items():
                key = f"{name}/{k}"
                if key in weights:
                    w = np.asarray(weights[key])
                    if w.shape != v.shape:
                        raise ShapeError(
                            f"saved {key} has shape {w.shape}, the layer needs {v.shape}", name
                        )
                    v[...] = w
        if strict and missing:
            raise ConfigError(f"no saved weights for {', '.join(missing[:5])}")

    def copy(self, dtype=None):
        """A deep copy (config + weights + buffers), built like this one, optionally in ``dtype``."""
        import copy as _copy

        net = type(self)(name=self.name)
        for name, node in self.nodes.items():
            layer = type(node.layer).from_config(_copy.deepcopy(node.layer.get_config()))
            layer.name = name
            layer.trainable = node.layer.trainable
            net.nodes[name] = Node(name, layer, node.inputs, _copy.deepcopy(node.meta))
        net._outputs = None if self._outputs is None else list(self._outputs)
        net._changed()
        if self.built:
            net.build(dtype=dtype or self.dtype)
            net.set_weights(self.get_weights(), strict=False)
        elif dtype is not None:
            net.dtype = np.dtype(dtype).type
        return net

    def astype(self, dtype):
        """Cast every layer to ``dtype`` (float64 for gradient checks)."""
        self.dtype = np.dtype(dtype).type
        for node in self.nodes.values():
            node.layer.astype(self.dtype)
        return self

    # -- computation ---------------------------------------------------------------------------
    def _feed(self, x):
        names = self.inputs
        if isinstance(x, dict):
            missing = [n for n in names if n not in x]
            if missing:
                raise GraphError(f"no data for input {', '.join(missing)}", missing[0])
            return x
        if isinstance(x, (list, tuple)) and len(names) > 1:
            return dict(zip(names, x))
        if len(names) != 1:
            raise GraphError(f"the network has {len(names)} inputs: pass a dict of arrays")
        return {names[0]: x}

    def forward(self, x, training=False):
        """Run the network on a batch.

        x : ndarray of shape (batch, *input_shape), or a dict input name -> array.
        Returns the output array, or a dict output name -> array when there are several outputs.
        With ``training=True`` the layers cache what ``backward`` needs; an inference forward
        (``training=False``) leaves every cache alone, so it may run between a training forward
        and its backward. To see the outputs of inner nodes use ``forward_with_activations``.
        """
        return self._run(x, training, None)[0]

    def forward_with_activations(self, x, keep=True, training=False):
        """Run the network and also return the outputs of inner nodes, for this call only.

        x : ndarray of shape (batch, *input_shape), or a dict input name -> array.
        keep : True for every node that runs, or a collection of node names.
        Returns ``(output, activations)``: the output as ``forward`` returns it and a new dict
        node name -> ndarray of shape (batch, *node_output_shape) (references to the arrays the
        layers produced: read them, do not write into them). Nothing is stored on the network,
        so an inspection from another thread never replaces what a training run looks at.
        """
        return self._run(x, training, keep if keep is True else set(keep or ()))

    def _run(self, x, training, keep):
        if not self.built:
            self.build()
        feed = self._feed(x)
        values = {}
        outputs = self.outputs
        if not outputs:
            raise GraphError("the network has no output: add a layer after the input")
        order = self._needed_order(outputs)
        # Free intermediate values as soon as their last reader has run.
        last_use = {}
        for i, name in enumerate(order):
            for src in self.nodes[name].inputs:
                last_use[src] = i
        kept = {}
        pairs = self._swaps(order, outputs, keep)
        swapped = {}
        for i, name in enumerate(order):
            node = self.nodes[name]
            layer = swapped.get(name, node.layer)
            partner = pairs.get(name)
            if partner is not None and layer.commutes_with_max:
                pool = self.nodes[partner].layer
                if pool.max_pools(np.shape(values[node.inputs[0]])[1:]):
                    # the max pool runs on this activation's input, the activation after it
                    swapped[partner] = layer
                    layer = pool
            if not node.inputs:
                if name not in feed:
                    raise GraphError(f"node '{name}' has no input", name)
                arr = np.asarray(feed[name])
                if arr.dtype != self.dtype:
                    arr = arr.astype(self.dtype)
                values[name] = layer.forward(arr, training=training)
            else:
                values[name] = layer.forward(*[values[s] for s in node.inputs], training=training)
            if keep is True or (keep and name in keep):
                kept[name] = values[name]
            for src in node.inputs:
                if last_use.get(src) == i and src not in outputs:
                    values.pop(src, None)
        if training:
            swaps = {}
            for a, p in pairs.items():
                if p in swapped:
                    swaps[a], swaps[p] = self.nodes[p].layer, self.nodes[a].layer
            self._backward_swaps = swaps
        if len(outputs) == 1:
            return values[outputs[0]], kept
        return {o: values[o] for o in outputs}, kept

    def _swaps(self, order, outputs, keep):
        """{activation node: max-pool node} pairs a forward may run pool first.

        A ReLU followed by a max pool gives the same output either way round,
        max(g(x)) = g(max(x)) for a g that never decreases, and the same gradients: the pool sends
        each window's gradient to its first maximum, which is the same element before and after g
        wherever g'(x) is not zero (where g is flat, the gradient is zero both ways). (Not a leaky
        ReLU: alpha * x can round two inputs to one value, a tie after g that is not one before
        it; see Activation.commutes_with_max.) Pooling first
        applies g to a map a quarter of the size (2x2 pools), so LeNet-5's ReLUs cost a quarter.
        Pairs qualify when the activation's only reader is the pool, the pool reads nothing else,
        and neither the activation's value is asked for (an output or kept) nor the pool pads (the
        pool's ``max_pools`` is checked on the real input in ``_run``).
        """
        if keep is True:
            return {}
        readers = {}
        for name in order:
            for src in self.nodes[name].inputs:
                readers.setdefault(src, []).append(name)
        pairs = {}
        for name in order:
            node = self.nodes[name]
            if not node.layer.commutes_with_max or len(node.inputs) != 1 or name in outputs:
                continue
            if keep and name in keep:
                continue
            after = readers.get(name, ())
            if len(after) == 1 and self.nodes[after[0]].inputs == [name]:
                pairs[name] = after[0]
        return pairs

    def _needed_order(self, outputs):
        """Topological order restricted to the nodes the outputs depend on (unused nodes skipped)."""
        needed = set()
        stack = list(outputs)
        while stack:
            n = stack.pop()
            if n in needed:
                continue
            needed.add(n)
            stack.extend(self.nodes[n].inputs)
        return [n for n in self.topological_order() if n in needed]

    def predict(self, x, batch_size=512):
        """Inference in batches (no caches kept)."""
        names = self.inputs
        feed = self._feed(x)
        n = len(next(iter(feed.values())))
        parts = []
        for start in range(0, max(n, 1), batch_size):
            chunk = {k: v[start:start + batch_size] for k, v in feed.items()}
            parts.append(self.forward(chunk if len(names) > 1 else chunk[names[0]]))
        if isinstance(parts[0], dict):
            return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        return np.concatenate(parts)

    def backward(self, dy, input_grads=True):
        """Backpropagate from the outputs after a ``forward(training=True)``.

        dy : gradient of the cost with respect to the output (a dict for several outputs).
        input_grads : False when the caller does not need the gradient with respect to the
            network's input (training): layers reading only Input nodes may then skip computing it,
            and None is returned.
        Fills every layer's ``grads`` and returns the gradient with respect to the input (a dict
        for several inputs). Where a node feeds several others, their gradients are summed.
        """
        outputs = self.outputs
        if not isinstance(dy, dict):
            if len(outputs) != 1:
                raise GraphError("the network has several outputs: pass a dict of gradients")
            dy = {outputs[0]: dy}
        grads = {k: v for k, v in dy.items()}
        found = {}
        order = self.topological_order()
        if not input_grads:
            # does anything upstream of a node have parameters (so its gradient is needed)?
            upstream = {}
            for name in order:
                node = self.nodes[name]
                upstream[name] = bool(node.layer.params) or any(upstream[s] for s in node.inputs)
        swaps = self._backward_swaps  # pairs the training forward ran pool first (see _swaps)
        for name in reversed(order):
            g = grads.pop(name, None)
            node = self.nodes[name]
            if g is None:
                if node.layer.params:
                    node.layer.zero_grads()
                continue
            if not node.inputs:
                found[name] = g
                continue
            layer = swaps.get(name, node.layer)
            if input_grads:
                dx = layer.backward(g)
            else:
                layer.need_input_grad = any(upstream[src] for src in node.inputs)
                try:
                    dx = layer.backward(g)
                finally:
                    layer.need_input_grad = True
            if len(node.inputs) == 1 and not isinstance(dx, (tuple, list)):
                dx = (dx,)
            for src, d in zip(node.inputs, dx):
                if d is None:
                    continue
                if src in grads:
                    grads[src] = grads[src] + d
                else:
                    grads[src] = d
        if not input_grads:
            return None
        names = self.inputs
        if len(names) == 1:
            return found.get(names[0])
        return found

    # -- documents -----------------------------------------------------------------------------
    def get_config(self):
        """The graph as a JSON-safe dict (no weights)."""
        nodes = []
        for name, node in self.nodes.items():
            cfg = node.layer.get_config()
            cfg.pop("name", None)
            entry = {"name": name, "type": node.layer.type_name, "config": cfg, "inputs": node.inputs}
            if node.meta:
                entry["meta"] = node.meta
            nodes.append(entry)
        out = {"name": self.name, "nodes": nodes}
        if self._outputs is not None:
            out["outputs"] = list(self._outputs)
        return out

    @classmethod
    def from_config(cls, config):
        """Rebuild a network from :meth:`get_config` output, with clear errors for bad input."""
        if not isinstance(config, dict):
            raise ConfigError("a graph must be an object with a 'nodes' list")
        nodes = config.get("nodes")
        if not isinstance(nodes, list):
            raise ConfigError("a graph must have a 'nodes' list")
        net = cls(name=str(config.get("name", "network")))
        for i, entry in enumerate(nodes):
            if not isinstance(entry, dict):
                raise ConfigError(f"node #{i + 1} must be an object")
            name = entry.get("name")
            type_name = entry.get("type")
            if not isinstance(name, str) or not name:
                raise ConfigError(f"node #{i + 1} has no name")
            if not isinstance(type_name, str):
                raise ConfigError(f"node '{name}' has no layer type")
            if name in net.nodes:
                raise ConfigError(f"two nodes are named '{name}'")
            cfg = entry.get("config", {})
            if not isinstance(cfg, dict):
                raise ConfigError(f"node '{name}': config must be an object")
            cfg = dict(cfg)
            cfg["name"] = name
            layer = layer_from_config(type_name, cfg)
            inputs = entry.get("inputs", [])
            if not isinstance(inputs, list) or not all(isinstance(s, str) for s in inputs):
                raise ConfigError(f"node '{name}': inputs must be a list of node names")
            meta = entry.get("meta", {})
            net.nodes[name] = Node(name, layer, inputs, meta if isinstance(meta, dict) else {})
        for node in net.nodes.values():
            for src in node.inputs:
                if src not in net.nodes:
                    raise GraphError(f"node '{node.name}' reads from '{src}', which does not exist", node.name)
        outs = config.get("outputs")
        if outs is not None:
            if not isinstance(outs, list) or not all(isinstance(o, str) and o in net.nodes for o in outs):
                raise ConfigError("'outputs' must list existing node names")
            net._outputs = list(outs) or None
        net._changed()
        return net

    # -- summaries -----------------------------------------------------------------------------
    def summary_rows(self):
        """One row per node: name, type, output shape (or None), params, inputs, error, notes."""
        shapes, errors = self.infer_shapes(strict=False)
        rows = []
        order = self._order_or_none() or list(self.nodes)
        for name in order:
            node = self.nodes[name]
            layer = node.layer
            count = None
            if name in shapes:
                try:
                    count = layer.param_count([shapes[s] for s in node.inputs] or [shapes[name]])
                except Exception:  # noqa: BLE001 - a count is informative only
                    count = None
            rows.append({
                "name": name,
                "type": layer.type_name,
                "shape": shapes.get(name),
                "params": count,
                "inputs": list(node.inputs),
                "error": errors.get(name),
                "notes": layer.notes(),
                "trainable": layer.trainable,
            })
        return rows

    def summary(self):
        """A Keras-like text summary."""
        rows = self.summary_rows()
        lines = [f"{'Layer (type)':<32}{'Output shape':<20}{'Params':>10}", "=" * 62]
        total = 0
        for r in rows:
            shape = "(None, " + ", ".join(str(d) for d in r["shape"]) + ")" if r["shape"] is not None else "?"
            params = "" if r["params"] is None else str(r["params"])
            total += r["params"] or 0
            lines.append(f"{r['name'] + ' (' + r['type'] + ')':<32}{shape:<20}{params:>10}")
            if r["error"]:
                lines.append(f"    ! {r['error']}")
            for note in r["notes"]:
                lines.append(f"    note: {note}")
            if not r["trainable"] and r["params"]:
                lines.append("    frozen: its weights do not change in training")
        lines.append("=" * 62)
        lines.append(f"Total params: {total}")
        return "\n".join(lines)
