"""Documents (.json) and model files (.npz): round trips, validation errors, atomic writes, no pickle."""

import copy
import json
import os
import zipfile

import numpy as np
import pytest

from engine.errors import ConfigError, DataError, DocumentError, EngineError, GraphError, ShapeError
from engine.io import (
    DOCUMENT_KEY, PRESETS_DIR, Document, document_from_dict, document_to_dict, list_presets, load_any,
    load_document, load_model, model_from_bytes, parse_document, resolve_path, save_document, save_model,
)


def test_presets_listed_and_resolved():
    names = list_presets()
    assert {"spiral", "digits_mlp", "digits_mlp_bn"} <= set(names)
    assert resolve_path("spiral") == os.path.join(PRESETS_DIR, "spiral.json")
    assert resolve_path("spiral.json") == os.path.join(PRESETS_DIR, "spiral.json")
    with pytest.raises(DocumentError, match="no file or preset named 'nope'"):
        resolve_path("nope")


def test_document_round_trip(tmp_path, tiny_document):
    tiny_document["panels"] = {"digits": {"brush": 3}}
    doc = document_from_dict(tiny_document)
    assert isinstance(doc, Document) and doc.name == "tiny"
    assert doc.extra == {"panels": {"digits": {"brush": 3}}}
    assert doc.network.infer_shapes()["softmax"] == (2,)
    assert doc.network.nodes["input"].meta == {"pos": [0, 0]}
    # defaults filled in for missing training keys
    assert doc.training["schedule"] == {"type": "constant"} and doc.training["early_stopping"] is None
    path = tmp_path / "tiny.json"
    save_document(doc, path)
    assert doc.path == str(path)
    assert os.listdir(tmp_path) == ["tiny.json"]  # no temporary file left behind
    again = load_document(path)
    assert document_to_dict(again) == document_to_dict(doc)
    d = json.loads(path.read_text())
    assert d["format"] == "network-playground" and d["version"] == 1 and d["panels"] == {"digits": {"brush": 3}}


