"""Speed of one training epoch of the digits MLP: the engine against PyTorch (CPU), same run.

The model is 784-128-64-10 (Flatten, Dense 128, ReLU, Dense 64, ReLU, Dense 10, softmax with the
cross-entropy cost), Adam (lr 0.001), mini-batches of 64, 4,000 training images (the bundled
digits subset when engine.data is present, else random data of that shape), float32.

Both sides get the same number of threads (``--threads``, default 2, set before numpy's BLAS
starts through the environment and with ``torch.set_num_threads``). Each side trains one epoch
``--repeats`` times (interleaved, so a busy machine slows both alike) and the best time counts. The engine is timed through the real
:class:`engine.training.Trainer` (shuffling, prefetch thread, NaN checks, per-batch cost and
accuracy); the PyTorch loop is the idiomatic fast one (index a shuffled permutation, forward,
``CrossEntropyLoss``, backward, ``Adam.step``, ``loss.item()``).

    python benchmarks/bench_mlp.py [--repeats 5] [--threads 2] [--json]

Prints both times and the ratio engine/torch (<= 1.0 means the engine is at least as fast), and
the ratio of CPU time (all threads), which a busy machine disturbs less than wall time.
"""

import argparse
import json
import os
import sys
import time


def _set_threads(n):
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(n))


def load_data(n_train=4000, seed=0):
    import numpy as np

    try:
        from engine.data import load_dataset

        s = load_dataset({"name": "digits", "split": {"dev": 0.0, "test": 0.2}}, seed)
        x, y = s.x_train, s.y_train
        if len(x) < n_train and s.x_dev is not None and len(s.x_dev):
            x = np.concatenate([x, s.x_dev])
            y = np.concatenate([y, s.y_dev])
        x, y = x[:n_train], y[:n_train]
        source = "bundled digits"
    except Exception as exc:  # noqa: BLE001 - fall back to random data of the same shape
        rng = np.random.default_rng(seed)
        x = rng.random((n_train, 1, 28, 28), dtype=np.float32)
        y = rng.integers(0, 10, n_train)
        source = f"random data ({type(exc).__name__})"
    return np.ascontiguousarray(x, dtype=np.float32), y.astype(np.int64), source


def engine_epoch(x, y, seed, batch_size=64):
    from types import SimpleNamespace

    from engine import Network
    from engine.layers import Activation, Dense, Flatten, Input
    from engine.training import Trainer

    net = Network("digits_mlp")
    h = net.add(Input(shape=(1, 28, 28)), name="image")
    h = net.add(Flatten(), [h])
    for units in (128, 64):
        h = net.add(Dense(units), [h])
        h = net.add(Activation("relu"), [h])
    h = net.add(Dense(10), [h])
    net.add(Activation("softmax"), [h])
    net.build(seed=seed)
    data = SimpleNamespace(x_train=x, y_train=y, x_dev=None, y_dev=None, x_test=None, y_test=None,
                           task="classification")
    cfg = {"loss": "softmax_cross_entropy", "optimizer": {"type": "adam", "lr": 0.001},
           "batch_size": batch_size, "epochs": 1, "seed": seed}
    trainer = Trainer(net, data, cfg)
    c0 = time.process_time()
    result = trainer.run()
    cpu = time.process_time() - c0  # includes the final evaluation: subtract it below
    c1 = time.process_time()
    trainer.evaluate(x, y)
    cpu -= time.process_time() - c1
    return result["history"]["seconds"][0], cpu, result["history"]["train_loss"][0]


def torch_epoch(x, y, seed, batch_size=64):
    import torch

    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 64),
        torch.nn.ReLU(), torch.nn.Linear(64, 10),
    )
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    lossf = torch.nn.CrossEntropyLoss()
    X = torch.from_numpy(x)
    Y = torch.from_numpy(y)
    n = len(X)
    t0 = time.perf_counter()
    c0 = time.process_time()
    perm = torch.randperm(n)
    total = 0.0
    for start in range(0, n, batch_size):
        idx = perm[start:start + batch_size]
        xb, yb = X[idx], Y[idx]
        opt.zero_grad(set_to_none=True)
        loss = lossf(model(xb), yb)
        loss.backward()
        opt.step()
        total += loss.item() * len(idx)
    return time.perf_counter() - t0, time.process_time() - c0, total / n


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = ap.parse_args(argv)
    _set_threads(args.threads)

    x, y, source = load_data()
    print(f"data: {len(x)} images from {source}; batch {args.batch_size}; threads {args.threads}")

    try:
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
        print("  torch is not installed: engine time only")
    # Interleave the two so that a busy machine slows both alike.
    engine_times, torch_times, engine_cpu, torch_cpu = [], [], [], []
    for r in range(args.repeats):
        t, cpu, loss = engine_epoch(x, y, seed=r, batch_size=args.batch_size)
        engine_times.append(t)
        engine_cpu.append(cpu)
        print(f"  engine run {r + 1}: {t * 1000:7.1f} ms wall, {cpu * 1000:7.1f} ms CPU  (epoch train loss {loss:.3f})")
        if torch is not None:
            t, cpu, loss = torch_epoch(x, y, seed=r, batch_size=args.batch_size)
            torch_times.append(t)
            torch_cpu.append(cpu)
            print(f"  torch  run {r + 1}: {t * 1000:7.1f} ms wall, {cpu * 1000:7.1f} ms CPU  (epoch train loss {loss:.3f})")

    best_engine = min(engine_times)
    out = {"engine_seconds": best_engine, "torch_seconds": None, "ratio": None, "data": source,
           "threads": args.threads, "batch_size": args.batch_size}
    print(f"engine: {best_engine * 1000:.1f} ms per epoch (best of {args.repeats})")
    if torch_times:
        best_torch = min(torch_times)
        out["torch_seconds"] = best_torch
        out["ratio"] = best_engine / best_torch
        out["cpu_ratio"] = min(engine_cpu) / min(torch_cpu)
        print(f"torch:  {best_torch * 1000:.1f} ms per epoch (best of {args.repeats})")
        print(f"ratio engine/torch: {out['ratio']:.2f} ({'engine not slower' if out['ratio'] <= 1 else 'engine slower'})")
        print(f"CPU-time ratio engine/torch: {out['cpu_ratio']:.2f} (all threads' CPU seconds, best of "
              f"{args.repeats}; steadier than wall time on a busy machine)")
    if args.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
