"""engine.blas.gemm: BLAS's gemm on strided windows, with accumulation, against numpy."""

import numpy as np
import pytest

from engine import blas


def _operands(rng, dtype):
    big_a = rng.standard_normal((9, 40)).astype(dtype)
    big_b = rng.standard_normal((25, 60)).astype(dtype)
    return big_a, big_b


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, False), (False, True), (True, True)])
def test_gemm_matches_numpy_on_windows_with_accumulation(dtype, trans_a, trans_b):
    rng = np.random.default_rng(0)
    big_a, big_b = _operands(rng, dtype)
    # column windows of bigger arrays: the leading dimension is the parent's row length
    a = big_a[:, 3:28]  # a (9, 25) window of a (9, 40) array
    k = a.shape[0] if trans_a else a.shape[1]
    b = big_b[:k, 7:37] if not trans_b else big_b[:, 2:2 + k]
    opa = a.T if trans_a else a
    opb = b.T if trans_b else b
    out_parent = rng.standard_normal((opa.shape[0], opb.shape[1] + 6)).astype(dtype)
    c = out_parent[:, 2:2 + opb.shape[1]]  # a window: the untouched columns must stay as they were
    before = out_parent.copy()
    blas.gemm(a, b, c, alpha=0.5, beta=2.0, trans_a=trans_a, trans_b=trans_b)
    expect = 2.0 * before[:, 2:2 + opb.shape[1]] + 0.5 * (opa.astype(np.float64) @ opb.astype(np.float64))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(c, expect, rtol=tol, atol=tol)
    np.testing.assert_array_equal(out_parent[:, :2], before[:, :2])
    np.testing.assert_array_equal(out_parent[:, 2 + opb.shape[1]:], before[:, 2 + opb.shape[1]:])


def test_beta_zero_ignores_garbage_in_the_output():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((4, 3))
    b = rng.standard_normal((3, 5))
    c = np.full((4, 5), np.nan)
    blas.gemm(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-12)


def test_bad_operands_raise_clear_errors():
    a = np.ones((4, 3), np.float32)
    b = np.ones((3, 5), np.float32)
    with pytest.raises(ValueError, match="do not match"):
        blas.gemm(a, b, np.empty((4, 6), np.float32))
    with pytest.raises(TypeError, match="dtype"):
        blas.gemm(a, b.astype(np.float64), np.empty((4, 5), np.float32))
    with pytest.raises(ValueError, match="contiguous"):
        blas.gemm(np.ones((4, 6), np.float32)[:, ::2], b, np.empty((4, 5), np.float32))
    with pytest.raises(ValueError, match="overlaps"):
        x = np.ones((4, 8), np.float32)
        blas.gemm(x[:, :3], b, x[:, 3:8])
    c = np.empty((4, 5), np.float32)
    c.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        blas.gemm(a, b, c)


def test_numpy_fallback_gives_the_same_result(monkeypatch):
    rng = np.random.default_rng(2)
    parent = rng.standard_normal((6, 30))
    a, b = parent[:, 4:10], rng.standard_normal((5, 6))
    c1 = np.ones((6, 5))
    c2 = np.ones((6, 5))
    blas.gemm(a, b, c1, beta=1.0, trans_b=True)
    monkeypatch.setattr(blas, "_FUNCS", {})
    blas.gemm(a, b, c2, beta=1.0, trans_b=True)
    np.testing.assert_allclose(c1, c2, rtol=1e-12)
    np.testing.assert_allclose(c1, 1.0 + a @ b.T, rtol=1e-12)


def test_numpy_wheel_blas_is_bound():
    """numpy's own OpenBLAS wheels export the scipy_cblas_* symbols this module binds: if this
    fails on a standard pip install, the convolution silently lost its fast stride-1 kernels."""
    import os

    from threadpoolctl import threadpool_info

    if os.environ.get("NNPLAY_CBLAS", "1") == "0":
        pytest.skip("NNPLAY_CBLAS=0 turns the binding off")
    libs = [d for d in threadpool_info() if d.get("user_api") == "blas"]
    if not any("scipy_openblas" in (d.get("filepath") or "") for d in libs):
        pytest.skip(f"numpy is not linked to the scipy-openblas wheel library here: {libs}")
    assert blas.AVAILABLE


def test_operands_that_are_not_matrices_get_a_clear_error():
    b = np.ones((3, 5), np.float32)
    c = np.empty((4, 5), np.float32)
    with pytest.raises(ValueError, match="a must be 2-D"):
        blas.gemm(np.ones(3, np.float32), b, c)
    with pytest.raises(ValueError, match="c must be 2-D"):
        blas.gemm(np.ones((4, 3), np.float32), b, c[..., None])
    with pytest.raises(TypeError, match="numpy arrays"):
        blas.gemm([[1.0]], np.ones((1, 1)), np.empty((1, 1)))


def test_what_blas_cannot_take_safely_goes_to_numpy(monkeypatch):
    """Dimensions beyond the bound routine's integer type (the 32-bit symbols) and misaligned
    buffers never reach BLAS: numpy computes them (same result)."""
    calls = []
    real = dict(blas._FUNCS)

    def spy(dtype):
        fn = real.get(dtype)

        def call(*args):
            calls.append(args[3:6])
            if fn is not None:
                fn(*args)
        return call

    monkeypatch.setattr(blas, "_FUNCS", {np.dtype(t): spy(np.dtype(t)) for t in (np.float32, np.float64)})
    monkeypatch.setattr(blas, "_INT_MAX", 2 ** 31 - 1)
    rng = np.random.default_rng(3)
    a = rng.standard_normal((4, 30)).astype(np.float32)
    b = rng.standard_normal((30, 5)).astype(np.float32)
    c = np.empty((4, 5), np.float32)
    blas.gemm(a, b, c)
    assert len(calls) == 1  # an ordinary call reaches BLAS (the spy)
    monkeypatch.setattr(blas, "_INT_MAX", 29)  # k = 30 does not fit
    c2 = np.empty((4, 5), np.float32)
    blas.gemm(a, b, c2)
    assert len(calls) == 1
    np.testing.assert_allclose(c2, a @ b, rtol=1e-5, atol=1e-5)
    monkeypatch.setattr(blas, "_INT_MAX", 2 ** 31 - 1)
    raw = np.zeros(4 * 30 * 4 + 1, np.uint8)
    mis = raw[1:].view(np.float32).reshape(4, 30)  # one byte off: not aligned
    assert not mis.flags.aligned
    mis[...] = a
    c3 = np.empty((4, 5), np.float32)
    blas.gemm(mis, b, c3)
    assert len(calls) == 1
    np.testing.assert_allclose(c3, a @ b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_empty_products(dtype):
    """No rows or columns: nothing to compute (whatever strides numpy gives empty arrays); an
    empty inner dimension: c = beta * c, so zeros for beta = 0 even over garbage (NaN * 0 is NaN)."""
    a = np.ones((4, 0), dtype)
    b = np.ones((0, 5), dtype)
    c = np.full((4, 5), np.nan, dtype)
    np.testing.assert_array_equal(blas.gemm(a, b, c), np.zeros((4, 5)))
    c = np.full((4, 5), 3.0, dtype)
    np.testing.assert_array_equal(blas.gemm(a, b, c, beta=0.5), np.full((4, 5), 1.5))
    empty = np.empty((4, 0), dtype)
    assert blas.gemm(np.ones((4, 3), dtype), np.ones((3, 0), dtype), empty).shape == (4, 0)
    assert blas.gemm(np.ones((0, 3), dtype), np.ones((3, 5), dtype), np.empty((0, 5), dtype)).shape == (0, 5)
