"""What a user trips over, found by using the app: a network built from the palette that cannot
learn the data set (no softmax, wrong number of outputs, wrong Input shape) is refused with a
message that says what to change, an Input dropped from the palette takes the data set's sample
shape, the cost curve shows every step of a run, the Training menu and its shortcuts, and a stale
hint does not outlive its run."""

import copy
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QPointF, Qt  # noqa: E402

from engine.data import load_dataset  # noqa: E402
from engine.io import load_document  # noqa: E402
from engine.training import TrainConfig, Trainer  # noqa: E402
from playground.document import NetworkDocument  # noqa: E402
from playground.training.dock import TrainingDock  # noqa: E402
from playground.training.history import RunHistory  # noqa: E402
from gui_support import close_window, shown_window  # noqa: E402

pytestmark = pytest.mark.gui
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRESETS = os.path.join(ROOT, "presets")


def spiral_dict(**edits):
    """The spiral preset as a dict; ``edits`` maps node name -> config changes (None drops it)."""
    import json

    with open(os.path.join(PRESETS, "spiral.json"), encoding="utf-8") as fh:
        d = json.load(fh)
    nodes = []
    for n in d["graph"]["nodes"]:
        change = edits.get(n["name"], {})
        if change is None:
            continue
        n["config"].update(change)
        nodes.append(n)
    d["graph"]["nodes"] = nodes
    d["training"]["epochs"] = 2
    return d


@pytest.fixture
def dock_for(qtbot, tmp_path):
    made = []

    def make(d):
        doc = NetworkDocument()
        doc.load_dict(d)
        dock = TrainingDock(history=RunHistory(str(tmp_path / "runs.sqlite")))
        qtbot.addWidget(dock)
        dock.resize(1200, 600)
        dock.set_document(doc)
        made.append(dock)
        return dock, doc

    yield make
    for dock in made:
        dock.shutdown()


def test_an_output_without_softmax_is_refused_with_what_to_add(dock_for):
    # the user forgot the softmax: softmax cross-entropy over raw scores trains to a negative cost
    # at chance accuracy, with no word of why
    dock, doc = dock_for(spiral_dict(softmax=None))
    assert doc.network.outputs == ["scores"]
    assert dock.train() is False
    assert dock.worker is None and dock.state == "idle"
    text = dock.status.text()
    assert "'scores'" in text and "softmax" in text and "Activation" in text


def test_an_output_with_the_wrong_number_of_classes_names_the_layer_to_change(dock_for):
    dock, doc = dock_for(spiral_dict(scores={"units": 5}))
    assert dock.train() is False
    text = dock.status.text()
    assert "5 values" in text and "2 classes" in text and "units of 'scores' to 2" in text


def test_an_input_of_the_wrong_shape_says_the_data_sets_shape(dock_for):
    dock, doc = dock_for(spiral_dict(input={"shape": [3]}))
    assert dock.train() is False
    text = dock.status.text()
    assert "(3,)" in text and "(2,)" in text and "'input'" in text


def test_a_refused_run_clears_the_previous_runs_hint(dock_for, qtbot):
    dock, doc = dock_for(spiral_dict(softmax=None))
    dock.hint.setText("The training cost ended at 18.1 ...")  # left by an earlier run
    assert dock.train() is False
    assert dock.hint.text() == ""


def test_the_presets_pass_the_checks_and_train(dock_for, qtbot):
    dock, doc = dock_for(spiral_dict())
    with qtbot.waitSignal(dock.training_finished, timeout=60000) as blocker:
        assert dock.train() is True
    assert blocker.args[0]["stopped"] == "finished"


