"""Core layers, activations, dropout, batch norm, merges, initializers, regularizers, diagnostics."""

import warnings

import numpy as np
import pytest

from engine import Network
from engine.diagnostics import activation_stats, grad_norms
from engine.errors import ConfigError, ShapeError
from engine.gradcheck import layer_errors
from engine.initializers import get_initializer
from engine.layers import Activation, Add, BatchNorm, Concatenate, Dense, Dropout, Flatten, Input, Reshape
from engine import regularizers

from layer_examples import LAYER_EXAMPLES

MINE = ["Dense", "Flatten", "Reshape", "Activation", "Dropout", "BatchNorm", "Add", "Concatenate"]


def _cases():
    from engine.layers.base import LAYER_TYPES

    for type_name in MINE:
        for i, ex in enumerate(LAYER_EXAMPLES[type_name]):
            yield pytest.param(LAYER_TYPES[type_name], ex, id=f"{type_name}-{i}")


@pytest.mark.parametrize("cls, example", list(_cases()))
def test_layer_gradcheck_float64(cls, example):
    layer = cls.from_config(dict(example["config"]))
    errors = layer_errors(layer, example["input_shapes"], rng=np.random.default_rng(3))
    assert errors, "the check compared nothing"
    for key, err in errors.items():
        assert err < 1e-6, f"{cls.__name__} {key}: relative error {err:.2e}"


@pytest.mark.parametrize("cls, example", list(_cases()))
def test_layer_caches_only_in_training(cls, example):
    layer = cls.from_config(dict(example["config"]))
    shapes = [tuple(s) for s in example["input_shapes"]]
    layer.build(shapes, rng=np.random.default_rng(0))
    xs = [np.random.default_rng(1).standard_normal((4,) + s).astype(np.float32) for s in shapes]
    y = layer.forward(*xs, training=False)
    assert y.dtype == np.float32
    assert y.shape == (4,) + tuple(layer.output_shape(shapes))
    for attr in ("_x", "_cache", "_mask"):
        assert getattr(layer, attr, None) is None


# -- Dense ------------------------------------------------------------------------------------------
def test_dense_computes_x_w_plus_b_with_w_in_by_out():
    d = Dense(3)
    d.build([(4,)], rng=np.random.default_rng(0))
    assert d.params["W"].shape == (4, 3) and d.params["b"].shape == (3,)
    assert d.params["W"].dtype == np.float32
    d.params["b"][:] = [1, 2, 3]
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    np.testing.assert_allclose(d.forward(x), x @ d.params["W"] + [1, 2, 3], rtol=1e-6)
    assert d.param_count([(4,)]) == 15 and Dense(3, use_bias=False).param_count([(4,)]) == 12


def test_dense_after_image_input_asks_for_flatten():
    with pytest.raises(ShapeError, match="add a Flatten") as info:
        Dense(10, name="fc").output_shape([(1, 28, 28)])
    assert info.value.node == "fc"


@pytest.mark.parametrize("after, expected_std", [("relu", np.sqrt(2 / 400)), ("tanh", np.sqrt(1 / 400)),
                                                 ("softmax", np.sqrt(1 / 400))])
def test_auto_initializer_follows_the_activation(after, expected_std):
    net = Network()
    x = net.add(Input((400,)))
    h = net.add(Dense(300), [x])
    b = net.add(BatchNorm(), [h])  # auto looks through batch norm
    net.add(Activation(after), [b])
    net.build(seed=0)
    std = float(net[h].params["W"].std())
    assert abs(std - expected_std) / expected_std < 0.03


def test_initializers_have_stated_variances():
    rng = np.random.default_rng(0)
    assert np.all(get_initializer("zeros")((3, 3), 3, 3, rng, np.float32) == 0)
    for name, var in [("xavier", 1 / 500), ("glorot", 1 / 500), ("he", 2 / 500), ("normal", 1e-4)]:
        w = get_initializer(name)((500, 400), 500, 400, rng, np.float64)
        assert w.dtype == np.float64
        assert abs(w.var() - var) / var < 0.03, name
    w = get_initializer("normal", scale=0.5)((300, 300), 300, 300, rng, np.float32)
    assert abs(w.std() - 0.5) < 0.01
    with pytest.raises(ConfigError, match="unknown initializer 'xavir'"):
        get_initializer("xavir")


