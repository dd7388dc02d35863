"""Review of the convolution speed work (ReLU/max-pool swap, blocked im2col windows, batch-minor
shift kernels): edge cases the change's own tests did not reach."""

import numpy as np
import pytest

import engine.layers.conv as conv
from engine import Network
from engine.layers import (
    GRU,
    Activation,
    Add,
    BatchNorm,
    Concatenate,
    Conv2D,
    Dense,
    Flatten,
    GlobalAveragePooling2D,
    Input,
    MaxPool2D,
    Reshape,
)


# -- the ReLU / max-pool swap ----------------------------------------------------------------------
def _act_pool_net(kind, alpha=None, dtype=np.float32):
    net = Network("act-pool")
    net.add(Input((1, 2, 2)), name="x")
    net.add(Activation(kind, alpha=alpha), ["x"], name="act")
    net.add(MaxPool2D(2), ["act"], name="pool")
    net.add(Flatten(), ["pool"], name="flat")
    net.build(seed=0, dtype=dtype)
    return net


def _rounding_tie(alpha):
    """Two neighbouring negative float32 values a < b whose leaky-ReLU values alpha*a, alpha*b round
    to the same float32 (a tie after g that is not a tie before it)."""
    al = np.float32(alpha)
    a = -np.linspace(0.5, 4.0, 4001, dtype=np.float32)
    b = np.nextafter(a, np.float32(0))
    hit = np.flatnonzero(a * al == b * al)
    assert hit.size, "no rounding tie found"
    return a[hit[0]], b[hit[0]]


def _input_gradient(net, x, keep_everything):
    if keep_everything:  # asking for every activation turns the swap off
        out, _ = net.forward_with_activations(x, keep=True, training=True)
    else:
        out = net.forward(x, training=True)
    return out, net.backward(np.ones_like(out))


def test_leaky_relu_rounding_ties_do_not_move_the_max_pool_gradient():
    """alpha*a and alpha*b can round to one float for a != b: max(g(x)) then has its first maximum
    at a, g(max(x)) at b, so the pool sent the gradient to another input when swapped. The swap
    promises identical gradients: it must not be applied where it cannot keep that promise."""
    a, b = _rounding_tie(0.01)
    x = np.array([a, b, -5, -5], np.float32).reshape(1, 1, 2, 2)
    net = _act_pool_net("leaky_relu", 0.01)
    out_s, dx_s = _input_gradient(net, x, keep_everything=False)
    out_r, dx_r = _input_gradient(net, x, keep_everything=True)
    np.testing.assert_array_equal(out_s, out_r)
    np.testing.assert_array_equal(dx_s, dx_r)
    assert dx_r.ravel()[0] != 0  # the first maximum of g(x): a, not b


@pytest.mark.parametrize("kind, alpha, swaps", [
    ("relu", None, True),
    ("leaky_relu", 0.0, False),  # 0 * inf = NaN: not quite a ReLU
    ("leaky_relu", 0.01, False),
    ("leaky_relu", 2.0, False),
    ("leaky_relu", -0.5, False),  # decreasing for x < 0
    ("elu", None, False),
    ("tanh", None, False),
])
def test_which_activations_run_after_a_max_pool(kind, alpha, swaps):
    net = _act_pool_net(kind, alpha)
    net.forward(np.random.default_rng(0).standard_normal((2, 1, 2, 2)).astype(np.float32), training=True)
    assert bool(net._backward_swaps) == swaps


# -- the blocked windows' view output ------------------------------------------------------------
def _few_channel_conv_net(consumer):
    net = Network("view")
    net.add(Input((2, 6, 7)), name="x")
    net.add(Conv2D(3, 3, padding="same"), ["x"], name="conv")  # 2*3*3 <= 32 weights: blocked windows
    net.add(Conv2D(3, 3, padding="same"), ["x"], name="conv2")
    last = consumer(net)
    net.add(Flatten(), [last], name="flat")
    net.add(Dense(2), ["flat"], name="out")
    net.outputs = ["out"]  # (conv2 is read only by the merges)
    net.build(seed=3, dtype=np.float64)
    return net


