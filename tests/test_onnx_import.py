"""ONNX import: models as PyTorch exports them, clear errors, damaged files, and the onnx_ops layers.

PyTorch (installed for cross-checks only, never an app dependency) exports small models with the
TorchScript exporter; the engine imports them and must give PyTorch's outputs. Models are also
built by hand with the onnx helper API for error cases.
"""

import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from engine.errors import ConfigError, DocumentError  # noqa: E402
from engine.gradcheck import layer_errors  # noqa: E402
from engine.layers import LAYER_TYPES as L  # noqa: E402
from engine.onnx import import_onnx  # noqa: E402
from engine.onnx.importer import UnsupportedOnnxError, network_from_onnx  # noqa: E402


# -- the layers of engine/layers/onnx_ops.py -----------------------------------------------------------
OPS_CASES = [
    ("Transpose", {"perm": [2, 0, 1]}, [(2, 3, 4)]),
    ("Take", {"indices": [2, 0, 2], "axis": 1}, [(2, 3)]),
    ("Take", {"indices": 1, "axis": 0}, [(3, 2)]),
    ("LogSoftmax", {"axis": -1}, [(5,)]),
    ("LogSoftmax", {"axis": 0}, [(3, 2)]),
    ("SoftmaxAxis", {"axis": 0}, [(3, 2, 2)]),
    ("ConstantOp", {"op": "mul", "value": [[2.0], [0.5]], "trainable": True}, [(2, 3)]),
    ("ConstantOp", {"op": "div", "value": [2.0, -1.5, 3.0], "trainable": True}, [(3,)]),
    ("ConstantOp", {"op": "rsub", "value": [1.0, 2.0, 3.0], "trainable": True}, [(3,)]),
    ("ConstantOp", {"op": "add", "value": [[1.0, 2.0, 3.0]], "trainable": True}, [(2, 3)]),
    ("ResetAfterGRU", {"units": 3, "return_sequences": True}, [(4, 2)]),
    ("Elementwise", {"op": "mul"}, [(3, 4), (1, 4)]),
    ("Elementwise", {"op": "div"}, [(3, 4), (4,)]),
    ("Elementwise", {"op": "sub"}, [(2, 3), (2, 3)]),
    ("BatchMatMul", {}, [(3, 4), (4, 2)]),
    ("ResetAfterGRU", {"units": 2, "go_backwards": True, "initial_state": "learned"}, [(3, 3)]),
]


@pytest.mark.parametrize("type_name, cfg, shapes", OPS_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(OPS_CASES)])
def test_onnx_ops_layers_gradcheck(type_name, cfg, shapes):
    layer = L[type_name](**cfg)
    errors = layer_errors(layer, shapes, rng=np.random.default_rng(0))
    assert errors, "nothing was compared"
    for key, err in errors.items():
        assert err < 1e-6, f"{type_name} {key}: relative error {err:.2e}"


def test_onnx_ops_layers_compute_what_they_say():
    x = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    t = L["Transpose"](perm=[1, 0])
    np.testing.assert_array_equal(t.forward(x), x.transpose(0, 2, 1))
    k = L["Take"](indices=[2, 0], axis=0)
    np.testing.assert_array_equal(k.forward(x), x[:, [2, 0]])
    ls = L["LogSoftmax"](axis=-1)
    y = ls.forward(x)
    np.testing.assert_allclose(np.exp(y).sum(axis=-1), 1.0)
    sm = L["SoftmaxAxis"](axis=0)
    np.testing.assert_allclose(sm.forward(x).sum(axis=1), 1.0)


