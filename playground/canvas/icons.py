"""Colours and icons for the layer families (the SVG glyphs live in resources/icons/)."""

from __future__ import annotations

import zlib
from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

ICON_DIR = Path(__file__).resolve().parents[2] / "resources" / "icons"

FAMILY_COLORS = {
    "input": "#2c5282",
    "core": "#3b6ea8",
    "activations": "#dd7a1f",
    "convolution": "#c0392b",
    "pooling": "#d35d6e",
    "regularization": "#3f9142",
    "normalization": "#8e5ea2",
    "merge": "#23867f",
    "recurrent": "#b7950b",
    "embedding": "#8d6e4f",
    "attention": "#5a6abf",
    "tensor": "#607080",
    "blocks": "#a3476f",
    "composite": "#a3476f",
}

#: family name -> icon file (families not listed use their lower-cased name, then default.svg).
ICON_ALIASES = {"composite": "blocks", "residual": "blocks", "inception": "blocks", "merging": "merge",
                "sequence": "recurrent", "dropout": "regularization", "transformer": "attention"}


def _key(family):
    return (family or "core").strip().lower()


def family_color(family):
    k = _key(family)
    if k in FAMILY_COLORS:
        return QColor(FAMILY_COLORS[k])
    for name, col in FAMILY_COLORS.items():
        if name in k:
            return QColor(col)
    h = zlib.crc32(k.encode()) % 360
    return QColor.fromHsv(h, 150, 170)


def _icon_path(family):
    k = _key(family)
    for cand in (ICON_ALIASES.get(k, k), k.split()[0] if k else k, "default"):
        p = ICON_DIR / f"{cand}.svg"
        if p.is_file():
            return p
    return None


@lru_cache(maxsize=None)
def family_glyph(family):
    """The family's white glyph (to draw on its coloured band)."""
    p = _icon_path(family)
    return QIcon(str(p)) if p else QIcon()


@lru_cache(maxsize=None)
def family_icon(family, size=32):
    """A badge: the white glyph on a rounded square of the family colour (palette, menus)."""
    pm = QPixmap(size, size)
    pm.fill(Qt.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.Antialiasing)
    p.setPen(Qt.NoPen)
    p.setBrush(family_color(family))
    p.drawRoundedRect(QRectF(0, 0, size, size), size * 0.22, size * 0.22)
    glyph = family_glyph(family)
    if not glyph.isNull():
        m = int(size * 0.14)
        glyph.paint(p, m, m, size - 2 * m, size - 2 * m)
    p.end()
    return QIcon(pm)
