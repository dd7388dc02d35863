"""Recurrent layers, Embedding and TimeDistributed: gradients (float64), shapes, references, speed tricks."""

import numpy as np
import pytest

import engine  # noqa: F401
from engine.errors import ConfigError, DataError, ShapeError
from engine.gradcheck import layer_errors
from engine.graph import Network
from engine.layers import Input
from engine.layers.embedding import Embedding
from engine.layers.recurrent import GRU, LSTM, Bidirectional, SimpleRNN, TimeDistributed

TOL = 1e-6
RNNS = (SimpleRNN, GRU, LSTM)


def _built(layer, shapes, seed=0, dtype=np.float64, perturb=0.3):
    rng = np.random.default_rng(seed)
    layer.build(shapes, rng, dtype)
    for v in layer.params.values():
        v += perturb * rng.standard_normal(v.shape)
    return layer


@pytest.mark.parametrize("cls", RNNS)
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_rnn_gradients_float64(cls, return_sequences, go_backwards):
    layer = cls(units=5, return_sequences=return_sequences, go_backwards=go_backwards)
    errors = layer_errors(layer, [(6, 3)], rng=np.random.default_rng(2), perturb=0.3)
    assert set(errors) == {"W", "b", "input0"}
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("cls", RNNS)
def test_learned_initial_state_gradients(cls):
    layer = cls(units=4, return_sequences=True, initial_state="learned")
    errors = layer_errors(layer, [(5, 3)], rng=np.random.default_rng(3), perturb=0.3)
    assert "a0" in errors and (cls is not LSTM or "c0" in errors)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("cls", RNNS)
def test_initial_state_inputs_get_gradients(cls):
    n_states = 2 if cls is LSTM else 1
    shapes = [(5, 3)] + [(4,)] * n_states
    errors = layer_errors(cls(units=4), shapes, rng=np.random.default_rng(4), perturb=0.3)
    assert {f"input{i}" for i in range(n_states + 1)} <= set(errors)
    assert max(errors.values()) < TOL, errors


def test_initial_state_changes_output():
    layer = _built(LSTM(units=3), [(4, 2), (3,), (3,)])
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 2))
    zero = np.zeros((2, 3))
    y0 = layer.forward(x, zero, zero)
    y1 = layer.forward(x, rng.standard_normal((2, 3)), zero)
    assert not np.allclose(y0, y1)
    # zeros given explicitly == the default zero state
    np.testing.assert_allclose(y0, layer.forward(x), atol=1e-12)


@pytest.mark.parametrize("merge", ["concat", "sum"])
@pytest.mark.parametrize("inner", ["SimpleRNN", "GRU", "LSTM"])
def test_bidirectional_gradients_float64(merge, inner):
    layer = Bidirectional({"type": inner, "config": {"units": 3, "return_sequences": True}}, merge=merge)
    errors = layer_errors(layer, [(5, 2)], rng=np.random.default_rng(5), perturb=0.3)
    assert {"forward/W", "backward/W", "forward/b", "backward/b", "input0"} <= set(errors)
    assert max(errors.values()) < TOL, errors


def test_bidirectional_is_forward_plus_reversed_backward():
    bi = _built(Bidirectional({"type": "GRU", "config": {"units": 3, "return_sequences": True}}), [(5, 2)])
    x = np.random.default_rng(1).standard_normal((2, 5, 2))
    y = bi.forward(x)
    assert y.shape == (2, 5, 6)
    fwd = GRU(units=3, return_sequences=True)
    fwd.build([(5, 2)], np.random.default_rng(0), np.float64)
    fwd.params["W"][...] = bi.params["forward/W"]
    fwd.params["b"][...] = bi.params["forward/b"]
    np.testing.assert_allclose(y[..., :3], fwd.forward(x), atol=1e-12)
    # the backward half == a forward GRU run on the reversed sequence, re-reversed
    fwd.params["W"][...] = bi.params["backward/W"]
    fwd.params["b"][...] = bi.params["backward/b"]
    np.testing.assert_allclose(y[..., 3:], fwd.forward(x[:, ::-1])[:, ::-1], atol=1e-12)
    # params are the sub-layers' own arrays (optimizers update in place)
    assert bi.params["forward/W"] is bi.forward_layer.params["W"]
    assert set(bi.sublayers()) == {"forward", "backward"}