# -- hand-made models: errors ------------------------------------------------------------------------
def _model(nodes, inputs, outputs, inits=(), opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def test_every_unsupported_thing_is_listed_in_one_error():
    W = numpy_helper.from_array(np.ones((4, 2, 3, 3), np.float32), "W")
    nodes = [
        helper.make_node("Sin", ["x"], ["a"]),
        helper.make_node("Conv", ["a", "W"], ["b"], group=2, kernel_shape=[3, 3]),
        helper.make_node("Relu", ["b"], ["c"]),
        helper.make_node("Pad", ["c", "pads"], ["d"], mode="reflect"),
    ]
    pads = numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads")
    model = _model(nodes, [_vi("x", ["N", 4, 8, 8])], [_vi("d", None)], [W, pads])
    with pytest.raises(UnsupportedOnnxError) as info:
        network_from_onnx(model)
    err = info.value
    assert isinstance(err, ConfigError)
    assert len(err.missing) == 3, err.missing
    text = str(err)
    assert "Sin" in text and "group=2" in text and "reflect" in text


def test_unsupported_operator_from_a_file_names_the_file(tmp_path):
    model = _model([helper.make_node("Sin", ["x"], ["y"])], [_vi("x", ["N", 3])], [_vi("y", ["N", 3])])
    path = tmp_path / "sin.onnx"
    onnx.save(model, str(path))
    with pytest.raises(ConfigError, match="(?s)sin.onnx.*Sin"):
        import_onnx(path)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "flip", "missing"])
def test_damaged_files_are_document_errors(tmp_path, damage):
    x = numpy_helper.from_array(np.ones((3, 2), np.float32), "W")
    model = _model([helper.make_node("MatMul", ["x", "W"], ["y"])], [_vi("x", ["N", 3])], [_vi("y", ["N", 2])], [x])
    data = model.SerializeToString()
    path = tmp_path / "m.onnx"
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00\xff" * 50 + b"not onnx at all")
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "flip":
        b = bytearray(data)
        for i in range(0, len(b), 7):
            b[i] ^= 0xFF
        path.write_bytes(bytes(b))
    if damage == "missing":
        path = tmp_path / "nope.onnx"
    with pytest.raises(DocumentError):
        import_onnx(path)


