"""Losses: values, float64 gradient checks, the fused softmax/sigmoid gradient, multitask cost."""

import numpy as np
import pytest

from engine import Network
from engine.errors import ConfigError, DataError
from engine.gradcheck import check_network, relative_error
from engine.layers import Activation, Dense, Input
from engine.layers.activations import sigmoid, softmax
from engine.losses import LOSSES, compute_cost, cost_and_gradients, get_loss


def _numeric_grad(fn, y, eps=1e-6):
    g = np.zeros_like(y)
    flat, gf = y.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        fp = fn()
        flat[i] = old - eps
        fm = fn()
        flat[i] = old
        gf[i] = (fp - fm) / (2 * eps)
    return g


def _case(name, rng):
    """(y_pred, y_true) float64 examples fitting each loss."""
    if name in ("quadratic", "mse"):
        return rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    if name in ("binary_cross_entropy", "bce"):
        return rng.uniform(0.05, 0.95, (6, 2)), rng.integers(0, 2, (6, 2))
    if name == "bce_logits":
        return rng.standard_normal((6, 1)) * 3, rng.integers(0, 2, 6)
    return softmax(rng.standard_normal((5, 4))), rng.integers(0, 4, 5)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_gradient_check_float64(name):
    rng = np.random.default_rng(0)
    loss = get_loss(name)
    y_pred, y_true = _case(name, rng)
    value, dy = loss(y_pred, y_true)
    assert np.isfinite(value) and dy.shape == y_pred.shape
    approx = _numeric_grad(lambda: loss(y_pred, y_true)[0], y_pred)
    assert relative_error(approx, dy) < 1e-6


def test_sequence_cross_entropy_with_padding_gradcheck():
    rng = np.random.default_rng(1)
    loss = get_loss("softmax_cross_entropy")
    y_pred = softmax(rng.standard_normal((3, 4, 5)))
    y_true = rng.integers(0, 5, (3, 4))
    y_true[0, 3] = y_true[2, 2:] = -1  # padding
    value, dy = loss(y_pred, y_true)
    valid = y_true != -1
    expected = -np.mean(np.log(np.take_along_axis(y_pred, np.where(valid, y_true, 0)[..., None], -1)[..., 0][valid]))
    assert value == pytest.approx(expected)
    assert np.all(dy[~valid] == 0)
    approx = _numeric_grad(lambda: loss(y_pred, y_true)[0], y_pred)
    assert relative_error(approx, dy) < 1e-6
    # fused: gradient with respect to the logits, mean over the N*T counted positions
    z = rng.standard_normal((3, 4, 5))
    _, dz = loss.fused(softmax(z), y_true)
    approx = _numeric_grad(lambda: loss(softmax(z), y_true)[0], z)
    assert relative_error(approx, dz) < 1e-6


def test_known_values():
    assert get_loss("mse")(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]]))[0] == pytest.approx(2.5)
    p = np.array([[0.25, 0.75]])
    assert get_loss("cross_entropy")(p, np.array([1]))[0] == pytest.approx(-np.log(0.75))
    assert get_loss("bce")(np.array([[0.8]]), np.array([1]))[0] == pytest.approx(-np.log(0.8))
    # one-hot targets are accepted too
    assert get_loss("log_likelihood")(p, np.array([[0.0, 1.0]]))[0] == pytest.approx(-np.log(0.75))


def test_bce_from_logits_is_stable_and_matches_probabilities():
    z = np.array([[-800.0], [-3.0], [0.0], [4.0], [900.0]])
    y = np.array([0, 1, 1, 0, 1])
    v, dz = get_loss("bce_logits")(z, y)
    assert np.isfinite(v) and np.all(np.isfinite(dz))
    zs = z[1:4]
    v2, _ = get_loss("bce")(sigmoid(zs), y[1:4])
    v3, _ = get_loss("bce_logits")(zs, y[1:4])
    assert v2 == pytest.approx(v3)