CONSUMERS = {
    "batchnorm": lambda n: n.add(BatchNorm(), ["conv"], name="bn"),
    "concatenate": lambda n: n.add(Concatenate(), ["conv", "conv2"], name="cat"),
    "add": lambda n: n.add(Add(), ["conv", "conv2"], name="add"),
    "reshape_gru": lambda n: (n.add(Reshape((3, 42)), ["conv"], name="r"),
                              n.add(GRU(4, return_sequences=True), ["r"], name="gru"))[1],
    "shift_conv": lambda n: n.add(Conv2D(9, 3, padding="same"), ["conv"], name="c3"),
    "padded_pool": lambda n: n.add(MaxPool2D(3, stride=2, padding="same"), ["conv"], name="p"),
    "relu_pool": lambda n: (n.add(Activation("relu"), ["conv"], name="act"),
                            n.add(MaxPool2D(2, stride=1), ["act"], name="p"))[1],
    "global_pool": lambda n: n.add(GlobalAveragePooling2D(), ["conv"], name="g"),
}


@pytest.mark.parametrize("consumer", sorted(CONSUMERS))
def test_a_few_channel_conv_output_view_reads_like_a_compact_array(consumer, monkeypatch):
    """Few filters on few channels return a view of wide rows (not C-contiguous): every kind of
    reader gives the outputs and gradients it gives with the whole-matrix (compact) output."""
    # the 2-channel convolutions take the blocked windows, a 3-channel reader the shift kernels
    monkeypatch.setattr(conv, "SHIFT_MIN_CHANNELS", 3)
    monkeypatch.setattr(conv, "SHIFT_MIN_CHANNELS_WHOLE", 3)
    x = np.random.default_rng(0).standard_normal((5, 2, 6, 7))
    dy = np.random.default_rng(1).standard_normal((5, 2))
    results = []
    for blocked in (True, False):
        monkeypatch.setattr(conv, "BLOCKED_WINDOWS", blocked)
        net = _few_channel_conv_net(CONSUMERS[consumer])
        y = net.forward(x, training=True)
        assert isinstance(net["conv"]._cache[0], conv._WideWindows) == blocked
        if consumer == "shift_conv":
            assert net["c3"]._cache[5] == conv.blas.AVAILABLE
        dx = net.backward(dy)
        results.append((y, dx, {p.name: p.grad.copy() for p in net.parameters()}))
    (y1, dx1, g1), (y2, dx2, g2) = results
    np.testing.assert_allclose(y1, y2, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx1, dx2, rtol=1e-10, atol=1e-12)
    for k in g1:
        np.testing.assert_allclose(g1[k], g2[k], rtol=1e-10, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("n", [0, 1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blocked_windows_on_a_batch_of_zero_or_one(n, dtype, monkeypatch):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((n, 2, 5, 6)).astype(dtype)
    results = []
    for blocked in (True, False):
        monkeypatch.setattr(conv, "BLOCKED_WINDOWS", blocked)
        layer = Conv2D(3, (3, 2), padding=(2, 1), dilation=(1, 2))
        layer.build([(2, 5, 6)], np.random.default_rng(1), dtype)
        layer.params["b"][:] = [0.5, -1.0, 2.0]
        y = layer.forward(x, training=True)
        assert isinstance(layer._cache[0], conv._WideWindows) == blocked
        assert y.dtype == dtype
        dx = layer.backward(np.ones_like(y))
        results.append((y, dx, {k: v.copy() for k, v in layer.grads.items()}))
    (y1, dx1, g1), (y2, dx2, g2) = results
    assert y1.shape == y2.shape == (n, 3) + layer.output_shape([(2, 5, 6)])[1:]
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y1, y2, rtol=tol, atol=tol)
    np.testing.assert_allclose(dx1, dx2, rtol=tol, atol=tol)
    for k in g1:
        np.testing.assert_allclose(g1[k], g2[k], rtol=tol, atol=tol, err_msg=k)
    if n == 0:
        np.testing.assert_array_equal(g1["W"], 0.0)
        np.testing.assert_array_equal(g1["b"], 0.0)


# -- the shift kernels' grids ------------------------------------------------------------------------
@pytest.mark.parametrize("combo", [
    dict(kernel_size=5, padding="valid"),                            # LeNet-5's 6 -> 16 layer
    dict(kernel_size=2, padding="same"),                             # no padding at the bottom
    dict(kernel_size=(1, 3), padding="same", dilation=(1, 2)),       # one row of taps
    dict(kernel_size=3, padding="same"),
])
def test_shift_kernels_on_an_empty_batch(combo, monkeypatch):
    """An empty batch (predict on an empty split) gave the shift kernels' plan a negative number of
    columns ('negative dimensions are not allowed'); it ran before the grids per image came in."""
    if not conv.blas.AVAILABLE:
        pytest.skip("no direct BLAS binding here: the shift kernels are off")
    monkeypatch.setattr(conv, "SHIFT_MIN_CHANNELS", 1)
    monkeypatch.setattr(conv, "SHIFT_MIN_CHANNELS_WHOLE", 1)
    layer = Conv2D(16, **combo)
    shape = (6, 14, 14)
    layer.build([shape], np.random.default_rng(0), np.float32)
    x = np.zeros((0,) + shape, np.float32)
    out_shape = (0,) + layer.output_shape([shape])
    assert layer.forward(x).shape == out_shape
    y = layer.forward(x, training=True)
    assert layer._cache[5]  # the shift kernels ran
    assert y.shape == out_shape
    assert layer.backward(np.zeros(out_shape, np.float32)).shape == x.shape
    np.testing.assert_array_equal(layer.grads["W"], 0.0)
    np.testing.assert_array_equal(layer.grads["b"], 0.0)


def test_swap_with_the_pool_as_an_output_and_not_across_dropout_or_batchnorm():
    """The pool's own value may be an output (it is relu(pool(x)) either way); a Dropout or a
    BatchNorm between the ReLU and the pool stops the swap (they do not commute with max)."""
    from engine.layers import Dropout

    def net_with(between=None):
        net = Network("p")
        net.add(Input((2, 6, 6)), name="x")
        net.add(Conv2D(3, 3, padding="same"), ["x"], name="conv")
        net.add(Activation("relu"), ["conv"], name="act")
        last = "act"
        if between is not None:
            net.add(between, ["act"], name="mid")
            last = "mid"
        net.add(MaxPool2D(2), [last], name="pool")
        net.add(Flatten(), ["pool"], name="flat")
        net.add(Dense(2), ["flat"], name="out")
        net.outputs = ["pool", "out"]
        net.build(seed=2, dtype=np.float64)
        return net

    x = np.random.default_rng(6).standard_normal((4, 2, 6, 6))
    dy = {"pool": np.random.default_rng(7).standard_normal((4, 3, 3, 3)),
          "out": np.random.default_rng(8).standard_normal((4, 2))}
    net = net_with()
    results = []
    for keep in (None, True):
        out = (net.forward(x, training=True) if keep is None
               else net.forward_with_activations(x, keep=True, training=True)[0])
        assert bool(net._backward_swaps) == (keep is None)
        dx = net.backward(dy)
        results.append((out, dx, {p.name: p.grad.copy() for p in net.parameters()}))
    (o1, dx1, g1), (o2, dx2, g2) = results
    for k in o1:
        np.testing.assert_array_equal(o1[k], o2[k])
    np.testing.assert_array_equal(dx1, dx2)
    for k in g1:
        np.testing.assert_array_equal(g1[k], g2[k])
    for between in (Dropout(0.5), BatchNorm()):
        other = net_with(between)
        other.forward(x, training=True)
        assert other._backward_swaps == {}
