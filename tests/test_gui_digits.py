"""The digits panel: drawing with real mouse events, live bars, image files, own samples,
fine-tuning in a worker thread, CNN feature maps, the mistakes gallery, and a screenshot."""

import os

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from engine.data import digits_arrays, load_dataset  # noqa: E402
from engine.vision import digits as vd  # noqa: E402
from playground.document import NetworkDocument  # noqa: E402
from playground.panels.digits import DigitsPanel, feature_mosaic, read_image_file  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARTIFACTS = os.path.join(REPO, "artifacts")


def make_panel(qtbot, tmp_path, preset="digits_mlp"):
    doc = NetworkDocument()
    doc.load(os.path.join(REPO, "presets", preset + ".json"))
    panel = DigitsPanel(doc, samples_path=tmp_path / "digit_samples.npz")
    qtbot.addWidget(panel)
    panel.resize(1180, 360)
    panel.show()
    qtbot.waitExposed(panel)
    return doc, panel


def draw(qtbot, pad, points, step=4):
    """One stroke through ``points`` with real mouse events (press, moves, release)."""
    pts = [QPoint(int(x), int(y)) for x, y in points]
    QTest.mousePress(pad, Qt.LeftButton, Qt.NoModifier, pts[0])
    for a, b in zip(pts, pts[1:]):
        for k in range(1, step + 1):
            QTest.mouseMove(pad, a + (b - a) * (k / step))
    QTest.mouseRelease(pad, Qt.LeftButton, Qt.NoModifier, pts[-1])


def test_a_mouse_stroke_updates_input_bars_and_guess(qtbot, tmp_path):
    doc, panel = make_panel(qtbot, tmp_path)
    assert panel.input_shape == (1, 28, 28)
    assert panel.probs is None and panel.guess_label.text() == "\u2013"
    with qtbot.waitSignal(panel.prediction_updated, timeout=5000,
                          check_params_cb=lambda p: p is not None) as blocker:
        draw(qtbot, panel.pad, [(140, 40), (150, 130), (135, 240)])
    assert blocker.args[0] is not None        # the bars updated live, while drawing
    probs = panel.probs                       # and once more at the end of the stroke
    assert len(panel.pad.strokes) == 1 and len(panel.pad.strokes[0]) >= 8   # press + moves + release
    assert probs.shape == (10,) and probs.sum() == pytest.approx(1.0, abs=1e-5)
    # the bars show exactly these probabilities, the top guess is highlighted and named
    assert np.allclose(panel.bars.opts["height"], probs)
    top = int(np.argmax(probs))
    assert panel.bars.opts["brushes"][top] is panel._top_brush
    assert panel.guess_label.text() == f"{top} ({probs[top]:.0%})"
    # the 28x28 input the network saw: a tall stroke, centred by mass, 20 pixels high
    d = panel.digit
    t, b, _l, _r = vd.bounding_box(d, 0.01)
    assert b - t == 20
    cy, cx = vd.centre_of_mass(d)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5
    assert np.allclose(probs, vd.probabilities(doc.network.predict(d[None, None]))[0], atol=1e-5)


def test_undo_stroke_and_clear_with_buttons_and_keys(qtbot, tmp_path):
    _doc, panel = make_panel(qtbot, tmp_path)
    draw(qtbot, panel.pad, [(80, 60), (200, 60)])
    one = panel.digit.copy()
    draw(qtbot, panel.pad, [(200, 60), (120, 240)])
    assert len(panel.pad.strokes) == 2 and not np.allclose(one, panel.digit)
    with qtbot.waitSignal(panel.prediction_updated, timeout=2000):
        qtbot.mouseClick(panel.undo_button, Qt.LeftButton)
    assert len(panel.pad.strokes) == 1 and np.allclose(one, panel.digit, atol=1e-5)
    draw(qtbot, panel.pad, [(200, 60), (120, 240)])
    panel.pad.setFocus()
    QTest.keyClick(panel.pad, Qt.Key_U)
    assert len(panel.pad.strokes) == 1
    QTest.keyClick(panel.pad, Qt.Key_Escape)
    assert panel.pad.is_empty() and not panel.digit.any()
    assert panel.probs is None and not np.any(panel.bars.opts["height"])
    draw(qtbot, panel.pad, [(140, 40), (140, 240)])
    qtbot.mouseClick(panel.clear_button, Qt.LeftButton)
    assert panel.pad.is_empty() and panel.guess_label.text() == "\u2013"


