"""The training dock driven through its buttons: train the spiral preset and watch the cost and the
decision boundary change, pause/step/stop, divergence, settings write-back, run history,
screenshots (artifacts/)."""

import copy
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QObject, Qt, Signal  # noqa: E402

from engine.io import load_document  # noqa: E402
from playground.training.dock import TrainingDock  # noqa: E402
from playground.training.history import RunHistory  # noqa: E402
from playground.training.plots import ewa  # noqa: E402

pytestmark = pytest.mark.gui

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRESETS = os.path.join(ROOT, "presets")
ARTIFACTS = os.path.join(ROOT, "artifacts")


class StandInDoc(QObject):
    """What the dock needs of MainWindow's document: .network/.training/.data and signals."""

    training_changed = Signal()
    data_changed = Signal()
    reset = Signal()

    def __init__(self, path, **training):
        super().__init__()
        d = load_document(path)
        self.name, self.network, self.data = d.name, d.network, d.data
        self.training = {**d.training, **training}
        self.set_calls = []

    def set_training(self, training):
        self.set_calls.append(("training", copy.deepcopy(training)))
        self.training = copy.deepcopy(training)
        self.training_changed.emit()

    def set_data(self, data):
        self.set_calls.append(("data", copy.deepcopy(data)))
        self.data = copy.deepcopy(data)
        self.data_changed.emit()


class FakeScene:
    def __init__(self):
        self.tints = {}

    def set_node_tint(self, name, color, hint):
        self.tints[name] = (None if color is None else color.name(), hint)


@pytest.fixture
def make_dock(qtbot, tmp_path):
    docks = []

    def make(preset="spiral.json", **training):
        doc = StandInDoc(os.path.join(PRESETS, preset), **training)
        history = RunHistory(str(tmp_path / "runs.sqlite"))
        dock = TrainingDock(history=history)
        qtbot.addWidget(dock)
        dock.resize(1400, 720)
        dock.show()
        dock.set_document(doc)
        docks.append(dock)
        return dock, doc

    yield make
    for d in docks:
        d.shutdown()
        assert d.worker is None or not d.worker.isRunning()


def curve_len(curve):
    x, _ = curve.getData()
    return 0 if x is None else len(x)


def test_ewa_bias_correction():
    x = np.array([2.0, 2.0, 2.0, 2.0])
    # without bias correction v_1 would be 0.2; corrected, a constant stays that constant
    assert np.allclose(ewa(x, 0.9), 2.0)
    y = np.array([1.0, 3.0, 0.5])
    v, out = 0.0, []
    for t, xt in enumerate(y, 1):
        v = 0.5 * v + 0.5 * xt
        out.append(v / (1 - 0.5 ** t))
    assert np.allclose(ewa(y, 0.5), out)
    assert np.allclose(ewa(y, 0.0), y)


def test_train_spiral_cost_and_boundary_change(qtbot, make_dock):
    dock, doc = make_dock(epochs=40)
    before = dock.boundary_plot.current_image().copy()
    assert before.shape == (60, 60)
    results = []
    dock.training_finished.connect(results.append)
    with qtbot.waitSignal(dock.epoch_finished, timeout=20000) as first:
        qtbot.mouseClick(dock.train_button, Qt.LeftButton)
    assert first.args[0]["epoch"] >= 0
    qtbot.waitUntil(lambda: bool(results), timeout=60000)
    result = results[0]
    assert result["stopped"] == "finished" and result["epochs"] == 40
    # the cost curve: one point per epoch for train and dev, many per-step points, and it fell
    assert curve_len(dock.cost_plot.train_curve) == 40
    assert curve_len(dock.cost_plot.dev_curve) == 40
    assert curve_len(dock.cost_plot.raw_curve) > 40
    _, train_cost = dock.cost_plot.train_curve.getData()
    assert train_cost[-1] < 0.8 * train_cost[0]
    # the decision boundary changed and separates the training points better than chance
    after = dock.boundary_plot.current_image()
    assert np.abs(after - before).max() > 0.3
    assert result["train_accuracy"] > 0.9
    assert dock.boundary_plot.updates > 2
    assert len(dock.boundary_plot.thumb_items) == 32  # two tanh layers of 16 units
    # progress and state
    assert dock.state == "idle" and dock.train_button.isEnabled()
    assert "finished" in dock.progress.format()
    # evaluation ran on the dev set after the run (in its own thread)
    qtbot.waitUntil(lambda: dock.evaluation.report is not None, timeout=30000)
    rep = dock.evaluation.report
    assert rep is not None and np.asarray(rep["confusion_matrix"]).sum() == len(dock.splits.x_dev)
    assert dock.evaluation.diagnosis is not None
    # the run is in the history with its epochs and final scores
    runs = dock.history.runs()
    assert len(runs) == 1 and runs[0]["status"] == "finished" and runs[0]["epochs"] == 40
    assert runs[0]["final"]["test_accuracy"] == pytest.approx(result["test_accuracy"])
    assert runs[0]["settings"]["training"]["epochs"] == 40
    assert dock.history_panel.table.rowCount() == 1
    # screenshot of the decision boundary
    dock.tabs.setCurrentWidget(dock.boundary_plot)
    os.makedirs(ARTIFACTS, exist_ok=True)
    assert dock.boundary_plot.grab().save(os.path.join(ARTIFACTS, "spiral_decision_boundary.png"))


