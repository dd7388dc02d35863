"""Convolution layers: nested-loop reference, float64 gradient checks, shapes, errors, config round trip."""

import numpy as np
import pytest

from engine.errors import ConfigError, ShapeError
from engine.graph import Network
from engine.layers import layer_from_config
from engine.layers.conv import (
    AvgPool2D,
    Conv1D,
    Conv1x1,
    Conv2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    MaxPool2D,
    ZeroPadding2D,
)
from engine.layers.core import Input


def numeric_check(layer, x, rng, eps=1e-6, training=True):
    """Max relative error of backward vs two-sided finite differences (params and input), float64.

    The cost is sum(y * R) for a fixed random R, so dcost/dy = R.
    """
    y = layer.forward(x, training=training)
    R = rng.standard_normal(y.shape)
    dx = np.array(layer.backward(R))
    analytic = {k: np.array(v) for k, v in layer.grads.items()}

    def cost():
        return float(np.sum(layer.forward(x, training=training) * R))

    def rel(a, n):
        return np.linalg.norm(a - n) / max(np.linalg.norm(a) + np.linalg.norm(n), 1e-12)

    errs = {}
    targets = [("x", x)] + [(k, layer.params[k]) for k in layer.params]
    for key, arr in targets:
        num = np.zeros_like(arr)
        flat = arr.reshape(-1)
        nflat = num.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            cp = cost()
            flat[i] = old - eps
            cm = cost()
            flat[i] = old
            nflat[i] = (cp - cm) / (2 * eps)
        errs[key] = rel(dx if key == "x" else analytic[key], num)
    return errs


def conv_reference(x, W, b, stride, pads, dilation):
    """Plain nested loops: y[n, f, i, j] = sum_c,u,v x_pad[n, c, i*s + u*d, j*s + v*d] * W[f, c, u, v] + b[f]."""
    (t, bo), (l, r) = pads
    n, c, h, w = x.shape
    f, _, kh, kw = W.shape
    xp = np.zeros((n, c, h + t + bo, w + l + r))
    xp[:, :, t:t + h, l:l + w] = x
    sh, sw = stride
    dh, dw = dilation
    ho = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    wo = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, f, ho, wo))
    for ni in range(n):
        for fi in range(f):
            for i in range(ho):
                for j in range(wo):
                    acc = b[fi]
                    for ci in range(c):
                        for u in range(kh):
                            for v in range(kw):
                                acc += xp[ni, ci, i * sh + u * dh, j * sw + v * dw] * W[fi, ci, u, v]
                    y[ni, fi, i, j] = acc
    return y


@pytest.fixture(params=["im2col", "shift"])
def kernels(request, monkeypatch):
    """Run a test with each convolution kernel: im2col, and the stride-1 shift kernels (which
    normally start at SHIFT_MIN_CHANNELS input channels: forced here for the small test layers)."""
    import engine.layers.conv as conv

    if request.param == "shift":
        if not conv.blas.AVAILABLE:
            pytest.skip("no direct BLAS binding here: the shift kernels are off")
        monkeypatch.setattr(conv, "SHIFT_MIN_CHANNELS", 1)
        monkeypatch.setattr(conv, "SHIFT_MIN_CHANNELS_WHOLE", 1)
    else:
        monkeypatch.setattr(conv, "SHIFT_KERNELS", False)
    return request.param


def _uses_shift(layer):
    return bool(layer._cache[5])


def test_conv2d_on_an_empty_batch(kernels):
    layer = Conv2D(3, kernel_size=3, padding="same")
    layer.build([(4, 5, 6)], rng=np.random.default_rng(0), dtype=np.float32)
    x = np.zeros((0, 4, 5, 6), np.float32)
    assert layer.forward(x).shape == (0, 3, 5, 6)
    y = layer.forward(x, training=True)
    assert _uses_shift(layer) == (kernels == "shift")
    assert y.shape == (0, 3, 5, 6)
    assert layer.backward(y).shape == x.shape
    np.testing.assert_array_equal(layer.grads["W"], 0.0)


