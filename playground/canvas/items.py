"""Graphics items of the canvas: a node card per layer, its ports, and the links between them.

Items only draw and report gestures to the scene; they never change the document themselves.
"""

from __future__ import annotations


from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QGraphicsPathItem

from .icons import family_color, family_glyph

NODE_WIDTH = 184.0
HEADER_H = 24.0
LINE_H = 17.0
PORT_R = 6.0
PAD = 8.0


def format_shape(shape):
    if shape is None:
        return "?"
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def format_count(n):
    if n is None:
        return "?"
    if n >= 1_000_000:
        return f"{n / 1e6:.2f} M"
    if n >= 10_000:
        return f"{n / 1e3:.1f} k"
    return f"{n:,}"


class PortItem(QGraphicsItem):
    """An input (left) or output (right) port of a node. Dragging from an output port draws a link."""

    def __init__(self, node, kind):
        super().__init__(node)
        self.node = node
        self.kind = kind  # "in" or "out"
        self.setAcceptHoverEvents(True)
        self._hover = False
        self.setZValue(2)
        if kind == "out":
            self.setCursor(Qt.CrossCursor)
            self.setToolTip("Drag from here to another layer's input to connect them")
        else:
            self.setToolTip("Input: drop a link from another layer's output here")

    def boundingRect(self):  # noqa: N802
        r = PORT_R + 3
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter, option, widget=None):
        painter.setRenderHint(QPainter.Antialiasing)
        color = QColor("#2b6cb0") if self.kind == "out" else QColor("#4a5568")
        if self._hover:
            color = color.lighter(140)
        painter.setPen(QPen(QColor("white"), 1.5))
        painter.setBrush(color)
        r = PORT_R + (1.5 if self._hover else 0)
        painter.drawEllipse(QPointF(0, 0), r, r)

    def hoverEnterEvent(self, event):  # noqa: N802
        self._hover = True
        self.update()

    def hoverLeaveEvent(self, event):  # noqa: N802
        self._hover = False
        self.update()

    def mousePressEvent(self, event):  # noqa: N802
        if self.kind == "out" and event.button() == Qt.LeftButton:
            self.scene().begin_link(self.node, event.scenePos())
            event.accept()
        else:
            event.ignore()

    def mouseMoveEvent(self, event):  # noqa: N802
        self.scene().drag_link_to(event.scenePos())

    def mouseReleaseEvent(self, event):  # noqa: N802
        self.scene().end_link(event.scenePos())