def test_bad_targets_and_names_give_clear_errors():
    loss = get_loss("softmax_cross_entropy")
    with pytest.raises(DataError, match="out of range"):
        loss(softmax(np.zeros((2, 3))), np.array([0, 3]))
    with pytest.raises(DataError, match="do not fit"):
        loss(softmax(np.zeros((2, 3))), np.array([0, 1, 2]))
    with pytest.raises(DataError, match="do not fit"):
        get_loss("mse")(np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(ConfigError, match="unknown loss"):
        get_loss("hinge-ish")


def _classifier(out_kind, n_out, seed=0):
    net = Network()
    x = net.add(Input((3,)))
    h = net.add(Dense(5), [x])
    a = net.add(Activation("tanh"), [h])
    o = net.add(Dense(n_out), [a])
    net.add(Activation(out_kind), [o], name="out")
    net.build(seed=seed, dtype=np.float64)
    return net


@pytest.mark.parametrize("kind, loss, n_out", [("softmax", "softmax_cross_entropy", 4), ("sigmoid", "bce", 1)])
def test_fused_gradient_is_a_minus_y_over_m_and_matches_unfused(kind, loss, n_out):
    net = _classifier(kind, n_out)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3))
    y = rng.integers(0, n_out if n_out > 1 else 2, 6)
    assert get_loss(loss).fused_with(net, "out")
    out = net.forward(x, training=True)
    cost, dy = compute_cost(net, out, y, loss)
    assert net["out"].fused
    onehot = np.eye(n_out)[y] if n_out > 1 else y[:, None]
    np.testing.assert_allclose(dy["out"], (out - onehot) / 6)
    net.backward(dy)
    assert not net["out"].fused  # the flag lasts one backward
    fused_grads = {k: v.copy() for k, v in net["dense_1"].grads.items()}
    out = net.forward(x, training=True)
    cost2, dy2 = compute_cost(net, out, y, loss, fuse=False)
    net.backward(dy2)
    assert cost == pytest.approx(cost2)
    for k, v in fused_grads.items():
        np.testing.assert_allclose(net["dense_1"].grads[k], v, rtol=1e-7, atol=1e-12)
    assert not get_loss("mse").fused_with(net, "out")


def test_stale_fusion_flag_is_cleared_by_forward():
    net = _classifier("softmax", 3)
    x = np.random.default_rng(0).standard_normal((4, 3))
    out = net.forward(x, training=True)
    compute_cost(net, out, np.array([0, 1, 2, 0]), "cross_entropy")  # evaluation only, no backward
    assert net["out"].fused
    net.forward(x, training=True)
    assert not net["out"].fused


@pytest.mark.parametrize("kind, loss, n_out", [("softmax", "softmax_cross_entropy", 4), ("sigmoid", "bce", 1),
                                               ("linear", "mse", 2)])
def test_network_gradcheck_with_each_loss_and_regularization(kind, loss, n_out):
    net = _classifier(kind, n_out)
    net["dense_1"].l2 = 0.3
    net["dense_2"].l1 = 0.05
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 3))
    y = rng.standard_normal((5, n_out)) if loss == "mse" else rng.integers(0, max(n_out, 2), 5)
    errors = check_network(net, x, y, loss)
    assert set(errors) == {"dense_1", "dense_2"}
    assert max(errors.values()) < 1e-6, errors


def test_multitask_cost_sums_weighted_losses_and_penalty():
    net = Network()
    x = net.add(Input((3,)))
    h = net.add(Dense(4, l2=0.2), [x])
    net.add(Activation("softmax"), [net.add(Dense(3), [h], name="cls_logits")], name="cls")
    net.add(Dense(2), [h], name="box")
    net.build(seed=0, dtype=np.float64)
    rng = np.random.default_rng(0)
    xb = rng.standard_normal((4, 3))
    t = {"cls": np.array([0, 1, 2, 1]), "box": rng.standard_normal((4, 2))}
    spec = {"cls": "cross_entropy", "box": {"type": "mse", "weight": 2.0}}
    out = net.forward(xb, training=True)
    cost, dy = compute_cost(net, out, t, spec)
    from engine import regularizers

    expected = (get_loss("cross_entropy")(out["cls"], t["cls"])[0] + 2.0 * get_loss("mse")(out["box"], t["box"])[0]
                + regularizers.penalty(net, 4))
    assert cost == pytest.approx(expected)
    assert set(dy) == {"cls", "box"}
    errors = check_network(net, xb, t, spec)
    assert max(errors.values()) < 1e-6, errors
    c2, _ = cost_and_gradients(net, xb, t, spec)
    assert c2 == pytest.approx(cost)


def test_float32_losses_stay_finite_at_saturated_outputs():
    p = np.array([[1.0], [0.0]], dtype=np.float32)
    v, dy = get_loss("bce")(p, np.array([0, 1]))
    assert np.isfinite(v) and np.all(np.isfinite(dy)) and dy.dtype == np.float32
    q = np.array([[1.0, 0.0]], dtype=np.float32)
    v, dy = get_loss("cross_entropy")(q, np.array([1]))
    assert np.isfinite(v) and v > 20 and np.all(np.isfinite(dy))
