"""ONNX export: every exportable layer family, checked against onnxruntime, and re-imported.

Each case builds a small network, exports it (onnx.checker + onnxruntime within 1e-4 of the
engine, float32, at once), then imports the file back and checks the engine gives the same outputs.
"""

import os

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import onnx  # noqa: E402

from engine import Network  # noqa: E402
from engine.errors import ConfigError  # noqa: E402
from engine.layers import LAYER_TYPES as L  # noqa: E402
from engine.onnx import OPSET, export_network, import_onnx  # noqa: E402
from engine.onnx.check import sample_batch  # noqa: E402


def chain(spec, shape, seed=1):
    net = Network("test_net")
    prev = net.add(L["Input"](shape=shape), name="x")
    for type_name, cfg in spec:
        prev = net.add(L[type_name](**cfg), [prev])
    net.build(seed=seed)
    return net


def randomize_buffers(net, seed=0):
    """Non-trivial BatchNorm statistics, so the exported inference form is really tested."""
    rng = np.random.default_rng(seed)
    for layer in net.layers:
        for key, buf in layer.buffers().items():
            if buf is None:
                continue
            buf[...] = rng.uniform(0.5, 1.5, buf.shape) if "var" in key else rng.normal(0, 0.5, buf.shape)
        for k, p in layer.params.items():
            if k.endswith("b") or k.endswith("beta"):
                p[...] = rng.normal(0, 0.3, p.shape)


RNN = {"type": "LSTM", "config": {"units": 4, "return_sequences": True}}
CASES = {
    "mlp_softmax": ([("Dense", dict(units=8)), ("Activation", dict(kind="relu")), ("Dropout", dict(rate=0.3)),
                     ("Dense", dict(units=3)), ("Activation", dict(kind="softmax"))], (5,)),
    "activations": ([("Activation", dict(kind=k)) for k in ("sigmoid", "tanh", "linear")]
                    + [("Activation", dict(kind="leaky_relu", alpha=0.2)), ("Activation", dict(kind="elu", alpha=0.7)),
                       ("Activation", dict(kind="step"))], (6,)),
    "dense_no_bias_batchnorm": ([("Dense", dict(units=4, use_bias=False)), ("BatchNorm", {}),
                                 ("Reshape", dict(shape=[2, 2])), ("Flatten", {})], (3,)),
    "cnn": ([("Conv2D", dict(filters=4, kernel_size=3, padding="same")), ("BatchNorm", {}),
             ("Activation", dict(kind="relu")), ("MaxPool2D", dict(pool_size=2)), ("ZeroPadding2D", dict(padding=1)),
             ("Conv2D", dict(filters=3, kernel_size=3, stride=2, dilation=1)),
             ("AvgPool2D", dict(pool_size=2, padding="same")), ("Flatten", {}), ("Dense", dict(units=2))], (2, 9, 9)),
    "conv_dilated_1x1_gap": ([("Conv2D", dict(filters=3, kernel_size=3, dilation=2, padding=1)),
                              ("Conv1x1", dict(filters=2)), ("GlobalAveragePooling2D", {})], (2, 8, 8)),
    "conv1d": ([("Conv1D", dict(filters=3, kernel_size=3, padding="same")), ("Activation", dict(kind="tanh")),
                ("GlobalAveragePooling1D", {})], (2, 7)),
    "recurrent": ([("SimpleRNN", dict(units=4, return_sequences=True)),
                   ("GRU", dict(units=3, return_sequences=True, go_backwards=True)), ("LSTM", dict(units=5))], (6, 3)),
    "recurrent_last": ([("GRU", dict(units=3)), ("Dense", dict(units=2))], (4, 2)),
    "reverse_rnn": ([("SimpleRNN", dict(units=3, go_backwards=True))], (5, 2)),
    "bidirectional": ([("Bidirectional", dict(layer=RNN)),
                       ("Bidirectional", dict(layer={"type": "GRU", "config": {"units": 3}}, merge="sum"))], (6, 3)),
    "bidirectional_seq_sum": ([("Bidirectional", dict(layer={"type": "SimpleRNN", "config": {
        "units": 3, "return_sequences": True}}, merge="sum")), ("Flatten", {})], (4, 2)),
    "time_distributed": ([("TimeDistributed", dict(layer={"type": "Dense", "config": {"units": 4}})),
                          ("Reshape", dict(shape=[2, 12]))], (6, 3)),
    "time_distributed_conv": ([("TimeDistributed", dict(layer={"type": "Conv2D", "config": {
        "filters": 2, "kernel_size": 3, "padding": "same"}})), ("TimeDistributed", dict(layer={
            "type": "Flatten", "config": {}})), ("LSTM", dict(units=3))], (4, 1, 5, 5)),
    "embedding_learned_state": ([("Embedding", dict(input_dim=10, output_dim=4)),
                                 ("LSTM", dict(units=3, initial_state="learned"))], (5,)),
    "reset_after_gru": ([("ResetAfterGRU", dict(units=3, return_sequences=True)),
                         ("Bidirectional", dict(layer={"type": "ResetAfterGRU", "config": {"units": 2}}))], (5, 3)),
    "onnx_ops": ([("Transpose", dict(perm=[1, 0])), ("Take", dict(indices=[2, 0], axis=0)),
                  ("ConstantOp", dict(op="mul", value=[0.5, 2.0, 1.0])), ("LogSoftmax", dict(axis=-1))], (3, 4)),
}
if "ResidualIdentityBlock" in L:
    CASES["residual_blocks"] = ([("Conv2D", dict(filters=3, kernel_size=3, padding="same")),
                                 ("ResidualIdentityBlock", dict(filters=3)),
                                 ("ResidualConvBlock", dict(filters=4, stride=2)), ("GlobalAveragePooling2D", {})],
                                (2, 6, 6))
