"""Convolution speed and memory against PyTorch on the CPU, in the same run.

Times one training step (forward, backward, SGD update) of

- LeNet-5 (presets/lenet5.json's graph) on a batch of 64 28x28 images, and
- one residual identity block (3x3 convs, 64 filters, BatchNorm) on (64, 16, 16) input, batch 32,

in the engine and in the same model written in PyTorch (torch threads = 2), and prints the ratios
(targets: LeNet-5 <= 1.5x, residual block <= 2x). Both sides are timed in alternating rounds and the
best round of each side is kept (the machine is shared: the best is the least disturbed); every
round follows a 0.2 s rest and two untimed steps, so no round pays for the other library's threads
still spinning after the previous one (see ``compare``). The
engine's two ways of using the cores are both timed: "blas" (one GEMM per layer over the whole
batch, BLAS threads) and "chunks" (the batch split over a thread pool).

It also trains LeNet-5 for one epoch on the bundled digits and reports the peak memory
(tracemalloc's peak of numpy allocations, and the process's peak resident size).

    python benchmarks/bench_conv.py [--rounds 7] [--pause 0.2] [--json] [--one-thread]
"""

import argparse
import json
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import engine.layers.conv as conv  # noqa: E402
from engine.graph import Network  # noqa: E402
from engine.layers.blocks import ResidualIdentityBlock  # noqa: E402
from engine.losses import cost_and_gradients  # noqa: E402

LR = 0.01
#: seconds of rest before every timed round (set by --pause)
PAUSE = 0.2


def lenet_engine(seed=0):
    doc = json.loads((ROOT / "presets" / "lenet5.json").read_text())
    return Network.from_config(doc["graph"]).build(seed)


def sgd(params):
    for p in params:
        v = p.value
        v -= LR * p.grad


def lenet_step_engine(net, x, y):
    params = net.parameters()

    def step():
        cost_and_gradients(net, x, y, "softmax_cross_entropy", regularization=False)
        sgd(params)

    return step


def residual_step_engine(x):
    block = ResidualIdentityBlock(64, kernel_size=3)
    block.build([x.shape[1:]], np.random.default_rng(0))
    keys = list(block.params)
    dy = np.full((x.shape[0],) + x.shape[1:], 1.0 / x[0].size / x.shape[0], dtype=np.float32)

    def step():
        block.forward(x, training=True)
        block.need_input_grad = False  # as in PyTorch: the input does not require a gradient
        block.backward(dy)
        for k in keys:
            w = block.params[k]
            w -= LR * block.grads[k]

    return step


def torch_models(torch):
    nn = torch.nn
    lenet = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.c1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.b1 = nn.BatchNorm2d(c)
            self.c2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.b2 = nn.BatchNorm2d(c)

        def forward(self, x):
            h = torch.relu(self.b1(self.c1(x)))
            return torch.relu(self.b2(self.c2(h)) + x)

    return lenet, Block(64)


def torch_step(torch, model, x, y=None):
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(y) if y is not None else None

    def step():
        opt.zero_grad()
        out = model(xt)
        loss = torch.nn.functional.cross_entropy(out, yt) if yt is not None else out.mean()
        loss.backward()
        opt.step()

    return step


def best_time(step, n):
    t = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - t) / n


def compare(steps, rounds, n, warmup=2, pause=None):
    """Alternating rounds over {label: step}; the best seconds per step of each.

    Every round of every label starts with ``warmup`` untimed steps: switching between the
    engine's modes re-limits OpenBLAS's threads, and the previous round's library (OpenBLAS or
    PyTorch's OpenMP threads) may still be spinning on the cores for a moment after it returned;
    timed back to back, a round pays for its predecessor (measured: the engine's chunks mode
    19-20 ms alone against 23-24 ms right after blas-mode rounds; PyTorch's LeNet-5 step 3.3-3.6
    ms with warm-up against 4.6-4.9 ms without). ``pause`` seconds of rest before each round
    (default ``PAUSE``) let those threads go idle.
    """
    best = {k: float("inf") for k in steps}
    pause = PAUSE if pause is None else pause
    for _ in range(rounds):
        for k, step in steps.items():
            if pause:
                time.sleep(pause)
            for _ in range(warmup):
                step()
            best[k] = min(best[k], best_time(step, n))
    return best


def with_mode(mode, step):
    """The step run with conv parallel mode ``mode`` (switching costs nothing when it is already set)."""
    def run():
        if conv.PARALLEL != mode:
            conv.set_parallel(mode)
        step()
    return run