def test_damaged_file_on_the_command_line_is_one_line_exit_2(tmp_path):
    path = tmp_path / "bad.onnx"
    path.write_bytes(b"\x08\x07\x12garbage")
    proc = subprocess.run([sys.executable, "-m", "engine", "import", str(path), str(tmp_path / "out.npz")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("nnplay: error:") and "Traceback" not in proc.stderr


def test_matmul_add_folds_into_one_dense_and_keras_style_nhwc_transpose():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((12, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    nodes = [
        helper.make_node("Transpose", ["x"], ["t"], perm=[0, 3, 1, 2]),  # NHWC -> NCHW as tf2onnx writes
        helper.make_node("Flatten", ["t"], ["f"], axis=1),
        helper.make_node("MatMul", ["f", "W"], ["m"]),
        helper.make_node("Add", ["m", "b"], ["y"]),
        helper.make_node("LogSoftmax", ["y"], ["z"], axis=1),
    ]
    inits = [numpy_helper.from_array(W, "W"), numpy_helper.from_array(b, "b")]
    model = _model(nodes, [_vi("x", ["N", 2, 3, 2])], [_vi("z", ["N", 3])], inits)
    net = network_from_onnx(model)
    types = [net[n].type_name for n in net.topological_order()]
    assert types == ["Input", "Transpose", "Flatten", "Dense", "LogSoftmax"]
    x = rng.standard_normal((4, 2, 3, 2)).astype(np.float32)
    y = x.transpose(0, 3, 1, 2).reshape(4, -1) @ W + b
    want = y - np.log(np.exp(y).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(net.forward(x), want, atol=1e-5)


# -- PyTorch exports ---------------------------------------------------------------------------------
torch = None


def _torch():
    global torch
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    return torch


def _export_torch(module, x, path, dynamic=True):
    t = _torch()
    module.eval()
    kwargs = {"dynamic_axes": {"x": {0: "batch"}}} if dynamic else {}
    t.onnx.export(module, (x,), str(path), input_names=["x"], output_names=["y"], opset_version=17,
                  dynamo=False, **kwargs)
    with t.no_grad():
        return module(x).numpy()


def _check_torch(module_fn, x_shape, tmp_path, integer_inputs=None):
    t = _torch()
    module = module_fn(t.nn)
    if integer_inputs:
        x = t.randint(0, integer_inputs, x_shape)
    else:
        x = t.randn(*x_shape)
    path = tmp_path / "torch.onnx"
    want = _export_torch(module, x, path)
    net = import_onnx(path)
    got = net.forward(x.numpy().astype(np.float32))
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4)
    return net


def test_pytorch_mlp_with_logsoftmax(tmp_path):
    net = _check_torch(lambda nn: nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 5),
                                                nn.Tanh(), nn.Linear(5, 3, bias=False), nn.LogSoftmax(dim=1)),
                       (4, 6), tmp_path)
    assert [layer.type_name for layer in net.layers].count("Dense") == 3


def test_pytorch_cnn(tmp_path):
    def make(nn):
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.LeakyReLU(0.1),
                             nn.MaxPool2d(2), nn.Conv2d(4, 6, 3, stride=2), nn.ELU(), nn.AvgPool2d(2),
                             nn.Flatten(), nn.Linear(6, 3), nn.BatchNorm1d(3), nn.Sigmoid())
    t = _torch()
    module = make(t.nn)
    with t.no_grad():  # non-trivial running statistics (the first BatchNorm is folded into the conv)
        for i in (1, 9):
            module[i].running_mean.uniform_(-1, 1)
            module[i].running_var.uniform_(0.5, 2)
    x = t.randn(3, 1, 12, 12)
    path = tmp_path / "cnn.onnx"
    want = _export_torch(module, x, path)
    net = import_onnx(path)
    np.testing.assert_allclose(net.forward(x.numpy()), want, atol=1e-4)
    types = {layer.type_name for layer in net.layers}
    assert {"Conv2D", "BatchNorm", "MaxPool2D", "AvgPool2D", "Dense"} <= types


class _Seq:
    """nn.Modules for recurrent exports (defined lazily: torch is optional)."""

    @staticmethod
    def lstm_classifier(nn, bidirectional, kind="LSTM"):
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = getattr(nn, kind)(3, 5, batch_first=True, bidirectional=bidirectional)
                self.fc = nn.Linear(10 if bidirectional else 5, 2)

            def forward(self, x):
                y, _ = self.rnn(x)
                return self.fc(y)  # (N, T, 2): a Linear on every time step

        return M()

    @staticmethod
    def last_state(nn, kind):
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = getattr(nn, kind)(3, 4, batch_first=True)
                self.fc = nn.Linear(4, 2)

            def forward(self, x):
                _, h = self.rnn(x)
                if isinstance(h, tuple):
                    h = h[0]
                return self.fc(h[-1])

        return M()


@pytest.mark.parametrize("bidirectional", [False, True])
def test_pytorch_lstm_sequence_with_shape_plumbing(tmp_path, bidirectional):
    net = _check_torch(lambda nn: _Seq.lstm_classifier(nn, bidirectional), (2, 6, 3), tmp_path)
    types = {layer.type_name for layer in net.layers}
    assert ("Bidirectional" if bidirectional else "LSTM") in types
    assert "TimeDistributed" in types


@pytest.mark.parametrize("kind", ["RNN", "LSTM"])
def test_pytorch_recurrent_last_state(tmp_path, kind):
    _check_torch(lambda nn: _Seq.last_state(nn, kind), (3, 5, 3), tmp_path)


def test_pytorch_bidirectional_rnn(tmp_path):
    _check_torch(lambda nn: _Seq.lstm_classifier(nn, True, kind="RNN"), (2, 4, 3), tmp_path)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_pytorch_gru_imports_as_reset_after_gru(tmp_path, bidirectional):
    net = _check_torch(lambda nn: _Seq.lstm_classifier(nn, bidirectional, kind="GRU"), (2, 5, 3), tmp_path)
    assert "ResetAfterGRU" in {layer.type_name for layer in net.layers} | {
        getattr(layer, "layer", {}).get("type") for layer in net.layers if layer.type_name == "Bidirectional"}


def test_pytorch_gru_last_state(tmp_path):
    _check_torch(lambda nn: _Seq.last_state(nn, "GRU"), (3, 4, 3), tmp_path)


def test_pytorch_embedding(tmp_path):
    def make(nn):
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = nn.Embedding(20, 4)
                self.lstm = nn.LSTM(4, 3, batch_first=True)

            def forward(self, x):
                y, _ = self.lstm(self.emb(x))
                return y

        return M()

    net = _check_torch(make, (2, 7), tmp_path, integer_inputs=20)
    assert "Embedding" in {layer.type_name for layer in net.layers}


def test_imported_network_can_be_fine_tuned(tmp_path):
    """Gradients flow through an imported net (float64 network gradient check)."""
    from engine.gradcheck import check_network

    t = _torch()
    module = t.nn.Sequential(t.nn.Linear(4, 5), t.nn.Tanh(), t.nn.Linear(5, 3), t.nn.Softmax(dim=1))
    path = tmp_path / "m.onnx"
    _export_torch(module, t.randn(2, 4), path)
    net = import_onnx(path)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 4))
    y = rng.integers(0, 3, 6)
    errors = check_network(net, x, y, "softmax_cross_entropy", regularization=False)
    assert errors
    assert max(errors.values()) < 1e-6, errors