def test_conv2d_backward_takes_a_gradient_of_another_float_dtype(kernels):
    """A float64 dy after a float32 forward (or the reverse) gives the same gradients with both
    kernels (the shift kernels' BLAS call needs one dtype: it used to raise TypeError there)."""
    rng = np.random.default_rng(21)
    x = rng.standard_normal((2, 3, 6, 5)).astype(np.float32)
    layer = Conv2D(4, kernel_size=3, padding="same")
    layer.build([(3, 6, 5)], rng=np.random.default_rng(0), dtype=np.float32)
    y = layer.forward(x, training=True)
    assert _uses_shift(layer) == (kernels == "shift")
    dy = rng.standard_normal(y.shape)
    dx64 = layer.backward(dy)
    g64 = {k: v.copy() for k, v in layer.grads.items()}
    layer.forward(x, training=True)
    dx32 = layer.backward(dy.astype(np.float32))
    np.testing.assert_allclose(dx64, dx32, rtol=1e-4, atol=1e-5)
    for k in g64:
        assert layer.grads[k].dtype == np.float32
        np.testing.assert_allclose(g64[k], layer.grads[k], rtol=1e-4, atol=1e-4)


COMBOS = [
    dict(kernel_size=3, stride=1, padding="valid", dilation=1),
    dict(kernel_size=3, stride=1, padding="same", dilation=1),
    dict(kernel_size=3, stride=2, padding="same", dilation=1),
    dict(kernel_size=(2, 3), stride=(2, 1), padding=1, dilation=1),
    dict(kernel_size=3, stride=1, padding=2, dilation=2),
    dict(kernel_size=2, stride=3, padding="valid", dilation=(1, 2)),
    dict(kernel_size=4, stride=2, padding="same", dilation=1),
    # stride 1 with asymmetric 'same' padding (t=1, b=2), more padding than the kernel needs, and 1x1
    dict(kernel_size=4, stride=1, padding="same", dilation=1),
    dict(kernel_size=(3, 2), stride=1, padding=(3, 2), dilation=1),
    dict(kernel_size=1, stride=1, padding="valid", dilation=1),
    # one column (or one row) of taps: the shift kernels' single stacked copy
    dict(kernel_size=(3, 1), stride=1, padding="valid", dilation=1),
    dict(kernel_size=(1, 3), stride=1, padding="same", dilation=(1, 2)),
]


@pytest.mark.parametrize("combo", COMBOS)
def test_conv2d_matches_nested_loop_reference(combo, kernels):
    rng = np.random.default_rng(1)
    layer = Conv2D(filters=3, **combo, name="c")
    shape = (2, 7, 8)
    layer.build([shape], rng, np.float64)
    layer.params["b"][:] = rng.standard_normal(3)
    x = rng.standard_normal((3,) + shape)
    y = layer.forward(x, training=True)
    assert _uses_shift(layer) == (kernels == "shift" and layer.stride == (1, 1) and layer.kernel_size != (1, 1))
    _, ((t, bo), (l, r)) = layer._geometry(shape)
    ref = conv_reference(x, layer.params["W"], layer.params["b"], layer.stride, ((t, bo), (l, r)), layer.dilation)
    assert y.shape == ref.shape == (3,) + layer.output_shape([shape])
    np.testing.assert_allclose(y, ref, rtol=1e-10, atol=1e-10)


def test_same_padding_keeps_size_and_pads_are_reported():
    layer = Conv2D(4, kernel_size=5, padding="same")
    assert layer.output_shape([(1, 28, 28)]) == (4, 28, 28)
    assert layer.pads((1, 28, 28)) == (2, 2, 2, 2)
    assert Conv2D(4, 3, stride=2, padding="same").output_shape([(1, 28, 28)]) == (4, 14, 14)
    assert Conv2D(4, 5).output_shape([(1, 28, 28)]) == (4, 24, 24)


