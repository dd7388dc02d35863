"""Composite layers: residual identity/conv blocks and the Inception module."""

import json

import numpy as np
import pytest

from engine.errors import ShapeError
from engine.gradcheck import layer_errors
from engine.graph import Network
from engine.layers import layer_from_config
from engine.layers.blocks import InceptionModule, ResidualConvBlock, ResidualIdentityBlock
from engine.layers.conv import Conv2D, GlobalAveragePooling2D
from engine.layers.core import Dense, Input

CASES = [
    (ResidualIdentityBlock(3), (3, 5, 5)),
    (ResidualIdentityBlock(2, kernel_size=1, batchnorm=False), (2, 4, 4)),
    (ResidualConvBlock(4, stride=2), (2, 5, 6)),
    (ResidualConvBlock(3, stride=1, batchnorm=False), (2, 4, 4)),
    (InceptionModule(2, 2, 3, 1, 2, 2), (3, 5, 5)),
]


@pytest.mark.parametrize("layer,shape", CASES)
def test_gradcheck_float64(layer, shape):
    errs = layer_errors(layer, [shape], np.random.default_rng(0), batch=4)
    assert "input0" in errs and any("/" in k for k in errs)
    assert max(errs.values()) < 1e-6, errs


def test_shapes_and_param_counts():
    assert ResidualIdentityBlock(8).output_shape([(8, 10, 10)]) == (8, 10, 10)
    assert ResidualConvBlock(16, stride=2).output_shape([(8, 9, 10)]) == (16, 5, 5)
    assert InceptionModule(4, 4, 8, 2, 4, 4).output_shape([(6, 7, 7)]) == (20, 7, 7)
    # identity block with BN: two 3x3 convs without bias (BN's beta replaces it) + 2 x (gamma, beta)
    assert ResidualIdentityBlock(8).param_count([(8, 6, 6)]) == 2 * 8 * 8 * 9 + 4 * 8
    block = InceptionModule(4, 4, 8, 2, 4, 4)
    expected = (6 * 4 + 4) + (6 * 4 + 4) + (4 * 8 * 9 + 8) + (6 * 2 + 2) + (2 * 4 * 25 + 4) + (6 * 4 + 4)
    assert block.param_count([(6, 7, 7)]) == expected
    block.build([(6, 7, 7)], np.random.default_rng(0))
    assert block.param_count() == expected


def test_identity_block_needs_matching_channels():
    with pytest.raises(ShapeError, match="ResidualConvBlock") as exc:
        ResidualIdentityBlock(16, name="res1").output_shape([(8, 10, 10)])
    assert exc.value.node == "res1"
    with pytest.raises(ShapeError, match=r"needs \(C, H, W\)"):
        InceptionModule().output_shape([(64,)])


def test_params_are_the_sublayers_arrays_and_update_in_place():
    block = ResidualConvBlock(4, stride=2, name="res")
    block.build([(2, 6, 6)], np.random.default_rng(0))
    subs = block.sublayers()
    assert set(subs) >= {"conv1", "bn1", "conv2", "bn2", "shortcut", "bn_shortcut", "add", "relu_out"}
    assert block.params["conv1/W"] is subs["conv1"].params["W"]
    assert block.params["shortcut/W"] is subs["shortcut"].params["W"]
    x = np.random.default_rng(1).standard_normal((3, 2, 6, 6)).astype(np.float32)
    y = block.forward(x, training=True)
    block.backward(np.ones_like(y))
    for key, g in block.grads.items():
        prefix, k = key.split("/")
        assert g is subs[prefix].grads[k]
    before = subs["conv2"].params["W"].copy()
    block.params["conv2/W"] -= 0.1 * block.grads["conv2/W"]  # what an optimizer does
    assert not np.allclose(subs["conv2"].params["W"], before)
    assert set(block.regularized) == {"conv1/W", "conv2/W", "shortcut/W"}
    assert "bn1/running_mean" in block.buffers()


def test_block_inside_a_network_trains_saves_and_casts():
    net = Network()
    x = net.add(Input((1, 8, 8)), name="x")
    h = net.add(Conv2D(4, 3, padding="same"), [x], name="stem")
    h = net.add(ResidualIdentityBlock(4), [h], name="res")
    h = net.add(InceptionModule(2, 2, 2, 1, 2, 2), [h], name="inc")
    h = net.add(GlobalAveragePooling2D(), [h], name="gap")
    net.add(Dense(3), [h], name="out")
    assert net.infer_shapes()["inc"] == (8, 8, 8)
    net.build(0)
    names = [p.name for p in net.parameters()]
    assert "res/conv1/W" in names and "inc/b5_5x5/W" in names
    w = net.get_weights()
    assert "res/bn1/running_var" in w
    xb = np.random.default_rng(2).standard_normal((5, 1, 8, 8)).astype(np.float32)
    y0 = net.forward(xb)
    for p in net.parameters():
        p.value[...] = p.value * 0.5
    assert not np.allclose(net.forward(xb), y0)
    net.set_weights(w)
    np.testing.assert_allclose(net.forward(xb), y0, rtol=1e-6)
    net.astype(np.float64)
    assert net["res"].params["conv1/W"].dtype == np.float64
    assert net["res"].params["conv1/W"] is net["res"].sublayers()["conv1"].params["W"]
    assert net.forward(xb.astype(np.float64)).dtype == np.float64


@pytest.mark.parametrize("layer,shape", CASES)
def test_config_round_trip_and_subgraph(layer, shape):
    cfg = json.loads(json.dumps(layer.get_config()))
    again = layer_from_config(layer.type_name, cfg)
    assert again.get_config() == layer.get_config()
    assert again.output_shape([shape]) == layer.output_shape([shape])
    sub = again.subgraph_config(shape)
    names = [n["name"] for n in sub["nodes"]]
    assert names[0] == "input" and set(names[1:]) == set(again.sublayers())
    rebuilt = Network.from_config(sub)
    assert rebuilt.infer_shapes()[rebuilt.outputs[0]] == layer.output_shape([shape])