def test_discretize_and_neuron_hover(qtbot, make_dock):
    dock, _ = make_dock()
    bp = dock.boundary_plot
    img = bp.current_image()
    assert set(np.unique(img)) - {0.0, 1.0}  # probabilities, not only classes
    bp.discretize_box.setChecked(True)
    assert set(np.unique(bp.current_image())) <= {0.0, 1.0}
    bp.show_neuron(3)
    n, u, m = bp.neurons[3]
    assert np.allclose(bp.current_image(), bp._scaled(m))
    assert n in bp.main.titleLabel.text
    bp.show_neuron(None)
    assert set(np.unique(bp.current_image())) <= {0.0, 1.0}


def test_step_then_pause_resume_and_stop(qtbot, make_dock):
    dock, doc = make_dock(epochs=100000)
    # Step from idle: a paused run that trains exactly one mini-batch per press
    with qtbot.waitSignal(dock.step_reported, timeout=10000) as s1:
        qtbot.mouseClick(dock.step_button, Qt.LeftButton)
    assert s1.args[0]["global_step"] == 1 and dock.state == "paused"
    w0 = doc.network.nodes["dense_1"].layer.params["W"].copy()
    with qtbot.waitSignal(dock.step_reported, timeout=10000) as s2:
        qtbot.mouseClick(dock.step_button, Qt.LeftButton)
    assert s2.args[0]["global_step"] == 2
    assert dock.worker.trainer.global_step == 2
    assert not np.array_equal(w0, doc.network.nodes["dense_1"].layer.params["W"])
    # resume: epochs go by
    with qtbot.waitSignal(dock.epoch_finished, timeout=20000):
        qtbot.mouseClick(dock.pause_button, Qt.LeftButton)  # "Resume"
    assert dock.state == "running"
    assert not dock.evaluation.eval_button.isEnabled()  # the weights change under it while running
    # pause, then one step moves the trainer by exactly one batch
    qtbot.mouseClick(dock.pause_button, Qt.LeftButton)
    assert dock.state == "paused" and dock.evaluation.eval_button.isEnabled()
    with qtbot.waitSignal(dock.step_reported, timeout=10000,
                          check_params_cb=lambda ev: ev.get("global_step") is not None) as s3:
        dock.step()
    g = dock.worker.trainer.global_step
    with qtbot.waitSignal(dock.step_reported, timeout=10000) as s4:
        dock.step()
    assert s4.args[0]["global_step"] == g + 1 == dock.worker.trainer.global_step
    # learning rate set mid-run takes effect without a reset
    dock.controls.lr.setValue(0.02)
    assert doc.training["optimizer"]["lr"] == pytest.approx(0.02)
    with qtbot.waitSignal(dock.step_reported, timeout=10000):
        dock.step()
    assert dock.worker.trainer.lr0 == pytest.approx(0.02)
    # so does L2 (weight decay): the trainer applies it to every layer with weights
    dock.controls.l2.setValue(0.05)
    with qtbot.waitSignal(dock.step_reported, timeout=10000):
        dock.step()
    assert doc.network.nodes["dense_2"].layer.l2 == pytest.approx(0.05)
    # stop: the thread ends within a second
    qtbot.mouseClick(dock.pause_button, Qt.LeftButton)  # resume
    assert dock.state == "running"
    worker = dock.worker
    with qtbot.waitSignal(dock.training_finished, timeout=1000) as fin:
        qtbot.mouseClick(dock.stop_button, Qt.LeftButton)
    assert not worker.isRunning()
    assert fin.args[0]["stopped"] == "cancelled"
    assert dock.history.runs()[0]["status"] == "cancelled"