# -- Flatten / Reshape ------------------------------------------------------------------------------
def test_flatten_and_reshape_shapes_and_errors():
    assert Flatten().output_shape([(1, 28, 28)]) == (784,)
    assert Reshape((1, 28, 28)).output_shape([(784,)]) == (1, 28, 28)
    assert Reshape((-1, 7)).output_shape([(784,)]) == (112, 7)
    with pytest.raises(ShapeError, match="cannot reshape"):
        Reshape((5, 5), name="r").output_shape([(784,)])
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    f = Flatten()
    y = f.forward(x, training=True)
    assert y.shape == (2, 12)
    assert f.backward(y).shape == (2, 3, 4)


# -- Activations ------------------------------------------------------------------------------------
def test_activations_are_numerically_stable():
    z = np.array([[-1000.0, -50.0, 0.0, 50.0, 1000.0]], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = Activation("sigmoid").forward(z)
        p = Activation("softmax").forward(z)
        e = Activation("elu").forward(z)
    np.testing.assert_allclose(s, [[0, 0, 0.5, 1, 1]], atol=1e-6)
    assert np.all(np.isfinite(p)) and abs(p.sum() - 1) < 1e-6 and p[0, 4] > 0.999
    assert e[0, 0] == pytest.approx(-1.0)


def test_activation_values():
    z = np.array([[-2.0, 0.5]])
    np.testing.assert_allclose(Activation("relu").forward(z), [[0, 0.5]])
    np.testing.assert_allclose(Activation("leaky_relu", alpha=0.1).forward(z), [[-0.2, 0.5]])
    np.testing.assert_allclose(Activation("tanh").forward(z), np.tanh(z))
    np.testing.assert_allclose(Activation("step").forward(z), [[0, 1]])
    np.testing.assert_allclose(Activation("linear").forward(z), z)
    p = Activation("softmax").forward(np.array([[[1.0, 2.0], [3.0, 3.0]]]))
    np.testing.assert_allclose(p.sum(-1), 1)  # softmax over the last axis, sequences too
    np.testing.assert_allclose(p[0, 1], [0.5, 0.5])


def test_step_cannot_learn_and_summary_says_so():
    a = Activation("step")
    a.forward(np.ones((2, 3)), training=True)
    assert np.all(a.backward(np.ones((2, 3))) == 0)
    assert a.notes() and "cannot learn" in a.notes()[0]
    net = Network()
    net.add(Dense(2), [net.add(Input((3,)))])
    net.add(Activation("step"), ["dense_1"])
    assert "cannot learn" in net.summary()


# -- Dropout ----------------------------------------------------------------------------------------
def test_dropout_is_inverted_and_off_at_inference():
    d = Dropout(0.25, seed=0)
    x = np.ones((200, 3, 10, 10), dtype=np.float32)  # feature maps
    y = d.forward(x, training=True)
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.02  # expected activation unchanged
    np.testing.assert_array_equal(d.backward(np.ones_like(x)), y)
    assert d.forward(x, training=False) is x


# -- BatchNorm --------------------------------------------------------------------------------------
def test_batchnorm_normalizes_per_channel_and_keeps_running_averages():
    rng = np.random.default_rng(0)
    bn = BatchNorm(momentum=0.5)
    bn.build([(3, 4, 4)])
    x = (rng.standard_normal((16, 3, 4, 4)) * [[[2.0]], [[5.0]], [[0.5]]] + [[[1.0]], [[-3.0]], [[7.0]]])
    x = x.astype(np.float32)
    for _ in range(30):
        y = bn.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-3)
    np.testing.assert_allclose(bn.running_mean, x.mean(axis=(0, 2, 3)), rtol=1e-4)
    np.testing.assert_allclose(bn.running_var, x.var(axis=(0, 2, 3)), rtol=1e-4)
    assert set(bn.buffers()) == {"running_mean", "running_var"}
    # inference uses the running averages: one sample alone gets the same output as in the batch
    y_inf = bn.forward(x[:1], training=False)
    np.testing.assert_allclose(y_inf, y[:1], atol=1e-3)