class NodeItem(QGraphicsObject):
    """A card for one layer: family band, name, output shape, parameter count, errors and hints."""

    def __init__(self, name, type_name, family, description=""):
        super().__init__()
        self.name = name
        self.type_name = type_name
        self.family = family
        self.description = description
        self.out_shape = None
        self.params = None
        self.error = None
        self.notes = []
        self.trainable = True
        self.tint = None
        self.hint = ""
        self.sublayers = []  # [(name, type, params)]
        self.unfolded = False
        self.links = []
        self._height = 80.0
        self._syncing = False
        self.setFlags(QGraphicsItem.ItemIsMovable | QGraphicsItem.ItemIsSelectable
                      | QGraphicsItem.ItemSendsGeometryChanges | QGraphicsItem.ItemIsFocusable)
        self.setAcceptHoverEvents(True)
        self.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        self.setZValue(1)
        self.in_port = PortItem(self, "in")
        self.out_port = PortItem(self, "out")
        # links follow through the position signals: overriding itemChange in PySide6 on Python
        # 3.11 under-counts references to True/False (a crash at exit)
        self.xChanged.connect(self._on_moved)
        self.yChanged.connect(self._on_moved)
        self._relayout()

    # -- content ---------------------------------------------------------------------------------
    @property
    def is_error(self):
        return self.error is not None

    def set_info(self, shape, params, error, notes=(), trainable=True):
        new = (tuple(shape) if shape is not None else None, params, error, list(notes), bool(trainable))
        if new == (self.out_shape, self.params, self.error, self.notes, self.trainable):
            return
        self.out_shape, self.params, self.error, self.notes, self.trainable = new
        self._relayout()

    def set_type(self, type_name, family, description):
        self.type_name, self.family, self.description = type_name, family, description
        self._relayout()

    def set_sublayers(self, subs):
        if subs != self.sublayers:
            self.sublayers = list(subs)
            self._relayout()

    def set_unfolded(self, unfolded):
        if bool(unfolded) != self.unfolded and self.sublayers:
            self.unfolded = bool(unfolded)
            self._relayout()

    def set_tint(self, color, hint=""):
        tint = QColor(color) if color is not None else None
        if tint == self.tint and (hint or "") == self.hint:
            return  # the training dock re-tints every node each epoch: skip the relayout
        self.tint, self.hint = tint, hint or ""
        self._relayout()

    def shape_text(self):
        return format_shape(self.out_shape)

    def _text_lines(self):
        """Extra wrapped lines below the shape/params row: (text, color, italic)."""
        lines = []
        if self.unfolded and self.sublayers:
            for n, t, p in self.sublayers:
                lines.append((f"\u2022 {n}: {t}" + (f"  {format_count(p)}" if p else ""), "#2d3748", False))
        if self.error:
            lines.append((self.error, "#c53030", False))
        elif self.out_shape is None:
            lines.append(("waiting for the layers before it", "#718096", True))
        if self.hint:
            lines.append((self.hint, "#744210", True))
        return lines

    def _wrap(self, text, font):
        fm = QFontMetricsF(font)
        rect = fm.boundingRect(QRectF(0, 0, NODE_WIDTH - 2 * PAD, 1000), Qt.TextWordWrap, text)
        return rect.height()

    def _relayout(self):
        self.prepareGeometryChange()
        h = HEADER_H + PAD + LINE_H * 2 + 4
        small = QFont()
        small.setPointSizeF(7.5)
        self._extra = []
        for text, color, italic in self._text_lines():
            th = self._wrap(text, small)
            self._extra.append((text, color, italic, th))
            h += th + 3
        if self.sublayers:
            h += LINE_H - 4
        self._height = h + PAD - 2
        self.in_port.setPos(0, HEADER_H + (LINE_H * 2 + PAD) / 2 + 2)
        self.out_port.setPos(NODE_WIDTH, HEADER_H + (LINE_H * 2 + PAD) / 2 + 2)
        tip = [f"<b>{self.name}</b> \u2014 {self.type_name}"]
        if self.description:
            tip.append(self.description)
        tip.append(f"Output shape: {self.shape_text()} (per sample)   Parameters: {format_count(self.params)}")
        if self.error:
            tip.append(f"<span style='color:#c53030'>{self.error}</span>")
        for n in self.notes:
            tip.append(f"Note: {n}")
        if not self.trainable:
            tip.append("Frozen: its weights do not change in training")
        if self.hint:
            tip.append(f"<i>{self.hint}</i>")
        if self.sublayers:
            tip.append("Double-click to " + ("fold" if self.unfolded else "unfold") + " its sublayers")
        self.setToolTip("<br>".join(tip))
        for link in self.links:
            link.update_path()
        self.update()

    # -- geometry --------------------------------------------------------------------------------
    def height(self):
        return self._height

    def boundingRect(self):  # noqa: N802
        return QRectF(-PORT_R - 4, -4, NODE_WIDTH + 2 * PORT_R + 8, self._height + 8)

    def body_rect(self):
        return QRectF(0, 0, NODE_WIDTH, self._height)

    def shape(self):  # noqa: A003 - Qt API (hit area)
        path = QPainterPath()
        path.addRoundedRect(self.body_rect(), 8, 8)
        return path

    def in_anchor(self):
        return self.mapToScene(self.in_port.pos())

    def out_anchor(self):
        return self.mapToScene(self.out_port.pos())

    def _on_moved(self):
        for link in self.links:
            link.update_path()

    def mouseReleaseEvent(self, event):  # noqa: N802
        super().mouseReleaseEvent(event)
        if self.scene() is not None:
            self.scene().commit_moves()

    def mouseDoubleClickEvent(self, event):  # noqa: N802
        if self.sublayers and self.scene() is not None:
            self.scene().toggle_unfold(self.name)  # the scene remembers it across undo/rebuild
            event.accept()
        else:
            super().mouseDoubleClickEvent(event)

    # -- painting --------------------------------------------------------------------------------
    def paint(self, painter, option, widget=None):
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setRenderHint(QPainter.TextAntialiasing)
        rect = self.body_rect()
        color = family_color(self.family)
        if self.error:
            body, border = QColor("#fff5f5"), QColor("#e53e3e")
        else:
            body, border = QColor("#ffffff"), QColor("#a0aec0")
        if self.tint is not None and not self.error:
            t = QColor(self.tint)
            body = QColor(
                int(0.78 * 255 + 0.22 * t.red()), int(0.78 * 255 + 0.22 * t.green()), int(0.78 * 255 + 0.22 * t.blue())
            )
            border = t
        # shadow
        painter.setPen(Qt.NoPen)
        painter.setBrush(QColor(0, 0, 0, 28))
        painter.drawRoundedRect(rect.translated(2, 3), 8, 8)
        # body
        selected = self.isSelected()
        painter.setBrush(body)
        pen = QPen(QColor("#3182ce") if selected else border, 2.6 if selected or self.error else 1.2)
        painter.setPen(pen)
        painter.drawRoundedRect(rect, 8, 8)
        # header band
        header = QPainterPath()
        hr = QRectF(rect.left(), rect.top(), rect.width(), HEADER_H)
        header.addRoundedRect(hr, 8, 8)
        clip = QPainterPath()
        clip.addRect(QRectF(rect.left(), rect.top() + HEADER_H / 2, rect.width(), HEADER_H / 2))
        header = header.united(clip)
        painter.setPen(Qt.NoPen)
        painter.setBrush(QColor("#e53e3e") if self.error else color)
        painter.drawPath(header)
        # icon + type
        icon = family_glyph(self.family)
        if not icon.isNull():
            icon.paint(painter, QRectF(PAD - 2, 4, 16, 16).toRect())
        f = QFont()
        f.setPointSizeF(8.5)
        f.setBold(True)
        painter.setFont(f)
        painter.setPen(QColor("white"))
        type_text = self.type_name + ("  \u25be" if self.unfolded else ("  \u25b8" if self.sublayers else ""))
        painter.drawText(QRectF(PAD + 18, 0, NODE_WIDTH - PAD * 2 - 18, HEADER_H), Qt.AlignVCenter | Qt.AlignLeft, type_text)
        if not self.trainable:
            painter.drawText(QRectF(0, 0, NODE_WIDTH - PAD, HEADER_H), Qt.AlignVCenter | Qt.AlignRight, "frozen")
        # name
        y = HEADER_H + PAD - 3
        f = QFont()
        f.setPointSizeF(9.5)
        f.setBold(True)
        painter.setFont(f)
        painter.setPen(QColor("#1a202c"))
        fm = QFontMetricsF(f)
        painter.drawText(QRectF(PAD, y, NODE_WIDTH - 2 * PAD, LINE_H + 1), Qt.AlignVCenter | Qt.AlignLeft,
                         fm.elidedText(self.name, Qt.ElideRight, NODE_WIDTH - 2 * PAD))
        y += LINE_H + 1
        # shape and params
        f = QFont()
        f.setPointSizeF(8.5)
        painter.setFont(f)
        painter.setPen(QColor("#2d3748"))
        painter.drawText(QRectF(PAD, y, NODE_WIDTH - 2 * PAD, LINE_H), Qt.AlignVCenter | Qt.AlignLeft, self.shape_text())
        painter.setPen(QColor("#4a5568"))
        ptxt = (format_count(self.params) + " params") if self.params else ("no params" if self.params == 0 else "")
        painter.drawText(QRectF(PAD, y, NODE_WIDTH - 2 * PAD, LINE_H), Qt.AlignVCenter | Qt.AlignRight, ptxt)
        y += LINE_H + 4
        small = QFont()
        small.setPointSizeF(7.5)
        if self.sublayers:
            painter.setFont(small)
            painter.setPen(QColor("#2b6cb0"))
            what = "fold" if self.unfolded else "unfold"
            painter.drawText(QRectF(PAD, y - 2, NODE_WIDTH - 2 * PAD, LINE_H - 4), Qt.AlignVCenter | Qt.AlignLeft,
                             f"{len(self.sublayers)} sublayers \u2014 double-click to {what}")
            y += LINE_H - 4
        for text, col, italic, th in self._extra:
            small.setItalic(italic)
            painter.setFont(small)
            painter.setPen(QColor(col))
            painter.drawText(QRectF(PAD, y, NODE_WIDTH - 2 * PAD, th + 2), Qt.TextWordWrap | Qt.AlignLeft, text)
            y += th + 3


