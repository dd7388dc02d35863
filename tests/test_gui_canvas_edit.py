"""Editing on the canvas as a user meets it: deleting a layer closes the gap it leaves (one undo
step), cut/paste moves a layer, deleting a link says what it left, all through the real window."""

import json
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from playground.canvas import CanvasScene  # noqa: E402
from playground.canvas.commands import chain_ends, delete_and_reconnect  # noqa: E402
from playground.document import NetworkDocument  # noqa: E402

from gui_support import close_window, shown_window  # noqa: E402

pytestmark = pytest.mark.gui

LENET = Path(__file__).resolve().parents[1] / "presets" / "lenet5.json"


def edges(doc):
    return {(s, n) for n, node in doc.network.nodes.items() for s in node.inputs}


def inputs(doc):
    return {n: list(node.inputs) for n, node in doc.network.nodes.items()}


def node(name, type_, ins=(), **config):
    return {"name": name, "type": type_, "config": config, "inputs": list(ins), "meta": {"pos": [0, 0]}}


def branchy():
    """x -> d1 -> a.0 ; x -> d2 -> a.1 ; a -> r -> out (an Add of two branches)."""
    return {"format": "network-playground", "version": 1, "name": "branchy", "graph": {"nodes": [
        node("x", "Input", shape=[4]),
        node("d1", "Dense", ["x"], units=4),
        node("d2", "Dense", ["x"], units=4),
        node("a", "Add", ["d1", "d2"]),
        node("r", "Activation", ["a"], kind="relu"),
        node("out", "Dense", ["r"], units=3),
    ]}}


@pytest.fixture
def scene(qtbot):
    doc = NetworkDocument()
    doc.load_dict(json.loads(LENET.read_text()))
    sc = CanvasScene(doc)
    messages = []
    sc.message.connect(messages.append)
    yield doc, sc, messages
    sc.clear()
    doc.undo_stack.clear()


@pytest.fixture
def window(qtbot, tmp_path):
    win = shown_window(qtbot, tmp_path, open_default=False)
    win.open_file(str(LENET), as_preset=True)
    yield win
    close_window(win)


def press(win, key, modifiers=Qt.NoModifier):
    win.activateWindow()
    win.view.setFocus()
    QTest.keyClick(win.view.viewport(), key, modifiers)


# -- deleting a chain link ------------------------------------------------------------------------
def test_delete_middle_layer_reconnects_and_undo_redo_by_keys(window, qtbot):
    doc, scene = window.document, window.scene
    before = doc.graph_config()
    old_edges = edges(doc)
    scene.select_node("conv2")
    press(window, Qt.Key_Delete)
    qtbot.waitUntil(lambda: "conv2" not in doc.network.nodes, timeout=2000)
    assert doc.network.nodes["relu2"].inputs == ["pool1"]
    assert edges(doc) == (old_edges - {("pool1", "conv2"), ("conv2", "relu2")}) | {("pool1", "relu2")}
    assert ("pool1", "relu2") in scene.links and "conv2" not in scene.nodes
    assert window.statusBar().currentMessage().startswith("Deleted conv2; connected pool1 \u2192 relu2")
    assert not scene.nodes["relu2"].is_error  # (6, 14, 14) fits the ReLU
    assert window.act_undo.text() == "&Undo Delete conv2 (connect pool1 \u2192 relu2)"
    # one undo step restores the node and the old links exactly
    press(window, Qt.Key_Z, Qt.ControlModifier)
    qtbot.waitUntil(lambda: "conv2" in doc.network.nodes, timeout=2000)
    assert doc.graph_config() == before and edges(doc) == old_edges
    assert set(scene.links) == old_edges
    assert scene.selected_node_names() == ["conv2"]  # given back selected, as it was taken
    # the status bar no longer claims conv2 is deleted
    assert window.statusBar().currentMessage() == "Undid: Delete conv2 (connect pool1 \u2192 relu2)"
    # both redo keys redo it
    for key, mods in ((Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier), (Qt.Key_Y, Qt.ControlModifier)):
        press(window, key, mods)
        qtbot.waitUntil(lambda: "conv2" not in doc.network.nodes, timeout=2000)
        assert doc.network.nodes["relu2"].inputs == ["pool1"] and ("pool1", "relu2") in scene.links
        assert window.statusBar().currentMessage() == "Redid: Delete conv2 (connect pool1 \u2192 relu2)"
        doc.undo_stack.undo()
        assert doc.graph_config() == before