def test_divergence_stops_with_message(qtbot, make_dock):
    dock, doc = make_dock("digits_mlp.json", epochs=3, optimizer={"type": "sgd", "lr": 1000.0})
    with qtbot.waitSignal(dock.training_diverged, timeout=30000) as div:
        dock.train()
    node, message = div.args
    assert "learning rate" in message and "lower" in message
    # QA: the float32 gradient norm overflowed with finite gradients and no layer was named
    assert node in doc.network.nodes and node in message
    qtbot.waitUntil(lambda: dock.state == "idle", timeout=10000)
    assert "learning rate" in dock.status.text()
    assert dock.history.runs()[0]["status"] == "diverged"
    for p in doc.network.parameters():
        assert np.all(np.isfinite(p.value))


def test_settings_write_back_and_health_overlay(qtbot, make_dock):
    dock, doc = make_dock(epochs=3)
    c = dock.controls
    c.batch.setValue(1)
    assert doc.training["batch_size"] == 1 and "stochastic" in c.batch_kind.text()
    c.batch_all.setChecked(True)
    assert doc.training["batch_size"] == "all" and "batch gradient" in c.batch_kind.text()
    c.batch_all.setChecked(False)
    c.optimizer.setCurrentText("momentum")
    assert doc.training["optimizer"]["type"] == "momentum" and "beta" in doc.training["optimizer"]
    assert "beta1" not in doc.training["optimizer"]
    c.schedule.setCurrentText("staircase")
    assert doc.training["schedule"]["type"] == "staircase" and "step" in doc.training["schedule"]
    c.dev.setValue(20)
    assert doc.data["split"]["dev"] == pytest.approx(0.2)
    qtbot.waitUntil(lambda: len(dock.splits.x_dev) == 200, timeout=5000)  # 1000 points, 20 %
    c.l2.setValue(0.01)
    assert doc.network.nodes["dense_1"].layer.l2 == pytest.approx(0.01)
    # every emitted setting is one the engine accepts
    from engine.training import TrainConfig

    TrainConfig.from_dict(doc.training)
    # the health overlay tints the canvas nodes during a run
    scene = FakeScene()
    dock.set_canvas_scene(scene)
    with qtbot.waitSignal(dock.training_finished, timeout=30000):
        dock.train()
    assert {"dense_1", "dense_2", "scores"} <= set(scene.tints)
    assert all(color is not None for color, _ in scene.tints.values())
    c.health.setCurrentText("off")
    assert all(color is None for color, _ in scene.tints.values())


def test_selected_layer_histograms(qtbot, make_dock):
    dock, doc = make_dock()
    dock.set_selected_layer("dense_1")
    x, y = dock.hist_plot.w_curve.getData()
    assert y.sum() == doc.network.nodes["dense_1"].layer.params["W"].size
    ax, ay = dock.hist_plot.act_curve.getData()
    assert ay.sum() == min(256, len(dock.splits.x_train)) * 16
    # an activation has no weights: the weights of the layer feeding it are shown
    dock.set_selected_layer("tanh_2")
    x, y = dock.hist_plot.w_curve.getData()
    assert y.sum() == doc.network.nodes["dense_2"].layer.params["W"].size
    assert "dense_2" in dock.hist_plot.w_widget.getPlotItem().titleLabel.text
    ax, ay = dock.hist_plot.act_curve.getData()
    assert ax.min() >= -1.0 - 1e-6 and ax.max() <= 1.0 + 1e-6  # tanh outputs