def test_the_cost_curve_holds_every_step_of_a_run(dock_for, qtbot):
    # the trainer reports steps at most every few ms with the costs since its last report; the
    # costs after the last report were dropped at the end of a run (a fast run lost a third of an
    # epoch of its curve)
    dock, doc = dock_for(spiral_dict())
    with qtbot.waitSignal(dock.training_finished, timeout=60000) as blocker:
        dock.train()
    steps = blocker.args[0]["global_steps"]
    assert len(dock.cost_plot.steps_x) == steps
    assert dock.cost_plot.steps_x[-1] == pytest.approx(doc.training["epochs"])
    assert dock.metrics_plot.lr_x[-1] == pytest.approx(doc.training["epochs"])  # the rate's line too


def test_trainer_reports_the_last_steps_of_a_run():
    d = load_document(os.path.join(PRESETS, "spiral.json"))
    sp = load_dataset(d.data)
    d.network.build(seed=0)
    seen = []
    cfg = TrainConfig.from_dict({**d.training, "epochs": 2})
    # a throttle longer than the run: one step event (the first step), the rest comes at the end
    result = Trainer(d.network, sp, cfg, callback=seen.append, throttle=3600).run()
    assert seen[-1]["type"] == "finished"
    costs = [gs for ev in seen if ev["type"] in ("step", "finished") for gs, _ in ev["recent"]]
    assert costs == list(range(1, result["global_steps"] + 1))
    assert seen[-1]["steps_per_epoch"] == result["global_steps"] // 2


window = shown_window
close = close_window


def test_an_input_dropped_from_the_palette_takes_the_data_sets_sample_shape(qtbot, tmp_path):
    win = window(qtbot, tmp_path)
    try:
        win.new_document()  # keeps the digits data set: samples of shape (1, 28, 28)
        assert win.document.data["name"] == "digits"
        name = win.scene.add_layer_at("Input", QPointF(0, 0))
        assert win.document.network.nodes[name].layer.get_config()["shape"] == [1, 28, 28]
        conv = win.scene.add_layer_at("Conv2D", QPointF(300, 0))
        assert win.scene.connect_nodes(name, conv)
        assert not win.scene.nodes[conv].is_error  # a CNN on the digits needs no Reshape
        # another data set: the next Input takes its shape
        data = copy.deepcopy(win.document.data)
        data.update({"name": "spiral", "options": {}})
        win.document.set_data(data)
        other = win.scene.add_layer_at("Input", QPointF(0, 300))
        assert win.document.network.nodes[other].layer.get_config()["shape"] == [2]
    finally:
        close(win)


def test_training_menu_and_keys_drive_the_dock(qtbot, tmp_path):
    win = window(qtbot, tmp_path)
    try:
        dock = win.training_dock
        win.document.load_dict(spiral_dict())
        titles = [a.text() for a in win.menuBar().actions()]
        assert "&Training" in titles
        keys = {a.text(): a.shortcut().toString() for a in win.training_menu.actions() if a.text()}
        assert keys["&Train"] == "Ctrl+Return" and keys["St&op"] == "Shift+F5" and keys["&Step one mini-batch"] == "F10"
        assert "F5" in [s.toString() for s in win.act_train.shortcuts()]
        assert not win.act_stop.isEnabled() and win.act_train.isEnabled()
        assert "(Ctrl+Return)" in dock.train_button.toolTip()
        # the Digits panel in front: F10 brings the training dock forward and takes one step
        win.panels["Digits"].raise_()
        win.activateWindow()  # window shortcuts need the active window
        qtbot.waitUntil(win.isActiveWindow)
        with qtbot.waitSignal(dock.step_reported, timeout=20000):
            qtbot.keyClick(win, Qt.Key_F10)
        assert dock.state == "paused" and not dock.visibleRegion().isEmpty()
        assert win.act_train.text() == "&Resume" and win.act_stop.isEnabled()
        assert not win.act_reset_weights.isEnabled()
        with qtbot.waitSignal(dock.training_finished, timeout=20000) as blocker:
            win.act_stop.trigger()
        assert blocker.args[0]["stopped"] == "cancelled"
        assert win.act_train.text() == "&Train" and not win.act_stop.isEnabled()
        with qtbot.waitSignal(dock.training_finished, timeout=60000) as blocker:
            qtbot.keyClick(win, Qt.Key_Return, Qt.ControlModifier)
        assert blocker.args[0]["stopped"] == "finished"
    finally:
        close(win)


