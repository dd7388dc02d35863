"""Splitting a layer's work over batch chunks on a small shared thread pool.

NumPy releases the GIL inside its ufunc loops, reductions and BLAS calls on large arrays, so the
chunks of one batch really run on several cores at once. A hand-off to a pool thread costs about
20-50 microseconds, and so does every GIL hand-over between two threads that both call NumPy, so
jobs below ``MIN_PARALLEL_SIZE`` elements run serially in the calling thread.

How a layer uses it::

    from .. import parallel

    parts = parallel.batch_slices(n, work=x.size)       # [slice(0, n)] when not worth splitting
    partial = parallel.map_chunks(lambda sl: x[sl].sum(axis=0), parts)
    total = sum(partial)

``map_chunks(fn, items)`` returns ``[fn(item) for item in items]`` (in order), computed by the
calling thread together with up to ``workers() - 1`` pool threads. Every thread takes the next
item nobody has started yet (so when another process holds one core, the free thread does the
remaining chunks instead of the step waiting for the stalled one), and the calling thread never
waits for a pool thread that has not started: it does such items itself. So two callers sharing
the pool (the training thread and the GUI thread) never block each other, and a ``map_chunks``
called from inside a pool thread (nested) simply runs serially. An exception raised by ``fn`` in
any thread propagates to the caller (that of the earliest item when several fail); the other items
still in progress are waited for first, so no thread keeps writing into the caller's arrays.

Threads: ``workers()`` is ``os.cpu_count()`` capped at ``MAX_WORKERS``, or the environment
variable ``NNPLAY_THREADS`` when set (``NNPLAY_THREADS=1`` turns threading off everywhere:
everything runs in the calling thread). ``set_threads(n)`` overrides both (``None`` restores).
Threads are no substitute for BLAS threads: a caller that splits a matrix product over chunks
should keep BLAS at one thread (engine.layers.conv does that in its "chunks" mode).

Measured on the shared 2-core VM (Python 3.11, NumPy 2.4): one ``map_chunks`` call with two items
costs 60-80 microseconds more than its work (about 20 to hand the item over, 40 to get the result
back: thread wake-ups and GIL hand-overs), so a layer should make few calls with big items. Ufunc
loops, einsum with two operands, BLAS and reductions along an axis release the GIL; einsum's
single-operand reduction ("ncl->c") does not (threads take turns): sum with "ncl->nc" first.
"""

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

#: at most this many threads (the calling thread included) work on one call
MAX_WORKERS = 4
#: jobs with fewer elements than this run serially, in cache-sized pieces (see ``blocks``). Every
#: NumPy call of a pool thread hands the GIL back and forth, and on the shared 2-core VM a wake-up
#: costs tens of microseconds, so two threads only pay from about a million elements: BatchNorm
#: forward + backward on (B, 64, 16, 16) float32 ran 0.84x (B=32, half a million elements),
#: 1.17x (B=64) and 1.46x (B=128) as fast in two threads as serially, ReLU and Add alike.
MIN_PARALLEL_SIZE = 1 << 20
#: chunks are at least this many elements (so every chunk's pass is worth its Python overhead)
MIN_CHUNK_SIZE = 1 << 15
#: ``blocks`` cuts a serial job into pieces of about this many elements (512 KB of float32): a
#: sequence of element-wise passes over one piece finds it in the core's cache (measured on the
#: 2-core VM: four passes over (32, 16384) float32 took 770 us as whole arrays, 340 us in pieces of
#: 4-8 rows; in the residual block's training step 2**17 beat 2**16 by 0.1 ms and whole arrays by 0.5)
BLOCK_SIZE = 1 << 17
#: the same for the chunks of a threaded job: bigger pieces, because every NumPy call a pool thread
#: makes hands the GIL back and forth (tens of microseconds of wake-up latency on the VM), and each
#: core has its own cache for its chunk (BatchNorm on (128, 64, 16, 16) float32: 3.2 ms with
#: 2**18-element pieces, 3.8 ms with 2**16)
THREAD_BLOCK_SIZE = 1 << 18

_CPU_COUNT = os.cpu_count() or 1
_OVERRIDE = None
_POOL = None
_POOL_SIZE = 0
_POOL_LOCK = threading.Lock()
_LOCAL = threading.local()  # .in_pool is True in this module's pool threads


def workers():
    """Number of threads (the calling one included) a parallel call may use; 1 means serial.

    ``set_threads(n)`` wins, then the environment variable ``NNPLAY_THREADS`` (a whole number >= 1;
    anything else is ignored), then ``os.cpu_count()`` capped at ``MAX_WORKERS``.
    """
    if _OVERRIDE is not None:
        return _OVERRIDE
    env = os.environ.get("NNPLAY_THREADS")
    if env:
        try:
            n = int(env)
        except ValueError:
            n = 0
        if n >= 1:
            return min(n, MAX_WORKERS)
    return max(1, min(MAX_WORKERS, _CPU_COUNT))