if "InceptionModule" in L:
    CASES["inception"] = ([("InceptionModule", dict(f1=2, f3_reduce=2, f3=3, f5_reduce=1, f5=2, pool_proj=2)),
                           ("Flatten", {})], (3, 5, 5))
COMPOSITE_CASES = {"residual_blocks", "inception"}
NOT_REIMPORTABLE = set()


def _learned_states(net, seed=3):
    rng = np.random.default_rng(seed)
    for layer in net.layers:
        for k in ("a0", "c0"):
            if k in layer.params:
                layer.params[k][...] = rng.normal(0, 0.5, layer.params[k].shape)


@pytest.mark.parametrize("case", sorted(CASES))
def test_export_matches_onnxruntime_and_reimports(case, tmp_path):
    spec, shape = CASES[case]
    net = chain(spec, shape)
    randomize_buffers(net)
    _learned_states(net)
    path = tmp_path / f"{case}.onnx"
    report = export_network(net, path, doc_string=f"test case {case}")
    assert report.checker_ok, report.checker_message
    assert report.max_abs_diff <= 1e-4, report.summary()
    assert report.ok and os.path.exists(path)
    model = onnx.load(str(path))
    assert model.opset_import[0].version == OPSET >= 17
    assert model.doc_string == f"test case {case}"
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    node_names = {n.name for n in model.graph.node}
    for name in net.nodes:
        if net[name].type_name not in ("Input", "Dropout"):
            assert name in node_names or any(n.startswith(name + "/") for n in node_names), \
                f"layer name {name} not carried over"
    if case in NOT_REIMPORTABLE:
        return
    back = import_onnx(path)
    x = sample_batch(net, batch=5, seed=2)[net.inputs[0]]
    np.testing.assert_allclose(back.forward(x), net.forward(x), atol=1e-5, rtol=1e-5)
    if case in COMPOSITE_CASES:
        # blocks come back as blocks, and as plain layers when their sub-graphs are not folded
        assert [back[n].type_name for n in back.topological_order()] == \
            [net[n].type_name for n in net.topological_order()]
        plain = import_onnx(path, composites=False)
        assert len(plain.nodes) > len(net.nodes)
        np.testing.assert_allclose(plain.forward(x), net.forward(x), atol=1e-5, rtol=1e-5)