def test_evaluation_names_invisible_classes(qtbot):
    # the names preset's classes are "\n" (end of name) and letters: the first row and column of
    # the confusion matrix had an empty header
    from types import SimpleNamespace

    import numpy as np

    from playground.training.evaluation import EvaluationPanel, class_label

    assert class_label("\n") == "\u23ce end" and class_label(" ") == "\u2423 space" and class_label("a") == "a"
    assert class_label("\x01") == "\\x01"
    panel = EvaluationPanel()
    qtbot.addWidget(panel)
    p = np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]], dtype=np.float32)
    y = np.array([0, 1, 2])
    sets = {f"{k}_{w}": (p if k == "x" else y) for k in ("x", "y") for w in ("train", "dev", "test")}
    panel.set_source(lambda x: x, SimpleNamespace(task="classification", classes=["\n", " ", "a"], **sets))
    assert panel.evaluate()["accuracy"] == 1.0
    heads = [panel.confusion.horizontalHeaderItem(i).text() for i in range(3)]
    rows = [panel.scores.verticalHeaderItem(i).text() for i in range(3)]
    assert heads == ["\u23ce end", "\u2423 space", "a"] and rows == heads


def test_a_regression_data_set_with_a_classification_cost_says_which_cost(dock_for):
    d = spiral_dict()
    d["data"] = {"name": "plane", "options": {}, "split": {"dev": 0.1, "test": 0.2}, "seed": 0}
    dock, doc = dock_for(d)
    assert dock.train() is False
    text = dock.status.text()
    assert "regression" in text and "'quadratic'" in text and "1 unit" in text


def test_a_value_cost_on_class_labels_points_to_softmax_cross_entropy(dock_for):
    d = spiral_dict()
    d["training"]["loss"] = "quadratic"
    dock, doc = dock_for(d)
    assert dock.train() is False
    assert "softmax_cross_entropy" in dock.status.text() and "2 outputs" in dock.status.text()


def tiny_mnist(folder):
    """Four small IDX files in MNIST's layout (what a download leaves in the cache)."""
    import numpy as np

    from engine.data.mnist import MNIST_FILES, write_idx

    rng = np.random.default_rng(0)
    arrays = {"train_images": rng.integers(0, 255, (60, 28, 28), dtype=np.uint8),
              "train_labels": np.arange(60, dtype=np.uint8) % 10,
              "test_images": rng.integers(0, 255, (20, 28, 28), dtype=np.uint8),
              "test_labels": np.arange(20, dtype=np.uint8) % 10}
    for key, name in MNIST_FILES.items():
        write_idx(os.path.join(folder, name), arrays[key])
    return str(folder)


def test_mnist_can_be_downloaded_or_pointed_at_from_the_dock(dock_for, qtbot, tmp_path, monkeypatch):
    # choosing mnist said "MNIST needs option 'path' ... or download: true", options the form
    # could not set
    import playground.training.controls as controls_mod

    monkeypatch.setattr("engine.data.mnist.default_cache_dir", lambda: str(tmp_path / "empty-cache"))
    d = spiral_dict()
    dock, doc = dock_for(d)
    c = dock.controls
    assert not c.mnist_row.isVisibleTo(c)
    c.dataset.setCurrentText("mnist")
    assert doc.data["name"] == "mnist" and c.mnist_row.isVisibleTo(c)
    assert dock.splits is None and "Download (11 MB)" in dock.status.text()
    assert not c.test.isEnabled() and "MNIST's own 10,000" in c.split_label.text()  # its test split is fixed

    files = tmp_path / "cache"
    files.mkdir()
    calls = []

    def fake_download(progress=None):
        calls.append(1)
        progress("train-images-idx3-ubyte.gz", 5_000_000, 9_900_000)
        return tiny_mnist(files)

    dock.download_fn = fake_download
    with qtbot.waitSignal(c.data_edited, timeout=10000) as blocker:
        c.mnist_download.click()
        assert not c.mnist_download.isEnabled() and not dock.train_button.isEnabled()
    assert calls == [1] and blocker.args[0]["options"] == {"path": str(files)}
    qtbot.waitUntil(lambda: dock.mnist_download is None)
    assert doc.data["options"] == {"path": str(files)}
    assert dock.splits is not None and dock.splits.name == "mnist" and len(dock.splits.x_test) == 20
    assert c.mnist_download.isEnabled() and dock.train_button.isEnabled()
    assert not c.test.isEnabled()  # still MNIST's own test set after the dock's state changes

    # "Use files...": a picked IDX file means its folder, an .npz the file itself
    other = tmp_path / "mine"
    other.mkdir()
    tiny_mnist(other)
    monkeypatch.setattr(controls_mod, "choose_mnist_path", lambda parent: str(other))
    c.mnist_files.click()
    assert doc.data["options"] == {"path": str(other)} and dock.splits.info["path"] == str(other)