@pytest.mark.slow
def test_digits_run_screenshot(qtbot, make_dock):
    dock, doc = make_dock("digits_mlp.json", epochs=4)
    dock.set_selected_layer("relu_1")
    seen = []
    dock.epoch_finished.connect(seen.append)
    results = []
    dock.training_finished.connect(results.append)
    dock.train()
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=60000)
    assert dock.state == "running"
    dock.tabs.setCurrentIndex(0)
    os.makedirs(ARTIFACTS, exist_ok=True)
    assert dock.grab().save(os.path.join(ARTIFACTS, "training_dock_digits.png"))
    qtbot.waitUntil(lambda: bool(results), timeout=60000)
    assert results[0]["test_accuracy"] > 0.8
    assert curve_len(dock.cost_plot.train_curve) == 4
    # 784 inputs: no 2-D boundary, and the tab says why (QA: it showed empty axes with no word)
    assert not dock.boundary_plot.discretize_box.isEnabled()
    assert "two input features" in dock.boundary_plot.reason.text() and not dock.boundary_plot.reason.isHidden()
    qtbot.waitUntil(lambda: dock.evaluation.report is not None, timeout=30000)
    rep = dock.evaluation.report
    assert len(rep["classes"]) == 10


def test_closing_during_training_keeps_history_and_ends_thread(qtbot, make_dock):
    dock, doc = make_dock(epochs=100000)
    seen = []
    dock.epoch_finished.connect(seen.append)
    dock.train()
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=30000)
    worker = dock.worker
    dock.close()  # what closing the window does (MainWindow calls shutdown())
    assert not worker.isRunning()
    run = dock.history.runs()[0]
    assert run["status"] == "cancelled" and run["epochs"] >= 2
    assert dock.history.epochs(run["id"])["train_loss"][0] is not None


def test_reset_weights_and_initializer(qtbot, make_dock):
    dock, doc = make_dock(epochs=2)
    layer = doc.network.nodes["dense_1"].layer
    w_before = layer.params["W"].copy()
    with qtbot.waitSignal(dock.training_finished, timeout=30000):
        dock.train()
    trained = layer.params["W"].copy()
    assert not np.array_equal(trained, w_before)
    assert curve_len(dock.cost_plot.train_curve) == 2
    qtbot.mouseClick(dock.reset_button, Qt.LeftButton)
    assert np.array_equal(layer.params["W"], w_before)  # same seed: the same initial weights
    assert curve_len(dock.cost_plot.train_curve) == 0
    dock.controls.init.setCurrentText("zeros")
    assert layer.initializer == "zeros" and not layer.params["W"].any()
    dock.controls.init.setCurrentText("xavier")
    w = doc.network.nodes["dense_2"].layer.params["W"]
    assert w.std() == pytest.approx(np.sqrt(1 / 16), rel=0.3)  # variance 1/n with n = 16 inputs


def test_hiding_the_dock_in_a_window_keeps_training(qtbot, make_dock):
    from PySide6.QtWidgets import QMainWindow

    dock, doc = make_dock(epochs=100000)
    win = QMainWindow()
    qtbot.addWidget(win)
    win.addDockWidget(Qt.BottomDockWidgetArea, dock)
    win.show()
    seen = []
    dock.epoch_finished.connect(seen.append)
    dock.train()
    dock.close()  # the dock's close button: hidden, still training
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=30000)
    assert dock.worker.isRunning() and not dock.isVisible()
    worker = dock.worker
    dock.shutdown()  # what the window does when it closes
    assert not worker.isRunning()
    win.removeDockWidget(dock)  # give the dock back to the fixture that tears it down
    dock.setParent(None)


