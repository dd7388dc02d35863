"""The training dock's data settings in the window: a form built from the data set's declared
options, the split fractions and the data seed; edits go into the document (undoable, marked
unsaved), bad values are refused with a message, and the next run uses them. And the Evaluation
tables read at 1280x800 as well as at 1600x1000 and 1920x1080 (screenshots in artifacts/)."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QCheckBox, QComboBox, QSpinBox  # noqa: E402


pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parent.parent
PRESETS = ROOT / "presets"
ARTIFACTS = ROOT / "artifacts"




def test_the_form_shows_the_declared_options_of_each_data_set(preset_window):
    win = preset_window("spiral")
    c = win.training_dock.controls
    form = c.data_options
    assert list(form.widgets) == ["noise", "n", "train_ratio"]
    noise, n, ratio = (form.widgets[k] for k in ("noise", "n", "train_ratio"))
    assert (noise.minimum(), noise.maximum(), noise.value()) == (0, 100, 0)
    assert (n.minimum(), n.maximum(), n.value()) == (10, 1_000_000, 1000)  # the preset's n
    assert ratio.value() == ratio.minimum() and ratio.text() == "use the split"
    for w in form.widgets.values():
        assert len(w.toolTip()) > 40 and form.labels and w.isVisibleTo(c)
    # the split and the seed explain themselves in the course notes' terms
    assert "choosing" in c.dev.toolTip() and "unbiased estimate" in c.test.toolTip()
    assert "same distribution" in c.test.toolTip() and "split" in c.data_seed.toolTip()
    # other data sets, other rows: a whole number for the digits, a choice for the names
    c.dataset.setCurrentText("digits")
    assert list(form.widgets) == ["per_class"] and isinstance(form.widgets["per_class"], QSpinBox)
    assert form.widgets["per_class"].maximum() == 500 and form.labels["per_class"].text() == "images per digit"
    c.dataset.setCurrentText("names")
    assert isinstance(form.widgets["corpus"], QComboBox) and form.widgets["max_len"].text() == "the longest name"
    c.dataset.setCurrentText("mnist")
    assert "download" not in form.widgets  # the Download button fetches it in a thread
    assert not any(isinstance(w, QCheckBox) for w in form.widgets.values())
    assert form.widgets["path"].text() == "the cache folder"
    # your copy's path (the "Use files..." button) goes into the document; a long one is elided
    long_path = "/data/" + "very_long_folder_name/" * 12 + "mnist.npz"
    c.set_data_options({"path": long_path})
    assert win.document.data["options"] == {"path": long_path}
    label = form.widgets["path"]
    assert "\u2026" in label.text() and label.fontMetrics().horizontalAdvance(label.text()) <= 200
    assert long_path in label.toolTip()
    assert "MNIST" in c.dataset.itemData(c.dataset.findText("mnist"), Qt.ToolTipRole)
    # the old rows are gone from the form (no stale widgets left in the layout)
    form_layout = c.data_options.form
    labels = [form_layout.itemAt(r, form_layout.ItemRole.LabelRole) for r in range(form_layout.rowCount())]
    texts = [i.widget().text() for i in labels if i is not None and i.widget() is not None]
    assert "images per digit" not in texts and "noise" not in texts and "files" in texts


def test_option_split_and_seed_edits_go_into_the_document_undoably(qtbot, preset_window):
    win = preset_window("spiral")
    doc, dock = win.document, win.training_dock
    c = dock.controls
    assert not doc.modified
    c.data_options.widgets["noise"].setValue(30)
    assert doc.data["options"] == {"noise": 30, "n": 1000}
    assert doc.undo_stack.undoText() == "Set noise to 30" and doc.modified
    assert dock.splits.info["noise"] == pytest.approx(0.3)  # loaded with the new option
    c.data_options.widgets["n"].setValue(400)
    assert doc.data["options"]["n"] == 400 and sum(dock.splits.sizes()) == 400
    assert doc.undo_stack.undoText() == "Set samples to 400"
    c.data_options.widgets["train_ratio"].setValue(60)
    assert doc.data["options"]["train_ratio"] == 60
    assert dock.splits.sizes()[2] == round(0.4 * 400)  # 60 % train: the rest is the test set
    assert not c.test.isEnabled() and "test 40 %" in c.split_label.text()  # the ratio decides it
    c.data_options.widgets["train_ratio"].setValue(0)  # back to "use the split": the key goes
    assert "train_ratio" not in doc.data["options"] and doc.undo_stack.undoText() == "Turn train ratio off"
    c.data_seed.setValue(7)
    assert doc.data["seed"] == 7 and doc.undo_stack.undoText() == "Set data seed to 7"
    c.dev.setValue(20)
    assert doc.data["split"] == {"dev": 0.2, "test": 0.2} and dock.splits.sizes() == (240, 80, 80)
    # every edit is one undo step, and undo shows the old values in the form again
    doc.undo_stack.undo()
    assert doc.data["split"]["dev"] == 0.1 and c.dev.value() == 10
    doc.undo_stack.undo()
    assert doc.data["seed"] == 0 and c.data_seed.value() == 0
    for _ in range(3):
        doc.undo_stack.undo()
    assert doc.data["options"] == {"noise": 30, "n": 1000} and c.data_options.widgets["n"].value() == 1000
    doc.undo_stack.undo()
    assert doc.data["options"] == {"noise": 0, "n": 1000} and c.data_options.widgets["noise"].value() == 0
    assert not doc.modified  # back where it was opened


def test_untouched_options_keep_the_documents_spelling(preset_window, tmp_path):
    """A noise written as a fraction (0.1 = 10 %) shows as 10 % and is not rewritten by an edit of
    another option."""
    import json

    d = json.loads((PRESETS / "spiral.json").read_text(encoding="utf-8"))
    d["data"]["options"] = {"noise": 0.1, "n": 1000}
    path = tmp_path / "fraction.json"
    path.write_text(json.dumps(d), encoding="utf-8")
    win = preset_window()
    assert win.open_file(path)
    form = win.training_dock.controls.data_options
    assert form.widgets["noise"].value() == 10
    form.widgets["n"].setValue(600)
    assert win.document.data["options"] == {"noise": 0.1, "n": 600}


def test_bad_values_are_refused_with_a_message_and_nothing_is_lost(qtbot, preset_window):
    win = preset_window("spiral")
    doc, dock = win.document, win.training_dock
    c = dock.controls
    c.data_options.widgets["noise"].setValue(20)
    before = dict(doc.data)
    steps = doc.undo_stack.count()
    # dev 50 % + test 60 %: each box is in range, together they leave nothing to train on
    c.dev.setValue(50)
    c.test.setValue(60)
    assert doc.data["split"] == {"dev": 0.5, "test": 0.2}
    assert c.test.value() == 20  # the form shows the document's value again
    assert c.data_error.isVisible() and "Not applied" in c.data_error.text()
    assert "leave nothing to train on" in c.data_error.text()
    assert doc.data["options"] == before["options"]  # the earlier edit is still there
    assert doc.undo_stack.count() == steps + 1  # only the good edit (dev 50 %) became an undo step
    # a value the form cannot make (a document edited elsewhere, a script): refused the same way
    bad = dict(doc.data, options={"noise": 500, "n": 1000})
    c.data_edited.emit(bad)
    assert doc.data["options"]["noise"] == 20 and "between 0 and 100" in c.data_error.text()
    c.data_edited.emit(dict(doc.data, options={"n": 1000, "size": 3}))
    assert "unknown option(s) for data set 'spiral': size" in c.data_error.text()
    assert doc.data["options"] == {"noise": 20, "n": 1000}
    # a good edit clears the message
    c.data_options.widgets["n"].setValue(500)
    assert not c.data_error.isVisible() and doc.data["options"]["n"] == 500


def test_a_run_trains_on_the_edited_options(qtbot, preset_window, monkeypatch):
    import playground.training.dock as dock_module

    seen = []

    class Recording(dock_module.TrainingWorker):
        def __init__(self, network, splits, config, **kw):
            seen.append(splits)
            super().__init__(network, splits, config, **kw)

    monkeypatch.setattr(dock_module, "TrainingWorker", Recording)
    win = preset_window("digits_mlp")
    dock = win.training_dock
    dock.controls.epochs.setValue(1)
    dock.controls.data_options.widgets["per_class"].setValue(30)
    dock.controls.data_seed.setValue(3)
    assert win.document.data["options"] == {"per_class": 30}
    with qtbot.waitSignal(dock.training_finished, timeout=60000) as done:
        assert dock.train()
    assert done.args[0]["stopped"] == "finished"
    sp = seen[0]
    assert sp.sizes() == (210, 30, 60)  # 30 images of each of the 10 digits, split 70/10/20
    assert np.bincount(sp.y_train, minlength=10).tolist() == [21] * 10
    # the data seed chose the split: another seed, another split of the same images
    from engine.data import load_dataset

    other = load_dataset(dict(win.document.data, seed=0))
    assert not np.array_equal(other.y_train, sp.y_train) or not np.array_equal(other.x_train, sp.x_train)
    qtbot.waitUntil(lambda: dock.evaluation.report is not None, timeout=30000)
    assert dock.evaluation.report["n"] == 30  # the evaluation scored the edited dev set
    # while a run trains, the data settings are locked
    dock.controls.epochs.setValue(50)
    assert dock.train(paused=True)
    c = dock.controls
    assert not any(w.isEnabled() for w in (c.dataset, c.dev, c.test, c.data_seed,
                                           *c.data_options.widgets.values()))
    dock.stop(wait=True)
    qtbot.waitUntil(lambda: dock.state == "idle", timeout=10000)
    assert c.data_options.widgets["per_class"].isEnabled() and c.data_seed.isEnabled()


def _table_fits(table):
    """Every column of ``table`` shown at its full width and nothing scrolled sideways."""
    header = table.horizontalHeader()
    cols = [table.columnWidth(j) for j in range(table.columnCount())]
    needed = [max(header.sectionSizeHint(j), table.sizeHintForColumn(j)) for j in range(table.columnCount())]
    return (all(w >= n for w, n in zip(cols, needed)) and sum(cols) <= table.viewport().width()
            and not table.horizontalScrollBar().isVisible())


def _check_readable(qtbot, ev, size):
    for key, table in (("confusion", ev.confusion), ("scores", ev.scores)):
        ev.show_section(key)
        qtbot.waitUntil(lambda: table.isVisible(), timeout=2000)
        assert table.columnCount() == (10 if key == "confusion" else 4)
        assert _table_fits(table), (size, key, [table.columnWidth(j) for j in range(table.columnCount())],
                                    table.viewport().width())
    if ev.layout_mode == "columns":
        assert ev.bias_scroll.isVisible() and not ev.page_bar.isVisible()
    else:
        assert ev.page_bar.isVisible() and ev.page_bar.count() >= 2
        ev.show_section("bias")
    assert ev.bias_scroll.isVisible() and ev.bias_scroll.width() >= ev.bias_scroll.minimumWidth()
    # the confusion matrix shows all ten rows (compact rows)
    ev.show_section("confusion")
    rows = sum(ev.confusion.rowHeight(i) for i in range(10))
    assert rows <= ev.confusion.viewport().height(), size


@pytest.mark.parametrize("size", [(1280, 800), (1600, 1000), (1920, 1080)])
def test_evaluation_tables_are_readable_at_1280_1600_and_1920(qtbot, preset_window, size):
    """At 1280x800 (first start) the Evaluation tables were squeezed to ~140 px each with their
    columns cut and scrolled sideways. Screenshots: artifacts/evaluation_<w>x<h>.png."""
    win = preset_window("digits_mlp", size=size)
    dock = win.training_dock
    ev = dock.evaluation
    dock.controls.epochs.setValue(1)
    dock.tabs.setCurrentWidget(ev)
    with qtbot.waitSignal(ev.evaluated, timeout=90000):
        assert dock.train()
    qtbot.waitUntil(lambda: ev.layout_mode == ev._choose_mode(ev.width()), timeout=3000)
    # the three sections side by side on the wider screens; at 1280 px the two tables side by
    # side (or on pages of their own), never narrower than their columns
    if size[0] >= 1600:
        assert ev.layout_mode == "columns", (ev.width(), ev.natural_widths())
    else:
        assert ev.layout_mode == "pair", (ev.width(), ev.natural_widths())  # both tables in view at once
    _check_readable(qtbot, ev, size)
    ARTIFACTS.mkdir(exist_ok=True)
    ev.show_section("confusion")
    assert win.grab().save(str(ARTIFACTS / f"evaluation_{size[0]}x{size[1]}.png"))
    if size[0] == 1920:
        # resized down (the inspector stays on the right) and up again: the layout follows
        for smaller in ((1280, 800), (1920, 1080)):
            win.resize(*smaller)
            qtbot.waitUntil(lambda: win.width() == smaller[0] and ev.layout_mode == ev._choose_mode(ev.width()),
                            timeout=3000)
            qtbot.wait(20)
            _check_readable(qtbot, ev, smaller)
    # the window never grew past the screen for the tables' sake
    assert win.minimumSizeHint().width() <= 1280 - 20