def test_dense_exports_as_gemm_and_softmax_as_softmax(tmp_path):
    net = chain([("Dense", dict(units=3)), ("Activation", dict(kind="softmax"))], (4,))
    export_network(net, tmp_path / "m.onnx")
    ops = [n.op_type for n in onnx.load(str(tmp_path / "m.onnx")).graph.node]
    assert ops == ["Gemm", "Softmax"]


def test_dropout_is_left_out(tmp_path):
    net = chain([("Dense", dict(units=3)), ("Dropout", dict(rate=0.5))], (4,))
    report = export_network(net, tmp_path / "m.onnx")
    ops = [n.op_type for n in onnx.load(str(tmp_path / "m.onnx")).graph.node]
    assert "Dropout" not in ops and report.ok
    assert any("Dropout left out" in note for note in report.notes)


def test_lstm_exports_as_onnx_lstm_with_dynamic_batch(tmp_path):
    net = chain([("LSTM", dict(units=3))], (5, 2))
    export_network(net, tmp_path / "m.onnx")
    model = onnx.load(str(tmp_path / "m.onnx"))
    assert "LSTM" in [n.op_type for n in model.graph.node]
    import onnxruntime as ort

    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    for batch in (1, 7):
        x = np.random.default_rng(batch).standard_normal((batch, 5, 2)).astype(np.float32)
        np.testing.assert_allclose(sess.run(None, {"x": x})[0], net.forward(x), atol=1e-5)


def test_multi_input_add_concat_and_two_outputs(tmp_path):
    net = Network("two_heads")
    a = net.add(L["Input"](shape=(4,)), name="a")
    b = net.add(L["Input"](shape=(4,)), name="b")
    s = net.add(L["Add"](), [a, b], name="sum")
    c = net.add(L["Concatenate"](axis=-1), [s, a], name="cat")
    net.add(L["Dense"](units=2), [c], name="head1")
    net.add(L["Dense"](units=3), [s], name="head2")
    net.build(seed=0)
    report = export_network(net, tmp_path / "m.onnx")
    assert report.ok, report.summary()
    back = import_onnx(tmp_path / "m.onnx")
    feed = {"a": np.ones((2, 4), np.float32), "b": np.arange(8, dtype=np.float32).reshape(2, 4)}
    out, want = back.forward(feed), net.forward(feed)
    for k in want:
        np.testing.assert_allclose(out[k], want[k], atol=1e-5)


def test_float64_network_exports_in_float32_and_stays_float64(tmp_path):
    net = chain([("Dense", dict(units=3)), ("Activation", dict(kind="tanh"))], (4,))
    net.astype(np.float64)
    report = export_network(net, tmp_path / "m.onnx")
    assert report.ok
    assert net.parameters()[0].value.dtype == np.float64


