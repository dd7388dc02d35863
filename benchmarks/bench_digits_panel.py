"""Digits panel latency: from the end of a stroke (mouse release) to the updated bars.

Draws strokes on the pad with real mouse events (QTest press, moves, release) with the digits
CNN (presets/digits_cnn.json: conv 16 -> BN -> ReLU -> pool -> conv 32 -> BN -> ReLU -> pool ->
Dense 128 -> Dense 10) or another preset on the canvas, and times, per stroke:

- release -> bars: the mouse release handler, the MNIST-style preprocessing of the 280x280 pad,
  the network's forward pass and ``BarGraphItem.setOpts`` (the update happens inside the release
  event), plus the repaint of the bar chart (``viewport().repaint()``, forced so the time
  includes drawing the new bars). Target: median < 20 ms.
- its parts: preprocessing, forward pass, bars + repaint.

With ``--maps`` the Feature maps tab is visible, so each update also keeps the conv layers'
activations and draws their mosaics.

    python benchmarks/bench_digits_panel.py [--preset digits_cnn] [--strokes 40] [--maps]
        [--json artifacts/bench_digits_panel.json]
"""

import argparse
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def _stroke(rng):
    """A random digit-like stroke of 3-5 points across the pad."""
    n = int(rng.integers(3, 6))
    return [(int(x), int(y)) for x, y in zip(rng.integers(50, 230, n), np.sort(rng.integers(40, 240, n)))]


def measure(preset="digits_cnn", strokes=40, maps=False, warmup=5, seed=0):
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from playground.document import NetworkDocument
    from playground.panels.digits import DigitsPanel
    from engine.vision import digits as vd

    doc = NetworkDocument()
    doc.load(os.path.join(ROOT, "presets", preset + ".json"))
    panel = DigitsPanel(doc, samples_path=os.path.join(tempfile.mkdtemp(), "s.npz"))
    panel.resize(1180, 360)
    panel.show()
    panel.tabs.setCurrentIndex(0 if maps else 1)
    app.processEvents()
    net = doc.network
    rng = np.random.default_rng(seed)
    totals, pre, fwd, bars = [], [], [], []
    for i in range(warmup + strokes):
        if i % 3 == 0:
            panel.pad.clear()
        pts = [QPoint(x, y) for x, y in _stroke(rng)]
        QTest.mousePress(panel.pad, Qt.LeftButton, Qt.NoModifier, pts[0])
        for a, b in zip(pts, pts[1:]):
            for k in range(1, 5):
                QTest.mouseMove(panel.pad, a + (b - a) * (k / 4))
        app.processEvents()
        t0 = time.perf_counter()
        QTest.mouseRelease(panel.pad, Qt.LeftButton, Qt.NoModifier, pts[-1])
        panel.plot.viewport().repaint()
        t1 = time.perf_counter()
        # the parts, timed again on the same drawing
        a = time.perf_counter()
        digit = vd.mnist_preprocess(panel.pad.array())
        b = time.perf_counter()
        net.forward(vd.as_network_input(digit, panel.input_shape), training=False)
        c = time.perf_counter()
        panel.bars.setOpts(height=panel.probs, brushes=panel.bars.opts["brushes"])
        panel.plot.viewport().repaint()
        d = time.perf_counter()
        if i >= warmup:
            totals.append(t1 - t0)
            pre.append(b - a)
            fwd.append(c - b)
            bars.append(d - c)
    ms = lambda v, q: float(np.percentile(np.asarray(v) * 1e3, q))  # noqa: E731
    out = {
        "preset": preset, "strokes": strokes, "feature_maps": bool(maps),
        "release_to_bars_ms_median": ms(totals, 50), "release_to_bars_ms_p90": ms(totals, 90),
        "preprocess_ms_median": ms(pre, 50), "forward_ms_median": ms(fwd, 50),
        "bars_and_repaint_ms_median": ms(bars, 50), "target_ms": 20.0,
    }
    out["meets_target"] = out["release_to_bars_ms_median"] < out["target_ms"]
    panel.close()
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="digits_cnn")
    ap.add_argument("--strokes", type=int, default=40)
    ap.add_argument("--maps", action="store_true", help="show the Feature maps tab while drawing")
    ap.add_argument("--json", default=None, help="also write the numbers to this file")
    args = ap.parse_args(argv)
    res = measure(args.preset, args.strokes, args.maps)
    for k, v in res.items():
        print(f"{k:30s} {v:.2f}" if isinstance(v, float) else f"{k:30s} {v}")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(res, fh, indent=1)
    return 0 if res["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
