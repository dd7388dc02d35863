"""The canvas view: zoom (wheel, Ctrl+=/-), pan (middle button or Space+drag), rubber-band
selection, and drops of layers dragged from the palette."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QGraphicsView

from .palette import LAYER_MIME, layer_type_from_mime

MIN_ZOOM, MAX_ZOOM = 0.2, 3.0


class CanvasView(QGraphicsView):
    zoom_changed = Signal(float)

    def __init__(self, scene, parent=None):
        super().__init__(scene, parent)
        self.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing | QPainter.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.RubberBandDrag)
        self.setAcceptDrops(True)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.SmartViewportUpdate)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setToolTip("")
        self._panning = None
        self._space = False
        self._was_empty = self.is_empty()
        scene.changed.connect(self._on_scene_changed)
        self.setWhatsThis(
            "The network canvas. Drag layers here from the palette (onto a link to put the layer in "
            "between); drag from a layer's right-hand port to another layer's left-hand port to "
            "connect them. Deleting a layer that had one input connects that input to the layers it "
            "fed. Wheel zooms, middle button or Space+drag pans, drag on empty space selects several "
            "layers.")

    #: what an empty canvas says (a blank grid after File > New told a newcomer nothing)
    EMPTY_HINT = ("An empty network. Drag layers here from the Layers palette, starting with an Input "
                  "(or double-click one; with a layer selected the next one follows it), then drag from a "
                  "layer's right-hand port to the next one's left-hand port.\n\n"
                  "File > Presets opens a ready-made network.")

    def is_empty(self):
        return not getattr(self.scene(), "nodes", None)

    def _on_scene_changed(self, _rects):
        empty = self.is_empty()
        if empty != self._was_empty:  # the hint appears or goes: repaint all of it, not the changed part
            self._was_empty = empty
            self.viewport().update()

    def drawForeground(self, painter, rect):  # noqa: N802 - Qt API
        super().drawForeground(painter, rect)
        if not self.is_empty():
            return
        painter.save()
        painter.resetTransform()  # viewport coordinates: the hint does not zoom or pan
        vp = self.viewport().rect()
        box = vp.adjusted(vp.width() // 6, vp.height() // 4, -vp.width() // 6, -vp.height() // 4)
        painter.setPen(self.palette().color(self.palette().ColorRole.PlaceholderText))
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        painter.setFont(font)
        painter.drawText(box, Qt.AlignCenter | Qt.TextWordWrap, self.EMPTY_HINT)
        painter.restore()

    # -- zoom --------------------------------------------------------------------------------------
    def zoom(self):
        return self.transform().m11()

    def set_zoom(self, z):
        z = max(MIN_ZOOM, min(MAX_ZOOM, z))
        f = z / self.zoom()
        self.scale(f, f)
        self.zoom_changed.emit(self.zoom())

    def zoom_in(self):
        self.set_zoom(self.zoom() * 1.2)

    def zoom_out(self):
        self.set_zoom(self.zoom() / 1.2)

    def reset_zoom(self):
        self.set_zoom(1.0)

    def fit_all(self, max_zoom=1.0, min_zoom=0.55):
        """Show every node; never magnify past ``max_zoom``. When the network is too large to be
        legible at ``min_zoom``, show its top-left part at ``min_zoom`` instead."""
        rect = self.scene().items_rect() if hasattr(self.scene(), "items_rect") else None
        if rect is None:
            self.resetTransform()
            self.centerOn(QPointF(0, 0))
            return
        rect = rect.adjusted(-30, -30, 30, 30)
        vw, vh = max(1, self.viewport().width()), max(1, self.viewport().height())
        z = min(vw / rect.width(), vh / rect.height(), max_zoom)
        self.resetTransform()
        if z < min_zoom:
            self.scale(min_zoom, min_zoom)
            left = rect.left() + vw / min_zoom / 2
            top = rect.top() + vh / min_zoom / 2
            self.centerOn(QPointF(left if rect.width() * min_zoom > vw else rect.center().x(),
                                  top if rect.height() * min_zoom > vh else rect.center().y()))
        else:
            self.scale(z, z)
            self.centerOn(rect.center())
        self.zoom_changed.emit(self.zoom())

    def wheelEvent(self, event):  # noqa: N802
        dy = event.angleDelta().y()
        if dy == 0:
            return super().wheelEvent(event)
        self.set_zoom(self.zoom() * (1.0015 ** dy))
        event.accept()

    # -- pan ---------------------------------------------------------------------------------------
    def keyPressEvent(self, event):  # noqa: N802
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event):  # noqa: N802
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def mousePressEvent(self, event):  # noqa: N802
        if event.button() == Qt.MiddleButton or (self._space and event.button() == Qt.LeftButton):
            self._panning = event.position()
            self.viewport().setCursor(Qt.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event):  # noqa: N802
        if self._panning is not None:
            d = event.position() - self._panning
            self._panning = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(d.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(d.y()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event):  # noqa: N802
        if self._panning is not None:
            self._panning = None
            if self._space:
                self.viewport().setCursor(Qt.OpenHandCursor)
            else:
                self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    # -- drops from the palette ----------------------------------------------------------------------
    def dragEnterEvent(self, event):  # noqa: N802
        if event.mimeData().hasFormat(LAYER_MIME):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event):  # noqa: N802
        if event.mimeData().hasFormat(LAYER_MIME):
            event.acceptProposedAction()
            if hasattr(self.scene(), "set_drop_target"):  # a link under the cursor lights up
                self.scene().set_drop_target(self.mapToScene(event.position().toPoint()),
                                             layer_type_from_mime(event.mimeData()))
        else:
            super().dragMoveEvent(event)

    def dragLeaveEvent(self, event):  # noqa: N802
        if hasattr(self.scene(), "set_drop_target"):
            self.scene().set_drop_target(None)
        super().dragLeaveEvent(event)

    def dropEvent(self, event):  # noqa: N802
        type_name = layer_type_from_mime(event.mimeData())
        if not type_name:
            return super().dropEvent(event)
        pos = self.mapToScene(event.position().toPoint())
        self.scene().add_layer_at(type_name, pos, onto_link=True)
        event.acceptProposedAction()
        self.setFocus()