def test_a_reconnection_that_does_not_fit_is_made_and_explained(scene):
    doc, sc, messages = scene
    sc.select_node("flatten")
    assert sc.delete_selection()
    assert doc.network.nodes["fc1"].inputs == ["pool2"]
    assert sc.nodes["fc1"].is_error  # the live shape check shows the real reason on the node
    assert messages[-1].startswith("Deleted flatten; connected pool2 \u2192 fc1")
    assert "Flatten" in messages[-1] and "(16, 5, 5)" in messages[-1]


def test_deleting_several_layers_in_a_row_connects_across_them(scene):
    doc, sc, messages = scene
    before = doc.graph_config()
    sc.clearSelection()
    for n in ("conv2", "relu2", "pool2"):
        sc.nodes[n].setSelected(True)
    assert sc.delete_selection()
    assert doc.network.nodes["flatten"].inputs == ["pool1"]
    assert messages[-1].startswith("Deleted conv2, relu2, pool2; connected pool1 \u2192 flatten")
    assert doc.undo_stack.undoText() == "Delete conv2, pool2, relu2 (connect pool1 \u2192 flatten)"
    doc.undo_stack.undo()
    assert doc.graph_config() == before
    assert sorted(sc.selected_node_names()) == ["conv2", "pool2", "relu2"]
    # two separate gaps in one delete: each closed
    sc.clearSelection()
    for n in ("relu1", "relu3"):
        sc.nodes[n].setSelected(True)
    assert sc.delete_selection()
    assert doc.network.nodes["pool1"].inputs == ["conv1"] and doc.network.nodes["fc2"].inputs == ["fc1"]
    assert doc.undo_stack.undoText().endswith("(reconnect 2 links)")
    doc.undo_stack.undo()
    assert doc.graph_config() == before


def test_deleting_the_input_or_the_end_reconnects_nothing(scene):
    doc, sc, messages = scene
    sc.select_node("input")
    assert sc.delete_selection()
    assert doc.network.nodes["conv1"].inputs == []
    assert messages[-1] == "Deleted input; conv1 has no input now (Ctrl+Z undoes)"
    doc.undo_stack.undo()
    n_links = len(edges(doc))
    sc.select_node("softmax")
    assert sc.delete_selection()
    assert len(edges(doc)) == n_links - 1 and messages[-1] == "Deleted softmax (Ctrl+Z undoes)"


def test_add_and_branches(qtbot):
    doc = NetworkDocument()
    doc.load_dict(branchy())
    sc = CanvasScene(doc)
    messages = []
    sc.message.connect(messages.append)
    try:
        before = doc.graph_config()
        # a branch layer feeding an Add: its input takes its place, at the same index
        sc.select_node("d2")
        assert sc.delete_selection()
        assert doc.network.nodes["a"].inputs == ["d1", "x"]
        doc.undo_stack.undo()
        sc.select_node("d1")
        assert sc.delete_selection()
        assert doc.network.nodes["a"].inputs == ["x", "d2"]
        doc.undo_stack.undo()
        # both branches at once: x would feed the Add twice, so it feeds it once
        sc.clearSelection()
        sc.nodes["d1"].setSelected(True)
        sc.nodes["d2"].setSelected(True)
        assert sc.delete_selection()
        assert doc.network.nodes["a"].inputs == ["x"]
        doc.undo_stack.undo()
        # the Add itself: which input should feed r is ambiguous, so nothing is reconnected
        sc.select_node("a")
        assert sc.delete_selection()
        assert doc.network.nodes["r"].inputs == [] and ("d1", "r") not in edges(doc)
        assert "r is not reconnected: a had 2 inputs" in messages[-1]
        doc.undo_stack.undo()
        assert doc.graph_config() == before
    finally:
        sc.clear()
        doc.undo_stack.clear()