def test_batchnorm_per_feature_for_vectors():
    bn = BatchNorm()
    bn.build([(5,)])
    assert bn.params["gamma"].shape == (5,) and bn.param_count([(5,)]) == 10
    x = np.random.default_rng(0).standard_normal((32, 5)) * 3 + 2
    y = bn.forward(x, training=True)
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-6)


# -- merges -----------------------------------------------------------------------------------------
def test_add_and_concatenate_shapes():
    assert Add().output_shape([(3, 4), (3, 4)]) == (3, 4)
    with pytest.raises(ShapeError, match="same shape"):
        Add(name="a").output_shape([(3, 4), (4, 3)])
    assert Concatenate().output_shape([(3,), (5,)]) == (8,)
    assert Concatenate(axis=0).output_shape([(2, 8, 8), (3, 8, 8)]) == (5, 8, 8)
    with pytest.raises(ShapeError, match="every other axis must match"):
        Concatenate(axis=0).output_shape([(2, 8, 8), (3, 4, 4)])
    c = Concatenate(axis=0)
    a, b = np.zeros((2, 2, 3, 3)), np.ones((2, 1, 3, 3))
    y = c.forward(a, b, training=True)
    assert y.shape == (2, 3, 3, 3) and y[:, 2].min() == 1
    ga, gb = c.backward(y)
    assert ga.shape == a.shape and gb.shape == b.shape


# -- regularizers and diagnostics -------------------------------------------------------------------
def test_regularizer_penalty_and_gradient_follow_the_documented_convention():
    net = Network()
    h = net.add(Dense(2, l1=0.1, l2=0.5), [net.add(Input((2,)))])
    net.build()
    W = net[h].params["W"]
    W[:] = [[1.0, -2.0], [0.5, 0.0]]
    m = 4
    expected = (0.1 * 3.5 + 0.5 / 2 * (1 + 4 + 0.25)) / m
    assert regularizers.penalty(net, m) == pytest.approx(expected)
    net[h].zero_grads()
    regularizers.add_gradients(net, m)
    np.testing.assert_allclose(net[h].grads["W"], (0.1 * np.sign(W) + 0.5 * W) / m, rtol=1e-6)
    assert np.all(net[h].grads["b"] == 0)  # biases are not regularized


def test_activation_stats_and_grad_norms():
    a = np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 3.0]])
    s = activation_stats("relu", a)
    assert s["dead"] == pytest.approx(1 / 3) and s["mean"] == pytest.approx(1.0)
    t = activation_stats("tanh", np.array([[0.99, -0.98, 0.1, 0.0]]))
    assert t["saturated"] == pytest.approx(0.5)
    g = activation_stats("sigmoid", np.array([[0.01, 0.5, 0.99, 0.6]]))
    assert g["saturated"] == pytest.approx(0.5) and g["dead"] == 0.0
    net = Network()
    h = net.add(Dense(2), [net.add(Input((2,)))])
    net.build()
    net[h].grads["W"][:] = [[3.0, 0.0], [0.0, 0.0]]
    net[h].grads["b"][:] = [0.0, 4.0]
    assert grad_norms(net) == {h: pytest.approx(5.0)}


@pytest.mark.parametrize("cls, example", list(_cases()))
def test_inference_between_forward_and_backward_does_not_disturb_the_gradient(cls, example):
    # the GUI may predict (other batch size) while a training step is between forward and backward
    layer = cls.from_config(dict(example["config"]))
    shapes = [tuple(s) for s in example["input_shapes"]]
    layer.build(shapes, rng=np.random.default_rng(0), dtype=np.float64)
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((4,) + s) for s in shapes]
    other = [rng.standard_normal((7,) + s) for s in shapes]
    gen = getattr(layer, "_rng", None)
    state = gen.bit_generator.state if gen is not None else None
    y = layer.forward(*xs, training=True)
    g = rng.standard_normal(y.shape)
    expected = layer.backward(g)
    expected_grads = {k: v.copy() for k, v in layer.grads.items()}
    if gen is not None:
        gen.bit_generator.state = state
    layer.forward(*xs, training=True)
    layer.forward(*other, training=False)
    got = layer.backward(g)
    for a, b in zip(expected if isinstance(expected, tuple) else (expected,),
                    got if isinstance(got, tuple) else (got,)):
        np.testing.assert_allclose(a, b)
    for k, v in expected_grads.items():
        np.testing.assert_allclose(layer.grads[k], v)


