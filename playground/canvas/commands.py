"""Clipboard helpers of the canvas.

Every edit is a :class:`~playground.document.GraphEditCommand` (graph config before/after) pushed
by the document's edit methods; this module adds what copy/paste needs: turning selected nodes into
clipboard text and clipboard text back into fresh, uniquely named node entries.
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
