"""Entry point of the ``network-playground`` command (also ``python -m playground``).

A missing Qt system library (common on a fresh Linux desktop or container) is reported in one
sentence naming the Debian/Ubuntu package to install, instead of Qt's cryptic abort.
"""

from __future__ import annotations

import argparse
import ctypes.util
import os
import sys

#: shared library -> Debian package, for what Qt's xcb platform plugin needs at run time.
QT_SYSTEM_LIBS = {
    "xcb-cursor": "libxcb-cursor0",
    "EGL": "libegl1",
    "GL": "libgl1",
    "xkbcommon": "libxkbcommon0",
    "xkbcommon-x11": "libxkbcommon-x11-0",
    "fontconfig": "libfontconfig1",
    "dbus-1": "libdbus-1-3",
    "xcb-icccm": "libxcb-icccm4",
    "xcb-keysyms": "libxcb-keysyms1",
    "xcb-shape": "libxcb-shape0",
    "xcb-xinerama": "libxcb-xinerama0",
    "xcb-randr": "libxcb-randr0",
    "xcb-render-util": "libxcb-render-util0",
    "xcb-image": "libxcb-image0",
}
#: the ones every platform plugin needs; the xcb ones matter only on X11.
CORE_LIBS = ("EGL", "GL", "xkbcommon", "fontconfig")


def missing_system_libraries(platform=None):
    """Debian package names of the Qt system libraries that cannot be found (Linux only)."""
    if not sys.platform.startswith("linux"):
        return []
    platform = platform or os.environ.get("QT_QPA_PLATFORM", "")
    names = list(CORE_LIBS)
    if platform in ("", "xcb") and os.environ.get("DISPLAY"):
        names += [n for n in QT_SYSTEM_LIBS if n.startswith("xcb") or n == "xkbcommon-x11"]
    if platform in ("offscreen", "minimal"):
        names = ["fontconfig"]
    return [QT_SYSTEM_LIBS[n] for n in names if ctypes.util.find_library(n) is None]


def _explain_import_error(exc):
    text = str(exc)
    for lib, pkg in QT_SYSTEM_LIBS.items():
        if f"lib{lib}.so" in text:
            return f"Qt cannot load lib{lib}: install it with `sudo apt-get install {pkg}`."
    return f"PySide6 cannot be loaded ({text}). Reinstall it with `pip install PySide6-Essentials`."


#: PySide6 releases that drop a reference to None/True on every call or emit: on Python 3.11 the
#: interpreter aborts ("bool_dealloc") after a few thousand plot updates. pyproject.toml pins below them.
BROKEN_PYSIDE = ("6.12.0",)


def broken_pyside_version():
    """A message naming the fix when the installed PySide6 is one with the reference-count bug."""
    import PySide6

    if PySide6.__version__ in BROKEN_PYSIDE and sys.version_info < (3, 12):
        return (f"PySide6 {PySide6.__version__} has a reference-count bug that crashes Python "
                f"{sys.version_info.major}.{sys.version_info.minor}. Install a working release with:\n"
                "    pip install 'PySide6-Essentials<6.12'")
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(prog="network-playground",
                                     description="Build, train and look inside neural networks.")
    parser.add_argument("file", nargs="?", help="a network document (.json) or model (.npz) to open")
    parser.add_argument("--no-restore", action="store_true", help="ignore an autosave from a crash")
    parser.add_argument("--quit-after-show", action="store_true", help=argparse.SUPPRESS)
    args, qt_args = parser.parse_known_args(argv if argv is not None else sys.argv[1:])

    missing = missing_system_libraries()
    if missing:
        print("Network Playground needs Qt system libraries that are missing. Install them with:\n"
              f"    sudo apt-get install {' '.join(missing)}", file=sys.stderr)
        if any(p in missing for p in ("libxcb-cursor0", "libegl1", "libgl1", "libxkbcommon0")):
            return 1
    try:
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication
    except ImportError as exc:
        print(_explain_import_error(exc), file=sys.stderr)
        return 1

    bad = broken_pyside_version()
    if bad:
        print(bad, file=sys.stderr)
        return 1

    app = QApplication.instance() or QApplication([sys.argv[0], *qt_args])
    collect_garbage_on_gui_thread(app)
    app.setApplicationName("Network Playground")
    app.setOrganizationName("network-playground")
    app.setApplicationDisplayName("Network Playground")

    from .mainwindow import MainWindow

    win = MainWindow(restore="never" if args.no_restore or args.file else "ask", open_default=not args.file)
    if args.file:
        if not win.open_file(args.file):
            win.open_default()
    win.show()
    if args.quit_after_show:
        # benchmarks: report and quit without touching settings or the autosave
        QTimer.singleShot(0, lambda: (print("WINDOW_SHOWN", flush=True), app.quit()))
    code = app.exec()
    release_clipboard()
    return code


def collect_garbage_on_gui_thread(app):
    """Turn Python's automatic cycle collection off and collect from a timer on the GUI thread.

    The collector may otherwise run at any allocation, in any thread: in the training thread
    (deleting a Qt object there crashes Qt), or inside a Qt call that holds one of Qt's signal-slot
    locks (a disconnect: the collected object's destructor waits for that same lock and the window
    freezes; seen in the test suite). pyqtgraph's GarbageCollector does this, between events.
    Returns the collector (kept on ``app``).
    """
    from pyqtgraph.util.garbage_collector import GarbageCollector

    app._garbage_collector = GarbageCollector(interval=1.0)
    return app._garbage_collector


def release_clipboard():
    """Drop the clipboard's mime data while Python still runs.

    Copied canvas nodes are a QMimeData made in Python and owned by Qt's clipboard; left there, Qt
    deletes it in its own exit handlers after Python has shut down, and the process segfaults.
    """
    from PySide6.QtGui import QGuiApplication

    if QGuiApplication.instance() is not None:
        QGuiApplication.clipboard().clear()


if __name__ == "__main__":
    sys.exit(main())
