"""Network: structure, shape inference, forward/backward through a DAG, freezing, configs."""

import numpy as np
import pytest

from engine import Network
from engine.errors import ConfigError, GraphError, ShapeError
from engine.gradcheck import check_network
from engine.layers import Activation, Add, BatchNorm, Concatenate, Dense, Dropout, Flatten, Input
from engine.losses import compute_cost, cost_and_gradients


def _mlp(dtype=np.float32):
    net = Network("mlp")
    x = net.add(Input((1, 4, 4)), name="x")
    f = net.add(Flatten(), [x], name="flat")
    h = net.add(Dense(8), [f], name="h")
    a = net.add(Activation("relu"), [h], name="a")
    o = net.add(Dense(3), [a], name="logits")
    net.add(Activation("softmax"), [o], name="p")
    net.build(seed=0, dtype=dtype)
    return net


def test_topological_order_respects_links_whatever_the_insertion_order():
    net = Network()
    net.add(Input((2,)), name="x")
    net.add(Dense(2), ["x"], name="b")
    net.add(Dense(2), ["x"], name="c")
    net.add(Add(), ["b", "c"], name="d")
    order = net.topological_order()
    for name, node in net.nodes.items():
        for src in node.inputs:
            assert order.index(src) < order.index(name)
    net2 = Network()
    net2.add(Input((2,)), name="x")
    net2.add(Dense(2), ["x"], name="late")
    net2.add(Dense(2), ["x"], name="early")
    net2.disconnect("x", "late")
    net2.connect("early", "late")
    order = net2.topological_order()
    assert order.index("early") < order.index("late")


def test_cycle_is_detected_and_a_node_on_it_named():
    net = Network()
    net.add(Input((2,)), name="x")
    net.add(Dense(2), ["x"], name="a")
    net.add(Dense(2), ["a"], name="b")
    net.connect("b", "a")
    with pytest.raises(GraphError, match="cycle") as info:
        net.topological_order()
    assert info.value.node in ("a", "b")
    shapes, errors = net.infer_shapes(strict=False)
    assert errors and set(errors) <= {"a", "b"}


def test_shape_error_names_the_dense_after_an_image_input():
    net = Network()
    x = net.add(Input((1, 28, 28)), name="image")
    net.add(Dense(10), [x], name="fc1")
    with pytest.raises(ShapeError, match="Flatten") as info:
        net.infer_shapes()
    assert info.value.node == "fc1"
    shapes, errors = net.infer_shapes(strict=False)
    assert shapes == {"image": (1, 28, 28)} and "fc1" in errors
    rows = {r["name"]: r for r in net.summary_rows()}
    assert rows["fc1"]["error"] and rows["fc1"]["shape"] is None


def test_shapes_and_param_counts_before_build():
    net = Network()
    x = net.add(Input((1, 28, 28)))
    f = net.add(Flatten(), [x])
    h1 = net.add(Dense(128), [f])
    h2 = net.add(Dense(64), [net.add(Activation("relu"), [h1])])
    net.add(Dense(10), [net.add(Activation("relu"), [h2])])
    rows = net.summary_rows()
    assert not net.built
    assert sum(r["params"] for r in rows) == 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10
    net.build()
    assert net.param_count() == 109386


def test_fan_out_gradients_are_summed_and_match_numerical_ones():
    net = Network()
    x = net.add(Input((3,)), name="x")
    h = net.add(Dense(4), [x], name="shared")
    t = net.add(Activation("tanh"), [h], name="t")
    b1 = net.add(Dense(4), [t], name="branch1")
    b2 = net.add(Activation("sigmoid"), [t], name="branch2")
    s = net.add(Add(), [b1, b2, t], name="sum")  # 't' feeds three nodes
    net.add(Dense(2), [s], name="out")
    net.build(seed=1, dtype=np.float64)
    rng = np.random.default_rng(0)
    xb, yb = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    errors = check_network(net, xb, yb, "mse")
    assert set(errors) == {"shared", "branch1", "out"}
    assert max(errors.values()) < 1e-6, errors
    # the input gradient too
    cost_and_gradients(net, xb, yb, "mse")
    dx = net.backward(net.forward(xb, training=True) - yb)
    eps = 1e-6
    approx = np.zeros_like(xb)
    for i in np.ndindex(xb.shape):
        xp, xm = xb.copy(), xb.copy()
        xp[i] += eps
        xm[i] -= eps
        approx[i] = (0.5 * np.sum((net.forward(xp) - yb) ** 2) - 0.5 * np.sum((net.forward(xm) - yb) ** 2)) / (2 * eps)
    np.testing.assert_allclose(dx, approx, rtol=1e-6, atol=1e-8)