@pytest.mark.parametrize("combo", COMBOS[:6] + COMBOS[7:])
def test_conv2d_gradcheck_float64(combo, kernels):
    rng = np.random.default_rng(2)
    layer = Conv2D(filters=2, **combo)
    layer.build([(2, 6, 7)], rng, np.float64)
    layer.params["b"][:] = rng.standard_normal(2)
    x = rng.standard_normal((2, 2, 6, 7))
    errs = numeric_check(layer, x, rng)
    assert max(errs.values()) < 1e-6, errs


def test_conv2d_no_bias_and_chunked_parallel_mode_agree(kernels):
    import engine.layers.conv as conv

    from engine import parallel

    old, old_min = conv.PARALLEL, conv.CHUNK_MIN_FLOPS
    conv.CHUNK_MIN_FLOPS = 0  # chunk even this small layer
    parallel.set_threads(2)  # even under NNPLAY_THREADS=1 or on one core
    try:
        _compare_modes(conv)
    finally:
        conv.set_parallel(old)
        conv.CHUNK_MIN_FLOPS = old_min
        parallel.set_threads(None)
    with pytest.raises(ConfigError):
        conv.set_parallel("gpu")


def _compare_modes(conv):
    conv.set_parallel("blas")
    rng = np.random.default_rng(3)
    layer = Conv2D(4, 3, padding="same", use_bias=False)
    layer.build([(3, 9, 9)], rng, np.float64)
    x = rng.standard_normal((17, 3, 9, 9))  # uneven chunks
    dy = rng.standard_normal((17, 4, 9, 9))
    y1 = layer.forward(x, training=True)
    dx1 = layer.backward(dy)
    dW1 = layer.grads["W"].copy()
    assert "b" not in layer.params
    conv.set_parallel("chunks")
    y2 = layer.forward(x, training=True)
    assert layer._cache[3] is not None  # the batch really was split
    dx2 = layer.backward(dy)
    np.testing.assert_allclose(y1, y2, atol=1e-12)
    np.testing.assert_allclose(dx1, dx2, atol=1e-12)
    np.testing.assert_allclose(dW1, layer.grads["W"], atol=1e-12)


def test_conv1x1_is_a_channel_mixer():
    rng = np.random.default_rng(4)
    layer = Conv1x1(filters=2)
    layer.build([(5, 4, 4)], rng, np.float64)
    x = rng.standard_normal((3, 5, 4, 4))
    y = layer.forward(x)
    W = layer.params["W"][:, :, 0, 0]
    np.testing.assert_allclose(y, np.einsum("fc,nchw->nfhw", W, x) + layer.params["b"][:, None, None])
    assert layer.output_shape([(5, 4, 4)]) == (2, 4, 4)
    assert layer.param_count([(5, 4, 4)]) == 12
    errs = numeric_check(layer, x[:1], rng)
    assert max(errs.values()) < 1e-6


def test_conv1d_matches_conv2d_and_gradchecks():
    rng = np.random.default_rng(5)
    layer = Conv1D(filters=3, kernel_size=3, stride=2, padding="same", dilation=1)
    layer.build([(2, 9)], rng, np.float64)
    layer.params["b"][:] = rng.standard_normal(3)
    x = rng.standard_normal((2, 2, 9))
    y = layer.forward(x)
    assert y.shape == (2,) + layer.output_shape([(2, 9)]) == (2, 3, 5)
    W4 = layer.params["W"][:, :, None, :]
    _, l, r = (None,) + layer.pads((2, 9))
    ref = conv_reference(x[:, :, None, :], W4, layer.params["b"], (1, 2), ((0, 0), (l, r)), (1, 1))[:, :, 0, :]
    np.testing.assert_allclose(y, ref, atol=1e-12)
    layer2 = Conv1D(2, 3, dilation=2, padding=1)
    layer2.build([(2, 9)], rng, np.float64)
    errs = numeric_check(layer2, x, rng)
    assert max(errs.values()) < 1e-6, errs
    assert layer2.param_count([(2, 9)]) == 2 * 2 * 3 + 2


@pytest.mark.parametrize("kw", [dict(pool_size=2), dict(pool_size=3, stride=2), dict(pool_size=2, padding="same"),
                                dict(pool_size=(2, 3), stride=1, padding=1)])
