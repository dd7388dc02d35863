"""The canvas editor driven through its real widgets: palette drops, port drags, inspector edits."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QColor, QDropEvent  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from engine.layers import LAYER_TYPES  # noqa: E402
from playground.canvas import CanvasScene, CanvasView, InspectorWidget, PaletteWidget  # noqa: E402
from playground.canvas.layout import auto_layout  # noqa: E402
from playground.canvas.palette import LAYER_MIME, layer_mime  # noqa: E402
from playground.document import NetworkDocument  # noqa: E402

pytestmark = pytest.mark.gui


def doc_dict():
    return {
        "format": "network-playground", "version": 1, "name": "t",
        "graph": {"nodes": [
            {"name": "x", "type": "Input", "config": {"shape": [6]}, "inputs": [], "meta": {"pos": [0, 0]}},
            {"name": "h", "type": "Dense", "config": {"units": 8}, "inputs": ["x"], "meta": {"pos": [240, 0]}},
        ]},
    }


@pytest.fixture
def editor(qtbot):
    doc = NetworkDocument()
    doc.load_dict(doc_dict())
    scene = CanvasScene(doc)
    view = CanvasView(scene)
    inspector = InspectorWidget(doc)
    scene.layer_selected.connect(inspector.set_layer)
    qtbot.addWidget(view)
    qtbot.addWidget(inspector)
    view.resize(900, 600)
    view.show()
    qtbot.waitExposed(view)
    view.resetTransform()
    view.centerOn(QPointF(300, 100))
    yield doc, scene, view, inspector
    # tear down in a fixed order (leaving it to the garbage collector at exit crashes PySide6)
    view.setScene(None)
    scene.clear()
    doc.undo_stack.clear()


def drop_layer(view, type_name, scene_pos, palette=None):
    """Deliver a real drop event carrying the palette's mime data to the view."""
    mime = palette.tree.mimeData([palette.items[type_name]]) if palette else layer_mime(type_name)
    pt = view.mapFromScene(scene_pos)
    ev = QDropEvent(QPointF(pt), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    view.dropEvent(ev)
    return ev


def drag_link(view, scene, src, dst):
    """Press on src's output port, move, release over dst's input port (real mouse events)."""
    a = view.mapFromScene(scene.nodes[src].out_anchor())
    b = view.mapFromScene(scene.nodes[dst].in_anchor() + QPointF(12, 0))
    vp = view.viewport()
    QTest.mousePress(vp, Qt.LeftButton, Qt.NoModifier, a)
    QTest.mouseMove(vp, QPoint((a.x() + b.x()) // 2, (a.y() + b.y()) // 2))
    QTest.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, b)


def test_scene_mirrors_document(editor):
    doc, scene, view, _ = editor
    assert set(scene.nodes) == {"x", "h"}
    assert set(scene.links) == {("x", "h")}
    assert scene.nodes["h"].shape_text() == "(8,)"
    assert scene.nodes["h"].params == 6 * 8 + 8
    assert scene.nodes["x"].pos() == QPointF(0, 0)
    assert not scene.nodes["x"].in_port.isVisible() and scene.nodes["h"].in_port.isVisible()


def test_palette_lists_every_layer_with_tooltips_and_filters(qtbot):
    pal = PaletteWidget()
    qtbot.addWidget(pal)
    assert {"Dense", "Input", "Activation"} <= set(pal.items)
    assert set(pal.items) <= set(LAYER_TYPES)
    dense = pal.items["Dense"]
    assert LAYER_TYPES["Dense"].description in dense.toolTip(0)
    assert not dense.icon(0).isNull()
    qtbot.keyClicks(pal.filter_edit, "dens")
    assert "Dense" in pal.visible_types() and "Input" not in pal.visible_types()
    pal.filter_edit.clear()
    assert "Input" in pal.visible_types()
    mime = pal.tree.mimeData([dense])  # what a drag from the palette carries
    assert mime.hasFormat(LAYER_MIME) and bytes(mime.data(LAYER_MIME).data()) == b"Dense"
    assert pal.tree.mimeData([dense.parent()]) is None  # a family header is not draggable


def test_drop_connect_edit_undo(editor, qtbot):
    """The issue's acceptance path: drop a Dense, connect it, change its units, undo."""
    doc, scene, view, inspector = editor
    palette = PaletteWidget()
    qtbot.addWidget(palette)
    with qtbot.waitSignal(doc.node_added, timeout=2000) as added:
        ev = drop_layer(view, "Dense", QPointF(520, 40), palette)
    assert ev.isAccepted()
    name = added.args[0]
    assert name in scene.nodes and LAYER_TYPES["Dense"] is type(doc.network[name])
    item = scene.nodes[name]
    assert abs(item.sceneBoundingRect().center().x() - 520) < 120
    assert item.out_shape is None and item.error  # not connected yet: says so
    # connect h -> new dense by dragging from h's output port to its input port
    with qtbot.waitSignal(doc.link_added, timeout=2000) as linked:
        drag_link(view, scene, "h", name)
    assert linked.args == ["h", name]
    assert (("h", name) in scene.links)
    units = doc.network[name].get_config()["units"]
    assert item.shape_text() == f"({units},)" and not item.is_error
    # the drop selected the new node, so the inspector shows it
    assert inspector.current == name
    spin = inspector.fields["units"]
    spin.setValue(20)
    assert item.shape_text() == "(20,)"
    assert item.params == 8 * 20 + 20
    spin.setValue(21)
    assert item.shape_text() == "(21,)"
    doc.undo_stack.undo()  # the two spin changes merged into one step
    assert item.shape_text() == f"({units},)"
    assert spin.value() == units  # inspector follows the document
    doc.undo_stack.undo()  # the link
    assert ("h", name) not in scene.links and item.is_error
    doc.undo_stack.undo()  # the drop
    assert name not in scene.nodes and name not in doc.network.nodes
    doc.undo_stack.redo()
    assert name in scene.nodes


def test_shape_error_turns_node_red_and_shows_engine_text(editor, qtbot):
    doc, scene, view, _ = editor
    if "Conv2D" not in LAYER_TYPES:
        pytest.skip("Conv2D not in the engine yet")
    name = doc.add_layer("Conv2D", pos=(480, 0), inputs=["h"])
    item = scene.nodes[name]
    msg = doc.network.summary_rows()[-1]["error"]
    assert msg and item.is_error and item.error == msg
    assert "Conv2D" in msg
    assert msg in item.toolTip()
    # the rendered card really is red
    img = view.grab().toImage()
    centre = view.mapFromScene(item.mapToScene(QPointF(92, 4)))
    c = QColor(img.pixel(centre))
    assert c.red() > 180 and c.green() < 120
    doc.undo_stack.undo()
    assert name not in scene.nodes


def test_inspector_refuses_bad_values(editor, qtbot):
    doc, scene, view, inspector = editor
    scene.select_node("h")
    assert inspector.current == "h"
    before = doc.graph_config()
    with qtbot.waitSignal(inspector.edit_refused, timeout=2000):
        inspector.fields["units"].setValue(0)
    assert doc.graph_config() == before
    assert inspector.fields["units"].value() == 8  # reverted to the layer's value
    assert inspector.message.isVisibleTo(inspector)
    # a text field with a validator: l2
    l2 = inspector.fields["l2"]
    l2.setFocus()
    qtbot.keyClicks(l2, "5")  # "0.05" style edits; whatever is typed, the layer decides
    assert doc.network["h"].get_config()["l2"] == pytest.approx(float(l2.text()))


def test_inspector_choice_and_bool_widgets(editor, qtbot):
    doc, scene, view, inspector = editor
    name = doc.add_layer("Activation", pos=(480, 0), inputs=["h"])
    scene.select_node(name)
    combo = inspector.fields["kind"]
    assert combo.count() >= 4
    combo.setCurrentText("tanh")
    assert doc.network[name].get_config()["kind"] == "tanh"
    scene.select_node("h")
    cb = inspector.fields["trainable"]
    cb.setChecked(False)
    assert doc.network["h"].trainable is False
    doc.undo_stack.undo()
    assert doc.network["h"].trainable is True and cb.isChecked()


def test_move_rubber_band_delete_copy_paste(editor, qtbot):
    doc, scene, view, _ = editor
    item = scene.nodes["h"]
    # move with the mouse: press on the body, drag, release -> one undoable move
    p = view.mapFromScene(item.mapToScene(QPointF(90, 40)))
    vp = view.viewport()
    QTest.mousePress(vp, Qt.LeftButton, Qt.NoModifier, p)
    QTest.mouseMove(vp, p + QPoint(30, 20))
    QTest.mouseMove(vp, p + QPoint(60, 40))
    QTest.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, p + QPoint(60, 40))
    assert doc.node_pos("h") != (240.0, 0.0)
    doc.undo_stack.undo()
    assert doc.node_pos("h") == (240.0, 0.0) and item.pos() == QPointF(240, 0)
    # rubber band from empty space over both nodes
    a = view.mapFromScene(QPointF(-60, -60))
    b = view.mapFromScene(QPointF(500, 200))
    QTest.mousePress(vp, Qt.LeftButton, Qt.NoModifier, a)
    QTest.mouseMove(vp, (a + b) / 2)
    QTest.mouseMove(vp, b)
    QTest.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, b)
    assert sorted(scene.selected_node_names()) == ["h", "x"]
    text = scene.copy_selection()
    new = scene.paste(text)
    assert len(new) == 2 and all(n in scene.nodes for n in new)
    assert len(doc.network.nodes) == 4
    assert sorted(scene.selected_node_names()) == sorted(new)
    pasted = [n for n in new if doc.network[n].type_name == "Dense"][0]
    assert scene.nodes[pasted].shape_text() == "(8,)"  # the internal link came along
    assert scene.delete_selection()
    assert set(doc.network.nodes) == {"x", "h"}
    doc.undo_stack.undo()
    assert len(scene.nodes) == 4
    # clipboard text that only looks like ours: a message, no traceback, nothing added
    messages = []
    scene.message.connect(messages.append)
    for bad in ('{"kind": "network-playground-nodes", "nodes": 5}',
                '{"kind": "network-playground-nodes", "nodes": [{"name": 1, "type": "Dense"}]}'):
        assert scene.paste(bad) == [] and len(doc.network.nodes) == 4
    assert len(messages) == 2 and "no layers to paste" in messages[-1]
    odd = '{"kind": "network-playground-nodes", "nodes": [{"name": "d", "type": "Dropout", ' \
          '"config": {"rate": 0.5}, "inputs": "x", "meta": {"pos": "here"}}]}'
    new = scene.paste(odd)
    assert len(new) == 1 and doc.network.nodes[new[0]].inputs == [] and doc.node_pos(new[0]) == (40.0, 40.0)


