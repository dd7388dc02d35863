"""Work around reference-count bugs of PySide6 6.12.0 on CPython < 3.12.

In this PySide6 release every method that returns ``void`` in C++ hands back ``None`` without
taking a reference to it, and ``SignalInstance.emit(...)`` does the same with ``True``. Each call
lowers the reference count of the ``None`` (or ``True``) singleton by one. pyqtgraph makes
thousands of such calls per repaint (``QRectF.setHeight``, ``QPainter.setPen`` ...), so after a
few seconds of live plotting the count reaches zero and the interpreter aborts with "Fatal Python
error: none_dealloc: deallocating None" (or bool_dealloc / a segfault at exit).

:func:`apply` measures the leak with a few harmless calls and, only when it is there, adds a large
constant (2**40) to the reference counts of ``None``, ``True`` and ``False``. These singletons are
statically allocated and never freed, so their count only matters for that fatal check; the
constant moves the abort centuries away. CPython 3.12+ makes them immortal and a fixed PySide6
leaks nothing: then :func:`apply` does nothing. (``playground/_qtfix.py`` covers the True leak
of emit only; this module adds None, which void calls leak.) Idempotent; call it once at start-up, before any
widget exists (the training dock's modules call it on import).
"""

import sys

_APPLIED = None
BOOST = 1 << 40
_N = 64


def leaks():
    """(None references lost per void call, True references lost per emit); (0, 0) when fine."""
    from PySide6.QtCore import QObject, QRectF, Signal

    class _Probe(QObject):
        fired = Signal(object)

    rect = QRectF(0.0, 0.0, 1.0, 1.0)
    p = _Probe()
    p.fired.connect(lambda _: None)
    rect.setHeight(1.0)
    before = sys.getrefcount(None)
    for _ in range(_N):
        rect.setHeight(1.0)
    none_leak = (before - sys.getrefcount(None)) // _N
    before = sys.getrefcount(True)
    for _ in range(_N):
        p.fired.emit(0)
    true_leak = (before - sys.getrefcount(True)) // _N
    return max(0, none_leak), max(0, true_leak)


def apply():
    """Apply the workaround when needed; True when the counts were raised."""
    global _APPLIED
    if _APPLIED is not None:
        return _APPLIED
    _APPLIED = False
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False
    try:
        none_leak, true_leak = leaks()
    except Exception:  # noqa: BLE001 - no Qt: nothing to fix
        return False
    if none_leak <= 0 and true_leak <= 0:
        return False
    import ctypes

    for obj in (None, True, False):
        if sys.getrefcount(obj) < BOOST // 2:  # playground/_qtfix.py may have raised True/False already
            ctypes.c_ssize_t.from_address(id(obj)).value += BOOST
    _APPLIED = True
    return True