def test_save_document_is_atomic(tmp_path, tiny_document, monkeypatch):
    doc = document_from_dict(tiny_document)
    path = tmp_path / "doc.json"
    path.write_text("old content")

    def boom(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(DocumentError, match="No space left"):
        save_document(doc, path)
    assert path.read_text() == "old content"
    assert os.listdir(tmp_path) == ["doc.json"]


@pytest.mark.parametrize("name", sorted(set(list_presets()) | {"spiral", "digits_mlp", "digits_mlp_bn"}))
def test_presets_load_strictly(name):
    doc = load_document(name)
    assert doc.network.inputs and doc.network.outputs
    for node in doc.network.nodes.values():
        assert isinstance(node.meta.get("pos"), list) and len(node.meta["pos"]) == 2


def _mutate(d, fn):
    d = copy.deepcopy(d)
    fn(d)
    return d


BAD = [
    ("list", lambda d: [d], DocumentError, "expected a JSON object"),
    ("foreign", lambda d: {"hello": "world"}, DocumentError, "no \"format\""),
    ("format", lambda d: {**d, "format": "keras"}, DocumentError, "format is 'keras'"),
    ("version0", lambda d: {**d, "version": 0}, DocumentError, "bad document version"),
    ("version_str", lambda d: {**d, "version": "1"}, DocumentError, "bad document version"),
    ("newer", lambda d: {**d, "version": 99}, DocumentError, "newer"),
    ("no graph", lambda d: {k: v for k, v in d.items() if k != "graph"}, DocumentError, "no 'graph'"),
    ("graph type", lambda d: {**d, "graph": []}, DocumentError, "graph"),
    ("name type", lambda d: {**d, "name": 3}, DocumentError, "name"),
    ("nodes", lambda d: {**d, "graph": {"nodes": 5}}, ConfigError, "nodes"),
    ("unknown layer", lambda d: _mutate(d, lambda x: x["graph"]["nodes"][1].update(type="Quantum")),
     ConfigError, "unknown layer type 'Quantum'"),
    ("unknown option", lambda d: _mutate(d, lambda x: x["graph"]["nodes"][1]["config"].update(colour=1)),
     ConfigError, "bad settings for Dense"),
    ("dangling", lambda d: _mutate(d, lambda x: x["graph"]["nodes"][1].update(inputs=["ghost"])),
     GraphError, "ghost"),
    ("cycle", lambda d: _mutate(d, lambda x: x["graph"]["nodes"][1].update(inputs=["input", "tanh"])),
     GraphError, "cycle"),
    ("shape", lambda d: _mutate(d, lambda x: x["graph"]["nodes"].append(
        {"name": "add", "type": "Add", "config": {}, "inputs": ["hidden", "scores"]})), ShapeError, "add"),
    ("duplicate", lambda d: _mutate(d, lambda x: x["graph"]["nodes"].append(x["graph"]["nodes"][1])),
     ConfigError, "two nodes"),
    ("pos", lambda d: _mutate(d, lambda x: x["graph"]["nodes"][0]["meta"].update(pos="left")),
     DocumentError, "meta.pos"),
    ("training type", lambda d: {**d, "training": [1]}, DocumentError, "training"),
    ("epochs", lambda d: _mutate(d, lambda x: x["training"].update(epochs=-3)), ConfigError, "epochs"),
    ("optimizer", lambda d: _mutate(d, lambda x: x["training"].update(optimizer={"type": "magic"})),
     ConfigError, "unknown optimizer"),
    ("loss", lambda d: _mutate(d, lambda x: x["training"].update(loss="hinge")), ConfigError, "unknown loss"),
    ("training key", lambda d: _mutate(d, lambda x: x["training"].update(speed=3)), ConfigError, "speed"),
    ("data type", lambda d: {**d, "data": "digits"}, DocumentError, "data"),
    ("split", lambda d: _mutate(d, lambda x: x["data"].update(split={"dev": 2})), DataError, "fraction"),
    ("data key", lambda d: _mutate(d, lambda x: x["data"].update(colour=1)), DataError, "unknown key"),
]


@pytest.mark.parametrize("label, mutate, exc, words", BAD, ids=[b[0] for b in BAD])
def test_bad_documents_give_clear_errors(tiny_document, label, mutate, exc, words):
    with pytest.raises(exc, match=words.replace("(", r"\(").replace(")", r"\)")):
        document_from_dict(mutate(tiny_document))


def test_non_strict_opens_broken_graphs(tiny_document):
    broken = _mutate(tiny_document, lambda x: x["graph"]["nodes"][1].update(inputs=["input", "tanh"]))
    doc = document_from_dict(broken, strict=False)
    shapes, errors = doc.network.infer_shapes(strict=False)
    assert errors  # the cycle is reported for the canvas, not raised


def test_malformed_files(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"format": "network-playground", ')
    with pytest.raises(DocumentError, match=r"bad.json: malformed JSON at line 1"):
        load_document(p)
    p.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DocumentError, match="UTF-8"):
        load_document(p)
    with pytest.raises(DocumentError, match="cannot read|No such file"):
        load_document(tmp_path / "missing.json")
    with pytest.raises(DocumentError, match="nested too deeply"):
        parse_document("[" * 100000 + "]" * 100000)


def test_error_messages_name_the_file(tmp_path, tiny_document):
    tiny_document["graph"]["nodes"][1]["type"] = "Quantum"
    p = tmp_path / "doc.json"
    p.write_text(json.dumps(tiny_document))
    with pytest.raises(ConfigError, match=r"doc.json: unknown layer type"):
        load_document(p)


# -- model files -----------------------------------------------------------------------------------
def test_model_round_trip(tmp_path, tiny_document):
    doc = document_from_dict(tiny_document)
    doc.network.build(seed=5)
    x = np.random.default_rng(0).normal(size=(7, 2)).astype(np.float32)
    before = doc.network.predict(x)
    path = tmp_path / "m.npz"
    save_model(doc, path)
    assert os.listdir(tmp_path) == ["m.npz"]
    with np.load(path, allow_pickle=False) as z:
        assert DOCUMENT_KEY in z.files and "hidden/W" in z.files
        assert z[DOCUMENT_KEY].dtype == np.uint8
    loaded = load_model(path)
    assert loaded.network.built and loaded.name == "tiny"
    np.testing.assert_array_equal(loaded.network.predict(x), before)
    for k, v in doc.network.get_weights().items():
        np.testing.assert_array_equal(loaded.network.get_weights()[k], v)
    assert load_any(path).name == "tiny"
    assert load_any(resolve_path("spiral")).name == "spiral"


def test_model_with_batchnorm_keeps_running_averages(tmp_path):
    doc = load_document("digits_mlp_bn")
    doc.network.build(seed=0)
    bn = doc.network["batchnorm_1"]
    for k, v in bn.buffers().items():
        v[...] = np.arange(v.size, dtype=v.dtype).reshape(v.shape) + 0.5
    save_model(doc, tmp_path / "bn.npz")
    again = load_model(tmp_path / "bn.npz")
    for k, v in bn.buffers().items():
        np.testing.assert_array_equal(again.network["batchnorm_1"].buffers()[k], v)


def test_corrupt_model_files(tmp_path, tiny_document):
    doc = document_from_dict(tiny_document)
    path = tmp_path / "m.npz"
    save_model(doc, path)
    raw = path.read_bytes()
    for cut in (10, len(raw) // 2, len(raw) - 30):
        with pytest.raises(DocumentError):
            model_from_bytes(raw[:cut])
    with pytest.raises(DocumentError):
        model_from_bytes(b"")
    np.savez(tmp_path / "plain.npz", a=np.zeros(3))
    with pytest.raises(DocumentError, match="no document inside"):
        load_model(tmp_path / "plain.npz")
    np.save(tmp_path / "bare.npy", np.zeros(3))
    with pytest.raises(DocumentError, match="bare array"):
        load_model(tmp_path / "bare.npy")
    # wrong weight shape
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["hidden/W"] = np.zeros((3, 3), np.float32)
    np.savez(tmp_path / "wrong.npz", **arrays)
    with pytest.raises(DocumentError, match="do not fit"):
        load_model(tmp_path / "wrong.npz")
    # missing weight
    del arrays["hidden/W"]
    np.savez(tmp_path / "missing.npz", **arrays)
    with pytest.raises(DocumentError, match="hidden/W"):
        load_model(tmp_path / "missing.npz")


def test_load_model_strict_and_lenient(tmp_path, tiny_document):
    """strict: the saved weights must match the graph exactly (an extra array is refused too);
    strict=False loads what fits and reports the rest."""
    doc = document_from_dict(tiny_document)
    doc.network.build(seed=5)
    path = tmp_path / "m.npz"
    save_model(doc, path)
    saved = doc.network.get_weights()
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    assert load_model(path).weights_report == {"loaded": sorted(saved), "missing": [],
                                               "unexpected": [], "mismatched": []}
    other = sorted(k for k in saved if k != "hidden/W")[0]
    edited = dict(arrays)
    edited["ghost/W"] = np.ones((2, 2), np.float32)       # a layer the graph does not have
    edited["hidden/W"] = np.zeros((3, 3), np.float32)     # a layer whose size changed
    del edited[other]                                      # a layer added after training
    np.savez(tmp_path / "edited.npz", **edited)
    with pytest.raises(DocumentError, match="do not fit"):
        load_model(tmp_path / "edited.npz")
    extra_only = dict(arrays, **{"ghost/W": np.ones((2, 2), np.float32)})
    np.savez(tmp_path / "extra.npz", **extra_only)
    with pytest.raises(DocumentError, match="ghost/W"):
        load_model(tmp_path / "extra.npz", strict=True)
    lenient = load_model(tmp_path / "edited.npz", strict=False)
    report = lenient.weights_report
    assert report["unexpected"] == ["ghost/W"] and report["mismatched"] == ["hidden/W"]
    assert report["missing"] == [other]
    assert set(report["loaded"]) == set(saved) - {"hidden/W", other}
    got = lenient.network.get_weights()
    for k in report["loaded"]:
        np.testing.assert_array_equal(got[k], saved[k])
    assert got["hidden/W"].shape == saved["hidden/W"].shape and not np.array_equal(got["hidden/W"], 0)
    assert np.all(np.isfinite(lenient.network.predict(np.ones((2, 2), np.float32))))


def test_model_files_are_never_unpickled(tmp_path, tiny_document):
    doc = document_from_dict(tiny_document)
    path = tmp_path / "m.npz"
    save_model(doc, path)
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["hidden/W"] = np.array([{"evil": 1}], dtype=object)  # would need pickle to read
    with open(tmp_path / "pickled.npz", "wb") as fh:
        np.savez(fh, **arrays)
    with pytest.raises(DocumentError):
        load_model(tmp_path / "pickled.npz")
    # a zip that is not an npz at all
    with zipfile.ZipFile(tmp_path / "zip.npz", "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(EngineError):
        load_model(tmp_path / "zip.npz")


def test_engine_never_allows_pickle():
    engine_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    offenders = []
    for root, _dirs, files in os.walk(os.path.join(engine_dir, "engine")):
        for f in files:
            if f.endswith(".py"):
                text = open(os.path.join(root, f), encoding="utf-8").read()
                if "allow_pickle=True" in text or "import pickle" in text:
                    offenders.append(f)
    assert offenders == []