def test_select_link_and_delete(editor):
    doc, scene, view, _ = editor
    scene.clearSelection()
    scene.links[("x", "h")].setSelected(True)
    assert scene.delete_selection()
    assert doc.network.nodes["h"].inputs == [] and ("x", "h") not in scene.links
    assert scene.nodes["h"].is_error


def test_zoom_and_fit(editor):
    doc, scene, view, _ = editor
    z = view.zoom()
    view.zoom_in()
    assert view.zoom() > z
    view.zoom_out()
    view.zoom_out()
    assert view.zoom() < z
    view.fit_all()
    vis = view.mapToScene(view.viewport().rect()).boundingRect()
    for item in scene.nodes.values():
        assert vis.contains(item.sceneBoundingRect())


def test_auto_layout_columns_by_depth_without_overlap(editor):
    doc, scene, view, _ = editor
    a = doc.add_layer("Activation", pos=(0, 0), inputs=["h"])
    b = doc.add_layer("Dense", config={"units": 3}, pos=(0, 0), inputs=["h"])
    doc.add_layer("Add", pos=(0, 0), inputs=[a, b]) if "Add" in LAYER_TYPES else None
    scene.auto_layout()
    pos = {n: doc.node_pos(n) for n in doc.network.nodes}
    assert pos["x"][0] < pos["h"][0] < pos[a][0]
    assert pos[a][0] == pos[b][0] and pos[a][1] != pos[b][1]
    rects = [scene.nodes[n].sceneBoundingRect() for n in doc.network.nodes]
    for i in range(len(rects)):
        for j in range(i + 1, len(rects)):
            assert not rects[i].adjusted(6, 6, -6, -6).intersects(rects[j].adjusted(6, 6, -6, -6))
    doc.undo_stack.undo()  # auto-layout is one undo step
    assert doc.node_pos("h") == (240.0, 0.0)


