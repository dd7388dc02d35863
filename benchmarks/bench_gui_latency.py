"""GUI responsiveness while the digits MLP trains in the training dock's worker thread.

Measures
- event-loop latency: a QTimer asks for a tick every 10 ms; lateness = time between two ticks
  minus 10 ms. Target: 99th percentile < 50 ms.
- plot refresh rate: redraws of the live plots per second of training. Target: >= 10 per second.

The dock is shown (offscreen unless QT_QPA_PLATFORM says otherwise) at 1400x720 with the Curves
tab (cost, accuracy, learning rate, gradient norms) visible, as a user would watch it.

    python benchmarks/bench_gui_latency.py [--seconds 20 | --seconds 0 --epochs 30] [--json out.json]
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def measure(epochs=30, preset="digits_mlp.json", interval_ms=10, idle_seconds=1.0, seconds=None):
    """Train ``epochs`` epochs (or, with ``seconds``, as many as fit in that time, then Stop)."""
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from engine.io import load_document
    from playground.training.dock import TrainingDock
    from playground.training.history import RunHistory

    app = QApplication.instance() or QApplication([])
    doc = load_document(os.path.join(ROOT, "presets", preset))
    doc.training["epochs"] = 100000 if seconds else int(epochs)
    dock = TrainingDock(history=RunHistory(":memory:"))
    dock.resize(1400, 720)
    dock.show()
    dock.set_document(doc)
    dock.set_selected_layer("relu_1" if "relu_1" in doc.network.nodes else None)
    app.processEvents()

    ticks = []
    clock = QElapsedTimer()
    clock.start()
    timer = QTimer()
    timer.setInterval(interval_ms)
    timer.timeout.connect(lambda: ticks.append(clock.nsecsElapsed() / 1e6))

    def lateness(ts):
        d = np.diff(np.asarray(ts)) - interval_ms
        return np.clip(d, 0, None)

    # idle baseline
    loop = QEventLoop()
    timer.start()
    QTimer.singleShot(int(idle_seconds * 1000), loop.quit)
    loop.exec()
    idle = lateness(ticks)
    ticks.clear()

    # during training
    done = []
    dock.training_finished.connect(lambda r: (done.append(r), loop.quit()))
    t0 = time.monotonic()
    dock.train()
    if seconds:
        QTimer.singleShot(int(seconds * 1000), dock.stop)
    loop.exec()
    t1 = time.monotonic()
    timer.stop()
    busy = lateness(ticks)
    refreshes = [t for t in dock.refresh_times if t0 <= t <= t1]
    result = done[0] if done else {}
    dock.shutdown()
    train_seconds = t1 - t0
    return {
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "cpus": os.cpu_count(),
        "preset": preset, "epochs": int(result.get("epochs") or 0), "train_seconds": round(train_seconds, 3),
        "test_accuracy": result.get("test_accuracy"),
        "idle_latency_ms": {"p50": float(np.percentile(idle, 50)), "p99": float(np.percentile(idle, 99)),
                            "max": float(idle.max())},
        "latency_ms": {"p50": float(np.percentile(busy, 50)), "p99": float(np.percentile(busy, 99)),
                       "max": float(busy.max()), "ticks": int(len(busy) + 1)},
        "plot_refreshes": len(refreshes),
        "plot_refresh_per_s": len(refreshes) / train_seconds if train_seconds > 0 else 0.0,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=20.0,
                    help="train for this long, then press Stop (0: train --epochs epochs)")
    ap.add_argument("--preset", default="digits_mlp.json")
    ap.add_argument("--json", default=None, help="also write the numbers to this file")
    ap.add_argument("--switch-interval", type=float, default=None,
                    help="override sys.setswitchinterval (seconds) to compare GIL hand-over settings")
    args = ap.parse_args(argv)
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    r = measure(args.epochs, args.preset, seconds=args.seconds or None)
    lat = r["latency_ms"]
    print(f"{r['preset']}: {r['epochs']} epochs in {r['train_seconds']:.1f} s, test accuracy "
          f"{r['test_accuracy']:.3f}")
    print(f"event-loop lateness idle:     p50 {r['idle_latency_ms']['p50']:.1f} ms, "
          f"p99 {r['idle_latency_ms']['p99']:.1f} ms")
    print(f"event-loop lateness training: p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms, "
          f"max {lat['max']:.1f} ms over {lat['ticks']} ticks  (target p99 < 50 ms: "
          f"{'OK' if lat['p99'] < 50 else 'MISSED'})")
    if r["load_average"]:
        print(f"machine: {r['cpus']} CPUs, load average {r['load_average'][0]:.1f} (other processes compete "
              f"for the same cores; numbers above are wall-clock)")
    print(f"plot refresh rate: {r['plot_refresh_per_s']:.1f} per second ({r['plot_refreshes']} redraws)  "
          f"(target >= 10/s: {'OK' if r['plot_refresh_per_s'] >= 10 else 'MISSED'})")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(r, f, indent=2)
    return r


if __name__ == "__main__":
    main()