def test_pools_gradcheck_and_reference(kw):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 2, 7, 6))
    for cls in (MaxPool2D, AvgPool2D):
        layer = cls(**kw)
        shape = layer.output_shape([(2, 7, 6)])
        layer.build([(2, 7, 6)], rng, np.float64)
        y = layer.forward(x)
        assert y.shape == (2,) + shape
        # reference by loops over windows (only real pixels)
        t, b, l, r = layer.pads((2, 7, 6))
        ph, pw = layer.pool_size
        sh, sw = layer.stride
        ref = np.zeros_like(y)
        for i in range(shape[1]):
            for j in range(shape[2]):
                r0, c0 = i * sh - t, j * sw - l
                win = x[:, :, max(r0, 0):r0 + ph, max(c0, 0):c0 + pw]
                ref[:, :, i, j] = win.max(axis=(2, 3)) if cls is MaxPool2D else win.mean(axis=(2, 3))
        np.testing.assert_allclose(y, ref, atol=1e-12)
        np.testing.assert_allclose(layer.forward(x, training=True), y)
        errs = numeric_check(layer, x, rng)
        assert errs["x"] < 1e-6, (cls, errs)


def test_maxpool_sends_gradient_to_the_max_only():
    x = np.array([[[[1.0, 5.0], [3.0, 2.0]]]])
    layer = MaxPool2D(2)
    y = layer.forward(x, training=True)
    assert y.item() == 5.0
    dx = layer.backward(np.array([[[[2.0]]]]))
    np.testing.assert_array_equal(dx, [[[[0.0, 2.0], [0.0, 0.0]]]])


@pytest.mark.parametrize("pool", [2, (2, 3), 3])
def test_maxpool_tiling_path_matches_the_general_one(pool, monkeypatch):
    """Windows that tile the input (stride = pool size, no leftover) take a fast path that records
    the winning offset; its output and gradient (first maximum on ties, as after a ReLU) must equal
    the general path's."""
    rng = np.random.default_rng(8)
    x = np.maximum(rng.standard_normal((3, 2, 6, 6)), 0.0)  # many tied zeros
    x[0, 0, :2, :2] = 1.5  # a window of equal maxima
    dy_shape = (3, 2) + MaxPool2D(pool).output_shape([(2, 6, 6)])[1:]
    dy = rng.standard_normal(dy_shape)
    fast = MaxPool2D(pool)
    y_fast = fast.forward(x, training=True)
    assert fast._tiles(x.shape, ((0, 0), (0, 0)), *y_fast.shape[2:])
    dx_fast = fast.backward(dy)
    slow = MaxPool2D(pool)
    monkeypatch.setattr(slow, "_tiles", lambda *a: False)
    y_slow = slow.forward(x, training=True)
    dx_slow = slow.backward(dy)
    np.testing.assert_array_equal(y_fast, y_slow)
    np.testing.assert_array_equal(dx_fast, dx_slow)
    assert np.count_nonzero(dx_fast) == np.count_nonzero(dy)  # one input per window gets it
    errs = numeric_check(MaxPool2D(pool), rng.standard_normal((2, 2, 6, 6)), rng)
    assert errs["x"] < 1e-6


def test_zero_padding_and_global_pooling():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 4, 5))
    zp = ZeroPadding2D((1, 2, 0, 3))
    assert zp.output_shape([(3, 4, 5)]) == (3, 7, 8)
    y = zp.forward(x, training=True)
    np.testing.assert_array_equal(y[:, :, 1:5, 0:5], x)
    assert y.sum() == pytest.approx(x.sum())
    assert max(numeric_check(zp, x, rng).values()) < 1e-6
    gap = GlobalAveragePooling2D()
    assert gap.output_shape([(3, 4, 5)]) == (3,)
    np.testing.assert_allclose(gap.forward(x), x.mean(axis=(2, 3)))
    assert max(numeric_check(gap, x, rng).values()) < 1e-6
    gap1 = GlobalAveragePooling1D()
    x1 = rng.standard_normal((2, 3, 6))
    assert gap1.output_shape([(3, 6)]) == (3,)
    assert max(numeric_check(gap1, x1, rng).values()) < 1e-6