def test_auto_layout_wraps_long_chains():
    from engine.graph import Network
    from engine.layers import Activation, Input

    net = Network()
    prev = net.add(Input(shape=(3,)))
    for _ in range(11):
        prev = net.add(Activation("relu"), [prev])
    pos = auto_layout(net, max_columns=6)
    xs = {p[0] for p in pos.values()}
    ys = {p[1] for p in pos.values()}
    assert len(xs) <= 6 and len(ys) == 2


def test_health_tint_api(editor):
    doc, scene, view, _ = editor
    scene.set_node_tint("h", QColor("orange"), "dead ReLUs: 60% of units never fire")
    item = scene.nodes["h"]
    assert item.tint == QColor("orange") and "dead ReLUs" in item.toolTip()
    h0 = item.height()
    scene.set_node_tint("h", None, "")
    assert item.tint is None and "dead ReLUs" not in item.toolTip() and item.height() < h0


def test_composite_blocks_fold_and_unfold(editor):
    doc, scene, view, _ = editor
    from playground.canvas.scene import sublayer_rows
    from playground.document import default_layer_config

    made = None
    for t, cls in LAYER_TYPES.items():
        try:
            layer = cls.from_config(default_layer_config(t))
        except Exception:  # noqa: BLE001 - types that need settings first
            continue
        if sublayer_rows(layer):
            made = doc.add_layer(t, pos=(500, 0), inputs=["x"])
            break
    if made is None:
        pytest.skip("no composite layer type (residual/inception block) in the engine")
    item = scene.nodes[made]
    assert item.sublayers and "sublayers" in item.toolTip().lower() or "unfold" in item.toolTip().lower()
    h0 = item.height()
    assert not item.unfolded
    scene.toggle_unfold(made)
    assert item.unfolded and item.height() > h0
    scene.toggle_unfold(made)
    assert not item.unfolded
    # a double-click unfolds too, and the scene remembers it when the card is made again (undo)
    QTest.mouseDClick(view.viewport(), Qt.LeftButton, pos=view.mapFromScene(item.mapToScene(item.body_rect().center())))
    assert item.unfolded
    doc.remove_nodes([made])
    doc.undo_stack.undo()
    assert scene.nodes[made].unfolded