def test_delete_and_reconnect_rules_on_configs():
    g = {"nodes": [node("x", "Input", shape=[4]), node("b", "Dense", ["x"], units=4),
                   node("c", "Dense", ["b"], units=2), node("d", "Dense", ["b"], units=2)],
         "outputs": ["c", "d"]}
    c = json.loads(json.dumps(g))
    made, orphans = delete_and_reconnect(c, ["b"])
    assert made == [("x", "c"), ("x", "d")] and orphans == []
    assert [e["inputs"] for e in c["nodes"]] == [[], ["x"], ["x"]]
    # a link deleted in the same selection (x -> d beside b -> d) is not made again by the gap
    c = json.loads(json.dumps(g))
    c["nodes"][3]["inputs"] = ["b", "x"]
    made, _ = delete_and_reconnect(c, ["b"], links=[("x", "d")])
    assert made == [("x", "c")] and c["nodes"][1]["inputs"] == ["x"] and c["nodes"][2]["inputs"] == []
    # a consumer x already feeds gets no second link from x
    c = json.loads(json.dumps(g))
    c["nodes"][3]["inputs"] = ["x", "b"]
    made, _ = delete_and_reconnect(c, ["b"])
    assert made == [("x", "c")] and c["nodes"][2]["inputs"] == ["x"]
    # the cycle guard is asked about every link before it is made
    asked = []
    c = json.loads(json.dumps(g))
    made, _ = delete_and_reconnect(c, ["b"], creates_cycle=lambda cfg, s, d: asked.append((s, d)) or d == "d")
    assert asked == [("x", "c"), ("x", "d")] and made == [("x", "c")]
    assert c["nodes"][2]["inputs"] == [] and c["nodes"][1]["inputs"] == ["x"]
    # a deleted output hands its place to its input
    c = json.loads(json.dumps(g))
    delete_and_reconnect(c, ["d"])
    assert c["outputs"] == ["c", "b"]


def test_chain_ends():
    a, b, c = node("a", "Dense", units=1), node("b", "Dense", ["a"], units=1), node("c", "Dense", ["b"], units=1)
    assert chain_ends([c, a, b]) == (a, c)
    assert chain_ends([a]) == (a, a)
    fork = node("c", "Dense", ["a"], units=1)
    assert chain_ends([a, b, fork]) is None  # a feeds two
    assert chain_ends([a, node("z", "Dense", units=1)]) is None  # two heads
    assert chain_ends([]) is None


# -- deleting links ---------------------------------------------------------------------------------
def test_deleting_a_link_names_it_and_what_lost_its_input(scene):
    doc, sc, messages = scene
    sc.clearSelection()
    sc.links[("relu3", "fc2")].setSelected(True)
    assert sc.delete_selection()
    assert doc.network.nodes["fc2"].inputs == [] and "relu3" in doc.network.nodes
    assert doc.undo_stack.undoText() == "Delete link relu3 \u2192 fc2"
    assert messages[-1] == "Deleted the link relu3 \u2192 fc2; fc2 has no input now (Ctrl+Z undoes)"
    assert sc.nodes["fc2"].is_error
    doc.undo_stack.undo()
    assert ("relu3", "fc2") in sc.links


