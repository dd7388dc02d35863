"""The network canvas: scene (mirror of the document), items, view, palette, inspector, layout."""

from .inspector import InspectorWidget  # noqa: F401
from .palette import LAYER_MIME, PaletteWidget, layer_mime  # noqa: F401
from .scene import CanvasScene  # noqa: F401
from .view import CanvasView  # noqa: F401
