"""``nnplay import``: the ONNX file is read (and checked) once, for the network and its description."""

import builtins
import os

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from engine.cli import main  # noqa: E402
from engine.io import load_model  # noqa: E402


def _dense_model():
    W = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(3, 2) / 10, "W")
    b = numpy_helper.from_array(np.array([0.5, -0.5], np.float32), "b")
    nodes = [helper.make_node("MatMul", ["x", "W"], ["m"]), helper.make_node("Add", ["m", "b"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])], [W, b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.doc_string = "a tiny dense layer"
    model.producer_name = "hand"
    return model


def test_import_reads_the_onnx_file_once(tmp_path, monkeypatch, capsys):
    src = tmp_path / "tiny.onnx"
    onnx.save(_dense_model(), str(src))
    opened = []
    real_open = builtins.open

    def counting_open(file, *args, **kwargs):
        if os.fspath(file) == str(src) if isinstance(file, (str, os.PathLike)) else False:
            opened.append(file)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    out = tmp_path / "tiny.npz"
    assert main(["import", str(src), str(out)]) == 0
    monkeypatch.undo()
    assert len(opened) == 1
    doc = load_model(out)
    assert doc.description.startswith("a tiny dense layer") and "hand" in doc.description
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(doc.network.predict(x), x @ (np.arange(6).reshape(3, 2) / 10) + [0.5, -0.5],
                               rtol=1e-6)
    assert "wrote" in capsys.readouterr().out
