"""Help > Concepts (playground/concepts.py) driven on a real main window: every widget and panel the
concept index names exists, search and filter work, "Show me" takes you there, and a screenshot of
the dialog is saved to artifacts/concepts.png for a person to look at."""

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QKeySequence  # noqa: E402

from engine import concepts as C  # noqa: E402
from playground.concepts import ConceptsDialog, resolve_target  # noqa: E402
from gui_support import close_window, shown_window  # noqa: E402

pytestmark = pytest.mark.gui
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture
def window(qtbot, tmp_path):
    win = shown_window(qtbot, tmp_path)
    yield win
    if win.concepts_dialog is not None:
        win.concepts_dialog.close()
    close_window(win)


@pytest.fixture
def dialog(window, qtbot):
    window.act_concepts.trigger()
    dlg = window.concepts_dialog
    assert isinstance(dlg, ConceptsDialog)
    qtbot.waitExposed(dlg)
    return dlg


def test_every_target_of_the_index_exists_in_the_window(window):
    problems = []
    for c in C.CONCEPTS:
        if c.status == "coming":
            continue
        for kind, value in list(c.targets) + ([c.show] if c.show else []):
            msg = resolve_target(window, kind, value)
            if msg:
                problems.append(f"{c.key}: {msg}")
    assert not problems, "\n".join(problems)
    # and the resolver does reject what the window does not have
    assert resolve_target(window, "widget", "training_dock.controls.no_such_control")
    assert resolve_target(window, "panel", "Style transfer")
    assert resolve_target(window, "widget", "panels.Digits.finetune_button") == ""


def test_help_menu_has_concepts_on_f1(window, qtbot):
    help_menu = [a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "Help"][0]
    assert window.act_concepts in help_menu.actions()
    assert window.act_concepts.shortcut() == QKeySequence(Qt.Key_F1)
    assert window.concepts_dialog is None  # built on first use
    window.activateWindow()
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key_F1)
    assert window.concepts_dialog is not None
    qtbot.waitUntil(window.concepts_dialog.isVisible, timeout=2000)


def test_search_and_status_filter(dialog, qtbot):
    assert sorted(dialog.visible_keys()) == sorted(c.key for c in C.CONCEPTS)
    # with no search the list is grouped under the notes' sections (headings are not selectable)
    assert dialog.list.count() == len(C.CONCEPTS) + len({c.section for c in C.CONCEPTS})
    assert dialog.current_key() == C.CONCEPTS[0].key
    sections = [dialog.list.item(i).text() for i in range(dialog.list.count())
                if not dialog.list.item(i).data(Qt.UserRole + 1)]
    assert len(sections) == len(set(sections)) and sections[0] == C.CONCEPTS[0].section
    qtbot.keyClicks(dialog.search_edit, "dropout")
    assert dialog.visible_keys()[0] == "dropout"
    assert dialog.current_key() == "dropout"
    text = dialog.text.toPlainText()
    assert "inverted dropout" in text.lower() and "Dropout layer" in text
    dialog.search_edit.clear()
    dialog.status_combo.setCurrentIndex(dialog.status_combo.findData("coming"))
    keys = dialog.visible_keys()
    assert "yolo" in keys and "dropout" not in keys
    assert all(C.get(k).status == "coming" for k in keys)
    # a concept that is not built yet cannot be shown, and says so
    dialog.select("yolo")
    assert not dialog.show_button.isEnabled()
    assert "coming" in dialog.text.toPlainText().lower()
    dialog.search_edit.setText("no such concept at all")
    assert dialog.list.count() == 0 and not dialog.show_button.isEnabled()


def test_show_me_selects_the_palette_entry(window, dialog, qtbot):
    dialog.select("batch_norm")
    with qtbot.waitSignal(dialog.shown, timeout=2000) as blocker:
        dialog.show_button.click()
    assert blocker.args[0] == "batch_norm"
    item = window.palette.tree.currentItem()
    assert item is window.palette.items["BatchNorm"]
    assert not item.isHidden()


def test_show_me_opens_the_training_setting_and_the_evaluation_tab(window, dialog, qtbot):
    dock = window.training_dock
    dialog.select("bayes_error")
    with qtbot.waitSignal(dialog.shown, timeout=2000):
        dialog.show_me()
    assert dock.isVisible()
    assert dock.tabs.currentWidget() is dock.evaluation
    assert "Evaluation tab" in dialog.last_action
    original = dock.controls.l2.styleSheet()
    dialog.select("l2_regularization")
    with qtbot.waitSignal(dialog.shown, timeout=2000):
        dialog.show_me()
    assert "Training dock > Weights" in dialog.last_action
    assert dock.controls.l2.isVisible()
    # "Show me" twice while the outline is on: the field gets its own style back, not the outline
    l2 = dock.controls.l2
    with qtbot.waitSignal(dialog.shown, timeout=2000):
        dialog.show_me()
    assert "#e08000" in l2.styleSheet()
    qtbot.waitUntil(lambda: l2.styleSheet() == original, timeout=4000)


def test_show_me_loads_the_preset(window, dialog, qtbot):
    dialog.select("resnet")
    with qtbot.waitSignal(dialog.shown, timeout=5000):
        dialog.show_me()
    types = {type(node.layer).__name__ for node in window.document.network.nodes.values()}
    assert "ResidualIdentityBlock" in types and "ResidualConvBlock" in types
    assert "resnet_mini" in dialog.last_action


def test_show_me_for_a_command_line_copies_it(window, dialog, qtbot):
    from PySide6.QtGui import QGuiApplication
    dialog.select("gradient_checking")
    with qtbot.waitSignal(dialog.shown, timeout=2000):
        dialog.show_me()
    assert QGuiApplication.clipboard().text().startswith("nnplay gradcheck")


def test_screenshot_of_the_concepts_dialog(window, dialog, qtbot):
    dialog.resize(960, 600)
    dialog.select("resnet")
    assert dialog.current_key() == "resnet"
    assert dialog.show_button.text() == "Show me: open resnet_mini"
    qtbot.wait(30)  # let the text browser lay out before grabbing
    ARTIFACTS.mkdir(exist_ok=True)
    out = ARTIFACTS / "concepts.png"
    assert dialog.grab().save(str(out))
    assert out.stat().st_size > 10_000


def test_f1_on_a_layer_opens_its_concept(window, qtbot):
    """Context help: F1 with a Dropout layer selected in the palette opens the dropout concept; with a
    convolution selected on the canvas, the convolution concept."""
    pal = window.palette
    pal.tree.setCurrentItem(pal.items["Dropout"])
    pal.tree.setFocus()
    qtbot.waitUntil(pal.tree.hasFocus, timeout=2000)
    window.act_concepts.trigger()
    assert window.concepts_dialog.current_key() == "dropout"
    window.concepts_dialog.close()
    assert window.open_file(C.PRESETS_DIR / "lenet5.json", as_preset=True)
    conv = next(n for n, node in window.document.network.nodes.items() if node.layer.type_name == "Conv2D")
    window.scene.clearSelection()
    window.scene.nodes[conv].setSelected(True)
    window.view.setFocus()
    window.act_concepts.trigger()
    assert window.concepts_dialog.current_key() == "convnet"
