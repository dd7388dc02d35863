"""Edit helpers of the canvas (pure functions on graph configs, no Qt).

Every edit is a :class:`~playground.document.GraphEditCommand` (graph config before/after) pushed
by the document's edit methods; this module adds what copy/paste needs (turning selected nodes into
clipboard text and clipboard text back into fresh, uniquely named node entries) and what a delete
that closes the gap needs (:func:`delete_and_reconnect`).
"""

from __future__ import annotations

import copy
import json

CLIPBOARD_MIME = "application/x-network-playground-nodes"
CLIPBOARD_KIND = "network-playground-nodes"


def nodes_clipboard(graph_config, names):
    """JSON text holding the nodes ``names`` of ``graph_config``; links to nodes outside the
    selection are dropped (a pasted copy starts unconnected from the rest)."""
    names = set(names)
    nodes = []
    for e in graph_config.get("nodes", []):
        if e["name"] in names:
            e = copy.deepcopy(e)
            e["inputs"] = [s for s in e.get("inputs", []) if s in names]
            nodes.append(e)
    return json.dumps({"kind": CLIPBOARD_KIND, "nodes": nodes})


def paste_entries(data, taken, unique_name, offset=(40.0, 40.0)):
    """Node entries for a paste: new names (not in ``taken``), links remapped, positions shifted."""
    if not isinstance(data, dict) or data.get("kind") != CLIPBOARD_KIND:
        return []
    taken = set(taken)
    rename = {}
    out = []
    nodes = data.get("nodes")
    for e in nodes if isinstance(nodes, list) else []:
        if not (isinstance(e, dict) and isinstance(e.get("name"), str) and isinstance(e.get("type"), str)):
            continue  # clipboard text from elsewhere: skip what is not a node entry
        base = e["type"]
        new = e["name"] if e["name"] not in taken else None
        if new is None:
            i = 1
            stem = unique_name(base).rsplit("_", 1)[0]
            while f"{stem}_{i}" in taken:
                i += 1
            new = f"{stem}_{i}"
        taken.add(new)
        rename[e["name"]] = new
        out.append(copy.deepcopy(e))
    for e in out:
        ins = e.get("inputs")
        e["inputs"] = [rename[s] for s in ins if isinstance(s, str) and s in rename] if isinstance(ins, list) else []
        e["name"] = rename[e["name"]]
        if not isinstance(e.get("meta"), dict):
            e["meta"] = {}
        pos = e["meta"].get("pos")
        if not (isinstance(pos, list) and len(pos) == 2 and all(isinstance(v, (int, float)) for v in pos)):
            pos = [0.0, 0.0]
        e["meta"]["pos"] = [float(pos[0]) + offset[0], float(pos[1]) + offset[1]]
    return out


def _chain_source(entries, name, doomed):
    """Follow ``name`` back through deleted one-input nodes to the surviving node that fed them.

    Returns ``(source, None)``, or ``(None, blocker)`` where ``blocker`` is the deleted node that
    had no input or several (an Add, a Concatenate: which of its inputs should take its place is
    not ours to guess) or ``(None, None)`` for a malformed graph."""
    seen = set()
    while name in doomed:
        if name in seen or name not in entries:
            return None, None
        seen.add(name)
        ins = entries[name].get("inputs", [])
        if len(ins) != 1:
            return None, name
        name = ins[0]
    return (name, None) if name in entries else (None, None)


