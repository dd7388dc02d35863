"""Time one training step (forward + backward) of an LSTM layer against torch.nn.LSTM on the CPU.

Sequence 30, input 32, hidden 128, batch 64, float32, return_sequences (every a<t> feeds the cost).
Torch runs with 2 threads in the same process. Prints both medians, the ratio ours / torch of the
medians and of the best times (target <= 1.5), and the machine's load average before and after (the
machine is shared: under load from other processes single runs are noisy, so compare ratios taken at
low load). ``--layer gru`` / ``--layer rnn`` time our GRU / SimpleRNN against torch.nn.GRU / nn.RNN
(tanh) the same way (torch's GRU applies Γr after its recurrent product, ours before: same size of
products). Run: python benchmarks/bench_lstm.py [--layer lstm] [--repeats 30] [--rounds 4] [--blas-threads 1]
"""

import argparse
import json
import os
import sys
import time

if __name__ == "__main__" and "--blas-threads" in sys.argv:  # must be set before numpy loads
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = \
        sys.argv[sys.argv.index("--blas-threads") + 1]

import numpy as np  # noqa: E402

from engine.layers.recurrent import GRU, LSTM, SimpleRNN  # noqa: E402

T, F, H, N = 30, 32, 128, 64
#: --layer: (our class, torch.nn class name)
LAYERS = {"lstm": (LSTM, "LSTM"), "gru": (GRU, "GRU"), "rnn": (SimpleRNN, "RNN")}


def _ours(kind="lstm"):
    rng = np.random.default_rng(0)
    layer = LAYERS[kind][0](units=H, return_sequences=True)
    layer.build([(T, F)], rng, np.float32)
    x = rng.standard_normal((N, T, F)).astype(np.float32)
    dy = rng.standard_normal((N, T, H)).astype(np.float32)

    def step():
        layer.forward(x, training=True)
        layer.backward(dy)

    return step


def _torch(kind="lstm"):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(2)
    torch.manual_seed(0)
    lstm = getattr(torch.nn, LAYERS[kind][1])(F, H, batch_first=True)
    x = torch.randn(N, T, F, requires_grad=True)
    dy = torch.randn(N, T, H)

    def step():
        lstm.zero_grad(set_to_none=True)
        x.grad = None
        y, _ = lstm(x)
        y.backward(dy)

    return step


def _time(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _block(fn, repeats, warmup=3):
    for _ in range(warmup):
        fn()
    return np.array([_time(fn) for _ in range(repeats)])


def measure(repeats=30, rounds=4, kind="lstm"):
    """Time the two steps in separate blocks (ours, pause, torch, pause; ``rounds`` times).

    Blocks rather than interleaving: each library's idle worker threads keep spinning for a while
    after a call and would slow the other down. Returns the per-side times (s) of the round whose
    median was lowest, so a burst of load from other processes distorts less.
    """
    ours, theirs = _ours(kind), _torch(kind)
    best_a = best_b = None
    for _ in range(rounds):
        a = _block(ours, repeats)
        if best_a is None or np.median(a) < np.median(best_a):
            best_a = a
        time.sleep(0.3)
        if theirs:
            b = _block(theirs, repeats)
            if best_b is None or np.median(b) < np.median(best_b):
                best_b = b
            time.sleep(0.3)
    return best_a, best_b


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layer", choices=sorted(LAYERS), default="lstm", help="which recurrent layer to time")
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=4, help="blocks per side; the block with the lowest median counts")
    ap.add_argument("--blas-threads", type=int, default=None,
                    help="threads of NumPy's BLAS (OPENBLAS_NUM_THREADS); torch always uses 2")
    args = ap.parse_args(argv)
    load_before = os.getloadavg()[0]
    ours, theirs = measure(args.repeats, args.rounds, args.layer)
    load_after = os.getloadavg()[0]
    print(f"load average (1 min): {load_before:.2f} before, {load_after:.2f} after, on {os.cpu_count()} cores")
    name = LAYERS[args.layer][1]
    print(f"numpy {name:4s} step: median {np.median(ours) * 1e3:8.2f} ms   best {ours.min() * 1e3:8.2f} ms")
    if theirs is None:
        print("torch not installed: no ratio")
        return
    print(f"torch {name:4s} step: median {np.median(theirs) * 1e3:8.2f} ms   best {theirs.min() * 1e3:8.2f} ms")
    ratio = float(np.median(ours) / np.median(theirs))
    best_ratio = float(ours.min() / theirs.min())
    print(f"ratio ours/torch: median {ratio:6.2f}   best {best_ratio:6.2f}   (target <= 1.5; other processes' "
          "load makes single runs noisy)")
    print(json.dumps({"layer": args.layer, "ours_ms": float(np.median(ours) * 1e3), "torch_ms": float(np.median(theirs) * 1e3),
                      "ratio": ratio, "best_ratio": best_ratio, "load_before": load_before,
                      "load_after": load_after}))


if __name__ == "__main__":
    main()