def test_new_controls_write_back_and_validate(qtbot, make_dock):
    """Cost, early stopping, clipping, augmentation and momentum's bias correction reach doc.training
    as settings the engine accepts; loading a document shows them again."""
    from engine.training import TrainConfig

    dock, doc = make_dock("digits_mlp.json")
    c = dock.controls
    c.loss.setCurrentText("quadratic")
    assert doc.training["loss"] == "quadratic"
    assert "slowly" in c.loss.itemData(c.loss.findText("quadratic"), Qt.ToolTipRole)
    for w in (c.loss, c.early, c.patience, c.clip, c.clip_norm, c.augment, c.bias_correction, c.lr):
        assert w.toolTip().startswith("<p>") and len(w.toolTip()) > 40  # rich text: Qt word-wraps it
    c.early.setChecked(True)
    c.patience.setValue(3)
    assert doc.training["early_stopping"] == {"patience": 3, "min_delta": 0.0}
    c.clip.setChecked(True)
    c.clip_norm.setValue(2.5)
    assert doc.training["clip_norm"] == 2.5
    assert c.augment.isVisible()  # digits are images
    c.augment.setChecked(True)
    c.augment_fields["rotate"].setValue(15.0)
    assert doc.training["augment"]["rotate"] == 15.0 and doc.training["augment"]["shift"] == 2
    assert not c.bias_correction.isVisible()  # adam always corrects
    c.optimizer.setCurrentText("momentum")
    assert c.bias_correction.isVisible()
    c.bias_correction.setChecked(True)
    assert doc.training["optimizer"]["bias_correction"] is True
    TrainConfig.from_dict(doc.training).validate()  # everything the form wrote is valid
    # widget ranges keep values valid: no zero patience, no negative clip norm
    c.patience.setValue(0)
    c.clip_norm.setValue(-1.0)
    assert doc.training["early_stopping"]["patience"] >= 1 and doc.training["clip_norm"] > 0
    c.dev.setValue(0)  # early stopping watches the dev cost: the form says it needs one
    assert "dev split" in c.early.text()
    c.dev.setValue(10)
    assert c.early.text() == "on dev cost"
    # switching off writes null back
    c.early.setChecked(False)
    c.clip.setChecked(False)
    assert doc.training["early_stopping"] is None and doc.training["clip_norm"] is None
    # a non-image data set: augmentation hidden and dropped from the settings
    c.dataset.setCurrentText("spiral")
    assert not c.augment.isVisible() and doc.training["augment"] is None
    # load shows a document's settings without emitting
    n = len(doc.set_calls)
    c.load({**doc.training, "loss": "bce_logits", "early_stopping": {"patience": 7, "min_delta": 0.01},
            "clip_norm": 1.0}, doc.data)
    assert len(doc.set_calls) == n
    assert c.loss.currentText() == "bce_logits" and c.early.isChecked() and c.patience.value() == 7
    assert c.clip.isChecked() and c.clip_norm.value() == 1.0


def test_new_controls_are_undoable_in_the_real_document(qtbot):
    from playground.document import NetworkDocument
    from playground.training.dock import TrainingDock

    doc = NetworkDocument()
    doc.load(os.path.join(PRESETS, "spiral.json"))
    dock = TrainingDock()
    qtbot.addWidget(dock)
    dock.set_document(doc)
    dock.controls.clip.setChecked(True)
    assert doc.training["clip_norm"] == 5.0
    doc.undo_stack.undo()
    assert doc.training["clip_norm"] is None and not dock.controls.clip.isChecked()
    dock.shutdown()


def test_early_stopping_stops_spiral_early(qtbot, make_dock):
    dock, doc = make_dock(epochs=200)
    dock.controls.early.setChecked(True)
    dock.controls.patience.setValue(2)
    dock.controls.min_delta.setValue(0.02)
    assert doc.training["early_stopping"] == {"patience": 2, "min_delta": 0.02}
    results = []
    dock.training_finished.connect(results.append)
    assert dock.train()
    qtbot.waitUntil(lambda: bool(results), timeout=60000)
    result = results[0]
    assert result["stopped"] == "early_stopping"
    assert result["epochs"] < 200
    assert curve_len(dock.cost_plot.train_curve) == result["epochs"]