def test_a_failed_mnist_download_says_why(dock_for, qtbot, tmp_path, monkeypatch):
    from engine.errors import DataError

    monkeypatch.setattr("engine.data.mnist.default_cache_dir", lambda: str(tmp_path / "empty-cache"))
    dock, doc = dock_for(spiral_dict())
    dock.controls.dataset.setCurrentText("mnist")

    def offline(progress=None):
        raise DataError("cannot download https://example/train-images-idx3-ubyte.gz: no network")

    dock.download_fn = offline
    assert dock.download_mnist()
    qtbot.waitUntil(lambda: dock.mnist_download is None)
    assert "no network" in dock.status.text() and dock.controls.mnist_download.isEnabled()


def test_tooltips_name_each_key_once_and_an_empty_hint_takes_no_room(qtbot, tmp_path, dock_for):
    win = window(qtbot, tmp_path)
    try:
        for act in win.findChildren(type(win.act_zoom_out)):
            tip = act.toolTip()
            if "(" in tip and tip.endswith(")"):
                keys = tip[tip.rindex("(") + 1:-1].split(" / ")
                assert len(keys) == len(set(keys)), tip
        assert win.act_zoom_out.toolTip() == "Zoom out (Ctrl+-)"
    finally:
        close(win)
    dock, _ = dock_for(spiral_dict())
    dock.show()
    assert dock.hint.isHidden()
    dock.hint.setText("most units of relu3 are dead")
    assert not dock.hint.isHidden()
    dock.hint.setText("")
    assert dock.hint.isHidden()


def test_an_onnx_round_trip_keeps_the_data_set_when_the_network_reads_it(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    pytest.importorskip("onnx")
    win = window(qtbot, tmp_path)
    try:
        win.document.load_dict(spiral_dict())  # the spiral preset, 2 epochs
        assert win.document.data["name"] == "spiral"
        target = str(tmp_path / "spiral.onnx")
        monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (target, "")))
        monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (target, "")))
        win.export_onnx()
        assert os.path.isfile(target)
        win.import_onnx()
        doc = win.document
        assert doc.name == "spiral" and doc.data["name"] == "spiral"  # not the default digits
        assert "reads the spiral data set" in win.statusBar().currentMessage()
        assert doc.training["optimizer"]["lr"] == 0.01  # the preset's, not the default 0.001
        with qtbot.waitSignal(win.training_dock.training_finished, timeout=60000):
            assert win.training_dock.train()
        # a network that reads other samples gets the default data set (the checks say what to fix)
        win.open_file(os.path.join(PRESETS, "digits_mlp.json"), as_preset=True)
        win.document.undo_stack.setClean()
        win.import_onnx()
        message = win.statusBar().currentMessage()
        assert message.startswith("Imported spiral.onnx") and "reads the" not in message
    finally:
        close(win)


