"""engine.parallel: batch chunks on the shared thread pool (results, thresholds, threads, errors)."""

import threading

import numpy as np
import pytest

from engine import parallel


@pytest.fixture
def two_threads(monkeypatch):
    monkeypatch.delenv("NNPLAY_THREADS", raising=False)
    parallel.set_threads(2)
    yield
    parallel.set_threads(None)


def _wait_for_both(started, timeout=10.0):
    """Called by an item: returns once two different threads have entered (or the timeout)."""
    started.add(threading.get_ident())
    deadline = threading.Event()
    for _ in range(int(timeout / 0.001)):
        if len(started) >= 2:
            return True
        deadline.wait(0.001)
    return False


def test_chunks_cover_the_range_in_balanced_contiguous_pieces():
    for n in (1, 2, 5, 16, 17, 100):
        for parts in (1, 2, 3, 4, 8, 200):
            got = parallel.chunks(n, parts)
            assert got[0][0] == 0 and got[-1][1] == n
            assert all(a < b for a, b in got)  # non-empty
            assert all(got[i][1] == got[i + 1][0] for i in range(len(got) - 1))  # contiguous
            sizes = [b - a for a, b in got]
            assert len(got) == min(parts, n) and max(sizes) - min(sizes) <= 1
    assert parallel.chunks(0, 4) == []


def test_blocks_cut_a_slice_into_whole_rows_of_about_the_block_size():
    got = parallel.blocks(slice(3, 20), row_size=10, block_size=40)
    assert got[0] == slice(3, 7) and got[-1].stop == 20
    assert all(b.stop - b.start == 4 for b in got[:-1])
    assert sum(b.stop - b.start for b in got) == 17
    # a row bigger than the block still makes one-row pieces
    assert parallel.blocks(slice(0, 3), row_size=1000, block_size=10) == [slice(0, 1), slice(1, 2), slice(2, 3)]
    assert parallel.block_size(1) == parallel.BLOCK_SIZE
    assert parallel.block_size(2) == parallel.THREAD_BLOCK_SIZE


def test_map_chunks_equals_the_serial_results_in_order(two_threads):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((37, 300))
    parts = [slice(a, b) for a, b in parallel.chunks(37, 6)]
    got = parallel.map_chunks(lambda sl: x[sl].sum(axis=0), parts)
    expected = [x[sl].sum(axis=0) for sl in parts]
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)
    np.testing.assert_allclose(sum(got), x.sum(axis=0), rtol=1e-12)
    # writing into disjoint rows of one output from several threads
    out = np.empty_like(x)
    parallel.map_chunks(lambda sl: np.multiply(x[sl], 2.0, out=out[sl]), parts)
    np.testing.assert_array_equal(out, 2.0 * x)


def test_map_chunks_really_uses_a_second_thread(two_threads):
    started = set()
    seen = parallel.map_chunks(lambda i: (_wait_for_both(started), threading.get_ident()), [0, 1])
    assert all(ok for ok, _ in seen), "the second item never ran in another thread"
    assert len({ident for _, ident in seen}) == 2
    assert seen[0][1] == threading.get_ident()  # the caller took the first item itself


def test_small_jobs_and_one_sample_stay_serial(two_threads):
    assert parallel.batch_slices(64, work=parallel.MIN_PARALLEL_SIZE - 1) == [slice(0, 64)]
    big = parallel.batch_slices(64, work=parallel.MIN_PARALLEL_SIZE)
    assert big == [slice(0, 32), slice(32, 64)]
    assert parallel.batch_slices(1, work=10 ** 9) == [slice(0, 1)]
    four = parallel.batch_slices(64, work=10 ** 9, per_thread=2)
    assert len(four) == 4 and four[-1].stop == 64
    # a middling job makes no chunk smaller than min_chunk elements
    assert len(parallel.batch_slices(64, work=3000, per_thread=2, min_size=0, min_chunk=1000)) == 3


def test_nnplay_threads_1_turns_threading_off(monkeypatch):
    parallel.set_threads(None)
    monkeypatch.setenv("NNPLAY_THREADS", "1")
    assert parallel.workers() == 1 and not parallel.enabled()
    assert parallel.batch_slices(64, work=10 ** 9) == [slice(0, 64)]
    idents = parallel.map_chunks(lambda i: threading.get_ident(), range(8))
    assert set(idents) == {threading.get_ident()}
    monkeypatch.setenv("NNPLAY_THREADS", "2")
    assert parallel.workers() == 2
    monkeypatch.setenv("NNPLAY_THREADS", "lots")  # nonsense: the default (cpu count, capped)
    assert parallel.workers() == max(1, min(parallel.MAX_WORKERS, parallel._CPU_COUNT))


def test_set_threads_overrides_and_rejects_nonsense(monkeypatch):
    monkeypatch.setenv("NNPLAY_THREADS", "1")
    try:
        parallel.set_threads(3)
        assert parallel.workers() == 3
    finally:
        parallel.set_threads(None)
    assert parallel.workers() == 1
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError):
            parallel.set_threads(bad)


def test_an_exception_in_the_calling_thread_propagates(two_threads):
    def fn(i):
        if i == 0:
            raise ValueError("item 0 failed")
        return i

    with pytest.raises(ValueError, match="item 0 failed"):
        parallel.map_chunks(fn, range(4))


def test_an_exception_in_a_pool_thread_propagates(two_threads):
    started = set()
    caller = threading.get_ident()

    def fn(i):
        _wait_for_both(started)  # both threads hold one item: item 1 is the pool thread's
        if threading.get_ident() != caller:
            raise KeyError(f"worker item {i}")
        return i

    with pytest.raises(KeyError, match="worker item 1"):
        parallel.map_chunks(fn, [0, 1])
    # the pool still works afterwards
    assert parallel.map_chunks(lambda i: i * i, range(5)) == [0, 1, 4, 9, 16]


@pytest.mark.timeout(30)
def test_nested_calls_from_pool_threads_do_not_deadlock(two_threads):
    def inner(i):
        return parallel.map_chunks(lambda j: (i, j), range(3))

    got = parallel.map_chunks(inner, range(4))
    assert got == [[(i, j) for j in range(3)] for i in range(4)]


def test_two_callers_share_the_pool(two_threads):
    x = np.arange(40000, dtype=np.float64).reshape(200, 200)
    parts = [slice(a, b) for a, b in parallel.chunks(200, 8)]
    results, errors = [], []

    def caller():
        try:
            for _ in range(20):
                results.append(sum(parallel.map_chunks(lambda sl: float(x[sl].sum()), parts)))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=caller) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and len(results) == 40
    assert all(r == float(x.sum()) for r in results)