def test_curve_legends_sit_outside_the_plots_and_follow_the_network(qtbot, make_dock):
    dock, doc = make_dock(epochs=2)
    for plot_item in (dock.cost_plot.widget.getPlotItem(), dock.metrics_plot.acc_widget.getPlotItem(),
                      dock.grad_plot.widget.getPlotItem()):
        assert plot_item.legend is None  # no legend box drawn over the curves
    assert "dev" in dock.cost_plot.key.names() and "dev" in dock.metrics_plot.key.names()
    dock.grad_plot.add(0.0, {"old_layer": 1.0})
    assert dock.grad_plot.key.names() == ["old_layer"]
    results = []
    dock.training_finished.connect(results.append)
    assert dock.train()
    qtbot.waitUntil(lambda: bool(results), timeout=60000)
    names = dock.grad_plot.key.names()
    assert names and "old_layer" not in names  # a new run forgets the previous network's layers
    assert set(names) == set(dock.grad_plot.curves) <= set(doc.network.nodes)


def test_window_screenshots_after_training(qtbot, tmp_path):
    """artifacts/window_digits_mlp.png and window_lenet5.png: the whole 1600x1000 window after a
    short run, for a person to look at (palette names in full, legends clear of the curves)."""
    from pathlib import Path

    from gui_support import make_window

    win = make_window(tmp_path)
    try:
        os.makedirs(ARTIFACTS, exist_ok=True)
        for preset, epochs in (("digits_mlp", 2), ("lenet5", 1)):
            assert win.open_file(Path(PRESETS) / f"{preset}.json", as_preset=True)
            win.resize(1600, 1000)
            win.show()
            qtbot.waitExposed(win)
            win.view.fit_all()
            dock = win.training_dock
            dock.controls.epochs.setValue(epochs)
            with qtbot.waitSignal(dock.training_finished, timeout=90000) as done:
                assert dock.train()
            assert done.args[0]["stopped"] == "finished" and not dock.message
            qtbot.wait(50)  # let the last plot refresh paint
            assert win.palette.tree.width() >= win.palette.names_width()
            out = os.path.join(ARTIFACTS, f"window_{preset}.png")
            assert win.grab().save(out)
            assert os.path.getsize(out) > 20_000
    finally:
        win.document.undo_stack.setClean()
        win.close()


def test_adam_huge_learning_rate_finishes_with_a_hint(qtbot, make_dock):
    """QA: Adam at lr 1000 never makes a NaN (each step is bounded by lr) but ends with a cost ten times
    a uniform guess's; the run used to end as a silent "finished" at ~13% accuracy."""
    dock, doc = make_dock("digits_mlp.json", epochs=1, optimizer={"type": "adam", "lr": 1000.0})
    with qtbot.waitSignal(dock.training_finished, timeout=60000) as fin:
        qtbot.mouseClick(dock.train_button, Qt.LeftButton)
    assert fin.args[0]["stopped"] == "finished"
    assert fin.args[0]["train_loss"] > 3 * np.log(10)
    assert "learning rate 1000" in dock.hint.text() and "lower" in dock.hint.text()
    # a sensible rate gives no such hint
    dock.reset_weights()
    doc.set_training({**doc.training, "optimizer": {"type": "adam", "lr": 0.001}})
    with qtbot.waitSignal(dock.training_finished, timeout=60000):
        qtbot.mouseClick(dock.train_button, Qt.LeftButton)
    assert "uniform guess" not in dock.hint.text()


def test_boundary_tab_explains_itself_and_clears_when_switching_away_from_2d(qtbot, make_dock):
    dock, doc = make_dock("spiral.json")
    bp = dock.boundary_plot
    assert bp.reason.isHidden() and len(bp.train_points.data) > 0
    doc.set_data({**doc.data, "name": "dates", "options": {}})
    dock._load_data()
    assert not bp.reason.isHidden() and "dates" in bp.reason.text() and "two input features" in bp.reason.text()
    assert len(bp.train_points.data) == 0  # the spiral's points are gone
    doc.set_data({**doc.data, "name": "spiral", "options": {}})
    dock._load_data()
    assert bp.reason.isHidden() and bp.discretize_box.isEnabled() and len(bp.train_points.data) > 0