def test_unexportable_layer_is_one_clear_error(tmp_path, monkeypatch):
    from engine.onnx import export as export_module

    monkeypatch.delitem(export_module.CONVERTERS, "Conv1D")
    monkeypatch.delitem(export_module.CONVERTERS, "GRU")
    net = chain([("Conv1D", dict(filters=2, kernel_size=3)), ("Transpose", dict(perm=[1, 0])), ("GRU", dict(units=2))],
                (3, 6))
    with pytest.raises(ConfigError, match="Conv1D, GRU"):
        export_network(net, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


# -- presets: export and re-import of every bundled preset (the acceptance) -----------------------
def _preset_paths():
    from engine.io import PRESETS_DIR, list_presets

    return [os.path.join(PRESETS_DIR, name + ".json") for name in list_presets()]


def _perturb(net, seed=7):
    """Weights that no fresh build would give, so the test proves the weights really travel."""
    rng = np.random.default_rng(seed)
    for p in net.parameters():
        p.value[...] = p.value * rng.uniform(0.5, 1.5, p.value.shape) + rng.normal(0, 0.05, p.value.shape)
    randomize_buffers(net, seed)


@pytest.mark.parametrize("path", _preset_paths(), ids=lambda p: os.path.basename(p))
def test_every_preset_exports_and_reimports(path, tmp_path):
    from engine.io import load_document

    doc = load_document(path)
    net = doc.network
    net.build(seed=0)
    _perturb(net)
    out = tmp_path / "preset.onnx"
    report = export_network(net, out, doc_string=doc.description)
    assert report.ok, report.summary()
    back = import_onnx(out)
    feed = sample_batch(net, batch=3, seed=1)
    x = feed if len(feed) > 1 else feed[net.inputs[0]]
    want, got = net.forward(x), back.forward(x)
    if isinstance(want, dict):
        for k in want:
            np.testing.assert_allclose(got[k], want[k], atol=1e-4)
    else:
        np.testing.assert_allclose(got, want, atol=1e-4)
    assert len(back.inputs) == len(net.inputs)


def test_composite_layer_folds_back_into_one_node(tmp_path):
    if "AttentionDecoder" not in L:
        pytest.skip("no AttentionDecoder layer")
    net = Network("dec")
    x = net.add(L["Input"](shape=(5, 4)), name="x")
    net.add(L["AttentionDecoder"](steps=3, units=4, attention_units=3), [x], name="decoder")
    net.build(seed=0)
    _perturb(net)
    report = export_network(net, tmp_path / "m.onnx")
    assert report.ok, report.summary()
    ops = {n.op_type for n in onnx.load(str(tmp_path / "m.onnx")).graph.node}
    assert {"MatMul", "Softmax", "Sigmoid", "Tanh"} <= ops  # a plain ONNX sub-graph for other tools
    back = import_onnx(tmp_path / "m.onnx")
    assert [back[n].type_name for n in back.topological_order()] == ["Input", "AttentionDecoder"]
    xb = np.random.default_rng(0).standard_normal((2, 5, 4)).astype(np.float32)
    np.testing.assert_allclose(back.forward(xb), net.forward(xb), atol=1e-5)


def test_command_line_export_and_import_round_trip(tmp_path):
    import subprocess
    import sys

    from engine.io import list_presets, load_document, load_model

    if "spiral" not in list_presets():
        pytest.skip("no spiral preset")
    out = tmp_path / "spiral.onnx"
    proc = subprocess.run([sys.executable, "-m", "engine", "export", "spiral", str(out)],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert "largest difference" in proc.stdout and out.exists()
    model_path = tmp_path / "back.npz"
    proc = subprocess.run([sys.executable, "-m", "engine", "import", str(out), str(model_path)],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    doc = load_model(model_path)  # a model file the canvas can open: document + weights
    from engine.io import PRESETS_DIR

    ref_doc = load_document(os.path.join(PRESETS_DIR, "spiral.json"))
    ref = ref_doc.network
    ref.build(seed=ref_doc.training.get("seed", 0))  # as the export above built the preset
    x = sample_batch(ref, batch=4)[ref.inputs[0]]
    np.testing.assert_allclose(doc.network.forward(x), ref.forward(x), atol=1e-5)


@pytest.mark.parametrize("causal", [False, True])
def test_attention_layers_export_as_matmul_softmax_and_fold_back(tmp_path, causal):
    net = Network("attn")
    q = net.add(L["Input"](shape=(6,)), name="state")
    a = net.add(L["Input"](shape=(5, 4)), name="encoder")
    ctx = net.add(L["AdditiveAttention"](units=3), [q, a], name="additive")
    net.add(L["ScaledDotProductAttention"](causal=causal), [a, a], name="self_attention")
    net.add(L["Dense"](units=2), [ctx], name="head")
    net.build(seed=0)
    _perturb(net)
    path = tmp_path / "attn.onnx"
    report = export_network(net, path)
    assert report.ok, report.summary()
    ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    assert "Softmax" in ops and ops.count("MatMul") >= 4
    back = import_onnx(path)
    assert {back[n].type_name for n in back.nodes} == {net[n].type_name for n in net.nodes}
    feed = sample_batch(net, batch=3)
    want, got = net.forward(feed), back.forward(feed)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], atol=1e-5)
    # as another tool's attention graph: plain MatMul/Softmax layers, the same numbers
    plain = import_onnx(path, composites=False)
    assert "BatchMatMul" in {layer.type_name for layer in plain.layers}
    got = plain.forward(feed)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], atol=1e-5)