def test_time_distributed_dense_gradients_and_equivalence():
    td = TimeDistributed({"type": "Dense", "config": {"units": 3}})
    errors = layer_errors(td, [(4, 5)], rng=np.random.default_rng(6))
    assert max(errors.values()) < TOL, errors
    _built(td, [(4, 5)])
    x = np.random.default_rng(2).standard_normal((2, 4, 5))
    y = td.forward(x)
    assert y.shape == (2, 4, 3)
    np.testing.assert_allclose(y[:, 2], x[:, 2] @ td.params["W"] + td.params["b"], atol=1e-12)
    assert td.param_count([(4, 5)]) == 5 * 3 + 3


def test_embedding_gradient_touches_only_used_rows():
    emb = _built(Embedding(input_dim=12, output_dim=4), [(5,)])
    ids = np.array([[1, 3, 3, 0, 7], [7, 7, 1, 3, 0]])
    y = emb.forward(ids.astype(np.float32), training=True)
    np.testing.assert_array_equal(y[1, 0], emb.params["E"][7])
    dy = np.random.default_rng(0).standard_normal(y.shape)
    assert emb.backward(dy) is None
    g = emb.grads["E"]
    used = {0, 1, 3, 7}
    for row in range(12):
        assert np.any(g[row] != 0) == (row in used)
    # row 3 appears three times: its gradient is the sum of those three dy vectors
    np.testing.assert_allclose(g[3], dy[0, 1] + dy[0, 2] + dy[1, 3])
    errors = layer_errors(emb, [(5,)], inputs=[ids])
    assert errors["E"] < TOL
    with pytest.raises(DataError, match="outside the vocabulary"):
        emb.forward(np.array([[12, 0, 0, 0, 0]]))


def test_sequence_shape_errors_are_readable():
    with pytest.raises(ShapeError, match=r"needs a sequence of shape \(T, features\)"):
        LSTM(units=3).output_shape([(7,)])
    with pytest.raises(ShapeError, match="initial state"):
        GRU(units=3).output_shape([(4, 2), (5,)])
    with pytest.raises(ShapeError, match=r"token ids of shape \(T,\)"):
        Embedding(5, 2).output_shape([(3, 4)])
    with pytest.raises(ConfigError):
        Bidirectional({"type": "Dense", "config": {"units": 3}})
    with pytest.raises(ConfigError):
        LSTM(units=3, initial_state="random")
    assert LSTM(units=8).output_shape([(10, 3)]) == (8,)
    assert LSTM(units=8, return_sequences=True).output_shape([(10, 3)]) == (10, 8)
    assert Bidirectional({"type": "LSTM", "config": {"units": 4, "return_sequences": True}}).output_shape(
        [(10, 3)]) == (10, 8)


@pytest.mark.parametrize("cls,gates", [(SimpleRNN, 1), (GRU, 3), (LSTM, 4)])
def test_param_count_before_build_and_stacked_layout(cls, gates):
    layer = cls(units=6)
    expected = (6 + 4) * gates * 6 + gates * 6  # W of shape (units + F, G units): [Waa; Wax] stacked, and b
    assert layer.param_count([(9, 4)]) == expected
    layer.build([(9, 4)], np.random.default_rng(0))
    assert layer.params["W"].shape == (10, gates * 6)
    assert layer.param_count() == expected
    assert layer.params["W"].dtype == np.float32


def test_simple_rnn_matches_the_notes_formula():
    layer = _built(SimpleRNN(units=3, return_sequences=True), [(4, 2)])
    W, b = layer.params["W"], layer.params["b"]
    Waa, Wax = W[:3].T, W[3:].T  # the notes' column-vector matrices
    x = np.random.default_rng(3).standard_normal((1, 4, 2))
    a = np.zeros(3)
    out = []
    for t in range(4):
        a = np.tanh(Waa @ a + Wax @ x[0, t] + b)
        out.append(a)
    np.testing.assert_allclose(layer.forward(x)[0], np.array(out), atol=1e-12)


def _torch():
    return pytest.importorskip("torch")


