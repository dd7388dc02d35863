"""Network Playground's engine: neural networks in pure NumPy (no Qt here, ever)."""

__version__ = "0.1.0"

from . import layers  # noqa: F401,E402  (registers every layer type)
from .errors import ConfigError, DataError, DocumentError, EngineError, GraphError, ShapeError  # noqa: F401,E402
from .graph import Network  # noqa: F401,E402
from . import sequence  # noqa: F401,E402  (registers the "dates" and "names" data sets)