def test_sequence_task_says_which_accuracy_it_reports(qtbot, make_dock):
    """QA: on dates_attention the status said "train accuracy 0.0%" (whole sequences right) while the
    Evaluation tab said "accuracy 46%" (tokens right), with nothing telling them apart."""
    dock, doc = make_dock("dates_attention.json", epochs=1)
    with qtbot.waitSignal(dock.training_finished, timeout=60000):
        dock.train()
    assert "whole-sequence accuracy" in dock.status.text()
    qtbot.waitUntil(lambda: dock.evaluation.report is not None, timeout=30000)
    assert "per-token accuracy" in dock.evaluation.summary.text()
    assert "tokens" in dock.evaluation.summary.text()


def test_evaluation_of_padded_sequences_skips_the_padding(qtbot, make_dock):
    """QA: on char_names (names padded with label -1 to 12 characters) Evaluate said "labels must be
    class indices 0..26" and left the confusion matrix empty."""
    dock, doc = make_dock("char_names.json", epochs=1)
    with qtbot.waitSignal(dock.training_finished, timeout=60000):
        dock.train()
    rep = dock.evaluation.evaluate()
    assert rep is not None, dock.evaluation.summary.text()
    y = dock.splits.y_dev
    assert rep["n"] == int((y >= 0).sum()) < y.size  # every real character, no padding
    assert np.asarray(rep["confusion_matrix"]).sum() == rep["n"]
    assert dock.evaluation.confusion.rowCount() == len(dock.splits.classes)
    assert "per-token accuracy" in dock.evaluation.summary.text()


def test_boundary_keeps_its_room_in_a_short_dock(qtbot, make_dock):
    """QA: in the main window's default layout (training dock ~350 px high) the two rows of hidden-neuron
    maps of the spiral preset took the whole tab and squeezed the decision boundary to a line."""
    dock, doc = make_dock("spiral.json", epochs=1)
    dock.resize(1080, 350)
    dock.tabs.setCurrentWidget(dock.boundary_plot)
    with qtbot.waitSignal(dock.training_finished, timeout=60000):
        dock.train()
    bp = dock.boundary_plot
    qtbot.waitUntil(lambda: len(bp.thumb_items) > 0, timeout=10000)
    assert bp.height() < 300
    assert bp.thumbs.isHidden() and "taller" in bp.thumbs_label.text()
    assert bp.view.height() >= 0.6 * bp.height()
    vb = bp.main.getViewBox()
    assert vb.height() >= 0.6 * bp.view.height()  # the map itself, not a line between axes
    dock.resize(1080, 900)  # room again: the neuron maps come back
    qtbot.waitUntil(lambda: not bp.thumbs.isHidden(), timeout=5000)
    assert bp.thumbs.height() == 2 * 52 + 6 and "hover" in bp.thumbs_label.text()
    os.makedirs(ARTIFACTS, exist_ok=True)
    dock.resize(1080, 350)
    qtbot.waitUntil(lambda: bp.thumbs.isHidden() and vb.height() >= 0.6 * bp.view.height(), timeout=5000)
    assert dock.grab().save(os.path.join(ARTIFACTS, "training_dock_spiral_short.png"))


def test_evaluation_panel_calls_logit_outputs_at_zero(qtbot):
    """A bce_logits network outputs z, not a probability: class 1 is z >= 0 (as the trainer scores it)."""
    from types import SimpleNamespace

    from playground.training.evaluation import EvaluationPanel

    panel = EvaluationPanel()
    qtbot.addWidget(panel)
    z = np.array([[-2.0], [0.2], [0.3], [-0.1]], dtype=np.float32)  # logits: classes 0, 1, 1, 0
    y = np.array([0, 1, 1, 0])
    sets = {f"{k}_{w}": (z if k == "x" else y) for k in ("x", "y") for w in ("train", "dev", "test")}
    splits = SimpleNamespace(task="classification", classes=["0", "1"], **sets)
    panel.set_source(lambda x: x, splits, threshold=0.0)
    assert panel.evaluate()["accuracy"] == 1.0
    panel.set_source(lambda x: x, splits)  # 0.5: right for probabilities, wrong for these logits
    assert panel.evaluate()["accuracy"] == 0.5