def test_untrained_network_says_so_and_a_non_digit_network_is_refused(qtbot, tmp_path):
    doc, panel = make_panel(qtbot, tmp_path)
    assert not panel.trained and panel.check_accuracy < 0.3
    assert "Untrained" in panel.model_label.text() and panel.train_button.isVisible()
    doc.set_locked("stop training before editing the network")      # the Training dock is training
    assert not panel.train_quickly() and "Training dock" in panel.model_label.text()
    assert not panel.fine_tune() and panel.worker is None
    doc.set_locked(None)
    doc.load(os.path.join(REPO, "presets", "spiral.json"))
    qtbot.waitUntil(lambda: panel.input_shape is None and "not 28x28" in panel.model_label.text(), timeout=3000)
    assert not panel.train_button.isVisible()
    draw(qtbot, panel.pad, [(140, 40), (140, 240)])
    assert panel.probs is None


def test_cnn_feature_maps_show_each_conv_layer(qtbot, tmp_path):
    doc, panel = make_panel(qtbot, tmp_path, "digits_cnn")
    assert panel.conv_nodes == ["conv1", "conv2"]
    panel.tabs.setCurrentIndex(0)
    draw(qtbot, panel.pad, [(90, 70), (190, 70), (120, 240)])
    _, acts = doc.network.forward_with_activations(
        vd.as_network_input(panel.digit, panel.input_shape), keep={"conv1", "conv2"})
    assert acts["conv1"].shape == (1, 16, 28, 28) and acts["conv2"].shape[1] == 32
    for name in ("conv1", "conv2"):
        title, label = panel.map_labels[name]
        pm = label.pixmap()
        assert not pm.isNull() and pm.width() > 50
        assert name in title.text() and "filters" in title.text()
    # the mosaic shows the real activations: channel 0 of conv1, scaled to [0, 1], in the corner
    mosaic = feature_mosaic(acts["conv1"][0])
    c0 = acts["conv1"][0, 0]
    expect = (c0 - c0.min()) / max(c0.max() - c0.min(), 1e-8)
    assert np.allclose(mosaic[:28, :28], expect, atol=1e-5) and mosaic.shape == (4 * 29 - 1, 4 * 29 - 1)


def test_inspections_while_a_training_thread_runs_store_nothing_on_the_network(qtbot, tmp_path):
    """While the document is locked (a training thread runs: this panel's or the Training dock's),
    the feature maps still follow the drawing (their activations come back with the call, nothing
    is stored on the network for the trainer to trip over); the dock's probe and the evaluation,
    which would read weights being updated in place, wait."""
    from playground.training.dock import TrainingDock
    from playground.training.history import RunHistory

    doc, panel = make_panel(qtbot, tmp_path, "digits_cnn")
    dock = TrainingDock(history=RunHistory(str(tmp_path / "runs.sqlite")))
    qtbot.addWidget(dock)
    dock.set_document(doc)
    panel.tabs.setCurrentIndex(0)
    net = doc.network
    doc.set_locked("wait until the digits panel's fine-tuning finishes")
    attrs = dict(vars(net))
    draw(qtbot, panel.pad, [(90, 70), (190, 70), (120, 240)])
    assert panel.probs is not None  # the bars still follow the drawing
    assert not panel.map_labels["conv1"][1].pixmap().isNull()
    dock.set_selected_layer("conv2")
    assert vars(net) == attrs
    # the weights change in place under a run: no evaluation of a torn mix of two steps
    assert panel.evaluate() is None and "training" in panel.eval_label.text()
    doc.set_locked(None)
    dock.shutdown()


def _light_png(path, digit, factor=6):
    """Save a digit as a PNG of dark ink on light paper (a photo of a written digit)."""
    big = np.kron(digit, np.ones((factor, factor), np.float32))
    paper = np.full(big.shape, 230.0) - 210.0 * big
    rgb = np.ascontiguousarray(np.stack([paper] * 3, axis=-1).clip(0, 255).astype(np.uint8))
    h, w, _ = rgb.shape
    QImage(rgb.data, w, h, 3 * w, QImage.Format_RGB888).copy().save(str(path))


