"""Work around a reference-count bug of PySide6 6.12 on Python 3.11.

There, every ``SignalInstance.emit()`` returns ``True`` without taking a reference to it, so each
emit lowers ``True``'s reference count by one. After a few thousand emits (one training run
emits far more) the count reaches zero and the interpreter aborts with "bool_dealloc: deallocating
True or False". Python 3.12+ makes True/False immortal, so the bug is harmless there; on older
Pythons we detect the leak with a probe signal and give True and False a reference count so large
that it can never reach zero, which is what 3.12 does.
"""

from __future__ import annotations

import ctypes
import sys

_EXTRA = 1 << 40


def _leaks():
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        fired = Signal()

    p = _Probe()
    before = sys.getrefcount(True)
    for _ in range(16):
        p.fired.emit()
    return sys.getrefcount(True) < before


def apply():
    """Make True/False effectively immortal when this PySide6 leaks references to them."""
    if sys.version_info >= (3, 12) or getattr(apply, "done", False):
        return False
    apply.done = True
    try:
        if not _leaks():
            return False
        for obj in (True, False):
            ctypes.c_ssize_t.from_address(id(obj)).value += _EXTRA
    except Exception:  # noqa: BLE001 - a safety net must never stop the app
        return False
    return True
