"""The main window as GUI tests open it: settings and autosave in the test's tmp_path, no crash
restore, and a close that does not stop at the unsaved-changes question."""

from PySide6.QtCore import QSettings

from playground.mainwindow import MainWindow


def make_window(tmp_path, **kw):
    """A MainWindow that keeps its settings and autosave under ``tmp_path`` (not shown).

    Not given to qtbot.addWidget: pytest-qt would close it before the test marks it saved, and the
    unsaved-changes question would then wait for a click; close it with :func:`close_window`.
    """
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    kw.setdefault("restore", "never")
    return MainWindow(settings=settings, autosave_dir=tmp_path / "autosave", **kw)


def shown_window(qtbot, tmp_path, size=(1400, 900), **kw):
    """:func:`make_window`, resized and shown, once it is exposed."""
    win = make_window(tmp_path, **kw)
    win.resize(*size)
    win.show()
    qtbot.waitExposed(win)
    return win


def close_window(win):
    """Close without the unsaved-changes question (the test's edits are thrown away)."""
    win.document.undo_stack.setClean()
    win.close()
    win.deleteLater()
