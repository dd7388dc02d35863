"""The network document model (no views): edits, signals, undo/redo, files."""

import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from engine.errors import ConfigError, DocumentError, GraphError  # noqa: E402
from playground.canvas.commands import nodes_clipboard, paste_entries  # noqa: E402
from playground.document import NetworkDocument, default_layer_config  # noqa: E402

pytestmark = pytest.mark.gui


def mlp_dict():
    return {
        "format": "network-playground", "version": 1, "name": "tiny", "description": "a test network",
        "graph": {"name": "tiny", "nodes": [
            {"name": "x", "type": "Input", "config": {"shape": [4]}, "inputs": [], "meta": {"pos": [0, 0]}},
            {"name": "h", "type": "Dense", "config": {"units": 8}, "inputs": ["x"], "meta": {"pos": [200, 0]}},
            {"name": "a", "type": "Activation", "config": {"kind": "tanh"}, "inputs": ["h"], "meta": {"pos": [400, 0]}},
            {"name": "y", "type": "Dense", "config": {"units": 3}, "inputs": ["a"], "meta": {"pos": [600, 0]}},
        ]},
    }


@pytest.fixture
def doc(qtbot):
    d = NetworkDocument()
    d.load_dict(mlp_dict())
    return d


def shapes(d):
    return d.network.infer_shapes(strict=False)[0]


def test_load_dict_builds_the_network(doc):
    assert list(doc.network.nodes) == ["x", "h", "a", "y"]
    assert shapes(doc)["y"] == (3,)
    assert not doc.modified
    assert doc.training["batch_size"] == 64  # defaults filled in


def test_add_layer_emits_and_undo_removes(doc, qtbot):
    with qtbot.waitSignal(doc.node_added) as blocker:
        name = doc.add_layer("Dense", pos=(10, 20))
    assert blocker.args == [name]
    assert name in doc.network.nodes
    assert doc.node_pos(name) == (10.0, 20.0)
    assert doc.modified
    with qtbot.waitSignal(doc.node_removed) as blocker:
        doc.undo_stack.undo()
    assert blocker.args == [name]
    assert name not in doc.network.nodes
    assert not doc.modified
    doc.undo_stack.redo()
    assert name in doc.network.nodes


def test_connect_updates_shapes_and_signals(doc, qtbot):
    name = doc.add_layer("Dense", config={"units": 5})
    with qtbot.waitSignal(doc.link_added) as blocker:
        doc.connect("y", name)
    assert blocker.args == ["y", name]
    assert shapes(doc)[name] == (5,)
    assert doc.network.nodes[name].inputs == ["y"]
    with qtbot.waitSignal(doc.link_removed):
        doc.undo_stack.undo()
    assert doc.network.nodes[name].inputs == []


def test_connecting_a_one_input_layer_replaces_its_link(doc):
    doc.connect("x", "a")  # a (Activation) took h; now it takes x
    assert doc.network.nodes["a"].inputs == ["x"]
    assert shapes(doc)["a"] == (4,)


def test_cycles_self_links_and_inputs_are_refused(doc):
    before = doc.graph_config()
    with pytest.raises(GraphError, match="loop"):
        doc.connect("y", "h")
    with pytest.raises(GraphError):
        doc.connect("h", "h")
    with pytest.raises(GraphError, match="enters"):
        doc.connect("h", "x")
    assert doc.graph_config() == before
    assert doc.undo_stack.count() == 0


def test_layer_option_change_undo_and_merge(doc, qtbot):
    with qtbot.waitSignal(doc.layer_changed) as blocker:
        doc.set_layer_option("h", "units", 16)
    assert blocker.args == ["h"]
    assert shapes(doc)["h"] == (16,)
    doc.set_layer_option("h", "units", 17)
    doc.set_layer_option("h", "units", 18)
    assert doc.undo_stack.count() == 1  # typing in one field merges into one step
    doc.undo_stack.undo()
    assert shapes(doc)["h"] == (8,)
    doc.undo_stack.redo()
    assert shapes(doc)["h"] == (18,)


def test_bad_option_is_refused_and_nothing_changes(doc):
    before = doc.graph_config()
    with pytest.raises(ConfigError):
        doc.set_layer_option("h", "units", -3)
    with pytest.raises(ConfigError):
        doc.set_layer_option("a", "kind", "no-such-activation")
    assert doc.graph_config() == before
    assert doc.undo_stack.count() == 0


def test_unrelated_edit_keeps_trained_weights(doc):
    doc.network.build(seed=1)
    w = doc.network["h"].params["W"]
    w[...] = 0.25
    doc.set_layer_option("y", "units", 4)  # only y changes
    assert doc.network["h"].params["W"] is w
    assert np.all(doc.network["h"].params["W"] == 0.25)
    assert not doc.network["y"].built


def test_remove_nodes_and_links_undo_restores_order(doc):
    before = doc.graph_config()
    doc.remove_nodes(["a"])
    assert "a" not in doc.network.nodes
    assert doc.network.nodes["y"].inputs == []
    doc.undo_stack.undo()
    assert doc.graph_config() == before
    doc.remove_nodes([], links=[("h", "a")])
    assert doc.network.nodes["a"].inputs == []
    doc.undo_stack.undo()
    assert doc.graph_config() == before