def test_multi_input_multi_output_network():
    net = Network()
    a = net.add(Input((3,)), name="a")
    b = net.add(Input((2,)), name="b")
    c = net.add(Concatenate(), [a, b], name="c")
    h = net.add(Dense(4), [c], name="h")
    net.add(Activation("softmax"), [net.add(Dense(3), [h], name="cls_z")], name="cls")
    net.add(Dense(1), [h], name="value")
    net.build(seed=0, dtype=np.float64)
    assert net.inputs == ["a", "b"] and net.outputs == ["cls", "value"]
    rng = np.random.default_rng(0)
    feed = {"a": rng.standard_normal((4, 3)), "b": rng.standard_normal((4, 2))}
    out = net.forward(feed)
    assert out["cls"].shape == (4, 3) and out["value"].shape == (4, 1)
    targets = {"cls": np.array([0, 2, 1, 0]), "value": rng.standard_normal((4, 1))}
    errors = check_network(net, feed, targets, {"cls": "cross_entropy", "value": "mse"})
    assert max(errors.values()) < 1e-6
    with pytest.raises(GraphError, match="no data for input b"):
        net.forward({"a": feed["a"]})
    pred = net.predict(feed, batch_size=3)
    np.testing.assert_allclose(pred["value"], out["value"])


def test_unused_nodes_do_not_run_and_get_zero_grads():
    net = Network()
    x = net.add(Input((2,)), name="x")
    net.add(Dense(2), [x], name="used")
    net.add(Dense(3), [x], name="unused")
    net.outputs = ["used"]
    net.build()
    _, acts = net.forward_with_activations(np.ones((2, 2)), keep=True, training=True)
    assert "unused" not in acts and "used" in acts
    net.backward(np.ones((2, 2), dtype=np.float32))
    assert np.all(net["unused"].grads["W"] == 0)