def test_frozen_batchnorm_uses_and_keeps_its_running_averages():
    bn = BatchNorm(trainable=False)
    bn.build([(2,)])
    bn.running_mean[:] = [1.0, -1.0]
    bn.running_var[:] = [4.0, 0.25]
    x = np.array([[3.0, -1.5], [1.0, 0.0]], dtype=np.float32)
    y = bn.forward(x, training=True)
    np.testing.assert_allclose(y, (x - [1.0, -1.0]) / np.sqrt(np.array([4.0, 0.25]) + 1e-5), rtol=1e-5)
    np.testing.assert_array_equal(bn.running_mean, [1.0, -1.0])


def test_batchnorm_fast_passes_match_the_textbook_formulas():
    """Forward and backward (fewer passes, dtype kept) equal the course notes' formulas in float64,
    also for a large mean (the variance is computed from centred values, no cancellation)."""
    rng = np.random.default_rng(1)
    x64 = rng.standard_normal((6, 4, 3, 5)) * 0.5 + 1000.0
    dy64 = rng.standard_normal(x64.shape)
    bn = BatchNorm()
    bn.build([(4, 3, 5)])  # float32
    bn.params["gamma"][:] = [0.5, 1.0, 2.0, -1.0]
    bn.params["beta"][:] = [0.1, 0.0, -0.3, 2.0]
    x = x64.astype(np.float32)
    y = bn.forward(x, training=True)
    dx = bn.backward(dy64.astype(np.float32))
    assert y.dtype == np.float32 and dx.dtype == np.float32 and bn.grads["gamma"].dtype == np.float32
    g = bn.params["gamma"].astype(np.float64)[None, :, None, None]
    xr = x.astype(np.float64)
    mu = xr.mean(axis=(0, 2, 3), keepdims=True)
    var = xr.var(axis=(0, 2, 3), keepdims=True)
    xhat = (xr - mu) / np.sqrt(var + bn.epsilon)
    np.testing.assert_allclose(y, g * xhat + bn.params["beta"][None, :, None, None], atol=2e-3)
    m = x.shape[0] * x.shape[2] * x.shape[3]
    dxhat = dy64 * g
    ref = (dxhat - dxhat.sum(axis=(0, 2, 3), keepdims=True) / m
           - xhat * (dxhat * xhat).sum(axis=(0, 2, 3), keepdims=True) / m) / np.sqrt(var + bn.epsilon)
    np.testing.assert_allclose(dx, ref, rtol=2e-3, atol=2e-3 * np.abs(ref).max())
    np.testing.assert_allclose(bn.grads["beta"], dy64.sum(axis=(0, 2, 3)), rtol=1e-4)
    np.testing.assert_allclose(bn.grads["gamma"], (dy64 * xhat).sum(axis=(0, 2, 3)), rtol=2e-3, atol=1e-2)
    # inference: running averages, the training cache untouched
    cache = bn._cache
    y_inf = bn.forward(x, training=False)
    assert bn._cache is cache and y_inf.dtype == np.float32
    rm, rv = bn.running_mean[None, :, None, None], bn.running_var[None, :, None, None]
    np.testing.assert_allclose(y_inf, g * (xr - rm) / np.sqrt(rv + bn.epsilon) + bn.params["beta"][None, :, None, None],
                               rtol=1e-4, atol=1e-3)


# -- batch chunks on threads (engine.parallel) ------------------------------------------------------
@pytest.fixture
def forced_chunks(monkeypatch):
    """Split even tiny batches over two threads, in pieces of a few elements (the path big batches take)."""
    from engine import parallel

    monkeypatch.setattr(parallel, "MIN_PARALLEL_SIZE", 0)
    monkeypatch.setattr(parallel, "MIN_CHUNK_SIZE", 1)
    monkeypatch.setattr(parallel, "BLOCK_SIZE", 16)
    monkeypatch.setattr(parallel, "THREAD_BLOCK_SIZE", 24)
    parallel.set_threads(2)
    yield parallel
    parallel.set_threads(None)