def test_trained_weights_count_as_unsaved_work(qtbot, tmp_path, monkeypatch):
    # a run's weights were lost without a question: training did not mark the document modified,
    # and a .json document does not keep weights
    import numpy as np
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    import playground.mainwindow as mw

    win = window(qtbot, tmp_path)
    try:
        win.document.load_dict(spiral_dict())  # the spiral preset, 2 epochs
        doc = win.document
        assert not doc.modified
        with qtbot.waitSignal(win.training_dock.training_finished, timeout=60000):
            win.training_dock.train()
        assert doc.modified and doc.undo_stack.isClean() and win.isWindowModified()
        trained = doc.network.get_weights()

        saved_json = str(tmp_path / "spiral.json")
        monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (saved_json, "")))
        assert win.save()
        assert doc.modified and ".npz" in win.statusBar().currentMessage()  # the weights are not in it

        asked = []
        model = str(tmp_path / "spiral.npz")
        proposed = []

        def save_dialog(parent, title, start, filters, selected=""):
            proposed.append((start, selected))
            return model, ""

        monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(save_dialog))
        monkeypatch.setattr(mw, "ask", lambda parent, title, text, *a: asked.append(text) or QMessageBox.Save)
        assert win.maybe_save()
        assert "trained" in asked[0] and ".npz" in asked[0]
        assert proposed[0][0].endswith(".npz") and "npz" in proposed[0][1]
        assert not doc.modified and os.path.isfile(model)
        win.open_file(model)
        reopened = doc.network.get_weights()
        assert set(reopened) == set(trained)
        for name, value in trained.items():
            np.testing.assert_array_equal(reopened[name], value)
        assert not doc.modified
    finally:
        close(win)


def test_a_garbage_model_file_is_refused_without_advice_to_unpickle(qtbot, tmp_path, monkeypatch):
    import playground.mainwindow as mw

    shown = []
    monkeypatch.setattr(mw, "warn", lambda parent, title, text: shown.append(text))
    win = window(qtbot, tmp_path)
    try:
        bad = tmp_path / "model.npz"
        bad.write_text("this is not a model")
        names = list(win.document.network.nodes)
        assert not win.open_file(str(bad))
        assert "not a model file" in shown[0] and "pickle" not in shown[0]
        assert list(win.document.network.nodes) == names
    finally:
        close(win)


def test_empty_and_dangling_networks_get_a_gui_message(dock_for):
    # the engine said "the network has 0 inputs: pass a dict of arrays" and "... give targets as a
    # dict": advice for code, not for the canvas
    d = spiral_dict()
    d["graph"]["nodes"].append({"name": "stray", "type": "Dense", "config": {"units": 3}, "inputs": ["dense_1"]})
    dock, doc = dock_for(d)
    assert dock.train() is False
    text = dock.status.text()
    assert "2 outputs" in text and "stray" in text and "delete" in text and "dict" not in text
    doc.new()
    assert dock.train() is False and "empty" in dock.status.text() and "Presets" in dock.status.text()
    doc.add_layer("Dense")  # the canvas shows the engine's "has no input: connect something to it"
    assert dock.train() is False and "connect something to it" in dock.status.text()


def test_history_shows_the_newest_runs_curve_and_keeps_a_selection(dock_for, qtbot):
    # the overlay stayed empty (with a "run A / run B" key) until a run was picked in the table
    dock, doc = dock_for(spiral_dict())
    panel = dock.history_panel
    for _ in range(2):
        with qtbot.waitSignal(dock.training_finished, timeout=60000):
            dock.train()
    newest, older = [r["id"] for r in dock.history.runs()][:2]
    assert panel.selected_runs() == [newest]
    x, y = panel.curves[0].getData()
    assert len(x) == 2 and "dev_loss per epoch" in panel.plot.getPlotItem().titleLabel.text
    panel.table.clearSelection()
    panel.table.selectRow(1)  # the older run
    assert panel.selected_runs() == [older]
    panel.refresh()
    assert panel.selected_runs() == [older]
    panel.table.clearSelection()
    assert "Select a run" in panel.plot.getPlotItem().titleLabel.text