class LinkItem(QGraphicsPathItem):
    """A link from ``src``'s output port to ``dst``'s input port (a curve with an arrow head)."""

    def __init__(self, src, dst):
        super().__init__()
        self.src, self.dst = src, dst
        self.setFlags(QGraphicsItem.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(0)
        self._hover = False
        self._drop_target = False
        self._arrow = QPolygonF()
        self.setToolTip(f"{src.name} \u2192 {dst.name}  (select and press Delete to remove; drop a layer "
                        "from the palette on it, or double-click one while it is selected, to put the "
                        "layer in between)")
        src.links.append(self)
        dst.links.append(self)
        self.update_path()

    def set_drop_target(self, on):
        """Show that a palette layer dropped now would go into this link."""
        if on != self._drop_target:
            self._drop_target = on
            self.update()

    def detach(self):
        for node in (self.src, self.dst):
            if self in node.links:
                node.links.remove(self)

    @property
    def key(self):
        return (self.src.name, self.dst.name)

    def update_path(self):
        a, b = self.src.out_anchor(), self.dst.in_anchor()
        self.setPath(link_path(a, b))
        self._arrow = arrow_head(b)

    def shape(self):  # noqa: A003
        from PySide6.QtGui import QPainterPathStroker

        s = QPainterPathStroker()
        s.setWidth(10)
        return s.createStroke(self.path())

    def hoverEnterEvent(self, event):  # noqa: N802
        self._hover = True
        self.update()

    def hoverLeaveEvent(self, event):  # noqa: N802
        self._hover = False
        self.update()

    def boundingRect(self):  # noqa: N802
        return super().boundingRect().adjusted(-8, -8, 8, 8)

    def paint(self, painter, option, widget=None):
        painter.setRenderHint(QPainter.Antialiasing)
        color = QColor("#3182ce") if self.isSelected() else QColor("#718096")
        if self._hover:
            color = color.darker(130)
        width = 3.0 if self.isSelected() else 2.0
        if self._drop_target:
            color, width = QColor("#dd6b20"), 4.0
        painter.setPen(QPen(color, width, Qt.SolidLine, Qt.RoundCap))
        painter.setBrush(Qt.NoBrush)
        painter.drawPath(self.path())
        painter.setPen(Qt.NoPen)
        painter.setBrush(QBrush(color))
        painter.drawPolygon(self._arrow)


def link_path(a, b):
    """A link's curve from output anchor ``a`` to input anchor ``b``. A link that runs backwards
    (a wrapped layout's next band) goes round: out to the right, along the gap between the bands,
    and in from the left, with rounded corners."""
    end = QPointF(b.x() - PORT_R - 4, b.y())
    path = QPainterPath(a)
    if b.x() >= a.x() + 20 or abs(b.y() - a.y()) < 40:
        dx = max(40.0, abs(end.x() - a.x()) * 0.5)
        path.cubicTo(QPointF(a.x() + dx, a.y()), QPointF(end.x() - dx, end.y()), end)
        return path
    r = 14.0
    out_x, in_x = a.x() + 22, end.x() - 22
    mid_y = (a.y() + b.y()) / 2
    pts = [a, QPointF(out_x, a.y()), QPointF(out_x, mid_y), QPointF(in_x, mid_y), QPointF(in_x, end.y()), end]
    for i in range(1, len(pts) - 1):
        p0, p1, p2 = pts[i - 1], pts[i], pts[i + 1]
        d0 = QPointF(p1.x() - p0.x(), p1.y() - p0.y())
        d2 = QPointF(p2.x() - p1.x(), p2.y() - p1.y())
        l0 = max(1e-6, (d0.x() ** 2 + d0.y() ** 2) ** 0.5)
        l2 = max(1e-6, (d2.x() ** 2 + d2.y() ** 2) ** 0.5)
        rr = min(r, l0 / 2, l2 / 2)
        path.lineTo(QPointF(p1.x() - d0.x() / l0 * rr, p1.y() - d0.y() / l0 * rr))
        path.quadTo(p1, QPointF(p1.x() + d2.x() / l2 * rr, p1.y() + d2.y() / l2 * rr))
    path.lineTo(end)
    return path


def arrow_head(b):
    tip = QPointF(b.x() - PORT_R, b.y())
    s = 7.0
    return QPolygonF([tip, QPointF(tip.x() - s, tip.y() - s * 0.6), QPointF(tip.x() - s, tip.y() + s * 0.6)])