def _chunked_cases():
    for type_name in ("BatchNorm", "Activation", "Add"):
        for i, ex in enumerate(LAYER_EXAMPLES[type_name]):
            yield pytest.param(type_name, ex, id=f"{type_name}-{i}")
    for kind in ("relu", "leaky_relu", "sigmoid", "tanh"):
        yield pytest.param("Activation", {"config": {"kind": kind, "alpha": 1.5 if kind == "leaky_relu" else None},
                                          "input_shapes": [(3, 2, 5)]}, id=f"Activation-{kind}-image")


@pytest.mark.parametrize("type_name, example", list(_chunked_cases()))
def test_chunked_layers_match_serial_and_pass_gradcheck(forced_chunks, type_name, example):
    """BatchNorm, activations and Add split over batch chunks and cache-sized pieces give the serial
    results (float64, to rounding) and their float64 gradient checks pass in that mode too."""
    from engine.layers.base import LAYER_TYPES

    cls = LAYER_TYPES[type_name]
    cfg = {k: v for k, v in example["config"].items() if v is not None}
    shapes = [tuple(s) for s in example["input_shapes"]]
    rng = np.random.default_rng(5)
    xs = [rng.standard_normal((7,) + s) * 2 + 0.5 for s in shapes]
    dy = rng.standard_normal((7,) + cls.from_config(dict(cfg)).output_shape(shapes))

    def run(threads):
        forced_chunks.set_threads(threads)
        layer = cls.from_config(dict(cfg))
        layer.build(shapes, rng=np.random.default_rng(1), dtype=np.float64)
        for v in layer.params.values():
            v += 0.1 * np.random.default_rng(2).standard_normal(v.shape)
        y = layer.forward(*xs, training=True)
        dx = layer.backward(dy.copy())
        y_inf = layer.forward(*xs, training=False)
        return y, dx if isinstance(dx, tuple) else (dx,), {k: v.copy() for k, v in layer.grads.items()}, y_inf

    y1, dx1, g1, inf1 = run(1)
    y2, dx2, g2, inf2 = run(2)
    np.testing.assert_allclose(y2, y1, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(inf2, inf1, rtol=1e-12, atol=1e-12)
    for a, b in zip(dx1, dx2):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)
    for k in g1:
        np.testing.assert_allclose(g2[k], g1[k], rtol=1e-10, atol=1e-12)
    errors = layer_errors(cls.from_config(dict(cfg)), shapes, rng=np.random.default_rng(3), batch=7)
    for key, err in errors.items():
        assert err < 1e-6, f"{type_name} {key} (chunked): relative error {err:.2e}"


def test_chunked_batchnorm_keeps_float32_accuracy_for_a_large_mean(forced_chunks):
    """Chunks centred on their own means combine without cancellation (Chan's formula)."""
    rng = np.random.default_rng(1)
    x64 = rng.standard_normal((9, 3, 4, 4)) * 0.5 + 1000.0
    dy64 = rng.standard_normal(x64.shape)
    bn = BatchNorm()
    bn.build([(3, 4, 4)])
    x = x64.astype(np.float32)
    y = bn.forward(x, training=True)
    dx = bn.backward(dy64.astype(np.float32))
    xr = x.astype(np.float64)
    mu = xr.mean(axis=(0, 2, 3), keepdims=True)
    var = xr.var(axis=(0, 2, 3), keepdims=True)
    xhat = (xr - mu) / np.sqrt(var + bn.epsilon)
    np.testing.assert_allclose(y, xhat, atol=2e-3)
    np.testing.assert_allclose(bn.running_var, 0.1 * var.ravel() + 0.9, rtol=1e-4)
    m = x.shape[0] * 16
    ref = (dy64 - dy64.sum(axis=(0, 2, 3), keepdims=True) / m
           - xhat * (dy64 * xhat).sum(axis=(0, 2, 3), keepdims=True) / m) / np.sqrt(var + bn.epsilon)
    np.testing.assert_allclose(dx, ref, rtol=2e-3, atol=2e-3 * np.abs(ref).max())
    np.testing.assert_allclose(bn.grads["gamma"], (dy64 * xhat).sum(axis=(0, 2, 3)), rtol=2e-3, atol=1e-2)