def test_the_bias_variance_diagnosis_scrolls_in_a_short_dock(qtbot):
    # the verdict paragraph was cut off at the bottom of the Evaluation tab
    from playground.training.evaluation import EvaluationPanel

    panel = EvaluationPanel()
    qtbot.addWidget(panel)
    panel.resize(1000, 260)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_errors(0.25, 0.40)  # high bias and high variance: the longest advice
    assert len(panel.verdict.text()) > 200
    qtbot.waitUntil(lambda: panel.bias_scroll.verticalScrollBar().maximum() > 0)
    bar = panel.bias_scroll.verticalScrollBar()
    bar.setValue(bar.maximum())
    bottom = panel.verdict.mapTo(panel.bias_scroll.viewport(), panel.verdict.rect().bottomLeft()).y()
    assert bottom <= panel.bias_scroll.viewport().height()  # the last line can be scrolled into view
    group = panel.bias_scroll.widget()
    assert group.width() >= group.minimumSizeHint().width()  # nothing cut off at the right


def test_closing_during_a_run_asks_about_the_weights(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    import playground.mainwindow as mw

    win = window(qtbot, tmp_path)
    try:
        win.document.load_dict(spiral_dict())
        dock = win.training_dock
        with qtbot.waitSignal(dock.step_reported, timeout=20000):
            dock.step()  # a paused run
        asked = []
        monkeypatch.setattr(mw, "ask", lambda parent, title, text, *a: asked.append(text) or QMessageBox.Cancel)
        assert not win.close()  # cancelled: the window and the run stay
        assert asked and "trained" in asked[0] and dock.state == "paused"
    finally:
        dock.stop(wait=True)
        close(win)


def test_palette_adds_a_layer_after_the_selected_one(qtbot, tmp_path):
    # double-clicking a palette entry dropped an unconnected layer in the middle of the view, to
    # be wired by hand; Enter in the palette's search field did nothing
    win = window(qtbot, tmp_path)
    try:
        doc = win.document
        net = doc.network
        assert net.nodes["dense_2"].inputs == ["relu_1"]
        win.scene.clearSelection()
        win.scene.select_node("relu_1")
        win.palette.tree.itemActivated.emit(win.palette.items["Dropout"], 0)
        new = win.scene.selected_node_names()
        assert len(new) == 1 and new[0].startswith("dropout")
        net = doc.network
        assert net.nodes[new[0]].inputs == ["relu_1"] and net.nodes["dense_2"].inputs == [new[0]]
        assert not any(item.is_error for item in win.scene.nodes.values())
        placed = win.scene.nodes[new[0]].sceneBoundingRect().adjusted(8, 8, -8, -8)
        assert not any(placed.intersects(item.sceneBoundingRect()) for n, item in win.scene.nodes.items()
                       if n != new[0])  # not on top of another layer
        assert doc.undo_stack.text(doc.undo_stack.index() - 1) == f"Add Dropout '{new[0]}' between relu_1 and dense_2"
        doc.undo_stack.undo()  # one step
        assert doc.network.nodes["dense_2"].inputs == ["relu_1"] and new[0] not in doc.network.nodes
        # the search field: Ctrl+F, a few letters, Enter
        win.scene.clearSelection()
        win.scene.select_node("softmax")  # the end of the chain: the new layer follows it
        win._focus_palette()
        win.palette.filter_edit.setText("batchn")
        win.palette.filter_edit.returnPressed.emit()
        added = win.scene.selected_node_names()[0]
        assert doc.network.nodes[added].layer.type_name == "BatchNorm"
        assert doc.network.nodes[added].inputs == ["softmax"]
        # nothing selected: added unconnected, as before
        win.scene.clearSelection()
        win.palette.filter_edit.setText("dense")
        win.palette.filter_edit.returnPressed.emit()
        loose = win.scene.selected_node_names()[0]
        assert doc.network.nodes[loose].layer.type_name == "Dense" and doc.network.nodes[loose].inputs == []
    finally:
        close(win)


def test_digits_panel_says_which_networks_it_can_read(qtbot, tmp_path):
    win = window(qtbot, tmp_path)
    try:
        panel = win.panels["Digits"].widget()
        win.document.load_dict(spiral_dict())
        qtbot.waitUntil(lambda: panel.input_shape is None and "(2,)" in panel.model_label.text(), timeout=3000)
        assert "File > Presets" in panel.model_label.text()
    finally:
        close(win)


def test_a_learning_rate_of_100_can_be_typed(dock_for, qtbot):
    dock, doc = dock_for(spiral_dict())
    lr = dock.controls.lr
    lr.selectAll()
    qtbot.keyClicks(lr, "100")
    qtbot.keyClick(lr, Qt.Key_Return)
    assert doc.training["optimizer"]["lr"] == 100.0


def test_cut_copy_delete_are_enabled_only_with_a_selection(qtbot, tmp_path):
    win = window(qtbot, tmp_path)
    try:
        win.scene.clearSelection()
        assert not (win.act_cut.isEnabled() or win.act_copy.isEnabled() or win.act_delete.isEnabled())
        win.scene.select_node("dense_1")
        assert win.act_cut.isEnabled() and win.act_copy.isEnabled() and win.act_delete.isEnabled()
        win.scene.clearSelection()
        win.scene.links[("input", "flatten")].setSelected(True)
        assert win.act_delete.isEnabled() and not win.act_copy.isEnabled()
    finally:
        close(win)


def test_a_refusal_message_goes_when_the_network_is_fixed(dock_for):
    dock, doc = dock_for(spiral_dict(softmax=None))
    assert dock.train() is False and "softmax" in dock.status.text()
    doc.add_layer("Activation", config={"kind": "softmax"}, inputs=["scores"])
    assert dock.status.text() == dock.splits.describe() and "color" not in dock.status.styleSheet()
    assert dock.train() is True
    dock.stop(wait=True)


def test_the_palette_stays_in_front_while_adding_layers_in_a_narrow_window(qtbot, tmp_path):
    win = window(qtbot, tmp_path)  # 1400 px: the inspector shares the palette's tab
    try:
        assert win._inspector_shares_the_palette_tab()
        win.activateWindow()
        qtbot.waitUntil(win.isActiveWindow)
        win.scene.clearSelection()
        win.scene.select_node("softmax")
        # the selection brought the inspector forward (a tabbed dock behind has no visible region)
        qtbot.waitUntil(lambda: win.palette_dock.visibleRegion().isEmpty())
        win._focus_palette()
        qtbot.keyClicks(win.palette.filter_edit, "dropout")
        qtbot.keyClick(win.palette.filter_edit, Qt.Key_Return)
        first = win.scene.selected_node_names()[0]
        qtbot.waitUntil(lambda: not win.palette_dock.visibleRegion().isEmpty())
        assert win.palette.filter_edit.hasFocus()
        qtbot.keyClicks(win.palette.filter_edit, "dense")  # replaces the selected search text
        qtbot.keyClick(win.palette.filter_edit, Qt.Key_Return)
        second = win.scene.selected_node_names()[0]
        assert win.document.network.nodes[second].inputs == [first]
    finally:
        close(win)


def test_every_control_of_the_window_has_a_tooltip(qtbot, tmp_path):
    from PySide6.QtWidgets import (QAbstractSpinBox, QCheckBox, QComboBox, QLineEdit, QPushButton, QSlider)

    win = window(qtbot, tmp_path)
    try:
        win.scene.select_node("dense_1")  # the inspector's fields too
        bare = []
        for cls in (QPushButton, QCheckBox, QComboBox, QAbstractSpinBox, QLineEdit, QSlider):
            for w in win.findChildren(cls):
                if isinstance(w, QLineEdit) and isinstance(w.parent(), (QAbstractSpinBox, QComboBox)):
                    continue  # the editor inside a spin box or combo box
                if not w.toolTip().strip():
                    bare.append(f"{type(w).__name__} {getattr(w, 'text', lambda: '')()!r}")
        assert bare == []
    finally:
        close(win)


def test_binary_cross_entropy_over_two_softmax_outputs_says_what_fits(dock_for):
    d = spiral_dict()
    d["training"]["loss"] = "binary_cross_entropy"
    dock, doc = dock_for(d)
    assert dock.train() is False
    text = dock.status.text()
    assert "1 unit" in text and "sigmoid" in text and "2 values" in text


def test_a_sigmoid_network_with_binary_cross_entropy_passes_and_trains(dock_for, qtbot):
    d = spiral_dict(scores={"units": 1}, softmax={"kind": "sigmoid"})
    d["training"]["loss"] = "binary_cross_entropy"
    dock, doc = dock_for(d)
    with qtbot.waitSignal(dock.training_finished, timeout=60000) as blocker:
        assert dock.train() is True, dock.status.text()
    assert blocker.args[0]["stopped"] == "finished"


def test_a_second_run_says_it_continues_from_the_trained_weights(dock_for, qtbot):
    # the plots restart at epoch 1, so a second Train looked like a fresh start
    dock, doc = dock_for(spiral_dict())
    with qtbot.waitSignal(dock.training_finished, timeout=60000):
        dock.train()
    assert "continuing" not in dock.status.text()
    with qtbot.waitSignal(dock.training_started, timeout=5000):
        dock.train()
    assert "continuing from the weights of the last run" in dock.status.text()
    dock.stop(wait=True)
    dock.reset_weights()
    dock.train()
    assert "continuing" not in dock.status.text()
    dock.stop(wait=True)


def test_undo_names_the_setting_that_changed(dock_for):
    # Edit > Undo said "Undo Change training settings" for every field of the training dock
    dock, doc = dock_for(spiral_dict())
    c, stack = dock.controls, doc.undo_stack
    c.epochs.setValue(7)
    assert stack.undoText() == "Set epochs to 7"
    c.lr.setValue(0.05)
    assert stack.undoText() == "Set learning rate to 0.05"
    c.optimizer.setCurrentText("sgd")
    assert stack.undoText() == "Set optimizer to sgd"
    c.early.setChecked(True)
    assert stack.undoText() == "Turn early stopping on"
    c.dataset.setCurrentText("circle")
    assert stack.undoText() == "Set data set to circle"
    stack.undo()
    assert doc.data["name"] == "spiral"


def test_an_empty_canvas_says_how_to_start(qtbot, tmp_path, monkeypatch):
    from playground.canvas.view import CanvasView

    win = window(qtbot, tmp_path)
    try:
        win.new_document()
        view = win.view
        assert view.is_empty() and "Input" in view.EMPTY_HINT and "Presets" in view.EMPTY_HINT
        with_hint = view.viewport().grab().toImage()
        monkeypatch.setattr(CanvasView, "EMPTY_HINT", "")
        view.viewport().update()
        without = view.viewport().grab().toImage()
        assert with_hint != without  # the hint is drawn
        win.scene.add_layer_at("Input", QPointF(0, 0))
        assert not view.is_empty()
    finally:
        close(win)


def test_paused_progress_says_where_the_trainer_waits(dock_for, qtbot):
    d = spiral_dict()
    d["training"]["epochs"] = 50
    dock, doc = dock_for(d)
    with qtbot.waitSignal(dock.step_reported, timeout=20000):
        dock.step()  # a paused run, one step done
    trainer = dock.worker.trainer
    with qtbot.waitSignal(dock.step_reported, timeout=20000):
        dock.step()
    qtbot.waitUntil(lambda: dock.progress.format().startswith("paused at"), timeout=3000)
    spe = trainer.steps_per_epoch
    assert dock.progress.format() == f"paused at epoch 1/50 · step {trainer.global_step}/{spe}"
    dock.stop(wait=True)