def test_load_a_light_background_png(qtbot, tmp_path):
    _doc, panel = make_panel(qtbot, tmp_path)
    images, _labels = digits_arrays()
    digit = images[3].astype(np.float32) / 255.0
    path = tmp_path / "photo.png"
    _light_png(path, digit)
    grey = read_image_file(path)
    assert np.median(grey) < 0.05             # inverted: the paper is dark now
    with qtbot.waitSignal(panel.prediction_updated, timeout=3000):
        assert panel.load_image(path)
    assert np.corrcoef(panel.digit.ravel(), digit.ravel())[0, 1] > 0.9
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    assert not panel.load_image(bad)
    assert "cannot read" in panel.model_label.text()


def test_add_samples_remove_and_fine_tune_in_a_worker(qtbot, tmp_path):
    doc, panel = make_panel(qtbot, tmp_path)
    images, labels = digits_arrays()
    for k in (0, 1, 2):
        panel.pad.set_background(images[k].astype(np.float32) / 255.0)
        panel.label_spin.setValue(int(labels[k]))
        qtbot.mouseClick(panel.add_button, Qt.LeftButton)
    assert panel.samples_list.count() == 3
    assert (tmp_path / "digit_samples.npz").exists()
    assert list(vd.DigitSamples(tmp_path / "digit_samples.npz").labels) == [int(v) for v in labels[:3]]
    panel.samples_list.item(1).setSelected(True)
    qtbot.mouseClick(panel.remove_button, Qt.LeftButton)
    assert panel.samples_list.count() == 2
    assert list(vd.DigitSamples(tmp_path / "digit_samples.npz").labels) == [int(labels[0]), int(labels[2])]
    before = doc.network.get_weights()
    with qtbot.waitSignal(panel.training_done, timeout=120_000) as blocker:
        assert panel.fine_tune(epochs=1)
        assert panel.worker is not None       # its result arrives through a queued signal
        assert not panel.finetune_button.isEnabled() and not panel.train_button.isEnabled()
        assert doc._read_only_reason          # no graph edits while it trains
    result = blocker.args[0]
    assert "error" not in result and result["epochs"] == 1
    assert panel.worker is None and not doc._read_only_reason
    after = doc.network.get_weights()
    assert any(not np.array_equal(before[k], after[k]) for k in before)
    assert "fine-tuning done" in panel.samples_status.text()


def test_mistakes_gallery_and_clickable_confusion_matrix(qtbot, tmp_path):
    doc, panel = make_panel(qtbot, tmp_path)
    panel.tabs.setCurrentIndex(2)
    cm = panel.evaluate()
    n_test = len(load_dataset(doc.data).y_test)
    assert cm.shape == (10, 10) and cm.sum() == n_test
    wrong = n_test - np.trace(cm)
    assert panel.gallery.count() == min(wrong, 120)          # all mistakes at first
    # click the most populated off-diagonal cell with the mouse
    off = cm.copy()
    np.fill_diagonal(off, 0)
    i, j = np.unravel_index(np.argmax(off), off.shape)
    item = panel.confusion.item(int(i), int(j))
    assert item.text() == str(cm[i, j])
    rect = panel.confusion.visualItemRect(item)
    QTest.mouseClick(panel.confusion.viewport(), Qt.LeftButton, Qt.NoModifier, rect.center())
    assert panel.gallery.count() == min(int(cm[i, j]), 120)
    e = panel._eval
    for r in range(panel.gallery.count()):
        k = panel.gallery.item(r).data(Qt.UserRole)
        assert e["y"][k] == i and e["pred"][k] == j
    assert f"true {i}, predicted {j}" in panel.gallery_label.text()
    # double-clicking a digit of the gallery puts it on the pad
    first = panel.gallery.item(0)
    centre = panel.gallery.visualItemRect(first).center()
    with qtbot.waitSignal(panel.prediction_updated, timeout=3000):
        QTest.mouseClick(panel.gallery.viewport(), Qt.LeftButton, Qt.NoModifier, centre)   # Qt wants a press first
        QTest.mouseDClick(panel.gallery.viewport(), Qt.LeftButton, Qt.NoModifier, centre)
    k = first.data(Qt.UserRole)
    assert np.corrcoef(panel.digit.ravel(), e["x"][k].ravel())[0, 1] > 0.9


