"""Start-up guards of the application entry point."""

import inspect
import sys

import PySide6
import pytest

from playground import app


def test_the_refcount_broken_pyside_is_named_with_its_fix(monkeypatch):
    monkeypatch.setattr(PySide6, "__version__", "6.12.0")
    msg = app.broken_pyside_version()
    if sys.version_info >= (3, 12):
        assert msg is None
    else:
        assert "6.12.0" in msg and "PySide6-Essentials<6.12" in msg


def test_installed_pyside_is_not_a_broken_one():
    assert app.broken_pyside_version() is None, "pyproject.toml pins PySide6 below the broken release"


@pytest.mark.parametrize("version", ["6.11.3", "6.7.0"])
def test_other_releases_pass(monkeypatch, version):
    monkeypatch.setattr(PySide6, "__version__", version)
    assert app.broken_pyside_version() is None


def test_the_app_collects_garbage_on_its_gui_thread_only(qapp):
    """main() turns Python's automatic cycle collection off and collects from a timer on the GUI
    thread instead (a collection inside a Qt call that holds a signal-slot lock deadlocked, and
    one in the training thread could delete a Qt object there)."""
    import gc
    import weakref

    assert "collect_garbage_on_gui_thread(app)" in inspect.getsource(app.main)
    collector = app.collect_garbage_on_gui_thread(qapp)
    try:
        assert not gc.isenabled()
        assert collector.timer.isActive() and collector.timer.interval() == 1000

        class Node:
            pass

        node = Node()
        node.self = node  # a reference cycle: only the cycle collector frees it
        alive = weakref.ref(node)
        del node
        # enough live allocations for the youngest generation's threshold
        churn = [[] for _ in range(2 * gc.get_threshold()[0])]
        assert alive() is not None  # automatic collection is off
        collector.check()  # what the timer calls on the GUI thread
        assert alive() is None
        del churn
    finally:
        collector.timer.stop()
        del qapp._garbage_collector
        gc.enable()  # (the suite's own fixture restores it too)
