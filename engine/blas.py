"""General matrix multiply with BLAS's full interface: strided operands and accumulation.

``numpy.matmul`` always writes a fresh result and copies any operand whose rows overlap or are
not evenly spaced. Some of the engine's kernels need the two things BLAS's ``gemm`` offers beyond
that: ``C = alpha * op(A) @ op(B) + beta * C`` (accumulating into an existing array, beta = 1) and
operands that are windows of a bigger array (a leading dimension larger than the row), so a
stride-1 convolution can multiply *shifted views* of one padded image buffer instead of building
the im2col matrix (see engine/layers/conv.py).

:func:`gemm` calls the ``cblas_?gemm`` of the BLAS library numpy itself is linked to (found
through threadpoolctl), through ctypes; the call releases the GIL, so several Python threads can
multiply at once. Only symbols whose integer width is certain from their name are bound (the
``scipy_cblas_?gemm64_`` of numpy's own OpenBLAS wheels, 64-bit, or ``scipy_cblas_?gemm``, 32-bit);
anywhere else :data:`AVAILABLE` is False and :func:`gemm` computes the same thing with numpy
(slower, same result). NNPLAY_CBLAS=0 forces that fallback.
"""

import ctypes
import os

import numpy as np

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
#: (symbol of the float32 routine, of the float64 one, ctypes integer type)
_SYMBOLS = (
    ("scipy_cblas_sgemm64_", "scipy_cblas_dgemm64_", ctypes.c_int64),
    ("scipy_cblas_sgemm", "scipy_cblas_dgemm", ctypes.c_int32),
)


def _bind():
    """({dtype: cblas function}, largest integer it takes) from numpy's BLAS, or ({}, 0)."""
    if os.environ.get("NNPLAY_CBLAS", "1") == "0":
        return {}, 0
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return {}, 0
    paths = [d.get("filepath") for d in threadpool_info() if d.get("user_api") == "blas"]
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for s_name, d_name, int_t in _SYMBOLS:
            s_fn, d_fn = getattr(lib, s_name, None), getattr(lib, d_name, None)
            if s_fn is None or d_fn is None:
                continue
            funcs = {}
            for dtype, fn, real in ((np.dtype(np.float32), s_fn, ctypes.c_float),
                                    (np.dtype(np.float64), d_fn, ctypes.c_double)):
                fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, int_t, int_t, int_t, real,
                               ctypes.c_void_p, int_t, ctypes.c_void_p, int_t, real, ctypes.c_void_p, int_t]
                fn.restype = None
                funcs[dtype] = fn
            return funcs, (1 << (8 * ctypes.sizeof(int_t) - 1)) - 1
    return {}, 0


_FUNCS, _INT_MAX = _bind()  # _INT_MAX: the largest dimension the bound routine's integers hold
#: True when :func:`gemm` calls BLAS directly (False: the numpy fallback)
AVAILABLE = bool(_FUNCS)


def _leading(a, name):
    """The leading dimension (row stride in elements) of a 2-D operand BLAS can read in place."""
    isz = a.itemsize
    s0, s1 = a.strides
    if a.shape[1] > 1 and s1 != isz:
        raise ValueError(f"gemm: {name}'s rows must be contiguous (strides {a.strides})")
    if a.shape[0] > 1 and (s0 <= 0 or s0 % isz or s0 // isz < a.shape[1]):
        raise ValueError(f"gemm: {name}'s row stride {s0} is not a valid leading dimension")
    return max(s0 // isz if a.shape[0] > 1 else a.shape[1], a.shape[1], 1)


def gemm(a, b, c, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    """c = alpha * op(a) @ op(b) + beta * c, in place; returns c.

    a, b, c : 2-D float32 or float64 arrays (all the same dtype) whose rows are contiguous and
        evenly spaced: C-contiguous arrays or row windows/column slices of them (``x[:, 5:105]``).
        op(a) is a.T when ``trans_a`` (same for b). c must be writable and must not overlap a or b.
    With beta = 0 c's old contents are ignored (they may be uninitialised). Operands BLAS cannot
    take safely (misaligned data, a dimension too large for the bound routine's integers) are
    multiplied by numpy instead; anything else that does not fit raises TypeError/ValueError
    before BLAS is called.
    """
    if not all(isinstance(v, np.ndarray) for v in (a, b, c)):
        raise TypeError("gemm: a, b and c must be numpy arrays")
    for v, name in ((a, "a"), (b, "b"), (c, "c")):
        if v.ndim != 2:
            raise ValueError(f"gemm: {name} must be 2-D, got shape {v.shape}")
    dtype = c.dtype
    if a.dtype != dtype or b.dtype != dtype or dtype not in (np.float32, np.float64):
        raise TypeError(f"gemm: operands must share one float dtype, got {a.dtype}, {b.dtype}, {c.dtype}")
    m, n = c.shape
    ka = a.shape[0] if trans_a else a.shape[1]
    kb = b.shape[1] if trans_b else b.shape[0]
    am = a.shape[1] if trans_a else a.shape[0]
    bn = b.shape[0] if trans_b else b.shape[1]
    if ka != kb or am != m or bn != n:
        raise ValueError(f"gemm: shapes {a.shape}{'T' if trans_a else ''} @ {b.shape}{'T' if trans_b else ''} "
                         f"-> {c.shape} do not match")
    if not c.flags.writeable:
        raise ValueError("gemm: c is read-only")
    if np.may_share_memory(c, a) or np.may_share_memory(c, b):
        raise ValueError("gemm: c overlaps an operand")
    if m == 0 or n == 0:  # nothing to compute (and numpy may give empty arrays any strides)
        return c
    if ka == 0:  # an empty sum: c = beta * c, zeros for beta = 0 even over garbage
        if beta == 0.0:
            c[...] = 0
        else:
            c *= beta
        return c
    lda, ldb, ldc = _leading(a, "a"), _leading(b, "b"), _leading(c, "c")
    fn = _FUNCS.get(dtype)
    if (fn is None or max(m, n, ka, lda, ldb, ldc) > _INT_MAX
            or not (a.flags.aligned and b.flags.aligned and c.flags.aligned)):
        # (dimensions the bound integers cannot hold, or misaligned data: never handed to BLAS)
        return _gemm_numpy(a, b, c, alpha, beta, trans_a, trans_b)
    fn(_ROW_MAJOR, _TRANS if trans_a else _NO_TRANS, _TRANS if trans_b else _NO_TRANS, m, n, ka, alpha,
       a.ctypes.data, lda, b.ctypes.data, ldb, beta, c.ctypes.data, ldc)
    return c


def _gemm_numpy(a, b, c, alpha, beta, trans_a, trans_b):
    prod = (a.T if trans_a else a) @ (b.T if trans_b else b)
    if alpha != 1.0:
        prod *= alpha
    if beta == 0.0:
        c[...] = prod
    else:
        if beta != 1.0:
            c *= beta
        c += prod
    return c
