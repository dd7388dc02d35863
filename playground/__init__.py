"""Network Playground: the Qt application over the NumPy engine (see DESIGN.md)."""

__version__ = "0.1.0"

try:  # before any signal is emitted: see _qtfix (PySide6 6.12 + Python 3.11 refcount bug)
    from . import _qtfix

    _qtfix.apply()
except ImportError:  # PySide6 missing: app.main() explains what to install
    pass