def test_inference_with_activations_between_training_forward_and_backward_changes_nothing():
    """A GUI inspection (an inference forward keeping activations) may run while a training step
    is between its forward and backward: the step's activations and gradients stay as they were,
    and nothing is stored on the network."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 1, 4, 4))
    dy = rng.normal(size=(5, 3))
    other = rng.normal(size=(7, 1, 4, 4))

    ref = _mlp(np.float64)
    ref.forward(x, training=True)
    ref.backward(dy)
    expected = {p.name: p.grad.copy() for p in ref.parameters()}

    net = _mlp(np.float64)
    out, acts = net.forward_with_activations(x, keep=True, training=True)
    before = {k: v.copy() for k, v in acts.items()}
    attrs = set(vars(net))
    y2, acts2 = net.forward_with_activations(other, keep={"h", "a"})
    assert set(acts2) == {"h", "a"} and acts2["h"].shape == (7, 8) and y2.shape == (7, 3)
    assert set(vars(net)) == attrs  # no shared state written
    assert set(acts) == {"x", "flat", "h", "a", "logits", "p"}
    for k, v in before.items():
        np.testing.assert_array_equal(acts[k], v)
    net.backward(dy)
    for p in net.parameters():
        np.testing.assert_array_equal(p.grad, expected[p.name])
    np.testing.assert_allclose(out, ref.forward(x))


def test_frozen_layer_is_skipped_by_optimizers_but_passes_gradients_on():
    net = _mlp(np.float64)
    net["h"].trainable = False
    names = {p.name for p in net.parameters(trainable_only=True)}
    assert names == {"logits/W", "logits/b"}
    assert {p.name for p in net.parameters()} >= {"h/W", "h/b"}
    # put a trainable layer before the frozen one: it still gets a gradient through it
    net2 = Network()
    x = net2.add(Input((3,)), name="x")
    first = net2.add(Dense(4), [x], name="first")
    frozen = net2.add(Dense(4, trainable=False), [first], name="frozen")
    net2.add(Dense(2), [frozen], name="out")
    net2.build(dtype=np.float64)
    rng = np.random.default_rng(0)
    cost_and_gradients(net2, rng.standard_normal((4, 3)), rng.standard_normal((4, 2)), "mse")
    assert np.abs(net2["first"].grads["W"]).sum() > 0
    assert "frozen: its weights" in net2.summary()


def test_config_and_weights_round_trip_and_copy():
    net = _mlp()
    net.nodes["h"].meta["pos"] = [10, 20]
    cfg = net.get_config()
    again = Network.from_config(cfg)
    assert again.get_config() == cfg
    again.build(seed=99)
    again.set_weights(net.get_weights())
    x = np.random.default_rng(0).random((3, 1, 4, 4)).astype(np.float32)
    np.testing.assert_array_equal(again.forward(x), net.forward(x))
    c = net.copy(dtype=np.float64)
    assert c["h"].params["W"].dtype == np.float64
    np.testing.assert_allclose(c.forward(x), net.forward(x), rtol=1e-5)
    c["h"].params["W"][:] = 0  # a deep copy: the original is untouched
    assert np.abs(net["h"].params["W"]).sum() > 0
    with pytest.raises(ShapeError):
        bad = net.get_weights()
        bad["h/W"] = np.zeros((3, 3))
        again.set_weights(bad)


def test_batchnorm_buffers_travel_with_the_weights():
    net = Network()
    x = net.add(Input((3,)), name="x")
    net.add(Dropout(0.5), [net.add(BatchNorm(), [net.add(Dense(3), [x], name="d")], name="bn")], name="drop")
    net.build()
    net.forward(np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32) * 4, training=True)
    w = net.get_weights()
    assert "bn/running_mean" in w and np.abs(w["bn/running_mean"]).sum() > 0
    c = net.copy()
    np.testing.assert_array_equal(c["bn"].running_mean, net["bn"].running_mean)


@pytest.mark.parametrize("bad", [
    None, [], {"nodes": "x"}, {"nodes": [1]}, {"nodes": [{"type": "Dense"}]},
    {"nodes": [{"name": "a"}]}, {"nodes": [{"name": "a", "type": "Nope"}]},
    {"nodes": [{"name": "a", "type": "Dense", "config": {"units": "many"}}]},
    {"nodes": [{"name": "a", "type": "Dense", "config": []}]},
    {"nodes": [{"name": "a", "type": "Input", "config": {"shape": [2]}},
               {"name": "a", "type": "Input", "config": {"shape": [2]}}]},
    {"nodes": [{"name": "a", "type": "Input", "config": {"shape": [2]}, "inputs": "b"}]},
    {"nodes": [{"name": "a", "type": "Input", "config": {"shape": [2]}}], "outputs": ["zz"]},
])
def test_malformed_graph_configs_give_config_errors(bad):
    with pytest.raises(ConfigError):
        Network.from_config(bad)


def test_dangling_link_gives_graph_error():
    with pytest.raises(GraphError, match="does not exist"):
        Network.from_config({"nodes": [{"name": "d", "type": "Dense", "config": {"units": 2}, "inputs": ["x"]}]})


def test_backward_without_input_grads_gives_the_same_parameter_grads():
    net = _mlp(np.float64)
    rng = np.random.default_rng(0)
    x, dy = rng.random((4, 1, 4, 4)), rng.standard_normal((4, 3))
    net.forward(x, training=True)
    dx = net.backward(dy)
    assert dx.shape == x.shape
    full = {k: v.copy() for k, v in net["h"].grads.items()}
    net.forward(x, training=True)
    assert net.backward(dy, input_grads=False) is None
    for k, v in full.items():
        np.testing.assert_array_equal(net["h"].grads[k], v)
    assert net["h"].need_input_grad  # restored after the call


def test_input_takes_no_links():
    net = Network()
    a = net.add(Input((2,)), name="a")
    net.add(Input((2,)), [a], name="b")
    with pytest.raises(ShapeError) as info:
        net.infer_shapes()
    assert info.value.node == "b"


def test_fuzzed_graph_configs_fail_only_with_clear_errors():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from engine.errors import EngineError

    scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 40), st.floats(allow_nan=True),
                        st.text(max_size=6))
    values = st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c,
                                                                                        max_size=3), max_leaves=6)
    types = st.sampled_from(["Input", "Dense", "Activation", "Flatten", "Reshape", "Dropout", "BatchNorm",
                             "Add", "Concatenate", "Nope"])
    keys = st.sampled_from(["shape", "units", "kind", "alpha", "rate", "axis", "momentum", "use_bias",
                            "initializer", "l2", "trainable"])
    node = st.fixed_dictionaries({
        "name": st.sampled_from(["a", "b", "c", "d"]) | values,
        "type": types | values,
        "config": st.dictionaries(keys, values, max_size=3) | values,
        "inputs": st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=2) | values,
    })
    graphs = st.fixed_dictionaries({"nodes": st.lists(node, max_size=4)}) | values

    @settings(max_examples=200, deadline=None, derandomize=True)
    @given(graphs)
    def check(cfg):
        try:
            net = Network.from_config(cfg)
            net.infer_shapes(strict=False)
            net.summary()
            shapes = net.infer_shapes()
            net.build()
            feed = {n: np.zeros((2,) + shapes[n], dtype=np.float32) for n in net.inputs}
            net.forward(feed, training=True)
        except EngineError as exc:
            assert str(exc)

    check()


def test_creates_cycle_tells_the_canvas_before_linking():
    net = Network()
    net.add(Input((2,)), name="x")
    net.add(Dense(2), ["x"], name="a")
    net.add(Dense(2), ["a"], name="b")
    assert net.creates_cycle("b", "a") and net.creates_cycle("a", "a")
    assert not net.creates_cycle("x", "b")


def test_build_in_another_dtype_keeps_the_weights():
    net = _mlp(np.float32)
    w = net["h"].params["W"].copy()
    net.build(dtype=np.float64)
    assert net["h"].params["W"].dtype == np.float64 and net["h"].grads["W"].dtype == np.float64
    np.testing.assert_array_equal(net["h"].params["W"], w)
    assert net.forward(np.zeros((1, 1, 4, 4))).dtype == np.float64


def test_random_dags_pass_the_gradient_check():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    step = st.tuples(st.sampled_from(["dense", "act", "bn", "drop", "add", "concat"]),
                     st.integers(0, 1000), st.integers(1, 4),
                     st.sampled_from(["sigmoid", "tanh", "relu", "leaky_relu", "elu", "linear", "softmax"]))

    @settings(max_examples=50, deadline=None, derandomize=True)
    @given(st.lists(step, min_size=1, max_size=7), st.integers(0, 2**31 - 1))
    def check(steps, seed):
        net = Network()
        nodes = [(net.add(Input((3,)), name="x"), 3)]
        for op, pick, units, kind in steps:
            src, width = nodes[pick % len(nodes)]
            other, owidth = nodes[(pick // 7) % len(nodes)]
            if op == "dense":
                nodes.append((net.add(Dense(units + 1, l2=0.1), [src]), units + 1))
            elif op == "act":
                nodes.append((net.add(Activation(kind), [src]), width))
            elif op == "bn":
                # Dense -> BatchNorm -> a non-linearity: a BatchNorm straight after another one (or
                # after anything affine of it) has a true gradient of ~0 for gamma/beta, where a
                # relative error only compares rounding noise.
                bn = net.add(BatchNorm(), [net.add(Dense(units + 1), [src])])
                g = kind if kind not in ("linear", "softmax") else "tanh"
                nodes.append((net.add(Activation(g), [bn]), units + 1))
            elif op == "drop":
                nodes.append((net.add(Dropout(0.3), [src]), width))
            elif op == "add":
                proj = net.add(Dense(width), [other])
                nodes.append((net.add(Add(), [src, proj]), width))
            else:
                nodes.append((net.add(Concatenate(), [src, other]), width + owidth))
        last = nodes[-1][0]
        net.add(Activation("softmax"), [net.add(Dense(3), [last], name="logits")], name="p")
        net.outputs = ["p"]
        net.build(seed=seed % 1000, dtype=np.float64)
        rng = np.random.default_rng(seed)
        errors = check_network(net, rng.standard_normal((6, 3)), rng.integers(0, 3, 6), "cross_entropy")
        assert "logits" in errors
        assert max(errors.values()) < 1e-6, errors

    check()


def test_automatic_node_names_read_like_the_layer_type():
    from engine.graph import _snake

    assert [_snake(t) for t in ("Conv2D", "GlobalAveragePooling2D", "ResetAfterGRU", "LSTM", "SimpleRNN")] == [
        "conv2d", "global_average_pooling2d", "reset_after_gru", "lstm", "simple_rnn"]


# -- a ReLU before a max pool runs after it (Network._swaps) ---------------------------------------
def _relu_pool_net(kind="relu", dtype=np.float64, padding="valid", pool=2):
    from engine.layers import Conv2D, MaxPool2D

    net = Network("relu-pool")
    net.add(Input((2, 8, 8)), name="x")
    net.add(Conv2D(3, 3, padding="same"), ["x"], name="conv")
    net.add(Activation(kind), ["conv"], name="act")
    net.add(MaxPool2D(pool, padding=padding), ["act"], name="pool")
    net.add(Flatten(), ["pool"], name="flat")
    net.add(Dense(4), ["flat"], name="logits")
    net.add(Activation("softmax"), ["logits"], name="p")
    net.build(seed=1, dtype=dtype)
    return net


def _quantized_batch(dtype, seed=0):
    # values on a coarse grid: many ties inside pool windows, many negative and zero windows
    rng = np.random.default_rng(seed)
    return (rng.integers(-3, 3, size=(5, 2, 8, 8)) / 2).astype(dtype)


def _grads(net, x, y, keep_everything):
    if keep_everything:  # asking for every activation turns the swap off
        out, acts = net.forward_with_activations(x, keep=True, training=True)
        assert "act" in acts
    else:
        out = net.forward(x, training=True)
    _, dy = compute_cost(net, out, y, "softmax_cross_entropy")
    dx = net.backward(dy)
    return out, dx, {p.name: p.grad.copy() for p in net.parameters()}


# (only a ReLU is swapped; a leaky ReLU's alpha * x can round two inputs to one value: see
# tests/test_engine_review3.py)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_relu_then_max_pool_gives_identical_outputs_and_gradients_when_swapped(dtype):
    net = _relu_pool_net("relu", dtype)
    x = _quantized_batch(dtype)
    # conv weights that keep the grid and the ties: small integers
    net["conv"].params["W"][...] = np.random.default_rng(2).integers(-1, 2, net["conv"].params["W"].shape)
    net["conv"].params["b"][...] = 0
    y = np.arange(5) % 4
    out_a, dx_a, g_a = _grads(net, x, y, keep_everything=False)
    assert net._backward_swaps  # the pair did run swapped
    out_b, dx_b, g_b = _grads(net, x, y, keep_everything=True)
    assert not net._backward_swaps
    np.testing.assert_array_equal(out_a, out_b)
    np.testing.assert_array_equal(dx_a, dx_b)
    assert g_a.keys() == g_b.keys()
    for k in g_a:
        np.testing.assert_array_equal(g_a[k], g_b[k], err_msg=k)


def test_relu_max_pool_swap_passes_the_gradient_check():
    net = _relu_pool_net()
    x = np.random.default_rng(3).normal(size=(4, 2, 8, 8))
    y = np.array([0, 1, 2, 3])
    res = check_network(net, x, y, "softmax_cross_entropy")
    assert set(res) == {"conv", "logits"}
    assert max(res.values()) < 1e-6, res


def test_relu_max_pool_swap_only_where_it_is_safe():
    net = _relu_pool_net()
    x = np.random.default_rng(4).normal(size=(3, 2, 8, 8))
    order = net.topological_order()
    assert net._swaps(order, net.outputs, None) == {"act": "pool"}
    assert net._swaps(order, net.outputs, {"act"}) == {}  # its own value is asked for
    assert net._swaps(order, net.outputs, {"pool"}) == {"act": "pool"}  # the pool's is the same
    # a second reader of the activation, or a padded pool, or a non-monotone activation: no swap
    net2 = _relu_pool_net()
    net2.add(Flatten(), ["act"], name="side")
    assert net2._swaps(net2.topological_order(), net2.outputs, None) == {}
    net3 = _relu_pool_net(padding="same", pool=3)
    net3.forward(x, training=True)
    assert net3._backward_swaps == {}
    net4 = _relu_pool_net(kind="tanh")
    net4.forward(x, training=True)
    assert net4._backward_swaps == {}
    # the value kept for "pool" is the pooled ReLU, as without the swap
    out, acts = net.forward_with_activations(x, keep={"pool"})
    _, all_acts = net.forward_with_activations(x, keep=True)
    np.testing.assert_array_equal(acts["pool"], all_acts["pool"])


def test_an_inference_forward_between_forward_and_backward_keeps_the_swap():
    net = _relu_pool_net()
    x = np.random.default_rng(5).normal(size=(3, 2, 8, 8))
    y = np.array([0, 1, 2])
    out = net.forward(x, training=True)
    swaps = dict(net._backward_swaps)
    net.forward_with_activations(x[:1], keep=True)  # e.g. the GUI inspecting the network
    assert net._backward_swaps == swaps
    _, dy = compute_cost(net, out, y, "softmax_cross_entropy")
    net.backward(dy)
    fresh = _relu_pool_net()
    _, _, g_ref = _grads(fresh, x, y, keep_everything=True)
    for p in net.parameters():
        np.testing.assert_allclose(p.grad, g_ref[p.name], rtol=1e-12, atol=1e-15)