def test_lstm_matches_torch_with_documented_gate_mapping():
    torch = _torch()
    H, F = 5, 3
    layer = _built(LSTM(units=H, return_sequences=True), [(6, F)])
    W, b = layer.params["W"], layer.params["b"]
    ref = torch.nn.LSTM(F, H, batch_first=True).double()
    # ours: blocks [i, o, f, c]; torch: [i, f, g, o]
    blocks = {k: slice(j * H, (j + 1) * H) for j, k in enumerate("iofc")}
    order = [blocks["i"], blocks["f"], blocks["c"], blocks["o"]]
    with torch.no_grad():
        ref.weight_ih_l0.copy_(torch.from_numpy(np.concatenate([W[H:, s].T for s in order])))
        ref.weight_hh_l0.copy_(torch.from_numpy(np.concatenate([W[:H, s].T for s in order])))
        ref.bias_ih_l0.copy_(torch.from_numpy(np.concatenate([b[s] for s in order])))
        ref.bias_hh_l0.zero_()
    x = np.random.default_rng(7).standard_normal((3, 6, F))
    y_ref, _ = ref(torch.from_numpy(x))
    np.testing.assert_allclose(layer.forward(x), y_ref.detach().numpy(), atol=1e-10)
    # backward: the LSTM computes in its own internal gate order; gradients must land in W's blocks
    dy = np.random.default_rng(8).standard_normal((3, 6, H))
    xt = torch.from_numpy(x).requires_grad_(True)
    y_ref, _ = ref(xt)
    y_ref.backward(torch.from_numpy(dy))
    layer.forward(x, training=True)
    dx = layer.backward(dy)
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-10)
    gW, gb = layer.grads["W"], layer.grads["b"]
    np.testing.assert_allclose(np.concatenate([gW[H:, s].T for s in order]), ref.weight_ih_l0.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(np.concatenate([gW[:H, s].T for s in order]), ref.weight_hh_l0.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(np.concatenate([gb[s] for s in order]), ref.bias_ih_l0.grad.numpy(), atol=1e-10)


def test_lstm_float32_stays_float32_and_keeps_no_float64_temporaries():
    layer = _built(LSTM(units=6, return_sequences=True), [(5, 4)], dtype=np.float32)
    x = np.random.default_rng(1).standard_normal((20, 5, 4)).astype(np.float32)
    y = layer.forward(x, training=True)
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads.values())
    assert all(a.dtype == np.float32 for a in layer._cache if isinstance(a, np.ndarray))
    works = layer._cache[0]  # the LSTM's per-part step buffers
    arrays = [a for w in works for a in vars(w).values() if isinstance(a, np.ndarray)]
    assert arrays and all(a.dtype == np.float32 for a in arrays)


def test_gru_matches_the_notes_equations():
    H, F = 4, 3
    layer = _built(GRU(units=H), [(5, F)])
    W, b = layer.params["W"], layer.params["b"]
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    x = np.random.default_rng(8).standard_normal((2, 5, F))
    c = np.zeros((2, H))
    for t in range(5):
        gu = sig(c @ W[:H, :H] + x[:, t] @ W[H:, :H] + b[:H])
        gr = sig(c @ W[:H, H:2 * H] + x[:, t] @ W[H:, H:2 * H] + b[H:2 * H])
        cand = np.tanh((gr * c) @ W[:H, 2 * H:] + x[:, t] @ W[H:, 2 * H:] + b[2 * H:])
        c = gu * cand + (1 - gu) * c
    np.testing.assert_allclose(layer.forward(x), c, atol=1e-12)


def test_rnns_train_in_a_network_and_run_in_float32_and_float64():
    net = Network()
    x = net.add(Input(shape=(7,)))
    e = net.add(Embedding(input_dim=10, output_dim=4), [x])
    r = net.add(GRU(units=6, return_sequences=True), [e])
    net.add(LSTM(units=5), [r])
    net.build(seed=0)
    ids = np.random.default_rng(0).integers(0, 10, (3, 7))
    y32 = net.forward(ids)
    assert y32.dtype == np.float32 and y32.shape == (3, 5)
    net.astype(np.float64)
    y64 = net.forward(ids)
    assert y64.dtype == np.float64
    np.testing.assert_allclose(y32, y64, atol=1e-5)


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_documented_onnx_mapping_matches_onnxruntime(kind):
    """The layouts documented in engine/layers/recurrent.py map onto ONNX's RNN/GRU/LSTM operators."""
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper

    Hn, F, T, N = 4, 3, 5, 2
    cls = {"RNN": SimpleRNN, "GRU": GRU, "LSTM": LSTM}[kind]
    layer = _built(cls(units=Hn, return_sequences=True), [(T, F)], dtype=np.float32, perturb=0.3)
    W = layer.params["W"].astype(np.float32)
    b = layer.params["b"].astype(np.float32)
    Wx, Wh = W[Hn:].T.copy(), W[:Hn].T.copy()  # (G H, F), (G H, H)
    if kind == "GRU":  # ONNX's z keeps the old state: z = 1 - Γu, so the u block is negated
        Wx[:Hn] *= -1
        Wh[:Hn] *= -1
        b = b.copy()
        b[:Hn] *= -1
    B = np.concatenate([b, np.zeros_like(b)])[None]
    inits = [numpy_helper.from_array(Wx[None], "W"), numpy_helper.from_array(Wh[None], "R"),
             numpy_helper.from_array(B, "B")]
    node = helper.make_node(kind, ["X", "W", "R", "B"], ["Y"], hidden_size=Hn)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [T, N, F])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(9).standard_normal((N, T, F)).astype(np.float32)
    (y,) = sess.run(None, {"X": x.transpose(1, 0, 2).copy()})  # (T, 1, N, H)
    np.testing.assert_allclose(layer.forward(x), y[:, 0].transpose(1, 0, 2), atol=1e-5)


