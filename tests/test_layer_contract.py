"""The layer contract's threading promise: an inference forward touches no training state.

The GUI predicts (digits pad, decision boundary) while a training step may be between its forward
and its backward in the worker thread. So for every layer type, a ``forward(training=False)`` on
other data slipped in between ``forward(training=True)`` and ``backward`` must not change what
``backward`` computes.
"""

import copy

import numpy as np
import pytest

from engine.layers import LAYER_TYPES, layer_from_config

from layer_examples import LAYER_EXAMPLES


def _inputs(layer, shapes, rng, batch=3):
    if getattr(layer, "integer_inputs", False):
        high = int(getattr(layer, "input_dim", 10))
        return [rng.integers(0, high, size=(batch,) + tuple(s)) for s in shapes]
    return [rng.standard_normal((batch,) + tuple(s)) for s in shapes]


def _backward(layer, dy):
    layer.zero_grads()
    dx = layer.backward(dy.copy())
    if not isinstance(dx, (tuple, list)):
        dx = (dx,)
    grads = {k: np.array(v, copy=True) for k, v in layer.grads.items()}
    return [None if d is None else np.array(d, copy=True) for d in dx], grads


@pytest.mark.parametrize("type_name", sorted(t for t in LAYER_TYPES if t != "Input"))
def test_inference_between_forward_and_backward_changes_nothing(type_name):
    examples = LAYER_EXAMPLES.get(type_name)
    assert examples, f"{type_name} needs an entry in tests/layer_examples.py"
    for example in examples:
        shapes = [tuple(s) for s in example["input_shapes"]]
        layer = layer_from_config(type_name, {**copy.deepcopy(example["config"]), "name": "node"})
        layer.build(shapes, rng=np.random.default_rng(1), dtype=np.float64)
        layer.input_shapes, layer.built = shapes, True
        rng = np.random.default_rng(0)
        xs = _inputs(layer, shapes, rng)
        other = _inputs(layer, shapes, rng, batch=5)  # another batch size, as a GUI probe has

        y = layer.forward(*xs, training=True)
        dy = np.random.default_rng(2).standard_normal(np.shape(y))
        twin = copy.deepcopy(layer)  # the same state (dropout mask, caches) without the probe
        ref_dx, ref_grads = _backward(twin, dy)

        layer.forward(*other, training=False)  # the GUI thread's prediction
        dx, grads = _backward(layer, dy)

        for a, b in zip(ref_dx, dx):
            if a is not None:
                np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12,
                                           err_msg=f"{type_name}: input gradient changed")
        for k in ref_grads:
            np.testing.assert_allclose(grads[k], ref_grads[k], rtol=1e-12, atol=1e-12,
                                       err_msg=f"{type_name}: gradient of {k} changed")


@pytest.mark.parametrize("type_name", sorted(LAYER_TYPES))
def test_backward_before_a_training_forward_raises_one_clear_error(type_name):
    """Every layer type, even one whose backward needs no cache (Flatten, Dropout, Transpose),
    refuses a backward before any forward(training=True) with the same RuntimeError (not an
    AttributeError/TypeError from a missing cache); an inference forward does not count."""
    if type_name == "Input":
        examples = [{"config": {"shape": [3]}, "input_shapes": []}]
    else:
        examples = LAYER_EXAMPLES[type_name]
    for example in examples:
        shapes = [tuple(s) for s in example["input_shapes"]]
        layer = layer_from_config(type_name, {**copy.deepcopy(example["config"]), "name": "node"})
        layer.build(shapes, rng=np.random.default_rng(1), dtype=np.float64)
        rng = np.random.default_rng(0)
        dy = np.ones((3,) + tuple(layer.output_shape(shapes)))
        message = "'node': backward needs a forward pass with training=True first"
        with pytest.raises(RuntimeError, match=message):
            layer.backward(dy)
        xs = _inputs(layer, shapes, rng) if shapes else [rng.standard_normal((3, 3))]
        layer.forward(*xs, training=False)
        with pytest.raises(RuntimeError, match=message):
            layer.backward(dy)
        y = layer.forward(*xs, training=True)
        dx = layer.backward(np.ones(np.shape(y)))
        assert dx is None or isinstance(dx, (np.ndarray, tuple, list))


def test_the_training_flag_may_come_positionally_where_forward_takes_it_so():
    """The base class wraps every forward (to note a training forward): a layer whose forward is
    ``forward(self, x, training=False)`` still takes ``forward(x, True)`` (it raised 'got multiple
    values for argument training' through the wrapper) and notes it as a training forward."""
    layer = layer_from_config("Dense", {"units": 2, "name": "node"})
    layer.build([(3,)], rng=np.random.default_rng(0), dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((4, 3))
    y = layer.forward(x, True)
    np.testing.assert_allclose(y, layer.forward(x, training=True))
    assert layer.backward(np.ones_like(y)).shape == x.shape
    fresh = layer_from_config("Dense", {"units": 2, "name": "node"})
    fresh.build([(3,)], rng=np.random.default_rng(0), dtype=np.float64)
    fresh.forward(x, False)
    with pytest.raises(RuntimeError, match="training=True first"):
        fresh.backward(np.ones_like(y))


@pytest.mark.parametrize("type_name", sorted(t for t in LAYER_TYPES if t != "Input"))
def test_no_layer_writes_into_its_inputs_or_the_incoming_gradient(type_name):
    """Aliasing: the network hands one dy to every input of an Add, and a layer's input is another
    layer's output (kept by that layer, or by BatchNorm for its backward). So forward must leave
    x alone, backward dy, and a second training step must not rewrite the arrays the first one
    returned (buffers kept between steps return copies)."""
    for example in LAYER_EXAMPLES[type_name]:
        shapes = [tuple(s) for s in example["input_shapes"]]
        layer = layer_from_config(type_name, {**copy.deepcopy(example["config"]), "name": "node"})
        layer.build(shapes, rng=np.random.default_rng(1), dtype=np.float64)
        rng = np.random.default_rng(0)
        xs = _inputs(layer, shapes, rng)
        xs_before = [x.copy() for x in xs]
        y = layer.forward(*xs, training=True)
        dy = np.random.default_rng(2).standard_normal(np.shape(y))
        dy_before = dy.copy()
        dx = layer.backward(dy)
        for x, before in zip(xs, xs_before):
            np.testing.assert_array_equal(x, before, err_msg=f"{type_name}: forward or backward wrote into x")
        np.testing.assert_array_equal(dy, dy_before, err_msg=f"{type_name}: backward wrote into dy")
        returned = [a for a in [y] + list(dx if isinstance(dx, (tuple, list)) else [dx]) if a is not None]
        copies = [np.array(a, copy=True) for a in returned]
        layer.forward(*_inputs(layer, shapes, rng), training=True)  # the next step, same shapes
        layer.backward(np.random.default_rng(3).standard_normal(np.shape(y)))
        for a, before in zip(returned, copies):
            np.testing.assert_array_equal(a, before, err_msg=f"{type_name}: the next step rewrote a returned array")