def test_rename_keeps_links(doc):
    doc.rename_node("h", "hidden")
    assert "hidden" in doc.network.nodes and "h" not in doc.network.nodes
    assert doc.network.nodes["a"].inputs == ["hidden"]
    with pytest.raises(GraphError):
        doc.rename_node("hidden", "y")
    doc.undo_stack.undo()
    assert doc.network.nodes["a"].inputs == ["h"]


def test_move_nodes_is_one_undo_step(doc, qtbot):
    with qtbot.waitSignal(doc.node_moved):
        doc.move_nodes({"h": (5, 6), "a": (7, 8)})
    assert doc.node_pos("h") == (5.0, 6.0) and doc.node_pos("a") == (7.0, 8.0)
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert doc.node_pos("h") == (200.0, 0.0)


def test_training_settings_are_undoable(doc, qtbot):
    t = dict(doc.training, epochs=3)
    with qtbot.waitSignal(doc.training_changed):
        doc.set_training(t)
    assert doc.training["epochs"] == 3
    doc.undo_stack.undo()
    assert doc.training["epochs"] == 20


def test_save_and_reopen_gives_the_same_document(doc, tmp_path):
    doc.add_layer("Dropout", pos=(800, 0))
    doc.connect("y", "dropout_1")
    path = tmp_path / "net.json"
    doc.save(path)
    assert not doc.modified
    assert doc.path == str(path)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    other = NetworkDocument()
    other.load(path)
    assert other.to_dict() == doc.to_dict()
    assert json.loads(path.read_text())["format"] == "network-playground"


def test_saving_a_model_keeps_the_trained_weights(doc, tmp_path):
    doc.network.build(seed=1)
    trained = {k: v + 0.5 for k, v in doc.network.get_weights().items()}  # not an initialisation
    doc.network.set_weights(trained)
    path = tmp_path / "net.npz"
    doc.save(path)
    other = NetworkDocument()
    other.load(path)
    saved = other.network.get_weights()
    assert saved.keys() == trained.keys()
    for k, v in trained.items():
        np.testing.assert_array_equal(saved[k], v)
    # while a run updates the weights in another thread, a model file would be torn: refused, clearly
    doc.set_locked("stop training before editing the network")
    with pytest.raises(DocumentError, match="save it when training stops"):
        doc.save(tmp_path / "during.npz")
    assert not (tmp_path / "during.npz").exists()
    doc.save(tmp_path / "during.json")  # the document itself (no weights) still saves
    doc.set_locked(None)


def test_bad_files_raise_and_leave_the_document(doc, tmp_path):
    before = doc.to_dict()
    cases = {
        "broken.json": "{not json",
        "foreign.json": json.dumps({"hello": "world"}),
        "cycle.json": json.dumps({"format": "network-playground", "version": 1, "graph": {"nodes": [
            {"name": "a", "type": "Activation", "config": {}, "inputs": ["b"]},
            {"name": "b", "type": "Activation", "config": {}, "inputs": ["a"]}]}}),
        "unknown.json": json.dumps({"format": "network-playground", "version": 1, "graph": {"nodes": [
            {"name": "a", "type": "NoSuchLayer", "config": {}, "inputs": []}]}}),
    }
    for fname, text in cases.items():
        p = tmp_path / fname
        p.write_text(text)
        with pytest.raises(DocumentError if fname != "unknown.json" else (DocumentError, ConfigError)):
            doc.load(p)
        assert doc.to_dict() == before, fname
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00garbage")
    with pytest.raises(Exception) as info:
        doc.load(binary)
    assert isinstance(info.value, (DocumentError,)) or "Error" in type(info.value).__name__
    assert doc.to_dict() == before


def test_copy_paste_entries_rename_and_keep_internal_links(doc):
    text = nodes_clipboard(doc.graph_config(), ["h", "a"])
    entries = paste_entries(json.loads(text), set(doc.network.nodes), doc.network.unique_name)
    names = [e["name"] for e in entries]
    assert len(set(names)) == 2 and not set(names) & set(doc.network.nodes)
    dense = next(e for e in entries if e["type"] == "Dense")
    act = next(e for e in entries if e["type"] == "Activation")
    assert act["inputs"] == [dense["name"]]  # internal link remapped
    assert dense["inputs"] == []  # link from outside the selection dropped
    doc.add_nodes(entries)
    assert shapes(doc).get(act["name"]) is None  # unconnected copy: no shape yet
    doc.connect("x", dense["name"])
    assert shapes(doc)[act["name"]] == (8,)


def test_default_configs_for_palette_types():
    for t in ("Input", "Dense", "Activation", "Dropout", "Flatten"):
        cfg = default_layer_config(t)
        assert "name" not in cfg
    assert default_layer_config("Dense")["units"] > 0


def test_locked_document_refuses_graph_edits_but_allows_moves(doc):
    doc.set_locked("stop training before editing the network")
    before = doc.graph_config()
    with pytest.raises(GraphError, match="stop training"):
        doc.set_layer_option("h", "units", 5)
    with pytest.raises(GraphError):
        doc.add_layer("Dense")
    assert doc.graph_config() == before
    doc.move_nodes({"h": (1, 2)})
    assert doc.node_pos("h") == (1.0, 2.0)
    doc.set_locked(None)
    doc.set_layer_option("h", "units", 5)
    assert shapes(doc)["h"] == (5,)