def test_kernel_larger_than_input_names_the_node():
    net = Network()
    x = net.add(Input((1, 4, 4)), name="image")
    net.add(Conv2D(8, kernel_size=5), [x], name="conv_big")
    with pytest.raises(ShapeError) as exc:
        net.infer_shapes()
    assert exc.value.node == "conv_big"
    msg = str(exc.value)
    assert "conv_big" in msg and "5x5" in msg and "4x4" in msg
    shapes, errors = net.infer_shapes(strict=False)
    assert "conv_big" in errors


def test_flat_input_gives_a_clear_error():
    with pytest.raises(ShapeError, match=r"needs \(C, H, W\) input, got \(784,\)"):
        Conv2D(4, 3, name="c1").output_shape([(784,)])
    with pytest.raises(ShapeError, match="window is larger"):
        MaxPool2D(4).output_shape([(1, 3, 3)])
    with pytest.raises(ShapeError, match="larger than its input length"):
        Conv1D(2, 5).output_shape([(1, 3)])


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError):
        layer_from_config("Conv2D", {"filters": 4, "padding": "full"})
    with pytest.raises(ConfigError):
        layer_from_config("Conv2D", {"filters": 0})
    with pytest.raises(ConfigError):
        layer_from_config("MaxPool2D", {"pool_size": -1})


@pytest.mark.parametrize("layer", [
    Conv2D(4, (3, 5), stride=2, padding=(1, 2), dilation=1, use_bias=False, l2=0.01),
    Conv2D(4, 3, padding="same"),
    Conv1x1(8, l1=0.001),
    Conv1D(6, 5, stride=2, padding="same", dilation=2),
    ZeroPadding2D(2),
    MaxPool2D(3, stride=2, padding="same"),
    AvgPool2D((2, 2)),
    GlobalAveragePooling2D(),
    GlobalAveragePooling1D(),
])
def test_config_round_trip(layer):
    import json

    cfg = json.loads(json.dumps(layer.get_config()))
    again = layer_from_config(layer.type_name, cfg)
    assert type(again) is type(layer)
    assert again.get_config() == layer.get_config()


def test_param_count_before_build_matches_after():
    for layer, shape in [(Conv2D(6, 5, padding="same"), (1, 28, 28)), (Conv1D(4, 3), (2, 10)), (Conv1x1(3), (8, 5, 5))]:
        before = layer.param_count([shape])
        layer.build([shape], np.random.default_rng(0))
        assert layer.param_count() == before


def test_float32_by_default_and_training_cache_only_when_training():
    layer = Conv2D(2, 3)
    layer.build([(1, 5, 5)], np.random.default_rng(0))
    assert layer.params["W"].dtype == np.float32
    y = layer.forward(np.zeros((1, 1, 5, 5), np.float32))
    assert y.dtype == np.float32
    assert layer._cache is None
    with pytest.raises(RuntimeError):
        layer.backward(np.zeros_like(y))


@pytest.mark.parametrize("combo", [dict(padding="same"), dict(stride=2, padding=1)])
def test_many_filters_and_weights_use_the_flat_gemm_paths(combo):
    """More than 32 filters and more than 32 weights per filter take the other GEMM layouts."""
    rng = np.random.default_rng(8)
    layer = Conv2D(filters=34, kernel_size=3, **combo)
    shape = (4, 5, 6)
    layer.build([shape], rng, np.float64)
    layer.params["b"][:] = rng.standard_normal(34)
    x = rng.standard_normal((2,) + shape)
    _, pads = layer._geometry(shape)
    ref = conv_reference(x, layer.params["W"], layer.params["b"], layer.stride, pads, layer.dilation)
    np.testing.assert_allclose(layer.forward(x), ref, rtol=1e-10, atol=1e-10)
    errs = numeric_check(layer, x[:1], rng)
    assert max(errs.values()) < 1e-6, errs