def test_evaluation_runs_in_a_thread_with_a_busy_bar_and_the_same_report(qtbot):
    """The Evaluate button predicts in a background thread (full MNIST would freeze the window):
    a progress bar shows meanwhile, the button waits, and the report equals the one computed at once."""
    import threading
    from types import SimpleNamespace

    from engine.layers import Dense, Input
    from engine.graph import Network
    from playground.training.evaluation import EVAL_CHUNK, EvaluationPanel

    net = Network()
    net.add(Input((5,)), name="x")
    net.add(Dense(4), ["x"], name="logits")
    net.build(seed=3)
    rng = np.random.default_rng(0)
    n = 2 * EVAL_CHUNK + 7  # three chunks
    x = rng.normal(size=(n, 5)).astype(np.float32)
    y = rng.integers(0, 4, size=n)
    sets = {f"{k}_{w}": (x if k == "x" else y) for k in ("x", "y") for w in ("train", "dev", "test")}
    splits = SimpleNamespace(task="classification", classes=list("abcd"), **sets)
    panel = EvaluationPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.set_source(net.predict, splits)
    expected = panel.evaluate()  # at once, in this thread
    panel.report = None

    gate, threads = threading.Event(), []

    def held_predict(xb):
        threads.append(threading.get_ident())
        assert gate.wait(10)
        return net.predict(xb)

    panel.set_source(net.predict, splits, snapshot=lambda: held_predict)
    progress = []
    with qtbot.waitSignal(panel.evaluated, timeout=20000) as blocker:
        qtbot.mouseClick(panel.eval_button, Qt.LeftButton)
        assert panel.busy_evaluating and panel.busy.isVisible() and not panel.eval_button.isEnabled()
        assert "Evaluating on dev" in panel.summary.text()
        panel._thread.progressed.connect(lambda d, m: progress.append((d, m)))
        gate.set()
    report = blocker.args[0]
    assert threads and threading.get_ident() not in threads and len(threads) == 3
    assert report["confusion_matrix"] == expected["confusion_matrix"] and report["accuracy"] == expected["accuracy"]
    assert report["n"] == n and panel.report == report
    qtbot.waitUntil(lambda: not panel.busy_evaluating and panel.eval_button.isEnabled(), timeout=5000)
    assert not panel.busy.isVisible() and progress and progress[-1] == (n, n)
    assert "accuracy" in panel.summary.text()
    # a failure in the thread is a message, not a traceback
    panel.set_source(net.predict, splits, snapshot=lambda: (lambda xb: net.predict(xb[:, :3])))
    panel.start_evaluation()
    qtbot.waitUntil(lambda: not panel.busy_evaluating, timeout=10000)
    assert panel.summary.text() == "Input 'x' expects samples of shape (5,), got (3,)"

    def broken(xb):
        raise ValueError("boom")

    panel.set_source(net.predict, splits, snapshot=lambda: broken)
    panel.start_evaluation()
    qtbot.waitUntil(lambda: not panel.busy_evaluating, timeout=10000)
    assert panel.summary.text() == "the evaluation failed: ValueError: boom"
    panel.shutdown()


def test_end_of_run_evaluation_runs_off_the_gui_thread_on_a_copy(qtbot, make_dock, monkeypatch):
    import threading

    from engine.graph import Network

    dock, doc = make_dock(epochs=2)
    seen = []
    original = Network.predict

    def recording(net, x, batch_size=512):
        seen.append((threading.get_ident(), net is doc.network))
        return original(net, x, batch_size)

    monkeypatch.setattr(Network, "predict", recording)
    with qtbot.waitSignal(dock.evaluation.evaluated, timeout=60000):
        dock.train()
    # the evaluation predicted on a copy of the network (not the live one), in another thread
    evaluated_in = [t for t, live in seen if not live]
    assert evaluated_in and all(t != threading.get_ident() for t in evaluated_in)
    assert dock.evaluation.report["n"] == len(dock.splits.x_dev)
    # at once in this thread, on the live network: the same numbers
    again = dock.evaluation.evaluate()
    assert again["confusion_matrix"] == dock.evaluation.report["confusion_matrix"]
    assert again["accuracy"] == dock.evaluation.report["accuracy"]