def test_wrappers_take_regularization_strengths_like_plain_layers():
    """The trainer sets layer.l1 / layer.l2 on every layer with weights; wrappers pass them on."""
    from engine import regularizers

    bi = Bidirectional({"type": "LSTM", "config": {"units": 3, "return_sequences": True}})
    td = TimeDistributed({"type": "Dense", "config": {"units": 2}})
    net = Network()
    x = net.add(Input(shape=(4, 2)))
    b = net.add(bi, [x])
    net.add(td, [b])
    net.build(seed=0)
    assert regularizers.penalty(net, 1) == 0.0
    bi.l2 = 0.5
    td.l1 = 0.1
    assert bi.forward_layer.l2 == bi.backward_layer.l2 == 0.5 and td.inner.l1 == 0.1
    w = [bi.params["forward/W"], bi.params["backward/W"]]
    expected = 0.25 * sum(float(np.sum(a.astype(np.float64) ** 2)) for a in w) + 0.1 * float(np.abs(td.params["W"]).sum())
    assert regularizers.penalty(net, 1) == pytest.approx(expected, rel=1e-5)
    # the strengths survive a round trip through the config
    again = Bidirectional.from_config(bi.get_config())
    assert again.l2 == 0.5


@pytest.mark.parametrize("cls", RNNS)
@pytest.mark.parametrize("return_sequences,go_backwards,initial", [(True, False, "zeros"), (False, True, "learned")])
def test_batch_halves_in_threads_match_the_serial_path(monkeypatch, cls, return_sequences, go_backwards, initial):
    import engine.layers.recurrent as rec
    from engine import parallel

    # two workers whatever NNPLAY_THREADS says (the split is what this test checks)
    monkeypatch.setattr(parallel, "_OVERRIDE", 2)
    n_states = 2 if cls is LSTM else 1
    rng = np.random.default_rng(11)
    x = rng.standard_normal((37, 6, 3))
    dy_shape = (37, 6, 5) if return_sequences else (37, 5)
    dy = rng.standard_normal(dy_shape)
    outs = {}
    for mode in ("serial", "chunks"):
        monkeypatch.setattr(rec, "PARALLEL", mode)
        monkeypatch.setattr(rec, "CHUNK_MIN_WORK", 0)
        layer = cls(units=5, return_sequences=return_sequences, go_backwards=go_backwards, initial_state=initial)
        _built(layer, [(6, 3)] + [(5,)] * n_states, seed=3)
        states = [rng.standard_normal((37, 5)) for _ in range(n_states)] if mode == "serial" else outs["states"]
        assert len(rec._batch_parts(37, 10**9)) == (1 if mode == "serial" else 2)
        y = layer.forward(x, *states, training=True)
        dx = layer.backward(dy)
        outs[mode] = (y, dx, {k: g.copy() for k, g in layer.grads.items()})
        outs["states"] = states
    (y1, dx1, g1), (y2, dx2, g2) = outs["serial"], outs["chunks"]
    np.testing.assert_allclose(y2, y1, atol=1e-12)
    for a, b in zip(dx2, dx1):
        np.testing.assert_allclose(a, b, atol=1e-12)
    for k in g1:
        np.testing.assert_allclose(g2[k], g1[k], atol=1e-10)