@pytest.mark.slow
def test_trained_preset_predicts_bundled_test_digits_drawn_on_the_pad(qtbot, tmp_path):
    """Train digits_mlp with the panel's "Train quickly" (worker thread); bundled test digits,
    rendered on the pad as drawn images and preprocessed like drawings, are recognized; then a
    digit drawn with the mouse and its bars are saved as a screenshot."""
    doc, panel = make_panel(qtbot, tmp_path)
    with qtbot.waitSignal(panel.training_done, timeout=300_000) as blocker:
        assert panel.train_quickly(epochs=3)
    assert "error" not in blocker.args[0]
    assert panel.trained and panel.check_accuracy > 0.85
    assert "trained" in panel.model_label.text()
    sp = load_dataset(doc.data)
    n = 100
    raw = vd.probabilities(doc.network.predict(sp.x_test[:n]))
    # each test digit enlarged onto the pad (a drawn image), then preprocessed like a drawing
    pad_pred = []
    for k in range(n):
        panel.pad.set_background(sp.x_test[k, 0])
        pad_pred.append(int(np.argmax(panel.probs)))
    pad_pred = np.array(pad_pred)
    y = sp.y_test[:n]
    raw_acc, pad_acc = np.mean(raw.argmax(1) == y), np.mean(pad_pred == y)
    assert pad_acc >= 0.85 and pad_acc >= raw_acc - 0.04, (pad_acc, raw_acc)
    # the digits the network knows (right and sure of it) stay right through the pad
    sure = np.flatnonzero((raw.argmax(1) == y) & (raw.max(1) > 0.9))
    assert len(sure) >= 50 and np.mean(pad_pred[sure] == y[sure]) >= 0.97
    # a "2", drawn on the pad, is predicted as a 2
    all_raw = vd.probabilities(doc.network.predict(sp.x_test))
    k2 = np.flatnonzero((sp.y_test == 2) & (all_raw.argmax(1) == 2))[0]
    panel.pad.set_background(sp.x_test[k2, 0])
    assert int(np.argmax(panel.probs)) == 2 and panel.guess_label.text().startswith("2 (")
    # a digit drawn with the mouse: a "7"
    panel.pad.clear()
    draw(qtbot, panel.pad, [(85, 70), (195, 66), (175, 120), (150, 180), (132, 235)])
    panel.tabs.setCurrentIndex(2)
    panel.evaluate()
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.join(ARTIFACTS, "digits_panel.png")
    assert panel.grab().save(path)
    assert os.path.getsize(path) > 5000
    assert panel.probs is not None and int(np.argmax(panel.probs)) == 7


def test_main_window_has_the_digits_panel_tabbed_with_the_training_dock(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from playground.mainwindow import MainWindow

    win = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat),
                     autosave_dir=tmp_path, restore="never")
    qtbot.addWidget(win)
    win.show()
    dock = win.panels["Digits"]
    panel = dock.widget()
    assert isinstance(panel, DigitsPanel) and panel.doc is win.document
    if win.training_dock is not None:
        assert dock in win.tabifiedDockWidgets(win.training_dock)
    dock.raise_()
    # the default preset (digits MLP) is on the canvas: the panel follows the document
    qtbot.waitUntil(lambda: panel.input_shape is not None, timeout=5000)
    assert win.document.network is panel.network


def test_training_dock_refuses_to_train_while_the_panel_fine_tunes(qtbot, tmp_path):
    """QA: pressing Train in the Training dock while the panel fine-tuned started a second thread on the
    same network; one of the two runs died (ValueError in Dropout/conv backward: the other thread had
    replaced the layer caches)."""
    from playground.training.dock import TrainingDock
    from playground.training.history import RunHistory

    doc, panel = make_panel(qtbot, tmp_path)
    dock = TrainingDock(history=RunHistory(str(tmp_path / "runs.sqlite")))
    qtbot.addWidget(dock)
    dock.set_document(doc)
    images, labels = digits_arrays()
    panel.pad.set_background(images[0].astype(np.float32) / 255.0)
    panel.add_sample(int(labels[0]))
    with qtbot.waitSignal(panel.training_done, timeout=120_000) as blocker:
        assert panel.fine_tune(epochs=1)
        assert not dock.train() and dock.worker is None
        assert "digits panel" in dock.status.text()
        dock.status.setText("")
        dock.reset_weights()  # refused too: it would re-initialize the layers under the fine-tuning
        assert "digits panel" in dock.status.text() and "initialized again" not in dock.status.text()
    assert "error" not in blocker.args[0]
    # once the panel is done the dock trains as usual
    with qtbot.waitSignal(dock.training_started, timeout=10_000):
        assert dock.train()
    dock.shutdown()
    assert dock.worker is None
