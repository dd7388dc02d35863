"""Automatic layout: nodes placed in layers by topological depth (a simple Sugiyama-style layout).

Depth d (the longest path from an input) picks the column; nodes of one column are ordered by the
mean row of the nodes that feed them, so links cross little. Long chains wrap into bands, like
lines of text, so a 12-layer network stays legible without zooming out too far.
"""

from __future__ import annotations

from engine.errors import GraphError

COL_W = 236.0
ROW_H = 132.0


def depths(network):
    """Longest-path depth of every node (inputs at 0); nodes on a cycle go last."""
    try:
        order = network.topological_order()
    except GraphError:
        order = list(network.nodes)
    depth = {}
    for name in order:
        ins = [s for s in network.nodes[name].inputs if s in depth]
        depth[name] = 1 + max((depth[s] for s in ins), default=-1)
    return depth


def auto_layout(network, heights=None, max_columns=6, col_w=COL_W, row_h=ROW_H):
    """Positions ``{name: (x, y)}`` for every node of ``network``.

    heights : optional {name: item height}, so tall (unfolded or erroring) nodes do not overlap.
    max_columns : columns per band before a long network wraps onto the next band.
    """
    heights = heights or {}
    depth = depths(network)
    if not depth:
        return {}
    n_cols = max(depth.values()) + 1
    columns = [[] for _ in range(n_cols)]
    for name in network.nodes:
        columns[depth[name]].append(name)
    row = {}
    for d, col in enumerate(columns):
        if d > 0:
            def bary(n):
                srcs = [row[s] for s in network.nodes[n].inputs if s in row]
                return sum(srcs) / len(srcs) if srcs else 0.0
            col.sort(key=bary)
        for i, n in enumerate(col):
            row[n] = i
    # wrap long chains into bands when a band would be wider than max_columns
    wrap = n_cols > max_columns
    per_band = max_columns if wrap else n_cols
    if wrap:
        # balance the bands so the last one is not nearly empty
        bands = -(-n_cols // max_columns)
        per_band = -(-n_cols // bands)
    positions = {}
    band_top = 0.0
    for b in range(0, n_cols, per_band):
        band_cols = columns[b:b + per_band]
        band_height = 0.0
        for j, col in enumerate(band_cols):
            y = band_top
            for n in col:
                positions[n] = (j * col_w, y)
                y += max(row_h, heights.get(n, 0.0) + 36.0)
            band_height = max(band_height, y - band_top)
        band_top += band_height + 30.0
    return positions