@pytest.mark.parametrize("cls", RNNS)
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("n", [1, 3])
def test_backward_leaves_the_incoming_gradient_alone(cls, return_sequences, n):
    """backward must not write into dy (the LSTM's last-step path used to, for a batch of one)."""
    layer = _built(cls(units=4, return_sequences=return_sequences), [(5, 3)])
    x = np.random.default_rng(12).standard_normal((n, 5, 3))
    y = layer.forward(x, training=True)
    dy = np.random.default_rng(13).standard_normal(y.shape)
    before = dy.copy()
    dx = layer.backward(dy)
    np.testing.assert_array_equal(dy, before)
    # and the gradient matches the one computed from a private copy of dy
    layer.forward(x, training=True)
    np.testing.assert_allclose(layer.backward(before.copy()), dx, atol=1e-12)


@pytest.mark.parametrize("cls", RNNS)
@pytest.mark.parametrize("return_sequences", [True, False])
def test_reused_training_buffers_give_fresh_results(cls, return_sequences):
    """Recurrent layers keep their training buffers between steps of one batch shape: results must
    not depend on what the previous step left there, an inference forward in between must not
    disturb the gradients, and returned outputs and state gradients must not be overwritten by the
    next step."""
    rng = np.random.default_rng(14)
    n_states = 2 if cls is LSTM else 1
    shapes = [(5, 3)] + [(4,)] * n_states

    def fresh():
        return _built(cls(units=4, return_sequences=return_sequences), shapes, seed=4)

    layer = fresh()
    batches = [(rng.standard_normal((6, 5, 3)), [rng.standard_normal((6, 4)) for _ in range(n_states)],
                rng.standard_normal((6, 5, 4) if return_sequences else (6, 4))) for _ in range(2)]
    # another batch size, then the first again
    batches.append((rng.standard_normal((2, 5, 3)), [rng.standard_normal((2, 4)) for _ in range(n_states)],
                    rng.standard_normal((2, 5, 4) if return_sequences else (2, 4))))
    batches.append(batches[0])
    for _ in range(2):  # one sample twice (the state gradients' transposes are views then)
        batches.append((rng.standard_normal((1, 5, 3)), [rng.standard_normal((1, 4)) for _ in range(n_states)],
                        rng.standard_normal((1, 5, 4) if return_sequences else (1, 4))))
    kept = []
    for x, st, dy in batches:
        y = layer.forward(x, *st, training=True)
        layer.forward(rng.standard_normal(x.shape), *st)  # inference in between
        grads = layer.backward(dy)
        kept.append((y, grads, {k: g.copy() for k, g in layer.grads.items()}))
    for (x, st, dy), (y, grads, g) in zip(batches, kept):
        ref = fresh()
        np.testing.assert_allclose(y, ref.forward(x, *st, training=True), atol=1e-12)
        ref_grads = ref.backward(dy)
        for a, b in zip(grads, ref_grads):  # dx, d a<0>, d c<0>: still what this step returned
            np.testing.assert_allclose(a, b, atol=1e-12)
        for k in g:
            np.testing.assert_allclose(g[k], ref.grads[k], atol=1e-12)


@pytest.mark.parametrize("cls", RNNS)
def test_a_training_forward_from_another_thread_never_writes_into_this_ones_buffers(cls, monkeypatch):
    """The kept training buffers belong to one thread: a layer shared by two networks trained in
    two threads (or a training forward from the GUI thread) must not compute into the buffers of a
    training forward still running in the other thread (its output came out as the other batch's)."""
    import threading

    layer = _built(cls(units=4, return_sequences=True), [(5, 3)], seed=4)
    ref = _built(cls(units=4, return_sequences=True), [(5, 3)], seed=4)
    rng = np.random.default_rng(15)
    xa, xb = rng.standard_normal((4, 5, 3)), rng.standard_normal((4, 5, 3))
    layer.forward(xb, training=True)  # buffers of this shape kept by this thread
    original = layer._initial
    other = {}

    def meddling_initial(*args, **kwargs):
        # while this thread's forward runs, another thread runs a training forward of the same shape
        if not other:
            other["started"] = True
            t = threading.Thread(target=lambda: other.setdefault("y", layer.forward(xb, training=True)))
            t.start()
            t.join()
        return original(*args, **kwargs)

    monkeypatch.setattr(layer, "_initial", meddling_initial)
    ya = layer.forward(xa, training=True)
    np.testing.assert_allclose(ya, ref.forward(xa), atol=1e-12)
    np.testing.assert_allclose(other["y"], ref.forward(xb), atol=1e-12)
