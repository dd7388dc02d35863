"""Element-wise layers of a residual block: BatchNorm, ReLU and Add, forward + backward.

Times, on a (32, 64, 16, 16) float32 batch (the residual block of bench_conv.py):

- BatchNorm forward(training=True) + backward, and forward(training=False) (inference),
- Activation('relu') forward(training=True) + backward,
- Add forward + backward,

best of ``--rounds`` rounds of ``--steps`` calls each (the machine is shared: the best round is the
least disturbed). ``NNPLAY_THREADS=1`` runs everything in the calling thread (engine.parallel).

    python benchmarks/bench_elementwise.py [--rounds 15] [--steps 20] [--shape 32,64,16,16] [--json]
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.layers.activations import Activation  # noqa: E402
from engine.layers.merge import Add  # noqa: E402
from engine.layers.normalization import BatchNorm  # noqa: E402


def cases(shape, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    x2 = rng.standard_normal(shape).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    bn = BatchNorm()
    bn.build([shape[1:]], dtype=dtype)
    relu = Activation("relu")
    add = Add()

    def bn_train():
        bn.forward(x, training=True)
        bn.backward(dy)

    def bn_infer():
        bn.forward(x, training=False)

    def relu_train():
        relu.forward(x, training=True)
        relu.backward(dy)

    def add_train():
        add.forward(x, x2, training=True)
        add.backward(dy)

    return {"batchnorm_fwd_bwd": bn_train, "batchnorm_inference": bn_infer,
            "relu_fwd_bwd": relu_train, "add_fwd_bwd": add_train}


def best_ms(fn, rounds, steps):
    fn()
    fn()
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(steps):
            fn()
        best = min(best, (time.perf_counter() - t) / steps)
    return best * 1e3


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--shape", default="32,64,16,16")
    ap.add_argument("--float64", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    shape = tuple(int(s) for s in args.shape.split(","))
    dtype = np.float64 if args.float64 else np.float32
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    out = {"shape": shape, "dtype": np.dtype(dtype).name, "load_before": load,
           "threads": os.environ.get("NNPLAY_THREADS", "auto")}
    for name, fn in cases(shape, dtype).items():
        out[name] = best_ms(fn, args.rounds, args.steps)
        print(f"{name:22s} {out[name]:7.3f} ms")
    print(f"(load average {load:.2f} before, NNPLAY_THREADS={out['threads']})")
    if args.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