#: config for layer types that need a value before they can be added
REQUIRED = {"AttentionDecoder": {"steps": 4, "units": 8}, "ConstantOp": {"op": "add", "value": 1.0},
            "Take": {"indices": [0]}, "Transpose": {"perm": [1, 0]}}


def test_every_inspector_field_of_every_layer_type_has_a_tooltip(qtbot):
    import inspect

    from playground.canvas.help_texts import CHOICE_HELP, option_help, plain

    # every constructor option of every registered layer has an explanation
    for type_name, cls in LAYER_TYPES.items():
        for key, p in inspect.signature(cls.__init__).parameters.items():
            if key in ("self", "name") or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                continue
            assert len(option_help(type_name, key)) > 20, f"{type_name}.{key} has no tooltip"
    # and the inspector shows it on every field and label it builds
    doc = NetworkDocument()
    doc.load_dict(doc_dict())
    inspector = InspectorWidget(doc)
    qtbot.addWidget(inspector)
    seen = 0
    for type_name in sorted(LAYER_TYPES):
        if type_name == "Input":
            name = "x"
        else:
            name = doc.add_layer(type_name, REQUIRED.get(type_name))
        inspector.set_layer(name)
        assert inspector.current == name and inspector.fields, type_name
        for key, w in inspector.fields.items():
            tip = w.toolTip()
            assert tip.startswith("<p>"), "rich text, so Qt word-wraps it"
            assert plain(tip) == option_help(type_name, key) and len(plain(tip)) > 20, f"{type_name}.{key}"
            label = inspector.form.labelForField(w)
            assert label is not None and label.toolTip() == tip
            seen += 1
            if key in CHOICE_HELP and hasattr(w, "itemData"):
                for i in range(w.count()):
                    assert w.itemData(i, Qt.ToolTipRole), f"{type_name}.{key} choice {w.itemText(i)}"
    assert seen > 60
    doc.undo_stack.clear()