# -- cut and paste ----------------------------------------------------------------------------------
def test_cut_a_middle_layer_and_paste_it_after_another_one_moves_it(window, qtbot):
    doc, scene = window.document, window.scene
    before = doc.graph_config()
    scene.select_node("relu3")
    press(window, Qt.Key_X, Qt.ControlModifier)
    qtbot.waitUntil(lambda: "relu3" not in doc.network.nodes, timeout=2000)
    assert doc.network.nodes["fc2"].inputs == ["fc1"]
    assert doc.undo_stack.undoText() == "Cut relu3 (connect fc1 \u2192 fc2)"
    assert window.statusBar().currentMessage().startswith("Cut relu3; connected fc1 \u2192 fc2")
    scene.select_node("fc2")
    press(window, Qt.Key_V, Qt.ControlModifier)
    qtbot.waitUntil(lambda: "relu3" in doc.network.nodes, timeout=2000)
    assert doc.network.nodes["relu3"].inputs == ["fc2"] and doc.network.nodes["relu4"].inputs == ["relu3"]
    assert scene.selected_node_names() == ["relu3"]
    assert doc.undo_stack.undoText() == "Paste relu3 between fc2 and relu4"
    assert "Pasted relu3 between fc2 and relu4" in window.statusBar().currentMessage()
    # the pasted card sits under fc2, overlapping no other card
    r = scene.nodes["relu3"].sceneBoundingRect()
    assert r.top() > scene.nodes["fc2"].sceneBoundingRect().bottom()
    assert not any(r.intersects(it.sceneBoundingRect()) for n, it in scene.nodes.items() if n != "relu3")
    seen = window.view.mapToScene(window.view.viewport().rect()).boundingRect()
    assert seen.contains(r)  # scrolled into sight, though it landed below the last row
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.graph_config() == before


def test_paste_a_copied_chain_after_the_selected_layer_or_unconnected(scene):
    doc, sc, messages = scene
    sc.clearSelection()
    sc.nodes["fc2"].setSelected(True)
    sc.nodes["relu4"].setSelected(True)
    text = sc.copy_selection()
    sc.select_node("relu4")
    new = sc.paste(text)
    assert len(new) == 2
    head = [n for n in new if doc.network[n].type_name == "Dense"][0]
    tail = [n for n in new if n != head][0]
    assert doc.network.nodes[head].inputs == ["relu4"] and doc.network.nodes[tail].inputs == [head]
    assert doc.network.nodes["scores"].inputs == [tail]
    assert not any(r["error"] for r in doc.summary_rows())  # Dense 84 again fits
    assert sorted(sc.selected_node_names()) == sorted(new)
    # nothing selected: the copies land unconnected and the status bar says how to place them
    sc.clearSelection()
    n_edges = len(edges(doc))
    new = sc.paste(text)
    assert len(new) == 2 and len(edges(doc)) == n_edges + 1  # only the link between the copies
    assert "unconnected" in messages[-1]
    # an Input copied onto a selected layer cannot follow it: unconnected
    sc.select_node("input")
    text = sc.copy_selection()
    new = sc.paste(text)
    assert len(new) == 1 and doc.network.nodes[new[0]].inputs == []


# -- dropping a palette layer onto a link, connecting into an occupied input --------------------------
@pytest.fixture
def view(scene, qtbot):
    from playground.canvas import CanvasView

    doc, sc, messages = scene
    v = CanvasView(sc)
    qtbot.addWidget(v)
    v.resize(1400, 700)
    v.show()
    qtbot.waitExposed(v)
    v.fit_all()
    yield doc, sc, v, messages
    v.setScene(None)


def link_middle(sc, key):
    return sc.links[key].path().pointAtPercent(0.5)