def test_canvas_file_menu_round_trip_through_onnx(qtbot, tmp_path, monkeypatch):
    """File > Export ONNX, then File > Import ONNX, in the main window (offscreen)."""
    pytest.importorskip("PySide6")
    from PySide6.QtWidgets import QFileDialog

    from gui_support import make_window

    win = make_window(tmp_path)
    qtbot.addWidget(win)
    net = win.document.network
    if not net.built:
        net.build(seed=0)
    _perturb(net)
    feed = sample_batch(net, batch=3)
    x = feed if len(feed) > 1 else feed[net.inputs[0]]
    want = net.forward(x)
    out = tmp_path / "canvas.onnx"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(out), "")))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(out), "")))
    monkeypatch.setattr(win, "maybe_save", lambda: True)
    monkeypatch.setattr(win, "show_error", lambda title, text: pytest.fail(f"{title}: {text}"))
    win.export_onnx()
    assert out.exists()
    win.import_onnx()
    back = win.document.network
    assert back is not net
    got = back.forward(x)
    if isinstance(want, dict):
        for k in want:
            np.testing.assert_allclose(got[k], want[k], atol=1e-4)
    else:
        np.testing.assert_allclose(got, want, atol=1e-4)
    win.document.undo_stack.setClean()


# -- every registered layer type, from its example in tests/layer_examples.py --------------------------
def _example_cases():
    from layer_examples import LAYER_EXAMPLES

    for type_name in sorted(L):
        if type_name == "Input":
            continue
        for i, ex in enumerate(LAYER_EXAMPLES.get(type_name, [])):
            yield pytest.param(type_name, ex, id=f"{type_name}-{i}")


@pytest.mark.parametrize("type_name, example", list(_example_cases()))
def test_every_layer_example_matches_onnxruntime(type_name, example, tmp_path):
    """ONNX parity (engine vs onnxruntime, float32, 1e-4) for every registered layer's examples."""
    from engine.onnx.export import CONVERTERS, _layer_type

    layer = L[type_name].from_config(dict(example["config"]))
    if _layer_type(layer) not in CONVERTERS:
        pytest.skip(f"{type_name} has no ONNX export")
    net = Network("one_layer")
    ins = [net.add(L["Input"](shape=tuple(s)), name=f"in{i}") for i, s in enumerate(example["input_shapes"])]
    net.add(layer, ins, name="layer")
    net.build(seed=0)
    _perturb(net)
    report = export_network(net, tmp_path / "m.onnx")
    assert report.ok, report.summary()
    back = import_onnx(tmp_path / "m.onnx")  # and back, with the same outputs
    feed = sample_batch(net, batch=3, seed=4)
    x = feed if len(feed) > 1 else feed[net.inputs[0]]
    np.testing.assert_allclose(back.forward(x), net.forward(x), atol=1e-4, rtol=1e-4)


def test_export_into_missing_folder_is_a_clear_error_and_leaves_nothing(tmp_path):
    from engine.errors import DocumentError

    net = chain([("Dense", {"units": 3})], (4,))
    target = tmp_path / "no_such_folder" / "m.onnx"
    with pytest.raises(DocumentError, match="cannot write"):
        export_network(net, target)
    assert not target.parent.exists()


def test_exporting_a_float64_network_leaves_its_weights_and_dtype_untouched(tmp_path, monkeypatch):
    from engine.onnx import export as export_module

    net = chain([("Dense", {"units": 3}), ("Activation", {"kind": "tanh"})], (4,))
    net.astype(np.float64)
    for p in net.parameters():
        p.value[...] = np.random.default_rng(3).normal(size=p.value.shape) / 3.0   # not float32-exact
    before = net.get_weights()
    report = export_network(net, tmp_path / "m.onnx")
    assert report.ok
    after = net.get_weights()
    assert all(after[k].dtype == np.float64 and np.array_equal(after[k], before[k]) for k in before)
    monkeypatch.delitem(export_module.CONVERTERS, "Dense")
    with pytest.raises(ConfigError):
        export_network(net, tmp_path / "n.onnx")
    after = net.get_weights()
    assert all(after[k].dtype == np.float64 and np.array_equal(after[k], before[k]) for k in before)