def delete_and_reconnect(config, names, links=(), creates_cycle=None):
    """Delete the nodes ``names`` and the links ``[(src, dst), ...]`` from the graph ``config`` (in
    place) and close the gaps a deleted chain link leaves.

    A deleted node with exactly one input (``a -> b -> c``, delete ``b``) hands its consumers to
    its predecessor at the same input index (``a -> c``; an ``Add(b, x)`` becomes ``Add(a, x)``).
    Several deleted nodes in a row are followed back to the first surviving node. Nothing is
    reconnected through a deleted node with several inputs or none (ambiguous), into a consumer the
    predecessor already feeds (no duplicate links), along a link the user deleted in the same
    selection, or where ``creates_cycle(config, src, dst)`` (the config as edited so far) says the
    link would close a loop (:func:`config_creates_cycle`; cannot happen in a graph without loops,
    checked all the same).

    When the network lists its outputs and a deleted output had one input, that input becomes the
    output in its place (a deleted final softmax leaves the scores as the output).

    Returns
    -------
    made : list of (src, dst)
        The links added to close gaps, in graph order.
    orphans : list of (dst, blocker)
        Surviving consumers left without the input a deleted node gave them, and the deleted node
        (with several inputs or none) that made reconnecting ambiguous.
    """
    doomed = set(names)
    cut = {tuple(link) for link in links}
    entries = {e["name"]: e for e in config.get("nodes", [])}
    plan = []  # (dst, [("keep", src) | ("new", src)])
    made, orphans = [], []
    for e in config.get("nodes", []):
        if e["name"] in doomed:
            continue
        ins = e.get("inputs", [])
        if not any(s in doomed or (s, e["name"]) in cut for s in ins):
            continue
        kept = {s for s in ins if s not in doomed and (s, e["name"]) not in cut}
        new = []
        for s in ins:
            if s not in doomed:
                if (s, e["name"]) not in cut:
                    new.append(("keep", s))
                continue
            src, blocker = _chain_source(entries, s, doomed)
            if src is None:
                if blocker is not None and (e["name"], blocker) not in orphans:
                    orphans.append((e["name"], blocker))
                continue
            if src in kept or (src, e["name"]) in cut or any(t == src for _, t in new):
                continue
            new.append(("new", src))
        plan.append((e["name"], new))
    outputs = config.get("outputs")
    heirs = {}
    if isinstance(outputs, list):
        for o in outputs:
            if o in doomed:
                src, _ = _chain_source(entries, o, doomed)
                if src is not None and src not in outputs and src not in heirs.values():
                    heirs[o] = src
    # the deletion itself
    config["nodes"] = [e for e in config.get("nodes", []) if e["name"] not in doomed]
    for e in config["nodes"]:
        e["inputs"] = [s for s in e.get("inputs", []) if s not in doomed and (s, e["name"]) not in cut]
    if isinstance(outputs, list):
        config["outputs"] = [heirs.get(o, o) for o in outputs if o not in doomed or o in heirs]
        if not config["outputs"]:
            del config["outputs"]
    # closing the gaps, one link at a time so each cycle check sees the links made before it
    entries = {e["name"]: e for e in config["nodes"]}
    for dst, new in plan:
        keeps = [src for kind, src in new if kind == "keep"]
        ins = []
        for kind, src in new:
            if kind == "new":
                if creates_cycle is not None:
                    entries[dst]["inputs"] = list(dict.fromkeys(ins + keeps))  # the graph so far
                    if creates_cycle(config, src, dst):
                        continue
                made.append((src, dst))
            ins.append(src)
        entries[dst]["inputs"] = ins
    return made, orphans


def config_creates_cycle(config, src, dst):
    """True when feeding ``src`` into ``dst`` would close a loop in the graph ``config``
    (:meth:`engine.graph.Network.creates_cycle` on the config's network)."""
    from engine.graph import Network

    return Network.from_config(config).creates_cycle(src, dst)


def chain_ends(entries):
    """``(head, tail)`` when the node entries form one chain (each feeds the next; the head reads
    from none of them), else None. A single entry is its own head and tail."""
    if not entries:
        return None
    names = {e["name"] for e in entries}
    feeds = {}
    head = None
    for e in entries:
        ins = [s for s in e.get("inputs", []) if s in names]
        if len(ins) > 1 or len(ins) != len(e.get("inputs", [])):
            return None
        if not ins:
            if head is not None:
                return None
            head = e
        elif feeds.setdefault(ins[0], e["name"]) != e["name"]:
            return None  # a fork
    by_name = {e["name"]: e for e in entries}
    node, seen = head, set()
    while node is not None and node["name"] not in seen:
        seen.add(node["name"])
        nxt = feeds.get(node["name"])
        if nxt is None:
            break
        node = by_name[nxt]
    return (head, node) if head is not None and len(seen) == len(entries) else None