def test_dropping_a_layer_on_a_link_puts_it_into_the_link(view):
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QDragMoveEvent, QDropEvent

    from playground.canvas.palette import layer_mime

    doc, sc, v, messages = view
    before = doc.graph_config()
    at = link_middle(sc, ("fc1", "relu3"))
    assert sc.node_at(at) is None
    pt = QPointF(v.mapFromScene(at))
    mime = layer_mime("Dropout")
    # dragging over the link lights it up and says what a drop would do
    v.dragMoveEvent(QDragMoveEvent(pt.toPoint(), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))
    assert sc.links[("fc1", "relu3")]._drop_target
    assert messages[-1] == "Drop to put the Dropout between fc1 and relu3"
    v.dropEvent(QDropEvent(pt, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))
    new = [n for n in doc.network.nodes if n not in {e["name"] for e in before["nodes"]}]
    assert len(new) == 1 and doc.network[new[0]].type_name == "Dropout"
    assert doc.network.nodes[new[0]].inputs == ["fc1"] and doc.network.nodes["relu3"].inputs == [new[0]]
    assert not any(link._drop_target for link in sc.links.values())
    assert sc.selected_node_names() == new
    assert messages[-1].startswith(f"Inserted {new[0]} between fc1 and relu3")
    doc.undo_stack.undo()  # one step
    assert doc.graph_config() == before
    # an Input cannot go into a link: dropped there it lands unconnected
    input_mime = layer_mime("Input")  # kept: the event does not own it
    v.dropEvent(QDropEvent(pt, Qt.CopyAction, input_mime, Qt.LeftButton, Qt.NoModifier))
    assert doc.network.nodes["relu3"].inputs == ["fc1"] and len(doc.network.nodes) == len(before["nodes"]) + 1
    doc.undo_stack.undo()
    # adding at a point (the palette's double-click without a selection) never inserts
    assert sc.add_layer_at("Dropout", at) and doc.network.nodes["relu3"].inputs == ["fc1"]


def test_connecting_into_an_occupied_one_input_layer_says_what_it_replaced(scene):
    doc, sc, messages = scene
    assert sc.connect_nodes("relu1", "conv2")
    assert doc.network.nodes["conv2"].inputs == ["relu1"]
    assert messages[-1] == ("Connected relu1 \u2192 conv2 in place of pool1 \u2192 conv2 "
                            "(a Conv2D takes one input) (Ctrl+Z undoes)")
    doc.undo_stack.undo()
    assert doc.network.nodes["conv2"].inputs == ["pool1"]


def test_palette_double_click_with_a_link_selected_puts_the_layer_into_it(window):
    doc, scene = window.document, window.scene
    n = len(doc.network.nodes)
    scene.clearSelection()
    scene.links[("fc1", "relu3")].setSelected(True)
    window._add_layer_at_centre("Dropout")
    new = scene.selected_node_names()
    assert len(doc.network.nodes) == n + 1 and len(new) == 1 and doc.network[new[0]].type_name == "Dropout"
    assert doc.network.nodes[new[0]].inputs == ["fc1"] and doc.network.nodes["relu3"].inputs == [new[0]]
    assert window.statusBar().currentMessage().startswith(f"Inserted {new[0]} between fc1 and relu3")
    # an Input with a link selected: it cannot go into a link, it lands unconnected
    scene.clearSelection()
    scene.links[(new[0], "relu3")].setSelected(True)
    window._add_layer_at_centre("Input")
    assert doc.network.nodes["relu3"].inputs == [new[0]] and len(doc.network.nodes) == n + 2


@pytest.mark.parametrize("preset", sorted(p.name for p in LENET.parent.glob("*.json")))
def test_every_layer_of_every_preset_deletes_and_comes_back_exactly(qtbot, preset):
    doc = NetworkDocument()
    doc.load_dict(json.loads((LENET.parent / preset).read_text()))
    sc = CanvasScene(doc)
    messages = []
    sc.message.connect(messages.append)
    try:
        before = doc.graph_config()
        for name in list(doc.network.nodes):
            fed = list(doc.network.nodes[name].inputs)
            consumers = [n for n, nd in doc.network.nodes.items() if name in nd.inputs]
            sc.select_node(name)
            assert sc.delete_selection(), messages[-1:]
            assert messages[-1].startswith(f"Deleted {name}")
            if len(fed) == 1:  # a chain link: its input feeds what it fed
                assert all(fed[0] in doc.network.nodes[c].inputs for c in consumers)
            assert doc.undo_stack.undoText().startswith(f"Delete {name}")
            doc.undo_stack.undo()
            assert doc.graph_config() == before
            assert set(sc.links) == {(s, n) for n, nd in doc.network.nodes.items() for s in nd.inputs}
    finally:
        sc.clear()
        doc.undo_stack.clear()