def test_every_truncation_and_many_corruptions_give_clear_errors(tmp_path):
    """Cut a real exported model at many points and flip bytes: only EngineErrors, never a crash."""
    from engine import Network
    from engine.errors import EngineError
    from engine.onnx import export_network

    net = Network("m")
    x = net.add(L["Input"](shape=(2, 6, 6)), name="x")
    h = net.add(L["Conv2D"](filters=3, kernel_size=3), [x], name="conv")
    h = net.add(L["Flatten"](), [h], name="flat")
    net.add(L["Dense"](units=2), [h], name="out")
    net.build(seed=0)
    good = tmp_path / "good.onnx"
    export_network(net, good)
    data = good.read_bytes()
    rng = np.random.default_rng(0)
    bad = tmp_path / "bad.onnx"
    cuts = sorted(set(rng.integers(1, len(data) - 1, 40).tolist()))
    outcomes = {"error": 0, "imported": 0}
    for i, cut in enumerate(cuts):
        blob = bytearray(data[:cut])
        if i % 2:  # and corrupt some bytes of the full file
            blob = bytearray(data)
            for j in rng.integers(0, len(data), 5):
                blob[j] = int(rng.integers(0, 256))
        bad.write_bytes(bytes(blob))
        try:
            import_onnx(bad)
            outcomes["imported"] += 1  # a flip inside a weight's bytes still parses: fine
        except EngineError:
            outcomes["error"] += 1
    assert outcomes["error"] > 0


def test_slice_of_a_sequence_and_gather_of_the_last_step():
    """Keras/tf2onnx style: the last output of a sequence by Slice + Squeeze, or by Gather."""
    rng = np.random.default_rng(0)
    W = rng.standard_normal((3, 2)).astype(np.float32)
    nodes = [
        helper.make_node("Slice", ["x", "st", "en", "ax"], ["s"]),       # x[:, -1:, :]
        helper.make_node("Squeeze", ["s", "ax"], ["last"]),
        helper.make_node("Gather", ["x", "zero"], ["first"], axis=1),  # x[:, 0, :]
        helper.make_node("Add", ["last", "first"], ["sum"]),
        helper.make_node("MatMul", ["sum", "W"], ["y"]),
    ]
    inits = [numpy_helper.from_array(np.array([-1], np.int64), "st"),
             numpy_helper.from_array(np.array([2 ** 63 - 1], np.int64), "en"),
             numpy_helper.from_array(np.array([1], np.int64), "ax"),
             numpy_helper.from_array(np.array(0, np.int64), "zero"),
             numpy_helper.from_array(W, "W")]
    model = _model(nodes, [_vi("x", ["N", 4, 3])], [_vi("y", ["N", 2])], inits)
    net = network_from_onnx(model)
    x = rng.standard_normal((5, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(net.forward(x), (x[:, -1] + x[:, 0]) @ W, atol=1e-5)


def test_imported_networks_save_and_reopen_as_model_files(tmp_path):
    """What `nnplay import` writes (document + weights) opens again and computes the same."""
    from engine.io import Document, load_model, save_model

    t = _torch()
    module = _Seq.lstm_classifier(t.nn, True, kind="GRU")
    path = tmp_path / "gru.onnx"
    x = t.randn(2, 5, 3)
    want = _export_torch(module, x, path)
    net = import_onnx(path)
    out = tmp_path / "gru.npz"
    save_model(Document(name="gru", network=net), out)
    again = load_model(out).network
    np.testing.assert_allclose(again.forward(x.numpy()), want, atol=1e-4)
    for node in again.nodes.values():
        assert "pos" in node.meta  # the canvas places every node