def test_relu_keeps_a_boolean_mask_and_add_passes_dy_through_without_copies():
    relu = Activation("relu")
    x = np.array([[-1.0, 0.0, 2.0], [3.0, -0.5, 0.25]], dtype=np.float32)
    y = relu.forward(x, training=True)
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    assert relu._cache.dtype == bool and y.dtype == np.float32
    dy = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(relu.backward(dy), dy * (x > 0))
    add = Add()
    a, b = np.ones((2, 3)), np.full((2, 3), 2.0)
    out = add.forward(a, b, training=True)
    np.testing.assert_array_equal(out, 3.0)
    assert not np.shares_memory(out, a) and a[0, 0] == 1.0  # the inputs are untouched
    ga, gb = add.backward(dy)
    assert ga is dy and gb is dy


@pytest.mark.parametrize("threads", [1, 2])
def test_batchnorm_both_statistics_routes_match_the_textbook(monkeypatch, threads):
    """A moderate mean takes the one-read route (x itself kept for backward), a mean far from the
    spread the centred one; both give the course notes' formulas in float32, serial and chunked."""
    from engine import parallel

    if threads == 2:
        monkeypatch.setattr(parallel, "MIN_PARALLEL_SIZE", 0)
        monkeypatch.setattr(parallel, "MIN_CHUNK_SIZE", 1)
    parallel.set_threads(threads)
    try:
        rng = np.random.default_rng(4)
        for mean, keeps_input in ((1.5, True), (50.0, False)):
            x = (rng.standard_normal((10, 3, 4, 5)) + mean).astype(np.float32)
            dy = rng.standard_normal(x.shape).astype(np.float32)
            bn = BatchNorm()
            bn.build([(3, 4, 5)])
            bn.params["gamma"][:] = [0.5, 2.0, -1.0]
            y = bn.forward(x, training=True)
            assert np.shares_memory(bn._cache[0], x) == keeps_input
            dx = bn.backward(dy)
            xr, d = x.astype(np.float64), dy.astype(np.float64)
            g = bn.params["gamma"].astype(np.float64)[None, :, None, None]
            mu = xr.mean(axis=(0, 2, 3), keepdims=True)
            var = xr.var(axis=(0, 2, 3), keepdims=True)
            xhat = (xr - mu) / np.sqrt(var + bn.epsilon)
            np.testing.assert_allclose(y, g * xhat, atol=1e-4)
            m = x.shape[0] * 20
            ref = g * (d - d.sum(axis=(0, 2, 3), keepdims=True) / m
                       - xhat * (d * xhat).sum(axis=(0, 2, 3), keepdims=True) / m) / np.sqrt(var + bn.epsilon)
            np.testing.assert_allclose(dx, ref, atol=1e-4 * np.abs(ref).max())
            np.testing.assert_allclose(bn.grads["gamma"], (d * xhat).sum(axis=(0, 2, 3)), rtol=1e-4, atol=1e-3)
            np.testing.assert_allclose(bn.running_var, 0.1 * var.ravel() + 0.9, rtol=1e-5)
    finally:
        parallel.set_threads(None)


@pytest.mark.parametrize("type_name,config,shape", [
    ("Activation", {"kind": "relu"}, (4,)), ("Activation", {"kind": "leaky_relu"}, (3, 2)),
    ("Activation", {"kind": "tanh"}, (3,)), ("BatchNorm", {}, (4,)), ("BatchNorm", {}, (2, 3, 3)),
])
def test_an_empty_batch_gives_an_empty_result(type_name, config, shape):
    """A batch of 0 samples (an empty split's prediction) runs like any other: nothing to reshape
    by -1 (the element-wise fast paths used to fail on it)."""
    from engine.layers import layer_from_config

    layer = layer_from_config(type_name, dict(config))
    layer.build([shape], rng=np.random.default_rng(0))
    x = np.zeros((0,) + shape, np.float32)
    assert layer.forward(x).shape == x.shape
    if type_name == "BatchNorm":  # training statistics need samples: a clear error, stats untouched
        before = (layer.running_mean.copy(), layer.running_var.copy())
        with pytest.raises(ShapeError, match="at least one sample"):
            layer.forward(x, training=True)
        np.testing.assert_array_equal(layer.running_mean, before[0])
        np.testing.assert_array_equal(layer.running_var, before[1])
        return
    y = layer.forward(x, training=True)
    assert y.shape == x.shape
    assert layer.backward(np.zeros_like(y)).shape == x.shape
