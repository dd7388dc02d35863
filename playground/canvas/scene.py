"""The canvas scene: a live mirror of the network document.

The scene listens to the document's signals and creates, updates or removes node and link items.
Gestures (drop, connect, move, delete, paste) are turned into document edits, which come back as
signals; the scene never edits the network directly.
"""

from __future__ import annotations

import json

from PySide6.QtCore import QLineF, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsScene

from engine.errors import EngineError

from .commands import chain_ends, config_creates_cycle, delete_and_reconnect, nodes_clipboard, paste_entries
from .items import LinkItem, NodeItem, link_path
from .layout import auto_layout


def node_family(layer):
    return "Input" if layer.type_name == "Input" else (getattr(layer, "family", "") or "Core")


def sublayer_rows(layer):
    """[(name, type, params)] of a composite layer's sublayers, or [] for a plain layer."""
    fn = getattr(layer, "sublayers", None)
    if not callable(fn):
        return []
    try:
        subs = fn() or {}
    except Exception:  # noqa: BLE001 - display only
        return []
    rows = []
    for n, sub in subs.items():
        try:
            count = int(sum(p.size for p in sub.params.values())) if sub.params else None
        except Exception:  # noqa: BLE001
            count = None
        rows.append((str(n), type(sub).__name__, count))
    return rows