def test_notes_terms_in_key_tooltips():
    from playground.canvas.help_texts import choice_help, option_help

    assert "1/keep_prob" in option_help("Dropout", "rate") and "test time" in option_help("Dropout", "rate")
    assert "many-to-many" in option_help("LSTM", "return_sequences") and "deep RNN" in option_help("LSTM", "return_sequences")
    assert "2/n" in option_help("Dense", "initializer") and "1/n" in option_help("Dense", "initializer")
    assert "die" in choice_help("kind", "relu") and "+-2" in choice_help("kind", "tanh")
    assert "cannot learn" in choice_help("kind", "step")
    assert "Transfer" in option_help("Dense", "trainable")
    assert "Nothing to learn" in option_help("MaxPool2D", "pool_size")
    assert option_help("ZeroPadding2D", "padding") != option_help("Conv2D", "padding")


def test_palette_is_wide_enough_for_every_name(qtbot):
    pal = PaletteWidget()
    qtbot.addWidget(pal)
    pal.resize(pal.minimumSizeHint().width(), 800)
    pal.show()
    qtbot.waitExposed(pal)
    fm = pal.tree.fontMetrics()
    longest = max(pal.items, key=lambda t: fm.horizontalAdvance(t))
    item = pal.items[longest]
    rect = pal.tree.visualItemRect(item)
    text_room = rect.right() - rect.left() - pal.tree.iconSize().width()
    assert pal.tree.width() >= pal.names_width()
    assert text_room >= fm.horizontalAdvance(longest), (longest, text_room)
    assert f"<b>{longest}</b>" in item.toolTip(0)  # the full name also in the tooltip


def test_an_edit_computes_the_summary_once_for_scene_and_inspector(editor, qtbot, monkeypatch):
    """The scene (every node's shape/params) and the inspector (the current node's) both show
    the summary after each edit: it is computed once per document change and shared."""
    from engine.graph import Network

    doc, scene, view, inspector = editor
    calls = []
    original = Network.summary_rows

    def counting(net):
        if net is doc.network:
            calls.append(doc.revision)
        return original(net)

    monkeypatch.setattr(Network, "summary_rows", counting)
    scene.select_node("h")
    assert inspector.current == "h"
    calls.clear()
    doc.set_layer_option("h", "units", 5, merge=False)
    assert len(calls) == 1
    assert scene.nodes["h"].out_shape == (5,) and scene.nodes["h"].params == 6 * 5 + 5
    assert "35" in inspector.info.text()  # the inspector's parameter count follows the edit
    calls.clear()
    doc.undo_stack.undo()
    assert len(calls) == 1
    assert scene.nodes["h"].params == 6 * 8 + 8 and "56" in inspector.info.text()
    # nothing changed: asking again reuses the rows; building (input_shapes set) recomputes them
    calls.clear()
    assert doc.summary_rows() is doc.summary_rows() and not calls
    doc.network.build()
    doc.summary_rows()
    assert len(calls) == 1
    # a swapped network (ONNX import keeps its weights this way) is a change too
    swapped = Network.from_config(doc.network.get_config())
    doc.network = swapped
    assert [r["name"] for r in doc.summary_rows()] == [r["name"] for r in original(swapped)]
    assert len(calls) == 2
