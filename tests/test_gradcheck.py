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
