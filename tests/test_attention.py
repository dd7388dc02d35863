"""Attention layers: float64 gradients (incl. through the attention decoder), weights kept for display."""

import numpy as np
import pytest

import engine  # noqa: F401
from engine.errors import ShapeError
from engine.gradcheck import layer_errors
from engine.graph import Network
from engine.layers import Activation, Input
from engine.layers.attention import AdditiveAttention, AttentionDecoder, ScaledDotProductAttention
from engine.layers.embedding import Embedding
from engine.layers.recurrent import Bidirectional, TimeDistributed

TOL = 1e-6


@pytest.mark.parametrize("shapes", [[(3,), (6, 4)], [(2, 3), (6, 4)]])
def test_additive_attention_gradients(shapes):
    errors = layer_errors(AdditiveAttention(units=5), shapes, rng=np.random.default_rng(0), perturb=0.3)
    assert {"W1", "W2", "b", "v", "input0", "input1"} <= set(errors)
    assert max(errors.values()) < TOL, errors


def test_additive_attention_weights_and_context():
    layer = AdditiveAttention(units=4)
    layer.build([(3,), (6, 5)], np.random.default_rng(0), np.float64)
    rng = np.random.default_rng(1)
    s, a = rng.standard_normal((2, 3)), rng.standard_normal((2, 6, 5))
    ctx = layer.forward(s, a)
    w = layer.last_weights
    assert w.shape == (2, 6) and np.all(w >= 0)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    np.testing.assert_allclose(ctx, np.einsum("nt,ntd->nd", w, a))
    # the weights follow the notes' formula: softmax over t' of v . tanh(W1 a<t'> + W2 s + b)
    p = layer.params
    e = np.tanh(a @ p["W1"] + (s @ p["W2"])[:, None, :] + p["b"]) @ p["v"]
    ref = np.exp(e - e.max(1, keepdims=True))
    np.testing.assert_allclose(w, ref / ref.sum(1, keepdims=True))


@pytest.mark.parametrize("causal", [False, True])
def test_scaled_dot_product_gradients_and_reference(causal):
    shapes = [(4, 3), (4, 3), (4, 5)]
    errors = layer_errors(ScaledDotProductAttention(causal=causal), shapes, rng=np.random.default_rng(2))
    assert max(errors.values()) < TOL, errors
    layer = ScaledDotProductAttention(causal=causal)
    rng = np.random.default_rng(3)
    q, k, v = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 4, 5))
    y = layer.forward(q, k, v)
    s = q @ k.transpose(0, 2, 1) / np.sqrt(3)
    if causal:
        s = np.where(np.tril(np.ones((4, 4), bool)), s, -np.inf)
    w = np.exp(s - s.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    np.testing.assert_allclose(y, w @ v)
    np.testing.assert_allclose(layer.last_weights, w)
    if causal:
        assert np.all(np.triu(layer.last_weights[0], 1) == 0)


def test_scaled_dot_product_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 6))
    ref = torch.nn.functional.scaled_dot_product_attention(*(torch.from_numpy(a) for a in (q, k, v)))
    np.testing.assert_allclose(ScaledDotProductAttention().forward(q, k, v), ref.numpy(), atol=1e-12)


def test_scaled_dot_product_two_inputs_uses_keys_as_values():
    errors = layer_errors(ScaledDotProductAttention(), [(3, 4), (5, 4)], rng=np.random.default_rng(5))
    assert max(errors.values()) < TOL, errors
    with pytest.raises(ShapeError, match="features"):
        ScaledDotProductAttention().output_shape([(3, 4), (5, 3)])


def test_attention_decoder_gradients_through_attention():
    dec = AttentionDecoder(steps=4, units=3, attention_units=5)
    errors = layer_errors(dec, [(6, 4)], rng=np.random.default_rng(6), perturb=0.3)
    expected = {"attention/W1", "attention/W2", "attention/b", "attention/v", "lstm/W", "lstm/b", "input0"}
    assert expected <= set(errors)
    assert max(errors.values()) < TOL, errors


def test_attention_decoder_keeps_weights_and_counts_params():
    dec = AttentionDecoder(steps=4, units=3, attention_units=5)
    shapes = [(6, 4)]
    count = dec.param_count(shapes)
    dec.build(shapes, np.random.default_rng(0))
    assert dec.param_count() == count
    assert dec.params["lstm/W"] is dec.lstm.params["W"]
    y = dec.forward(np.random.default_rng(1).standard_normal((2, 6, 4)).astype(np.float32))
    assert y.shape == (2, 4, 3)
    assert dec.last_weights.shape == (2, 4, 6)
    np.testing.assert_allclose(dec.last_weights.sum(-1), 1.0, rtol=1e-5)
    assert set(dec.sublayers()) == {"attention", "lstm"}


def test_whole_seq2seq_network_gradient_check():
    """Embedding -> Bi-LSTM -> attention decoder -> TimeDistributed(Dense) -> softmax, cross-entropy, float64."""
    from engine.gradcheck import check_network

    net = Network()
    x = net.add(Input(shape=(6,)))
    e = net.add(Embedding(input_dim=9, output_dim=3), [x])
    b = net.add(Bidirectional({"type": "LSTM", "config": {"units": 3, "return_sequences": True}}), [e])
    d = net.add(AttentionDecoder(steps=3, units=4, attention_units=3), [b])
    o = net.add(TimeDistributed({"type": "Dense", "config": {"units": 5}}), [d])
    net.add(Activation("softmax"), [o])
    net.build(seed=0, dtype=np.float64)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 9, (4, 6)).astype(np.float64)
    y = rng.integers(0, 5, (4, 3))
    result = check_network(net, ids, y, "softmax_cross_entropy", max_checks=30)
    assert set(result) == {"embedding_1", "bidirectional_1", "attention_decoder_1", "time_distributed_1"}
    assert max(result.values()) < TOL, result
