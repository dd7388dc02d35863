"""A drawing pad for digits: thick round strokes with a soft edge, like MNIST's pen strokes.

The pad paints white ink on black (MNIST's polarity) into a grey-level image the size of the
widget's canvas (280x280 by default). Strokes are kept as point lists so the last one can be
undone; a loaded picture can sit under the strokes as a background. Mouse and pen both work (a
tablet's pen arrives as mouse events; its pressure, when there is one, thins or thickens the
stroke).

Signals
-------
stroke_started() : the pen went down.
drawing(): the image changed while a stroke is being drawn (at most once per ``live_interval_ms``).
stroke_finished() : the pen went up; the image holds the whole stroke.
changed() : the image changed for any reason (stroke, undo, clear, background).
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget


class DrawPad(QWidget):
    """A square canvas to draw a digit on.

    Parameters
    ----------
    size : int
        Side of the canvas in pixels (the image the network's preprocessing reads).
    pen_width : float
        Width of the stroke's solid core; translucent rings up to ``1.6 * pen_width`` soften the
        edge, as a pen's ink does on paper scanned at MNIST's resolution. The default (28 on a
        280 pad) gives a drawn 7 about as much ink, once preprocessed, as an average MNIST 7.
    """

    stroke_started = Signal()
    drawing = Signal()
    stroke_finished = Signal()
    changed = Signal()

    def __init__(self, size=280, pen_width=28.0, parent=None):
        super().__init__(parent)
        self.side = int(size)
        self.pen_width = float(pen_width)
        self.live_interval_ms = 40
        self.strokes = []          # list of [(x, y, pressure), ...]
        self._current = None
        self._background = None    # QImage (Grayscale8) or None
        self._image = QImage(self.side, self.side, QImage.Format_Grayscale8)
        self._last_live = 0.0
        self.setFixedSize(self.side, self.side)
        self.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Fixed)
        self.setCursor(Qt.CrossCursor)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setAttribute(Qt.WA_OpaquePaintEvent)
        self.setToolTip("Draw a digit with the mouse or a pen. U undoes the last stroke, Esc clears.")
        self._redraw()

    def sizeHint(self):  # noqa: N802 - Qt API
        return QSize(self.side, self.side)

    # -- the image ---------------------------------------------------------------------------
    def image(self):
        """The canvas as a QImage (Grayscale8)."""
        return self._image

    def array(self):
        """The canvas as an ndarray of shape (side, side), float32 in [0, 1], ink bright."""
        img = self._image
        bpl = img.bytesPerLine()
        buf = np.frombuffer(img.constBits(), np.uint8, count=bpl * img.height()).reshape(img.height(), bpl)
        return buf[:, :img.width()].astype(np.float32) * (1.0 / 255.0)

    def is_empty(self):
        return not self.strokes and self._current is None and self._background is None

    def set_background(self, grey):
        """Put a picture under the strokes: ndarray (H, W) in [0, 1], ink bright on dark. It is
        scaled (keeping its aspect) to fill the pad with a margin. ``None`` removes it."""
        self.strokes = []
        if grey is None:
            self._background = None
        else:
            a = np.ascontiguousarray(np.clip(np.asarray(grey, np.float32), 0, 1) * 255).astype(np.uint8)
            h, w = a.shape
            src = QImage(a.data, w, h, w, QImage.Format_Grayscale8).copy()
            inner = int(self.side * 0.8)
            scaled = src.scaled(inner, inner, Qt.KeepAspectRatio, Qt.SmoothTransformation)
            bg = QImage(self.side, self.side, QImage.Format_Grayscale8)
            bg.fill(0)
            p = QPainter(bg)
            p.drawImage((self.side - scaled.width()) // 2, (self.side - scaled.height()) // 2, scaled)
            p.end()
            self._background = bg
        self._redraw()
        self.changed.emit()

    # -- editing -----------------------------------------------------------------------------
    def clear(self):
        """Remove every stroke and the background."""
        self.strokes = []
        self._current = None
        self._background = None
        self._redraw()
        self.changed.emit()

    def undo_stroke(self):
        """Remove the last stroke; returns False when there was none."""
        if not self.strokes:
            return False
        self.strokes.pop()
        self._redraw()
        self.changed.emit()
        return True

    def add_stroke(self, points, pressure=1.0):
        """Draw a stroke through ``points`` [(x, y), ...] in canvas pixels (scripts and tests)."""
        stroke = [(float(x), float(y), float(pressure)) for x, y in points]
        if not stroke:
            return
        self.strokes.append(stroke)
        self._paint_stroke(self._image, stroke)
        self.update()
        self.changed.emit()
        self.stroke_finished.emit()

    # -- painting ----------------------------------------------------------------------------
    def _pens(self, pressure):
        w = self.pen_width * (0.6 + 0.4 * min(max(pressure, 0.0), 1.5))
        # a soft edge: translucent rings around the solid core (ink fading into the paper)
        pens = [QPen(QColor(255, 255, 255, a), w * f, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin)
                for f, a in ((1.6, 28), (1.4, 40), (1.2, 60))]
        pens.append(QPen(QColor(255, 255, 255), w, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin))
        return pens

    def _paint_segment(self, image, pts):
        """Paint the polyline ``pts`` (2 or more (x, y, p) points, or one for a dot)."""
        p = QPainter(image)
        p.setRenderHint(QPainter.Antialiasing)
        pressure = float(np.mean([q[2] for q in pts]))
        for pen in self._pens(pressure):
            p.setPen(pen)
            if len(pts) == 1:
                p.drawPoint(QPointF(pts[0][0], pts[0][1]))
            else:
                path = QPainterPath(QPointF(pts[0][0], pts[0][1]))
                for x, y, _ in pts[1:]:
                    path.lineTo(x, y)
                p.drawPath(path)
        p.end()

    def _paint_stroke(self, image, stroke):
        self._paint_segment(image, stroke)

    def _redraw(self):
        if self._background is not None:
            self._image = self._background.copy()
        else:
            self._image.fill(0)
        for s in self.strokes:
            self._paint_stroke(self._image, s)
        self.update()

    def paintEvent(self, event):  # noqa: N802 - Qt API
        p = QPainter(self)
        p.drawImage(0, 0, self._image)
        # a faint frame and the 20x20-in-28x28 guide: where the digit's box ends up
        p.setPen(QPen(QColor(90, 90, 90), 1, Qt.DotLine))
        m = self.side * 4 / 28
        p.drawRect(QRectF(m, m, self.side - 2 * m, self.side - 2 * m))
        if self.is_empty():
            p.setPen(QColor(150, 150, 150))
            p.drawText(self.rect(), Qt.AlignCenter, "draw a digit here")
        p.end()

    # -- input -------------------------------------------------------------------------------
    def _point(self, event):
        pos = event.position()
        pressure = 1.0
        dev = getattr(event, "pointingDevice", None)
        try:
            if dev is not None and dev() is not None and dev().type().name in ("Stylus", "Airbrush"):
                pressure = float(event.points()[0].pressure()) or 1.0
        except Exception:  # noqa: BLE001 - pressure is a nicety
            pressure = 1.0
        return (float(pos.x()), float(pos.y()), pressure)

    def mousePressEvent(self, event):  # noqa: N802 - Qt API
        if event.button() != Qt.LeftButton:
            return super().mousePressEvent(event)
        pt = self._point(event)
        self._current = [pt]
        self._paint_segment(self._image, [pt])
        self.update()
        self.stroke_started.emit()
        self._last_live = 0.0
        self._emit_live()

    def mouseMoveEvent(self, event):  # noqa: N802 - Qt API
        if self._current is None:
            return super().mouseMoveEvent(event)
        pt = self._point(event)
        prev = self._current[-1]
        self._current.append(pt)
        self._paint_segment(self._image, [prev, pt])
        self.update()
        self._emit_live()

    def mouseReleaseEvent(self, event):  # noqa: N802 - Qt API
        if self._current is None or event.button() != Qt.LeftButton:
            return super().mouseReleaseEvent(event)
        pt = self._point(event)
        stroke = self._current
        if (pt[0], pt[1]) != (stroke[-1][0], stroke[-1][1]):
            stroke.append(pt)
        self._current = None
        self.strokes.append(stroke)
        # repaint the whole stroke at once: segment-by-segment halos overlap at the joints
        self._redraw()
        self.changed.emit()
        self.stroke_finished.emit()

    def _emit_live(self):
        now = time.monotonic()
        if (now - self._last_live) * 1000.0 >= self.live_interval_ms:
            self._last_live = now
            self.drawing.emit()

    def keyPressEvent(self, event):  # noqa: N802 - Qt API
        if event.key() == Qt.Key_Escape:
            self.clear()
        elif event.key() == Qt.Key_U or (event.key() == Qt.Key_Z and event.modifiers() & Qt.ControlModifier):
            self.undo_stroke()
        else:
            super().keyPressEvent(event)