class CanvasScene(QGraphicsScene):
    """Mirrors a :class:`~playground.document.NetworkDocument` as node cards and links.

    Signals
    -------
    layer_selected(str) : the single selected node's name, or "" when zero or several are selected.
    message(str) : a sentence for the status bar (refused edits, hints).
    """

    layer_selected = Signal(str)
    message = Signal(str)

    def __init__(self, document, parent=None):
        super().__init__(parent)
        self.document = document
        self.nodes = {}
        self.links = {}
        self._tints = {}
        self._unfolded = set()
        self._link_src = None
        self._temp_link = None
        self._last_selected = None
        self._drop_link = None  # the link a palette drag is over (highlighted)
        #: [(undo command, names)]: what a delete took away, selected again when it is undone
        self._reselect = []
        self._undo_index = document.undo_stack.index()
        self.setSceneRect(-2000, -2000, 6000, 5000)
        self.setBackgroundBrush(QColor("#f4f6f9"))
        d = document
        d.reset.connect(self.rebuild)
        d.node_added.connect(self._on_node_added)
        d.node_removed.connect(self._on_node_removed)
        d.link_added.connect(self._on_link_added)
        d.link_removed.connect(self._on_link_removed)
        d.layer_changed.connect(self._on_layer_changed)
        d.node_moved.connect(self._on_node_moved)
        d.changed.connect(self.refresh_info)
        self.selectionChanged.connect(self._on_selection_changed)
        d.undo_stack.indexChanged.connect(self._on_undo_index)
        self.rebuild()

    # -- background grid -------------------------------------------------------------------------
    def drawBackground(self, painter, rect):  # noqa: N802
        super().drawBackground(painter, rect)
        step = 24
        painter.setPen(QPen(QColor("#e2e8f0"), 1))
        left = int(rect.left()) - int(rect.left()) % step
        top = int(rect.top()) - int(rect.top()) % step
        lines = []
        x = left
        while x < rect.right():
            lines.append(QLineF(x, rect.top(), x, rect.bottom()))
            x += step
        y = top
        while y < rect.bottom():
            lines.append(QLineF(rect.left(), y, rect.right(), y))
            y += step
        painter.drawLines(lines)

    # -- mirroring the document ------------------------------------------------------------------
    def rebuild(self):
        """Drop every item and mirror the whole document again (after new/open)."""
        self._reselect.clear()
        self._undo_index = self.document.undo_stack.index()
        self._link_src = None
        self._temp_link = None
        self._drop_link = None
        self.clear()
        self.nodes.clear()
        self.links.clear()
        self._tints.clear()
        self._unfolded.clear()  # a new document: its blocks start folded
        net = self.document.network
        missing = [n for n in net.nodes if self.document.node_pos(n) is None]
        if missing:
            pos = auto_layout(net)
            for n in missing:
                net.nodes[n].meta["pos"] = [float(pos[n][0]), float(pos[n][1])]
        for name in net.nodes:
            self._make_node(name)
        self.refresh_info()
        if self._crowded():
            # positions that make cards overlap or links invisible: lay out afresh (not an edit)
            heights = {n: item.height() for n, item in self.nodes.items()}
            for n, p in auto_layout(net, heights).items():
                net.nodes[n].meta["pos"] = [float(p[0]), float(p[1])]
                self.nodes[n].setPos(*p)
        for name, node in net.nodes.items():
            for src in node.inputs:
                self._make_link(src, name)

    def _crowded(self, gap=30.0):
        rects = [item.sceneBoundingRect().adjusted(-gap / 2, -gap / 2, gap / 2, gap / 2) for item in self.nodes.values()]
        for i in range(len(rects)):
            for j in range(i + 1, len(rects)):
                if rects[i].intersects(rects[j]):
                    return True
        return False

    def _make_node(self, name):
        layer = self.document.network[name]
        item = NodeItem(name, layer.type_name, node_family(layer), getattr(layer, "description", ""))
        pos = self.document.node_pos(name) or (0.0, 0.0)
        item.setPos(*pos)
        self.addItem(item)
        self.nodes[name] = item
        item.set_sublayers(sublayer_rows(layer))
        item.in_port.setVisible(getattr(layer, "n_inputs", 1) != 0)  # nothing feeds an Input
        if name in self._unfolded:
            item.set_unfolded(True)
        return item

    def _make_link(self, src, dst):
        if (src, dst) in self.links or src not in self.nodes or dst not in self.nodes:
            return
        link = LinkItem(self.nodes[src], self.nodes[dst])
        self.addItem(link)
        self.links[(src, dst)] = link

    def _on_node_added(self, name):
        self._make_node(name)

    def _on_node_removed(self, name):
        item = self.nodes.pop(name, None)
        self._tints.pop(name, None)
        if item is not None:
            for link in list(item.links):
                self._drop_link_item(link)
            self.removeItem(item)

    def _drop_link_item(self, link):
        if link is self._drop_link:
            self._drop_link = None
        self.links.pop(link.key, None)
        link.detach()
        if link.scene() is self:
            self.removeItem(link)

    def _on_link_added(self, src, dst):
        self._make_link(src, dst)

    def _on_link_removed(self, src, dst):
        link = self.links.get((src, dst))
        if link is not None:
            self._drop_link_item(link)

    def _on_layer_changed(self, name):
        item = self.nodes.get(name)
        if item is None:
            return
        layer = self.document.network[name]
        item.set_type(layer.type_name, node_family(layer), getattr(layer, "description", ""))
        item.set_sublayers(sublayer_rows(layer))

    def _on_node_moved(self, name):
        item = self.nodes.get(name)
        pos = self.document.node_pos(name)
        if item is not None and pos is not None:
            item.setPos(*pos)

    def refresh_info(self):
        """Recompute every node's output shape, parameter count and error (live, no data)."""
        try:
            rows = self.document.summary_rows()
        except EngineError as exc:  # a broken graph: show it on the culprit if known
            rows = []
            self.message.emit(str(exc))
        for r in rows:
            item = self.nodes.get(r["name"])
            if item is not None:
                item.set_info(r["shape"], r["params"], r["error"], r.get("notes", ()), r.get("trainable", True))

    # -- selection -------------------------------------------------------------------------------
    def selected_node_names(self):
        return [i.name for i in self.selectedItems() if isinstance(i, NodeItem)]

    def selected_links(self):
        return [i.key for i in self.selectedItems() if isinstance(i, LinkItem)]

    def select_node(self, name):
        self.clearSelection()
        if name in self.nodes:
            self.nodes[name].setSelected(True)

    def reveal(self, names):
        """Scroll every view so the cards ``names`` are in sight (a layer put into a link or
        pasted after one may land below the visible part)."""
        rect = None
        for n in names:
            if n in self.nodes:
                r = self.nodes[n].sceneBoundingRect()
                rect = r if rect is None else rect.united(r)
        if rect is not None:
            for view in self.views():
                view.ensureVisible(rect, 40, 40)

    def _on_selection_changed(self):
        names = self.selected_node_names()
        current = names[0] if len(names) == 1 else ""
        if current != self._last_selected:
            self._last_selected = current
            self.layer_selected.emit(current)

    # -- health overlay (the training dock) ------------------------------------------------------
    def set_node_tint(self, node_name, color, hint=""):
        """Tint a node's body (``QColor`` or None to clear) and show ``hint`` under it and in its tooltip."""
        item = self.nodes.get(node_name)
        if item is None:
            return
        if color is None:
            self._tints.pop(node_name, None)
            item.set_tint(None, "")
        else:
            self._tints[node_name] = (QColor(color), hint)
            item.set_tint(QColor(color), hint)

    def clear_tints(self):
        for name in list(self._tints):
            self.set_node_tint(name, None)

    # -- gestures -> document edits --------------------------------------------------------------
    def _try(self, fn, *args, **kw):
        try:
            return fn(*args, **kw)
        except EngineError as exc:
            self.message.emit(str(exc))
            return None

    def add_layer_at(self, type_name, scene_pos, onto_link=False):
        """Add a layer from the palette at ``scene_pos`` (its top-left corner is placed there,
        centred on the drop point). With ``onto_link`` (a drop from the palette) and a link under
        ``scene_pos``, the layer goes into that link (:meth:`insert_on_link`). Returns the node's
        name or None."""
        link = self.link_at(scene_pos) if onto_link and self._takes_input(type_name) else None
        self.set_drop_target(None)
        pos = (scene_pos.x() - 92.0, scene_pos.y() - 30.0)
        if link is not None:
            name = self.insert_on_link(type_name, link.key, pos)
        else:
            name = self._try(self.document.add_layer, type_name, pos=pos)
        if name:
            self.select_node(name)
            self.reveal([name])
        return name

    def insert_on_link(self, type_name, link, pos):
        """Put a fresh ``type_name`` layer into the link ``(src, dst)`` (src -> new -> dst, at the
        same input index of dst) as one undo step; returns its name or None."""
        from ..document import default_layer_config

        src, dst = link
        try:
            cfg = default_layer_config(type_name)
        except EngineError as exc:
            self.message.emit(str(exc))
            return None
        cfg.pop("name", None)
        name = self.document.network.unique_name(type_name)
        pos = self._free_spot(*pos)  # a card dropped on a short link would cover its two ends

        def mutate(c):
            for e in c["nodes"]:
                if e["name"] == dst:
                    if src not in e["inputs"]:
                        return False
                    e["inputs"] = [name if s == src else s for s in e["inputs"]]
            c["nodes"].append({"name": name, "type": type_name, "config": cfg, "inputs": [src],
                               "meta": {"pos": [float(pos[0]), float(pos[1])]}})

        had = self._errors()
        if not self._try(self.document.edit_graph, f"Add {type_name} '{name}' between {src} and {dst}", mutate):
            return None
        self.message.emit(f"Inserted {name} between {src} and {dst} (Ctrl+L tidies the layout, Ctrl+Z undoes)"
                          + self._new_error(had))
        return name

    def _errors(self):
        """{node: its shape error} of the network now."""
        return {r["name"]: r["error"] for r in self.document.summary_rows() if r.get("error")}

    def _new_error(self, had):
        """'. <reason>' for the first node (in graph order) an edit turned red, else ''."""
        for name, error in self._errors().items():
            if had.get(name) != error:
                return f". {error}"
        return ""

    def insert_on_selected_link(self, type_name):
        """The palette's double-click with one link (and no layer) selected: the layer goes into
        that link. Returns its name, False when the edit was refused, or None when no single link
        is selected (or ``type_name`` takes no input)."""
        links = self.selected_links()
        if self.selected_node_names() or len(links) != 1 or not self._takes_input(type_name):
            return None
        mid = self.links[links[0]].path().pointAtPercent(0.5)
        name = self.insert_on_link(type_name, links[0], (mid.x() - 92.0, mid.y() - 30.0))
        if not name:
            return False
        self.select_node(name)
        self.reveal([name])
        return name

    def link_at(self, scene_pos):
        """The link under ``scene_pos`` (not under a card), or None."""
        if self.node_at(scene_pos) is not None:
            return None
        for item in self.items(scene_pos):
            if isinstance(item, LinkItem):
                return item
        return None

    def set_drop_target(self, scene_pos, type_name=None):
        """Highlight the link a palette drag at ``scene_pos`` would go into (None clears it)."""
        link = None
        if scene_pos is not None and type_name and self._takes_input(type_name):
            link = self.link_at(scene_pos)
        if link is self._drop_link:
            return link
        if self._drop_link is not None and self._drop_link.scene() is self:
            self._drop_link.set_drop_target(False)
        left = self._drop_link is not None and link is None
        self._drop_link = link
        if left:  # off the link (or the drag left, or dropped elsewhere): the hint no longer holds
            self.message.emit("")
        if link is not None:
            link.set_drop_target(True)
            self.message.emit(f"Drop to put the {type_name} between {link.key[0]} and {link.key[1]}")
        return link

    def commit_moves(self):
        """Turn node drags into one undoable move of every node that moved."""
        moved = {}
        for name, item in self.nodes.items():
            p = self.document.node_pos(name)
            if p is None or abs(p[0] - item.x()) > 0.5 or abs(p[1] - item.y()) > 0.5:
                moved[name] = (item.x(), item.y())
        if moved:
            text = f"Move {next(iter(moved))}" if len(moved) == 1 else f"Move {len(moved)} layers"
            self._try(self.document.move_nodes, moved, text)

    def begin_link(self, src_item, scene_pos):
        self._link_src = src_item
        self._temp_link = QGraphicsPathItem()
        self._temp_link.setPen(QPen(QColor("#3182ce"), 2, ))
        self._temp_link.setZValue(5)
        self.addItem(self._temp_link)
        self.drag_link_to(scene_pos)

    def drag_link_to(self, scene_pos):
        if self._temp_link is not None and self._link_src is not None:
            self._temp_link.setPath(link_path(self._link_src.out_anchor(), scene_pos))

    def node_at(self, scene_pos):
        for item in self.items(scene_pos):
            while item is not None and not isinstance(item, NodeItem):
                item = item.parentItem()
            if isinstance(item, NodeItem):
                return item
        return None

    def end_link(self, scene_pos):
        src = self._link_src
        if self._temp_link is not None:
            self.removeItem(self._temp_link)
        self._temp_link = None
        self._link_src = None
        if src is None:
            return False
        dst = self.node_at(scene_pos)
        if dst is None or dst is src:
            return False
        return self.connect_nodes(src.name, dst.name)

    def connect_nodes(self, src, dst):
        """Feed ``src`` into ``dst``; the status bar says when the link took the place of another
        one (a one-input layer keeps one input: the old link went without a word before)."""
        net = self.document.network
        old = list(net.nodes[dst].inputs) if dst in net.nodes and net[dst].n_inputs == 1 else []
        if not self._try(self.document.connect, src, dst):
            return False
        msg = f"Connected {src} \u2192 {dst}"
        old = [s for s in old if s != src]
        if old:
            msg += f" in place of {old[0]} \u2192 {dst} (a {net[dst].type_name} takes one input)"
        self.message.emit(msg + " (Ctrl+Z undoes)")
        return True

    def delete_selection(self, verb="Delete"):
        """Delete the selected nodes and links as one undo step (``verb`` names it: "Cut" when a
        cut does the deleting) and say in the status bar what happened.

        A deleted chain link (one input) hands its consumers to its predecessor
        (:func:`~playground.canvas.commands.delete_and_reconnect`): delete conv2 from
        pool1 -> conv2 -> relu2 and pool1 feeds relu2. The link is made even when its shapes do not
        fit (delete a Flatten and the Dense after it turns red): a learner then reads the real
        reason on that node ("needs a flat (features,) input ... add a Flatten before it"), which
        says what the deleted layer was doing, where an unconnected node only says "has no input";
        one rule that does not depend on shapes is also easier to predict, and Ctrl+Z undoes it all.
        Where reconnecting is ambiguous (a deleted Add or Concatenate) nothing is reconnected and
        the status bar says so.
        """
        names = self.selected_node_names()
        links = [k for k in self.selected_links() if k[0] not in names and k[1] not in names]
        if not names and not links:
            return False
        if not names:
            return self._delete_links(links, verb)
        order = [n for n in self.document.network.nodes if n in set(names)]
        after = self.document.graph_config()
        n_inputs = {e["name"]: len(e.get("inputs", [])) for e in after["nodes"]}
        try:
            made, orphans = delete_and_reconnect(after, order, links, config_creates_cycle)
        except EngineError as exc:
            self.message.emit(str(exc))
            return False
        text = f"{verb} {', '.join(sorted(order))}"
        if len(made) == 1:
            text += f" (connect {made[0][0]} \u2192 {made[0][1]})"
        elif made:
            text += f" (reconnect {len(made)} links)"

        def mutate(c):
            c.clear()
            c.update(after)

        if not self._try(self.document.edit_graph, text, mutate):
            return False
        stack = self.document.undo_stack
        self._reselect = self._reselect[-50:] + [(stack.command(stack.index() - 1), order)]
        self.message.emit(self._deleted_message(verb, order, made, orphans, n_inputs))
        return True

    def _on_undo_index(self, index):
        """An undone delete gives back its layers selected (the inspector shows the one)."""
        previous, self._undo_index = self._undo_index, index
        if index >= previous or not self._reselect:
            return
        try:
            undone = self.document.undo_stack.command(index)
        except RuntimeError:  # the stack is going away with its window
            return
        for cmd, names in self._reselect:
            if cmd is undone:
                self.clearSelection()
                for n in names:
                    if n in self.nodes:
                        self.nodes[n].setSelected(True)
                break

    def _deleted_message(self, verb, order, made, orphans, n_inputs):
        past = {"Delete": "Deleted", "Cut": "Cut"}.get(verb, verb)
        what = ", ".join(order) if len(order) <= 3 else f"{len(order)} layers"
        parts = [f"{past} {what}"]
        if made:
            parts.append("connected " + ", ".join(f"{a} \u2192 {b}" for a, b in made))
        for dst, blocker in orphans:
            n = n_inputs.get(blocker, 0)
            if n > 1:
                parts.append(f"{dst} is not reconnected: {blocker} had {n} inputs, connect the one that should feed it")
            elif dst in self.document.network.nodes and not self.document.network.nodes[dst].inputs:
                parts.append(f"{dst} has no input now")
            else:
                parts.append(f"{dst} lost its input from {blocker}")
        msg = "; ".join(parts) + " (Ctrl+Z undoes)"
        errors = {r["name"]: r["error"] for r in self.document.summary_rows() if r.get("error")}
        for _src, dst in made:
            if dst in errors:  # the reconnection does not fit: say why (the node is red too), after
                msg += f". {errors[dst]}"  # the undo hint (a long reason runs past the status bar)
                break
        return msg

    def _delete_links(self, links, verb):
        if len(links) == 1:
            text = f"{verb} link {links[0][0]} \u2192 {links[0][1]}"
        else:
            text = f"{verb} {len(links)} links"

        def mutate(c):
            delete_and_reconnect(c, (), links)

        if not self._try(self.document.edit_graph, text, mutate):
            return False
        past = {"Delete": "Deleted", "Cut": "Cut"}.get(verb, verb)
        nodes = self.document.network.nodes
        alone = list(dict.fromkeys(d for _s, d in links if d in nodes and not nodes[d].inputs))
        msg = f"{past} the link{'s' if len(links) > 1 else ''} " + ", ".join(f"{a} \u2192 {b}" for a, b in links)
        if alone:
            msg += f"; {', '.join(alone)} ha{'ve' if len(alone) > 1 else 's'} no input now"
        self.message.emit(msg + " (Ctrl+Z undoes)")
        return True

    def copy_selection(self):
        """The selected nodes (and the links among them) as clipboard text, or None."""
        names = self.selected_node_names()
        if not names:
            return None
        return nodes_clipboard(self.document.graph_config(), names)

    def paste(self, text, offset=(40.0, 40.0)):
        """Paste nodes copied by :meth:`copy_selection`; returns the new names.

        With one layer selected and a chain on the clipboard (one layer, or layers each feeding
        the next), the chain follows the selected layer, inserted before the layer it fed, as the
        palette's double-click does: cut conv2, select relu3, paste, and conv2 has moved there.
        Otherwise the copies land unconnected, ``offset`` from the originals."""
        try:
            data = json.loads(text)
        except (TypeError, ValueError):
            self.message.emit("the clipboard holds no layers to paste")
            return []
        entries = paste_entries(data, set(self.document.network.nodes), self.document.network.unique_name, offset)
        if not entries:
            self.message.emit("the clipboard holds no layers to paste")
            return []
        what = entries[0]["name"] if len(entries) == 1 else f"{len(entries)} layers"
        selected = self.selected_node_names()
        ends = chain_ends(entries)
        if len(selected) == 1 and ends is not None and self._takes_input(ends[0]["type"]):
            names = self._paste_after(entries, ends, selected[0], what)
        else:
            ok = self._try(self.document.add_nodes, entries, f"Paste {what}")
            names = [e["name"] for e in entries] if ok else []
            if names:
                self.message.emit(f"Pasted {what}, unconnected (select a layer before pasting to put "
                                  "a copied chain after it; Ctrl+Z undoes)")
        if not names:
            return []
        self.clearSelection()
        for n in names:
            if n in self.nodes:
                self.nodes[n].setSelected(True)
        self.reveal(names)
        return names

    @staticmethod
    def _takes_input(type_name):
        from engine.layers import LAYER_TYPES

        cls = LAYER_TYPES.get(type_name)
        return cls is not None and getattr(cls, "n_inputs", 1) != 0

    def _paste_after(self, entries, ends, after, what):
        """Add the chain ``entries`` fed by ``after``, before the one layer ``after`` fed."""
        head, tail = ends
        net = self.document.network
        consumers = [n for n, node in net.nodes.items() if after in node.inputs]
        item = self.nodes.get(after)
        if item is not None:  # the chain's head below the layer it follows, clear of other cards
            x, y = self._free_spot(item.x() + 40.0, item.y() + item.height() + 40.0, exclude=())
            hx, hy = head["meta"]["pos"]
            for e in entries:
                px, py = e["meta"]["pos"]
                e["meta"]["pos"] = [float(px - hx + x), float(py - hy + y)]
        head["inputs"] = [after]
        between = len(consumers) == 1

        def mutate(c):
            if between:
                for e in c["nodes"]:
                    if e["name"] == consumers[0]:
                        e["inputs"] = [tail["name"] if s == after else s for s in e["inputs"]]
            c["nodes"].extend(entries)

        where = f"between {after} and {consumers[0]}" if between else f"after {after}"
        had = self._errors()
        if not self._try(self.document.edit_graph, f"Paste {what} {where}", mutate):
            return []
        self.message.emit(f"Pasted {what} {where} (Ctrl+L tidies the layout, Ctrl+Z undoes)" + self._new_error(had))
        return [e["name"] for e in entries]

    def _free_spot(self, x, y, exclude=(), height=90.0):
        """The first place at or below (x, y) where a card overlaps no other one."""
        from PySide6.QtCore import QRectF

        from .items import NODE_WIDTH

        taken = [it.sceneBoundingRect() for n, it in self.nodes.items() if n not in exclude]
        for k in range(60):
            r = QRectF(x, y + 50.0 * k, NODE_WIDTH, height)
            if not any(r.intersects(t) for t in taken):
                return (x, y + 50.0 * k)
        return (x, y)

    def auto_layout(self):
        heights = {n: item.height() for n, item in self.nodes.items()}
        pos = auto_layout(self.document.network, heights)
        changed = {n: p for n, p in pos.items() if self.document.node_pos(n) != (float(p[0]), float(p[1]))}
        if changed:
            self._try(self.document.move_nodes, changed, "Auto-layout")

    def toggle_unfold(self, name):
        item = self.nodes.get(name)
        if item is not None and item.sublayers:
            item.set_unfolded(not item.unfolded)
            (self._unfolded.add if item.unfolded else self._unfolded.discard)(name)
            return True
        return False

    def items_rect(self):
        rect = None
        for item in self.nodes.values():
            r = item.sceneBoundingRect()
            rect = r if rect is None else rect.united(r)
        return rect