def lenet_epoch_memory():
    """Peak memory of one LeNet-5 epoch (batches of 64) on the bundled digits."""
    from engine.data import load_dataset

    data = load_dataset({"name": "digits", "options": {}, "split": {"dev": 0.1, "test": 0.2}, "seed": 0})
    net = lenet_engine()
    params = net.parameters()
    tracemalloc.start()
    t = time.perf_counter()
    order = np.random.default_rng(0).permutation(len(data.x_train))
    for start in range(0, len(order), 64):
        idx = order[start:start + 64]
        cost_and_gradients(net, data.x_train[idx], data.y_train[idx], "softmax_cross_entropy")
        sgd(params)
    net.predict(data.x_test)
    seconds = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux -> MiB
    return {"epoch_seconds": seconds, "tracemalloc_peak_mb": peak / 2**20, "max_rss_mb": rss,
            "train_samples": int(len(data.x_train))}


def main(argv=None):
    global PAUSE  # compare() reads it
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7, help="alternating timing rounds (best kept)")
    ap.add_argument("--steps", type=int, default=10, help="steps per round")
    ap.add_argument("--json", action="store_true", help="print one JSON object at the end")
    ap.add_argument("--pause", type=float, default=0.2,
                    help="seconds of rest before each timed round, so the previous round's library "
                         "(OpenBLAS or PyTorch threads still spinning) is idle (0.2)")
    ap.add_argument("--torch-threads", type=int, default=2, help="PyTorch intra-op threads (2)")
    ap.add_argument("--one-thread", action="store_true",
                    help="one core each side: PyTorch 1 thread, the engine in 'blas' mode with BLAS at 1 thread")
    args = ap.parse_args(argv)
    PAUSE = max(0.0, args.pause)
    if args.one_thread:
        args.torch_threads = 1
        from threadpoolctl import threadpool_limits

        conv.set_parallel("blas")
        limiter = threadpool_limits(limits=1, user_api="blas")  # noqa: F841 (kept for the whole run)

    try:
        import torch
    except ImportError:
        torch = None
    rng = np.random.default_rng(0)
    x_lenet = rng.random((64, 1, 28, 28), dtype=np.float32)
    y_lenet = rng.integers(0, 10, 64)
    x_res = rng.standard_normal((32, 64, 16, 16)).astype(np.float32)

    results = {"threads": os.cpu_count(), "residual_batch": 32}
    lenet_net = lenet_engine()
    lenet = lenet_step_engine(lenet_net, x_lenet, y_lenet)
    resid = residual_step_engine(x_res)
    if args.one_thread:  # (chunks mode would use a second core)
        steps_l = {"engine_blas": lenet}
        steps_r = {"engine_blas": resid}
    else:
        steps_l = {"engine_blas": with_mode("blas", lenet), "engine_chunks": with_mode("chunks", lenet)}
        steps_r = {"engine_blas": with_mode("blas", resid), "engine_chunks": with_mode("chunks", resid)}
    if torch is not None:
        torch.set_num_threads(args.torch_threads)
        results["torch_threads"] = args.torch_threads
        t_lenet, t_block = torch_models(torch)
        steps_l["torch"] = torch_step(torch, t_lenet, x_lenet, y_lenet)
        steps_r["torch"] = torch_step(torch, t_block, x_res)
    for label, steps in (("lenet5", steps_l), ("residual_block", steps_r)):
        best = compare(steps, args.rounds, args.steps)
        row = {k: v * 1e3 for k, v in best.items()}
        engine_best = min(best["engine_blas"], best.get("engine_chunks", float("inf")))
        row["best_mode"] = "blas" if best["engine_blas"] <= best.get("engine_chunks", float("inf")) else "chunks"
        if "torch" in best:
            row["ratio"] = engine_best / best["torch"]
        results[label] = row
        line = "  ".join(f"{k} {v:.2f} ms" for k, v in row.items() if k.startswith(("engine", "torch")))
        ratio = f"  ratio {row['ratio']:.2f}x" if "ratio" in row else "  (torch not installed)"
        print(f"{label:15s} {line}  best engine mode: {row['best_mode']}{ratio}")
    if not args.one_thread:
        conv.set_parallel(os.environ.get("NNPLAY_CONV_PARALLEL", "chunks"))
        mem = lenet_epoch_memory()
        results["lenet5_epoch_memory"] = mem
        print(f"LeNet-5 epoch on {mem['train_samples']} digits: {mem['epoch_seconds']:.1f} s, tracemalloc peak "
              f"{mem['tracemalloc_peak_mb']:.1f} MB, max RSS {mem['max_rss_mb']:.0f} MB (limit 1024 MB)")
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
