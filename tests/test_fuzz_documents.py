"""Fuzzed documents and model files never crash the loader with anything but an EngineError."""

import copy
import io
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import EngineError
from engine.io import Document, document_from_dict, load_document, model_from_bytes, parse_document, save_model

PRESETS = ["spiral", "digits_mlp", "digits_mlp_bn"]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10**12, max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["Dense", "Input", "Activation", "Add", "Flatten", "network-playground", "relu", "softmax",
                     "adam", "digits", "spiral", 0, 1, -1, 2, 784, 1e-8, [], {}, [2], [1, 28, 28]]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20,
)


def _load_or_engine_error(d):
    try:
        doc = document_from_dict(d)
    except EngineError as exc:
        assert str(exc)  # always a message a person can read
        return None
    assert isinstance(doc, Document)
    return doc


@FUZZ
@given(json_values)
def test_random_json_values(value):
    _load_or_engine_error(value)


@FUZZ
@given(st.dictionaries(st.sampled_from(["format", "version", "name", "description", "graph", "training", "data",
                                        "extra"]), json_values, max_size=7))
def test_random_documents_with_the_right_keys(d):
    d = dict(d)
    d.setdefault("format", "network-playground")
    _load_or_engine_error(d)


def _paths(obj, prefix=()):
    """Every path into nested dicts/lists."""
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


@pytest.fixture(scope="module")
def preset_dicts():
    out = {}
    for name in PRESETS:
        doc = load_document(name)
        out[name] = json.loads(json.dumps(doc.to_dict()))
    return out


@FUZZ
@given(st.sampled_from(PRESETS), st.data())
def test_mutated_presets(preset_dicts, name, data):
    d = copy.deepcopy(preset_dicts[name])
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in _paths(d) if p]
        path = data.draw(st.sampled_from(paths))
        parent = d
        for key in path[:-1]:
            parent = parent[key]
        action = data.draw(st.sampled_from(["replace", "delete", "duplicate"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[path[-1]]))
        else:
            parent[path[-1]] = data.draw(json_values)
    doc = _load_or_engine_error(d)
    if doc is not None:
        # what loads also summarizes without crashing
        doc.network.summary()


@FUZZ
@given(st.text(max_size=200))
def test_random_text(text):
    with pytest.raises(EngineError):
        parse_document(text)


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_as_model_file(raw):
    with pytest.raises(EngineError):
        model_from_bytes(raw)


@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory):
    doc = load_document("spiral")
    path = tmp_path_factory.mktemp("m") / "spiral.npz"
    save_model(doc, path)
    return path.read_bytes()


@FUZZ
@given(st.data())
def test_damaged_model_files(model_bytes, data):
    raw = bytearray(model_bytes)
    kind = data.draw(st.sampled_from(["truncate", "flip", "splice"]))
    if kind == "truncate":
        raw = raw[:data.draw(st.integers(0, len(raw) - 1))]
    elif kind == "flip":
        for _ in range(data.draw(st.integers(1, 8))):
            i = data.draw(st.integers(0, len(raw) - 1))
            raw[i] = data.draw(st.integers(0, 255))
    else:
        i = data.draw(st.integers(0, len(raw)))
        raw[i:i] = data.draw(st.binary(min_size=1, max_size=50))
    try:
        doc = model_from_bytes(bytes(raw))
    except EngineError:
        return
    # a damage that left the archive readable (e.g. in zip padding) must still give a working network
    out = doc.network.predict(np.zeros((2, 2), np.float32))
    assert out.shape == (2, 2)


def test_valid_model_bytes_load(model_bytes):
    doc = model_from_bytes(model_bytes)
    assert doc.network.predict(np.zeros((1, 2), np.float32)).shape == (1, 2)
    assert io.BytesIO(model_bytes).read(2) == b"PK"
