"""Shared test set-up. Qt runs offscreen (before anything imports PySide6); shared fixtures below.

Helpers append their own fixtures at the end of this file.
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json  # noqa: E402

import pytest  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRESETS_DIR = os.path.join(REPO_ROOT, "presets")


@pytest.fixture
def repo_root():
    return REPO_ROOT


@pytest.fixture
def preset_path():
    """preset_path("spiral") -> absolute path of presets/spiral.json."""
    def get(name):
        return os.path.join(PRESETS_DIR, name + ".json")
    return get


@pytest.fixture
def preset_window(qtbot, tmp_path):
    """preset_window(preset=None, size=(1280, 800)) -> a shown main window (see gui_support), with
    presets/<preset>.json opened as a preset; its training dock is shut down and every window
    closed after the test."""
    from gui_support import close_window, shown_window

    wins = []

    def make(preset=None, size=(1280, 800)):
        win = shown_window(qtbot, tmp_path, size=size)
        if preset:
            assert win.open_file(os.path.join(PRESETS_DIR, f"{preset}.json"), as_preset=True)
        wins.append(win)
        return win

    yield make
    for w in wins:
        w.training_dock.shutdown()
        close_window(w)


@pytest.fixture
def load_preset_dict():
    """load_preset_dict("spiral") -> the preset document as a plain dict."""
    def get(name):
        with open(os.path.join(PRESETS_DIR, name + ".json"), encoding="utf-8") as fh:
            return json.load(fh)
    return get


@pytest.fixture
def tiny_document():
    """A small valid document dict: 2-4-2 tanh classifier on the toy circle set (fast to train)."""
    return {
        "format": "network-playground", "version": 1, "name": "tiny", "description": "test network",
        "graph": {"name": "tiny", "nodes": [
            {"name": "input", "type": "Input", "config": {"shape": [2]}, "inputs": [], "meta": {"pos": [0, 0]}},
            {"name": "hidden", "type": "Dense", "config": {"units": 4}, "inputs": ["input"], "meta": {"pos": [200, 0]}},
            {"name": "tanh", "type": "Activation", "config": {"kind": "tanh"}, "inputs": ["hidden"]},
            {"name": "scores", "type": "Dense", "config": {"units": 2}, "inputs": ["tanh"]},
            {"name": "softmax", "type": "Activation", "config": {"kind": "softmax"}, "inputs": ["scores"]},
        ]},
        "training": {"loss": "softmax_cross_entropy", "optimizer": {"type": "adam", "lr": 0.05},
                     "batch_size": 16, "epochs": 3, "seed": 0},
        "data": {"name": "circle", "options": {"n": 120}, "split": {"dev": 0.1, "test": 0.2}, "seed": 0},
    }


@pytest.fixture(autouse=True)
def _collect_garbage_between_tests():
    """No automatic cycle collection during a test, one after it (the app does the same with a
    timer, see playground/app.py). A collection can start at any allocation, also inside a Qt call
    that holds one of Qt's signal-slot locks: pytest-qt's disconnect after waitSignal allocates an
    exception, the collector deletes a Qt object left over from an earlier test, its destructor
    waits for that same lock, and the run hangs (seen in CI in test_gui_document). Everything the
    test made is in the youngest generation, so collecting that one is enough and cheap (a full
    collection after every test doubled the suite's time); older generations are collected by
    Python as usual between tests, outside any Qt call."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.collect(0)
        if enabled:
            gc.enable()


@pytest.fixture(scope="session", autouse=True)
def _release_qt_clipboard_at_exit():
    """Copy/paste tests leave a Python-made QMimeData on the clipboard; Qt would delete it after
    Python's shutdown and crash the process (exit code 139): clear it while Python still runs."""
    yield
    import sys

    if "PySide6.QtGui" in sys.modules:
        from playground.app import release_clipboard

        release_clipboard()