def test_empty_batch():
    for layer, shape in [(Conv2D(40, 3, padding="same"), (2, 5, 5)), (Conv2D(4, 3, stride=2), (2, 5, 5)),
                         (MaxPool2D(2), (2, 4, 4)), (Conv1D(3, 3), (2, 6))]:
        layer.build([shape], np.random.default_rng(0))
        y = layer.forward(np.zeros((0,) + shape, np.float32), training=True)
        assert y.shape == (0,) + layer.output_shape([shape])
        assert layer.backward(np.zeros_like(y)).shape == (0,) + shape


def _reference_dx_stride1(dy, W, pads, dil, x_shape):
    """The input gradient of a stride-1 cross-correlation, summed offset by offset (the adjoint)."""
    n, c, h, w = x_shape
    (t, b), (l, r) = pads
    _, _, ho, wo = dy.shape
    dxp = np.zeros((n, c, h + t + b, w + l + r))
    for u in range(W.shape[2]):
        for v in range(W.shape[3]):
            dxp[:, :, u * dil:u * dil + ho, v * dil:v * dil + wo] += np.einsum("nfhw,fc->nchw", dy, W[:, :, u, v])
    return dxp[:, :, t:t + h, l:l + w]


@pytest.mark.parametrize("kw", [
    dict(filters=3, kernel_size=2, padding="same"),             # asymmetric 'same' padding
    dict(filters=40, kernel_size=3, padding="same", dilation=2),  # many filters, dilated
    dict(filters=5, kernel_size=(3, 5), padding="same"),
    dict(filters=4, kernel_size=3, padding=1),                  # explicit padding that keeps the size
    dict(filters=4, kernel_size=3, padding=3),                  # grows: the col2im route
    dict(filters=6, kernel_size=5, padding="valid"),            # shrinks: the col2im route
])
def test_stride1_input_gradient_matches_the_adjoint_reference(kw):
    """'same' stride-1 convolutions get dx as a full correlation with flipped filters (the fast
    route); the others add window gradients back. Both must equal the offset-by-offset adjoint."""
    rng = np.random.default_rng(3)
    layer = Conv2D(**kw)
    x = rng.standard_normal((5, 3, 9, 11))
    layer.build([x.shape[1:]], rng=rng, dtype=np.float64)
    y = layer.forward(x, training=True)
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    _, pads = layer._geometry(x.shape[1:])
    ref = _reference_dx_stride1(dy, layer.params["W"], pads, layer.dilation[0], x.shape)
    assert dx.shape == x.shape
    np.testing.assert_allclose(dx, ref, rtol=1e-10, atol=1e-10)


def test_malloc_tuning_is_on_by_default_on_linux_and_can_be_turned_off():
    import subprocess
    import sys

    code = "import engine.layers.conv as c; print(c.MALLOC_TUNED)"
    off = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**__import__("os").environ, "NNPLAY_MALLOC_TUNE": "0"}, check=True)
    assert off.stdout.strip() == "False"
    if sys.platform.startswith("linux"):
        import engine.layers.conv as conv_module

        assert isinstance(conv_module.MALLOC_TUNED, bool)


def test_flat_input_error_suggests_a_reshape_that_fits():
    with pytest.raises(ShapeError, match=r"Reshape to \(1, 28, 28\)"):
        Conv2D(3).output_shape([(784,)])
    with pytest.raises(ShapeError, match=r"Reshape to \(1, 8, 8\)"):
        Conv2D(3).output_shape([(64,)])
    with pytest.raises(ShapeError, match=r"channels, height, width"):
        Conv2D(3).output_shape([(10,)])


