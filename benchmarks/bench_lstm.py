"""Time one training step (forward + backward) of an LSTM layer against torch.nn.LSTM on the CPU.

Sequence 30, input 32, hidden 128, batch 64, float32, return_sequences (every a<t> feeds the cost).
Torch runs with 2 threads in the same process. Prints both medians and the ratio ours / torch
(target <= 1.5). Run: python benchmarks/bench_lstm.py [--repeats 30]
"""

import argparse
import json
import time

import numpy as np

from engine.layers.recurrent import LSTM

T, F, H, N = 30, 32, 128, 64


def _median_time(fn, repeats, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def bench_ours(repeats):
    rng = np.random.default_rng(0)
    layer = LSTM(units=H, return_sequences=True)
    layer.build([(T, F)], rng, np.float32)
    x = rng.standard_normal((N, T, F)).astype(np.float32)
    dy = rng.standard_normal((N, T, H)).astype(np.float32)

    def step():
        layer.forward(x, training=True)
        layer.backward(dy)

    return _median_time(step, repeats)


def bench_torch(repeats):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(2)
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(F, H, batch_first=True)
    x = torch.randn(N, T, F, requires_grad=True)
    dy = torch.randn(N, T, H)

    def step():
        lstm.zero_grad(set_to_none=True)
        x.grad = None
        y, _ = lstm(x)
        y.backward(dy)

    return _median_time(step, repeats)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args(argv)
    ours = bench_ours(args.repeats)
    theirs = bench_torch(args.repeats)
    print(f"numpy LSTM step : {ours * 1e3:8.2f} ms")
    if theirs is None:
        print("torch not installed: no ratio")
        return
    print(f"torch LSTM step : {theirs * 1e3:8.2f} ms")
    print(f"ratio ours/torch: {ours / theirs:8.2f}  (target <= 1.5)")
    print(json.dumps({"ours_ms": ours * 1e3, "torch_ms": theirs * 1e3, "ratio": ours / theirs}))


if __name__ == "__main__":
    main()