def set_threads(n):
    """Override ``workers()`` for this process: a whole number >= 1, or None for the default."""
    global _OVERRIDE
    if n is None:
        _OVERRIDE = None
        return
    if isinstance(n, bool) or int(n) != n or int(n) < 1:
        raise ValueError(f"thread count must be a whole number >= 1, got {n!r}")
    _OVERRIDE = min(int(n), MAX_WORKERS)


def enabled():
    """True when work may be split over threads (more than one worker, not inside a pool thread)."""
    return workers() > 1 and not getattr(_LOCAL, "in_pool", False)


def chunks(n, parts):
    """Split ``range(n)`` into at most ``parts`` contiguous, non-empty ``(start, stop)`` pairs whose
    sizes differ by at most one (the first ones larger). ``n == 0`` gives an empty list."""
    n = int(n)
    parts = max(1, min(int(parts), n))
    if n <= 0:
        return []
    base, extra = divmod(n, parts)
    out, start = [], 0
    for k in range(parts):
        stop = start + base + (1 if k < extra else 0)
        out.append((start, stop))
        start = stop
    return out


def batch_slices(n, work=None, per_thread=1, min_size=None, min_chunk=None):
    """Slices of a batch of ``n`` samples to run in parallel: ``[slice(0, n)]`` (serial) when
    threading is off or the work is small, else ``per_thread * workers()`` balanced slices.

    work : total size of the job in elements (e.g. ``x.size``); None means always worth splitting.
    per_thread : chunks per thread; 2 lets a free thread take over a stalled one's remaining work.
    min_size : below this ``work`` the batch is not split (default ``MIN_PARALLEL_SIZE``).
    min_chunk : every chunk holds at least this much work (default ``MIN_CHUNK_SIZE``), so fewer
        chunks are made for a middling job.
    """
    n = int(n)
    w = workers()
    min_size = MIN_PARALLEL_SIZE if min_size is None else min_size
    if n < 2 or not enabled() or (work is not None and work < min_size):
        return [slice(0, n)]
    parts = min(n, max(1, int(per_thread)) * w)
    if work is not None:
        min_chunk = MIN_CHUNK_SIZE if min_chunk is None else min_chunk
        parts = min(parts, max(1, int(work // max(1, min_chunk))))
    if parts < 2:
        return [slice(0, n)]
    return [slice(a, b) for a, b in chunks(n, parts)]


def block_size(n_parts):
    """The piece size for ``blocks`` in a job split into ``n_parts`` chunks (1: serial)."""
    return BLOCK_SIZE if n_parts <= 1 else THREAD_BLOCK_SIZE


def blocks(sl, row_size, block_size=None):
    """Cut the batch slice ``sl`` into consecutive sub-slices of about ``block_size`` elements
    (``BLOCK_SIZE`` by default; whole rows of ``row_size`` elements, at least one row each)."""
    block_size = BLOCK_SIZE if block_size is None else block_size
    rows = max(1, int(block_size) // max(1, int(row_size)))
    start, stop = sl.start or 0, sl.stop
    return [slice(a, min(a + rows, stop)) for a in range(start, stop, rows)]


def _pool(size):
    global _POOL, _POOL_SIZE
    with _POOL_LOCK:
        if _POOL is None or _POOL_SIZE < size:
            old = _POOL
            _POOL = ThreadPoolExecutor(max_workers=size, thread_name_prefix="nnplay",
                                       initializer=_mark_pool_thread)
            _POOL_SIZE = size
            if old is not None:
                old.shutdown(wait=False)
        return _POOL


def _mark_pool_thread():
    _LOCAL.in_pool = True


def map_chunks(fn, items):
    """``[fn(item) for item in items]``, the items shared between the calling thread and the pool.

    Serial when there is one item, threading is off (``workers() == 1``) or the caller is itself a
    pool thread. Results come back in the order of ``items``; an exception from ``fn`` is re-raised
    here (that of the earliest failing item) once no other thread still runs an item.
    """
    items = list(items)
    k = len(items)
    if k <= 1 or not enabled():
        return [fn(item) for item in items]
    helpers = min(k, workers()) - 1
    results = [None] * k
    errors = {}
    counter = itertools.count()  # next() on it is atomic under the GIL: each item is taken once
    stop = []

    def run():
        for i in counter:
            if i >= k or stop:
                return
            try:
                results[i] = fn(items[i])
            except BaseException as exc:  # noqa: B036 - re-raised in the calling thread
                errors[i] = exc
                stop.append(i)
                return

    pool = _pool(max(1, workers() - 1))
    futures = [pool.submit(run) for _ in range(helpers)]
    run()
    for f in futures:
        if not f.cancel():  # started (or finished): wait until it leaves our items alone
            f.result()
    if errors:
        raise errors[min(errors)]
    return results