@pytest.mark.parametrize("combo", [COMBOS[0], COMBOS[1], COMBOS[4], COMBOS[7]])
def test_blocked_windows_match_the_whole_im2col_matrix(combo, monkeypatch):
    """Few filters on few channels (LeNet-5's first layer) make their windows a few samples at a
    time and rebuild them in backward: the same outputs and gradients as with the whole matrix
    kept, whether the blocks divide the batch or not."""
    import engine.layers.conv as conv

    monkeypatch.setattr(conv, "SHIFT_KERNELS", False)
    rng = np.random.default_rng(9)
    shape = (2, 7, 8)
    x = rng.standard_normal((7,) + shape)
    bias = rng.standard_normal(3)
    results = {}
    for blocked, block_size in ((False, None), (True, 1 << 17), (True, 300)):  # 300: 1-2 samples a block
        monkeypatch.setattr(conv, "BLOCKED_WINDOWS", blocked)
        if block_size:
            monkeypatch.setattr(conv.parallel, "BLOCK_SIZE", block_size)
        layer = Conv2D(filters=3, **combo)
        layer.build([shape], np.random.default_rng(1), np.float64)
        layer.params["b"][:] = bias
        y = layer.forward(x, training=True)
        assert isinstance(layer._cache[0], conv._WideWindows) == blocked
        dy = np.random.default_rng(3).standard_normal(y.shape)
        dx = layer.backward(dy)
        results[(blocked, block_size)] = (y, dx, {k: v.copy() for k, v in layer.grads.items()})
    ref = results[(False, None)]
    for key, (y, dx, grads) in results.items():
        np.testing.assert_allclose(y, ref[0], rtol=1e-12, atol=1e-12, err_msg=str(key))
        np.testing.assert_allclose(dx, ref[1], rtol=1e-12, atol=1e-12, err_msg=str(key))
        for k in grads:
            np.testing.assert_allclose(grads[k], ref[2][k], rtol=1e-12, atol=1e-12, err_msg=f"{key} {k}")


@pytest.mark.parametrize("combo", [c for c in COMBOS if c["stride"] in (1, (1, 1)) and c["kernel_size"] != 1])
@pytest.mark.parametrize("innermost", [False, True])
def test_shift_kernels_with_one_grid_per_image_or_per_batch(combo, innermost, monkeypatch):
    """The shift kernels' two layouts (samples outermost, one grid per image; or innermost, one
    grid for the batch) give the nested-loop reference's outputs and the same gradients."""
    import engine.layers.conv as conv

    if not conv.blas.AVAILABLE:
        pytest.skip("no direct BLAS binding here: the shift kernels are off")
    monkeypatch.setattr(conv, "SHIFT_MIN_CHANNELS_WHOLE", 1)
    monkeypatch.setattr(conv, "SAMPLES_INNERMOST_BELOW", 10.0 if innermost else 0.0)
    rng = np.random.default_rng(11)
    shape = (2, 7, 8)
    x = rng.standard_normal((4,) + shape)
    layer = Conv2D(filters=3, **combo)
    layer.build([shape], rng, np.float64)
    layer.params["b"][:] = rng.standard_normal(3)
    y = layer.forward(x, training=True)
    plan = layer._cache[0][0]
    assert isinstance(plan, conv._ShiftPlan) and plan.group == (4 if innermost else 1)
    _, pads = layer._geometry(shape)
    ref = conv_reference(x, layer.params["W"], layer.params["b"], layer.stride, pads, layer.dilation)
    np.testing.assert_allclose(y, ref, rtol=1e-10, atol=1e-10)
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    # the adjoint: <dy, conv(x')> is linear in x', so dx . x' must equal dy . (conv(x') - bias)
    x2 = rng.standard_normal(x.shape)
    y2 = conv_reference(x2, layer.params["W"], np.zeros(3), layer.stride, pads, layer.dilation)
    np.testing.assert_allclose(np.sum(dx * x2), np.sum(dy * y2), rtol=1e-10)
    # and dW: <dW, W'> = <dy, conv_W'(x)>
    w2 = rng.standard_normal(layer.params["W"].shape)
    y3 = conv_reference(x, w2, np.zeros(3), layer.stride, pads, layer.dilation)
    np.testing.assert_allclose(np.sum(layer.grads["W"] * w2), np.sum(dy * y3), rtol=1e-10)
    np.testing.assert_allclose(layer.grads["b"], dy.sum(axis=(0, 2, 3)), rtol=1e-10)
