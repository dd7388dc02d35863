"""Network Playground: the Qt application over the NumPy engine (see DESIGN.md)."""

__version__ = "0.1.0"
