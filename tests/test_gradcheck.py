"""The gradient checker itself: it passes correct gradients and catches wrong ones."""

import numpy as np
import pytest

from engine import Network
from engine.gradcheck import check_layer, check_network, layer_errors, relative_error
from engine.layers import Activation, BatchNorm, Dense, Dropout, Flatten, Input
from engine.layers.base import Layer


def test_relative_error_definition():
    assert relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert relative_error([0.0], [0.0]) == 0.0
    assert relative_error([1.0, 0.0], [0.0, 1.0]) == pytest.approx(np.sqrt(2) / 2)


class _WrongDense(Dense):
    """Dense with a deliberate bug in its weight gradient."""

    def backward(self, dy):
        dx = super().backward(dy)
        self.grads["W"] = self.grads["W"] * 1.01
        return dx


class _WrongInputGrad(Layer):
    def forward(self, x, training=False):
        return x ** 2

    def backward(self, dy):
        return dy  # should be 2 x dy


def test_check_layer_catches_wrong_gradients():
    assert check_layer(Dense(3), [(4,)]) < 1e-7
    errs = layer_errors(_WrongDense(3), [(4,)])
    assert errs["W"] > 1e-3 and errs["b"] < 1e-7 and errs["input0"] < 1e-7
    assert check_layer(_WrongInputGrad(), [(5,)]) > 1e-2


def test_check_network_catches_a_wrong_layer_and_names_it():
    net = Network()
    x = net.add(Input((3,)), name="x")
    net.add(_WrongDense(4), [net.add(Dense(4), [x], name="good")], name="bad")
    net.build(dtype=np.float64)
    rng = np.random.default_rng(0)
    errors = check_network(net, rng.standard_normal((4, 3)), rng.standard_normal((4, 4)), "mse")
    assert errors["good"] < 1e-6 and errors["bad"] > 1e-3


def test_check_network_runs_in_float64_with_dropout_off_and_leaves_the_network_alone():
    net = Network()
    x = net.add(Input((1, 3, 3)), name="x")
    h = net.add(Dense(6, l2=0.5), [net.add(Flatten(), [x])], name="h")
    bn = net.add(BatchNorm(), [h], name="bn")
    d = net.add(Dropout(0.5), [net.add(Activation("relu"), [bn])], name="drop")
    net.add(Activation("softmax"), [net.add(Dense(3), [d], name="z")], name="p")
    net.build(seed=0)  # float32
    before = {k: v.copy() for k, v in net.get_weights().items()}
    rng = np.random.default_rng(0)
    errors = check_network(net, rng.random((8, 1, 3, 3)).astype(np.float32), rng.integers(0, 3, 8),
                           "softmax_cross_entropy")
    assert set(errors) == {"h", "bn", "z"}
    assert max(errors.values()) < 1e-6, errors
    assert net["drop"].rate == 0.5 and net["h"].params["W"].dtype == np.float32
    for k, v in net.get_weights().items():
        np.testing.assert_array_equal(v, before[k])


def test_check_network_subsamples_large_layers():
    net = Network()
    x = net.add(Input((50,)), name="x")
    net.add(Dense(40), [x], name="big")
    net.build(dtype=np.float64)
    rng = np.random.default_rng(0)
    errors = check_network(net, rng.standard_normal((3, 50)), rng.standard_normal((3, 40)), "mse", max_checks=30)
    assert errors["big"] < 1e-6


def test_dropout_mask_is_held_fixed_for_layer_checks():
    # with the random generator restored before every evaluation the check sees one mask
    assert check_layer(Dropout(0.5), [(4, 6)]) < 1e-7


def test_integer_inputs_get_no_input_check():
    class Lookup(Layer):
        integer_inputs = True
        input_dim = 5

        def build(self, input_shapes, rng=None, dtype=np.float32):
            self.params = {"E": rng.standard_normal((5, 2)).astype(dtype)}
            self.zero_grads()
            super().build(input_shapes, rng, dtype)

        def output_shape(self, input_shapes):
            return tuple(input_shapes[0]) + (2,)

        def forward(self, ids, training=False):
            self._ids = ids
            return self.params["E"][ids]

        def backward(self, dy):
            self.grads["E"] = np.zeros_like(self.params["E"])
            np.add.at(self.grads["E"], self._ids, dy)
            return None

    errors = layer_errors(Lookup(), [(3,)])
    assert set(errors) == {"E"} and errors["E"] < 1e-7


def _blank_border_cnn():
    """conv (zero biases) -> ReLU -> max pool -> dense on images with an empty border: fresh, the
    conv's pre-activations over the border are exactly 0, on ReLU's kink."""
    from engine.layers.conv import Conv2D, MaxPool2D

    net = Network()
    x = net.add(Input((1, 8, 8)), name="x")
    c = net.add(Conv2D(3, kernel_size=3, padding="same"), [x], name="conv")
    p = net.add(MaxPool2D(2), [net.add(Activation("relu"), [c])], name="pool")
    s = net.add(Dense(3), [net.add(Flatten(), [p])], name="scores")
    net.add(Activation("softmax"), [s], name="probs")
    net.build(seed=0, dtype=np.float64)
    rng = np.random.default_rng(0)
    xb = np.zeros((4, 1, 8, 8))
    xb[:, :, 3:5, 3:5] = rng.random((4, 1, 2, 2)) + 0.5
    return net, xb, rng.integers(0, 3, 4)


def test_check_network_at_relu_kinks_nudges_parameters_and_still_catches_bugs():
    net, xb, yb = _blank_border_cnn()
    assert np.all(net["conv"].params["b"] == 0)
    z = net["conv"].forward(xb, training=True)
    assert np.sum(z == 0) > z.size // 2  # the kink is really there
    # without the nudge the two-sided difference straddles the kink and the check fails
    raw = check_network(net, xb, yb, "softmax_cross_entropy", perturb=0)
    assert raw["conv"] > 1e-3
    errors = check_network(net, xb, yb, "softmax_cross_entropy")
    assert max(errors.values()) < 1e-7, errors
    assert np.all(net["conv"].params["b"] == 0)  # the nudge happened on the copy only

    class _WrongConvBias(type(net["conv"])):
        def backward(self, dy):
            dx = super().backward(dy)
            self.grads["b"] = self.grads["b"] * 1.05
            return dx

    bad = Network.from_config(net.get_config())
    bad.build(seed=0, dtype=np.float64)
    bad["conv"].__class__ = _WrongConvBias
    assert check_network(bad, xb, yb, "softmax_cross_entropy")["conv"] > 1e-3


def test_numeric_differences_step_down_across_a_kink():
    from engine.gradcheck import _numeric

    theta = np.array([4e-7, 0.3, -2.0])  # |theta_0| < eps: the kink of |t| lies inside [t-eps, t+eps]

    def f():
        return float(np.sum(np.abs(theta)) + theta[1] ** 2)

    _, (d,) = _numeric(f, [theta], 1e-6, None, np.random.default_rng(0))
    np.testing.assert_allclose(d, [1.0, 1.0 + 0.6, -1.0], rtol=1e-6)
