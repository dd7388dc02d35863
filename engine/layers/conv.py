"""Convolutional layers: Conv2D, Conv1x1, Conv1D, ZeroPadding2D, MaxPool2D, AvgPool2D and global pooling.

Layout: one sample is channels first, ``(C, H, W)`` for images (the digits are ``(1, 28, 28)``) and
``(C, L)`` for sequences and spectrograms. A batch adds the batch axis in front: ``(N, C, H, W)``.

How it is computed (fast, no Python loop over pixels or samples):

- stride 1 with several input channels (8 or more; 4 when the batch is not split over threads),
  most of a CNN's work: *shift kernels*. The batch is zero-padded into one channel-major buffer in
  which every kernel tap's view of the input is a window of columns; one BLAS GEMM per kernel row
  multiplies the filters with that window in place (engine/blas.py calls BLAS with a leading
  dimension and accumulation, which numpy's matmul cannot), so no im2col matrix is built. Backward
  works on the same buffer: dW from kh GEMMs, dx from kh GEMMs added onto a stacked gradient at
  the rows' offsets and kw shifted adds. See :class:`_ShiftPlan`.
- otherwise *im2col*: a strided view of the zero-padded input (``numpy.lib.stride_tricks.as_strided``)
  lists every window the filter visits; reshaping that view copies the windows into one matrix of
  shape ``(C*kh*kw, N*Ho*Wo)`` and one matrix product (BLAS GEMM) with the filters reshaped to
  ``(F, C*kh*kw)`` gives every output pixel of every filter of every sample at once. Backward: two
  more GEMMs give ``dW`` and the gradient of the windows; *col2im* adds the window gradients back onto
  the input with one vectorised strided add per kernel offset (``kh*kw`` adds), never per pixel.
  With few filters on few channels at stride 1 (LeNet-5's first layer) the matrix is made a few
  samples at a time, each block multiplied while in cache, and made again in backward instead of
  kept (:class:`_WideWindows`); the output is then a view of wide rows, not C-contiguous.

Where the time goes (residual block, 64 channels 16x16, batch 32, one training step): the five
convolution passes (two forward, two dW, one dx; the block's own input needs no gradient) are about
three quarters of it, BatchNorm/ReLU/Add passes the rest. OpenBLAS (SkylakeX kernels) runs these
thin GEMMs (inner dimension 192) at 100-130 GFLOP/s per core against oneDNN's ~170 in PyTorch;
benchmarks/bench_conv.py measures the ratio.

``PARALLEL`` chooses how the cores are used: ``"chunks"`` (default: the batch split across a
thread pool, BLAS at one thread) or ``"blas"`` (one GEMM per layer, OpenBLAS' own threads).
benchmarks/bench_conv.py measures both against PyTorch. On the shared 2-core machine the two were
within noise of each other when it was quiet (LeNet-5 step 7-9 ms either way), but under load
OpenBLAS' busy-waiting threads made "blas" 5-10x slower (a digits_cnn epoch took 70 s instead of
4 s), so "chunks" is the default.
"""

import os
import sys

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import blas, parallel
from ..errors import ConfigError, ShapeError
from ..initializers import check_initializer_name, get_initializer
from .base import Layer, register

#: How convolutions use the cores:
#: "chunks" (default): each conv splits its batch over a small thread pool (im2col, GEMM and col2im of
#: each half run in parallel; numpy releases the GIL) and BLAS is limited to one thread (with
#: threadpoolctl, when installed) so the two never oversubscribe the cores;
#: "blas": one GEMM over the whole batch, parallel only inside BLAS.
#: benchmarks/bench_conv.py times both. On the shared 2-core machine "blas" with OpenBLAS' own
#: threads collapsed under load (busy-waiting threads: a digits_cnn step took 0.7-1.4 s against
#: 0.07-0.2 s with "chunks"), so "chunks" is the default. Override with NNPLAY_CONV_PARALLEL.
PARALLEL = os.environ.get("NNPLAY_CONV_PARALLEL", "chunks")
#: below this many multiply-adds x2 a convolution runs in the calling thread (the pool's hand-off
#: costs more than it saves on small layers)
CHUNK_MIN_FLOPS = 20_000_000
_BLAS_LIMIT = None


def _tune_malloc():
    """Keep freed large blocks in the process instead of handing them back to the kernel (glibc).

    A training step allocates and frees ~100 MB of big temporaries (im2col matrices, feature maps).
    By default glibc serves each big block with a fresh mmap and unmaps it on free, so every step
    page-faults and zeroes that memory again in the kernel; with the other processes of a shared
    machine that cost 30-50% of a residual block's step (median step 64 -> 45 ms, best 50 -> 32 ms
    in A/B runs). Raising the mmap and trim thresholds lets malloc reuse the same pages; the peak
    memory is unchanged (what is freed stays reserved for the next step). Linux/glibc only, a no-op
    elsewhere; NNPLAY_MALLOC_TUNE=0 turns it off.
    """
    if os.environ.get("NNPLAY_MALLOC_TUNE", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
        ok = libc.mallopt(m_mmap_threshold, 512 << 20) == 1
        ok = libc.mallopt(m_trim_threshold, 1 << 30) == 1 and ok
        ok = libc.mallopt(m_top_pad, 64 << 20) == 1 and ok
        return ok
    except (OSError, AttributeError):  # not glibc
        return False


MALLOC_TUNED = _tune_malloc()


def _sync_blas_threads():
    """Limit BLAS to one thread in "chunks" mode (restore it in "blas" mode)."""
    global _BLAS_LIMIT
    if PARALLEL == "chunks" and _BLAS_LIMIT is None:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover - optional
            _BLAS_LIMIT = False
            return
        _BLAS_LIMIT = threadpool_limits(limits=1, user_api="blas")
    elif PARALLEL != "chunks" and _BLAS_LIMIT:
        _BLAS_LIMIT.restore_original_limits()
        _BLAS_LIMIT = None


def set_parallel(mode):
    """Choose how convolutions use the cores: "chunks" (thread pool, BLAS one thread) or "blas"."""
    global PARALLEL
    if mode not in ("chunks", "blas"):
        raise ConfigError(f"conv parallel mode must be 'chunks' or 'blas', got {mode!r}")
    PARALLEL = mode
    _sync_blas_threads()


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------
def _pair(value, what):
    """An int or a pair of ints -> a pair of positive ints."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"{what} must be one number or two (height, width), got {value!r}")
        a, b = value
    else:
        a = b = value
    try:
        a, b = int(a), int(b)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be whole numbers, got {value!r}") from None
    if a < 1 or b < 1:
        raise ValueError(f"{what} must be at least 1, got {value!r}")
    return a, b


def _compact(pair):
    """(a, a) -> a, (a, b) -> [a, b]: how settings are written to documents."""
    return pair[0] if pair[0] == pair[1] else list(pair)


def _check_padding(padding):
    if isinstance(padding, str):
        p = padding.lower()
        if p not in ("valid", "same"):
            raise ValueError(f"padding must be 'valid', 'same' or a number of zero pixels, got {padding!r}")
        return p
    if isinstance(padding, (list, tuple)):
        if len(padding) != 2:
            raise ValueError(f"padding must be 'valid', 'same', a number or two numbers, got {padding!r}")
        out = tuple(int(v) for v in padding)
    else:
        try:
            out = int(padding)
        except (TypeError, ValueError):
            raise ValueError(f"padding must be 'valid', 'same' or a number of zero pixels, got {padding!r}") from None
        out = (out, out)
    if min(out) < 0:
        raise ValueError(f"padding cannot be negative, got {padding!r}")
    return out


def _axis_geometry(size, k, s, d, padding, axis):
    """Output size and (before, after) zero padding along one axis; None if the kernel does not fit."""
    span = d * (k - 1) + 1
    if padding == "valid":
        before = after = 0
    elif padding == "same":
        out = -(-size // s)
        total = max((out - 1) * s + span - size, 0)
        before = total // 2
        after = total - before
    else:
        before = after = padding[axis]
    padded = size + before + after
    if padded < span:
        return None, (before, after), span
    return (padded - span) // s + 1, (before, after), span


def _windows(xp, kh, kw, sh, sw, dh, dw, ho, wo):
    """Strided view of shape (N, C, kh, kw, Ho, Wo) over a padded batch xp (N, C, Hp, Wp): no copy."""
    n, c = xp.shape[:2]
    s0, s1, s2, s3 = xp.strides
    return as_strided(
        xp, shape=(n, c, kh, kw, ho, wo), strides=(s0, s1, dh * s2, dw * s3, sh * s2, sw * s3), writeable=False
    )


def _pad(x, pads, value=0.0):
    (t, b), (l, r) = pads
    if not (t or b or l or r):
        return x
    n, c, h, w = x.shape
    xp = np.full((n, c, h + t + b, w + l + r), value, dtype=x.dtype)
    xp[:, :, t:t + h, l:l + w] = x
    return xp


def _bias_grad(dy):
    """db (F,) = dy (N, F, Ho, Wo) summed over samples and pixels. A matrix-vector product with
    ones does the pixel sums: LeNet-5's (64, 6, 28, 28) in 16 us against 56 us for
    ``dy.sum(axis=(0, 2, 3))`` (numpy's reduction over non-adjacent axes)."""
    n, f = dy.shape[:2]
    if n * f == 0 or dy[0, 0].size == 0:
        return dy.sum(axis=(0, 2, 3))
    per_map = np.ascontiguousarray(dy).reshape(n * f, -1) @ np.ones(dy[0, 0].size, dtype=dy.dtype)
    return per_map.reshape(n, f).sum(axis=0)


def _default_init(shape, fan_in, fan_out, rng, dtype, name, hint=None):
    """Initial weights; "auto" takes the network's hint (He before ReLU, Xavier otherwise), else He."""
    if str(name).lower() == "auto":
        name = hint or "he"
    return np.asarray(get_initializer(name)(shape, fan_in, fan_out, rng, dtype), dtype=dtype)


# ----------------------------------------------------------------------------------------------
# the convolution kernels: im2col + GEMM forward, GEMM + col2im backward
# ----------------------------------------------------------------------------------------------
def _im2col(xp, kh, kw, sh, sw, dh, dw, ho, wo):
    """Windows of xp as a matrix (C*kh*kw, N*Ho*Wo) (a copy, C-contiguous)."""
    n, c = xp.shape[:2]
    win = _windows(xp, kh, kw, sh, sw, dh, dw, ho, wo)  # (N, C, kh, kw, Ho, Wo)
    cols = np.empty((c, kh, kw, n, ho, wo), dtype=xp.dtype)
    cols[...] = win.transpose(1, 2, 3, 0, 4, 5)
    return cols.reshape(c * kh * kw, n * ho * wo)


def _col2im(dcols, xp_shape, kh, kw, sh, sw, dh, dw, ho, wo):
    """Sum window gradients dcols (C, kh, kw, N, Ho, Wo) back onto the padded input.

    Returns an array of shape (N, C, Hp, Wp) (a transposed view of a (C, N, Hp, Wp) buffer).
    One strided add per kernel offset: kh*kw vectorised adds, no loop over pixels or samples.
    """
    n, c, hp, wp = xp_shape
    dxp = np.zeros((c, n, hp, wp), dtype=dcols.dtype)
    for i in range(kh):
        r0 = i * dh
        for j in range(kw):
            c0 = j * dw
            dxp[:, :, r0:r0 + sh * (ho - 1) + 1:sh, c0:c0 + sw * (wo - 1) + 1:sw] += dcols[:, i, j]
    return dxp.transpose(1, 0, 2, 3)


#: stride-1 im2col of few filters on few channels is made and multiplied a few samples at a time
#: and rebuilt in backward (see _WideWindows); False keeps the whole matrix (for A/B timing)
BLOCKED_WINDOWS = True


def _conv_forward(x, wmat, bias, geo, pads, dest=None):
    """Convolve a batch x (N, C, H, W): returns y (N, F, Ho, Wo) and the im2col matrix (or the
    _WideWindows that rebuild it). y is C-contiguous except for few filters on few channels with
    stride 1, where it is a view of the first Wo columns of wide rows.

    Stride 1 (the common case) uses "wide rows": the padded images are flattened to (N, C, Hp*Wp)
    and each window offset (u, v) becomes one contiguous slice of length Ho*Wp (outputs are computed
    for all Wp columns of a row and the Wp - Wo extra ones are dropped), so im2col and col2im copy long
    contiguous runs instead of many short rows. Other strides use a strided window view.

    The GEMM is (F, C*kh*kw) @ (C*kh*kw, N*L). For up to 32 filters it runs as N stacked products
    on a view of the same matrix (np.matmul), measured faster with OpenBLAS for these skinny shapes
    (and it writes y in (N, F, ...) order directly); with more filters one flat GEMM is faster.
    """
    kh, kw, sh, sw, dh, dw, ho, wo = geo
    n, c, h, w = x.shape
    f = wmat.shape[0]
    (t, b), (l, r) = pads
    hp, wp = h + t + b, w + l + r
    if sh == 1 and sw == 1:
        lw = ho * wp
        tail = (kw - 1) * dw
        xpf = np.zeros((n, c, hp * wp + tail), dtype=x.dtype)
        xpf[:, :, :hp * wp].reshape(n, c, hp, wp)[:, :, t:t + h, l:l + w] = x
        es = xpf.itemsize
        if BLOCKED_WINDOWS and f <= 32 and c * kh * kw <= 32:
            # few filters on few channels (LeNet-5's first layer): a few samples at a time, so each
            # block's windows are multiplied while they are still in the core's cache, and none are
            # kept: backward rebuilds them the same way (_WideWindows)
            windows = _WideWindows(xpf, kh, kw, dh, dw, wp, lw)
            if dest is None:
                # the products go straight into wide rows and y is the view of their first Wo
                # columns (not C-contiguous): no copy of y (LeNet-5's first layer 0.53 -> 0.46 ms;
                # a max pool or ReLU next reads the view as fast as a compact array)
                wide = np.empty((n, f, ho, wp), dtype=x.dtype)
                for a, z, blk in windows.blocks():
                    part = wide[a:z].reshape(z - a, f, lw)
                    np.matmul(wmat, blk.transpose(1, 0, 2), out=part)
                    if bias is not None:  # (while the block is in cache)
                        part += bias[:, None]
                return wide[:, :, :, :wo], windows
            for a, z, blk in windows.blocks():
                out = np.matmul(wmat, blk.transpose(1, 0, 2)).reshape(z - a, f, ho, wp)[:, :, :, :wo]
                if bias is None:
                    dest[a:z] = out
                else:  # (the block is still in cache: one pass instead of a second one over dest)
                    np.add(out, bias[:, None, None], out=dest[a:z])
            return dest, windows
        win = as_strided(xpf, shape=(c, kh, kw, n, lw),
                         strides=(xpf.strides[1], dh * wp * es, dw * es, xpf.strides[0], es), writeable=False)
        cols = np.empty((c, kh, kw, n, lw), dtype=x.dtype)
        cols[...] = win
        cols = cols.reshape(c * kh * kw, n * lw)
        y = np.empty((n, f, ho, wo), dtype=x.dtype) if dest is None else dest
        if f <= 32:
            out = np.matmul(wmat, cols.reshape(c * kh * kw, n, lw).transpose(1, 0, 2))  # (N, F, Ho*Wp)
            y[...] = out.reshape(n, f, ho, wp)[:, :, :, :wo]
        else:
            out = wmat @ cols  # (F, N*Ho*Wp): one big GEMM pays off for many filters
            y[...] = out.reshape(f, n, ho, wp)[:, :, :, :wo].transpose(1, 0, 2, 3)
    else:
        xp = _pad(x, pads)
        cols = _im2col(xp, kh, kw, sh, sw, dh, dw, ho, wo)
        if f <= 32:
            y = np.matmul(wmat, cols.reshape(c * kh * kw, n, ho * wo).transpose(1, 0, 2)).reshape(n, f, ho, wo)
        else:
            y = np.empty((n, f, ho, wo), dtype=x.dtype)
            y[...] = (wmat @ cols).reshape(f, n, ho, wo).transpose(1, 0, 2, 3)
    if dest is not None and y is not dest:
        dest[...] = y
        y = dest
    if bias is not None:
        y += bias[:, None, None]
    return y, cols


class _WideWindows:
    """The wide-row im2col of a padded batch, made a few samples at a time (never all at once).

    xpf : the padded batch flattened to (N, C, Hp*Wp + tail). ``blocks()`` yields (start, stop,
    cols) with cols of shape (C*kh*kw, stop - start, Ho*Wp), rows ordered (c, u, v) like the
    weight matrix's columns, in one reused buffer of about ``parallel.BLOCK_SIZE`` elements: small
    enough to stay in the core's cache between being written and being multiplied. For LeNet-5's
    first layer (1 -> 6 channels, 5x5, batch 64) the forward took 0.50 ms against 0.73 ms with the
    whole 5.7 MB matrix written out and kept, and rebuilding the blocks in backward cost 0.06 ms.
    """

    def __init__(self, xpf, kh, kw, dh, dw, wp, lw):
        self.xpf, self.kh, self.kw, self.dh, self.dw, self.wp, self.lw = xpf, kh, kw, dh, dw, wp, lw

    def blocks(self):
        xpf = self.xpf
        n, c = xpf.shape[:2]
        kh, kw, lw = self.kh, self.kw, self.lw
        es = xpf.itemsize
        per = max(1, parallel.BLOCK_SIZE // max(1, c * kh * kw * lw))
        buf = np.empty((c, kh, kw, min(per, n), lw), dtype=xpf.dtype)
        # one window view of the whole batch, sliced per block (as_strided costs microseconds a call)
        win = as_strided(xpf, shape=(c, kh, kw, n, lw),
                         strides=(xpf.strides[1], self.dh * self.wp * es, self.dw * es, xpf.strides[0], es),
                         writeable=False)
        for a in range(0, n, per):
            z = min(n, a + per)
            cols = buf[:, :, :, :z - a]
            cols[...] = win[:, :, :, a:z]
            yield a, z, cols.reshape(c * kh * kw, z - a, lw)

    def weight_gradient(self, dy, f, wo):
        """dW (F, C*kh*kw) = sum over samples of dy on the wide rows times the windows, made block
        by block (dy goes onto the wide rows a block at a time too; the extra columns stay zero)."""
        dW = np.zeros((f, self.xpf.shape[1] * self.kh * self.kw), dtype=dy.dtype)
        dyb = None
        for a, z, blk in self.blocks():
            if dyb is None:
                dyb = np.zeros((z - a, f, dy.shape[2], self.wp), dtype=dy.dtype)
            part = dyb[:z - a]
            part[:, :, :, :wo] = dy[a:z]
            dW += np.matmul(part.reshape(z - a, f, self.lw), blk.transpose(1, 2, 0)).sum(axis=0)
        return dW


def _conv_backward(dy, cols, wmat, geo, pads, x_shape, need_dx=True):
    """dW (F, C*kh*kw), db (F,), and dx (N, C, H, W) (or None) for the forward that made ``cols``
    (the im2col matrix, or the _WideWindows that rebuild it block by block)."""
    kh, kw, sh, sw, dh, dw, ho, wo = geo
    n, c, h, w = x_shape
    f = wmat.shape[0]
    k = wmat.shape[1]
    (t, b), (l, r) = pads
    hp, wp = h + t + b, w + l + r
    db = _bias_grad(dy)
    wide = sh == 1 and sw == 1
    lw = ho * wp if wide else ho * wo
    dyf = dW = None
    if isinstance(cols, _WideWindows):
        dW = cols.weight_gradient(dy, f, wo)
        if not need_dx:
            return dW, db, None
    if wide:
        dyn = np.zeros((n, f, ho, wp), dtype=dy.dtype)
        dyn[:, :, :, :wo] = dy
        dyn = dyn.reshape(n, f, lw)
    else:
        dyn = np.ascontiguousarray(dy).reshape(n, f, lw)
    if dW is not None:  # (made from the _WideWindows above)
        pass
    elif k <= 32:
        # few weights per filter: per-sample products summed (one flat GEMM with a huge inner
        # dimension is slow in OpenBLAS)
        dW = np.matmul(dyn, cols.reshape(k, n, lw).transpose(1, 2, 0)).sum(axis=0)
    else:
        dyf = np.empty((f, n, lw), dtype=dy.dtype)
        dyf[...] = dyn.transpose(1, 0, 2)
        # (K, N*L) @ (N*L, F), transposed: measured 15-20% faster with OpenBLAS than
        # dyf @ cols.T for these shapes (alternating A/B runs, 1 and 2 threads)
        dW = (cols @ dyf.reshape(f, n * lw).T).T
    if not need_dx:
        return dW, db, None
    if wide:
        # stride 1 (where the shift kernels do not run: few channels, 1x1 kernels, no direct BLAS
        # binding): dx is the "full" cross-correlation of dy with the filters flipped and their
        # F and C axes swapped, so it reuses the forward's contiguous wide-row im2col + GEMM
        # instead of a GEMM into window gradients and kh*kw strided adds back (A/B, one thread:
        # equal at 64 -> 64 channels 3x3, 10-20% faster at 16-32 channels); dx comes out
        # C-contiguous, except with at most 32 input channels and F*kh*kw <= 32 (3 filters 3x3):
        # the flipped filters are then few on few channels and dx is _conv_forward's view of wide rows
        span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
        bpads = ((span_h - 1 - t, span_h - 1 - b), (span_w - 1 - l, span_w - 1 - r))
        # ('same' only, and not for few input channels: measured slower there, e.g. 1 -> 6 5x5)
        if (min(bpads[0] + bpads[1]) >= 0 and (ho, wo) == (h, w)
                and c >= 8 and 2 * c >= f):
            wflip = wmat.reshape(f, c, kh, kw)[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
            wflip = np.ascontiguousarray(wflip).reshape(c, f * kh * kw)
            dx, _ = _conv_forward(dy, wflip, None, (kh, kw, 1, 1, dh, dw, h, w), bpads)
            return dW, db, dx
    if f <= 32:
        # stacked per-sample products: faster for few filters; dcols in (N, K, L) order
        dcols = np.matmul(wmat.T, dyn).reshape(n, c, kh, kw, lw)
        nfirst = True
    else:
        if dyf is None:
            dyf = np.empty((f, n, lw), dtype=dy.dtype)
            dyf[...] = dyn.transpose(1, 0, 2)
        dcols = (wmat.T @ dyf.reshape(f, n * lw)).reshape(c, kh, kw, n, lw)
        nfirst = False
    if wide:
        shape = (n, c, hp * wp + (kw - 1) * dw) if nfirst else (c, n, hp * wp + (kw - 1) * dw)
        dxpf = np.zeros(shape, dtype=dy.dtype)
        for u in range(kh):
            for v in range(kw):
                off = u * dh * wp + v * dw
                dxpf[:, :, off:off + lw] += dcols[:, :, u, v] if nfirst else dcols[:, u, v]
        dxp = dxpf[:, :, :hp * wp].reshape(shape[0], shape[1], hp, wp)
        if not nfirst:
            dxp = dxp.transpose(1, 0, 2, 3)
    else:
        if nfirst:
            dcols = dcols.reshape(n, c, kh, kw, ho, wo).transpose(1, 2, 3, 0, 4, 5)
        else:
            dcols = dcols.reshape(c, kh, kw, n, ho, wo)
        dxp = _col2im(dcols, (n, c, hp, wp), kh, kw, sh, sw, dh, dw, ho, wo)
    return dW, db, dxp[:, :, t:t + h, l:l + w]


# ----------------------------------------------------------------------------------------------
# stride-1 kernels: GEMMs on shifted windows of one padded buffer (no im2col matrix)
# ----------------------------------------------------------------------------------------------
#: the shift kernels need BLAS with strided operands and accumulation (engine.blas); False
#: forces the im2col kernels everywhere (kept for A/B timing and as the fallback)
SHIFT_KERNELS = blas.AVAILABLE
#: the shift kernels run for kernels larger than 1x1 on inputs with at least this many channels
#: (with fewer the GEMMs are too thin and im2col's single GEMM is faster; a 1x1 convolution's
#: im2col is its input itself). Measured, one training step of one layer with/without dx, batch
#: 64, chunks mode, shift/im2col time: 1 -> 6 5x5 2.4/1.8, 3 -> 16 3x3 1.3/1.0, 6 -> 16 5x5
#: 1.4/1.1, 8 -> 16 3x3 1.0/0.85, 12 -> 24 3x3 on 7x7 1.05/0.81, 16 -> 32 3x3 0.89/0.96,
#: 64 -> 64 3x3 on 16x16 (batch 32) 0.80.
SHIFT_MIN_CHANNELS = 8
#: ... and from this many when the batch is not split into chunks (the GEMMs then span the whole
#: batch, which pays for thinner ones: LeNet-5's 6 -> 16 5x5 convolution, "blas" mode, whole
#: LeNet-5 step 6.20 -> 5.63 ms; split into chunks the same layer lost: 6.29 -> 6.50 ms)
SHIFT_MIN_CHANNELS_WHOLE = 4


#: the shift kernels put the samples innermost (one grid for the whole batch) when that computes at
#: most this fraction of the positions one grid per image computes (see _ShiftPlan)
SAMPLES_INNERMOST_BELOW = 0.8


class _ShiftPlan:
    """Index arithmetic of a stride-1 convolution computed on shifted windows of a padded buffer.

    The batch is laid out channel-major as a (C, columns) matrix over a grid: the padded image with
    rows of pitch P = W + max(left, right) (the zero columns that end a row also serve as the next
    row's left padding) and Q = H + max(top, bottom) rows (likewise between grids), pixel (h, w)
    at grid position m = base + h*P + w with base = top*P + left, every other position zero. The
    samples come in ``groups`` of ``G`` samples that share one grid, the G samples innermost:
    column (g*Q*P + m)*G + s holds sample g*G + s at position m. Output pixel (i, j) sits at
    position i*P + j and kernel tap (u, v) reads position i*P + j + u*dh*P + v*dw, so for each tap
    "the input under that tap, for every output pixel of every sample" is ONE column window of the
    buffer, shifted by (u*dh*P + v*dw)*G columns: a strided view BLAS multiplies in place, with no
    im2col matrix. Positions that are not outputs are computed too and dropped (backward gives
    them zero gradient).

    G is 1 (one grid per image) or N (one grid for the batch, only the pitch's P - Wo extra
    columns per row wasted), whichever computes fewer columns by enough (SAMPLES_INNERMOST_BELOW):
    one grid per image also computes the rows between one image's last output row and the next
    image's first. LeNet-5's 6 -> 16 5x5 'valid' convolution of 14x14 maps computes 196 positions
    per 100 outputs with G = 1 against 136 with G = N (its step 5.49 -> 5.12 ms); for a 3x3 'same'
    convolution of 16x16 maps it is 289 against 271 positions, and moving the samples innermost
    costs more in copies than it saves (the residual block's step 24.3 -> 27 ms with G = N).

    The kw column taps are stacked: the buffer holds kw copies of the padded input shifted by
    0, dw, ..., (kw-1)*dw positions, rows ordered (v, c), so each kernel row u is ONE GEMM with inner
    dimension K = kw*C on the window at u*dh*P positions: kh GEMMs per pass instead of kh*kw thinner
    ones (A/B on 64 channels 16x16, batch 32, 2 threads: dW 3.8 ms against 5.2 ms with kh*kw GEMMs,
    forward equal). That is a third of im2col's copying (kw copies instead of kh*kw).
    """

    def __init__(self, x_shape, f, geo, pads):
        kh, kw, _, _, dh, dw, ho, wo = geo
        n, c, h, w = x_shape
        (t, b), (l, r) = pads
        self.n, self.c, self.h, self.w, self.f = n, c, h, w, f
        self.kh, self.kw, self.dh, self.dw, self.ho, self.wo = kh, kw, dh, dw, ho, wo
        p = self.pitch = max(w + max(l, r), wo)  # P: positions per grid row
        q = self.rows = max(h + max(t, b), ho)  # Q: rows per grid
        self.base = t * p + l  # pixel (0, 0) sits at this position
        last = (ho - 1) * p + wo  # positions up to a grid's last output, + 1
        one_each = (n - 1) * q * p + last
        g = n if n > 1 and last * n <= SAMPLES_INNERMOST_BELOW * one_each else 1
        self.group = g  # G: samples per grid
        self.grids = n // g
        # R: the columns up to the last output (none for an empty batch: no grid, no output)
        self.cols = ((self.grids - 1) * q * p + last) * g if self.grids else 0
        self.out_cols = self.grids * q * p * g  # whole grids (for reshaping)
        self.row_offsets = [u * dh * p * g for u in range(kh)]
        # the stacked buffer's width: the last row window ends at R + (kh-1)*dh*P*G
        self.span = self.cols + self.row_offsets[-1]
        self.first_pixel = self.base * g
        # the padded input: the stacked copies' (kw-1)*dw extra positions, and all of the pixels
        self.padded_cols = max(self.span + self.shift(kw - 1), self.first_pixel + self.out_cols)

    def shift(self, v):
        """Columns between the buffer's copy for column tap v and the padded input."""
        return v * self.dw * self.group

    def _grids(self, a, start):
        """Columns [start, start + out_cols) of a (C', ...) array as (C', grids, Q, P, G)."""
        return a[:, start:start + self.out_cols].reshape(a.shape[0], self.grids, self.rows, self.pitch, self.group)

    def _to_grids(self, a):
        """a (N, C', H', W') as (C', grids, H', W', G), the order of the grids' columns (a view
        for G = 1; for G = N the channels-first copy then a view, see _channels_first)."""
        if self.group == 1:
            return a.transpose(1, 0, 2, 3)[:, :, :, :, None]
        ac = _channels_first(a)
        return ac.reshape(ac.shape[0], self.grids, self.group, ac.shape[2], ac.shape[3]).transpose(0, 1, 3, 4, 2)

    def _from_grids(self, a):
        """The inverse of _to_grids: a (C', grids, H', W', G) as (N, C', H', W') (a view)."""
        if self.group == 1:
            return a[:, :, :, :, 0].transpose(1, 0, 2, 3)
        out = np.empty((a.shape[0], self.grids, self.group, a.shape[2], a.shape[3]), dtype=a.dtype)
        out[...] = a.transpose(0, 1, 4, 2, 3)
        return out.reshape(a.shape[0], self.n, a.shape[2], a.shape[3]).transpose(1, 0, 2, 3)

    def row_weights(self, W):
        """W (F, C, kh, kw) as kh matrices (F, kw*C), columns ordered (v, c) like the buffer's rows."""
        return np.ascontiguousarray(W.transpose(2, 0, 3, 1)).reshape(self.kh, self.f, self.kw * self.c)

    def fold_weights(self, dws):
        """The kh row blocks (kw*C, F) of the weight gradient -> dW (F, C, kh, kw)."""
        return dws.reshape(self.kh, self.kw, self.c, self.f).transpose(3, 2, 0, 1)

    def buffer(self, x):
        """The stacked zero-padded input, shape (kw*C, span) (one column tap, kw = 1: the padded
        input itself, shape (C, padded_cols))."""
        c = self.c
        xc = np.zeros((c, self.padded_cols), dtype=x.dtype)
        self._grids(xc, self.first_pixel)[:, :, :self.h, :self.w] = self._to_grids(x)
        if self.kw == 1:
            return xc
        xs = np.empty((self.kw, c, self.span), dtype=x.dtype)
        for v in range(self.kw):
            xs[v] = xc[:, self.shift(v):self.shift(v) + self.span]
        return xs.reshape(self.kw * c, self.span)

    def output(self, yw, bias, dest=None):
        """y (N, F, Ho, Wo) (+ bias) from the GEMMs' (F, out_cols) result."""
        out = self._from_grids(self._grids(yw, 0)[:, :, :self.ho, :self.wo])
        if dest is None and self.group > 1:
            # out is already a view of its own (F, N, Ho, Wo) copy: y is that view (not
            # C-contiguous; every layer reads views), one copy fewer
            if bias is not None:
                out += bias[:, None, None]
            return out
        y = np.empty((self.n, self.f, self.ho, self.wo), dtype=yw.dtype) if dest is None else dest
        if bias is None:
            y[...] = out
        else:
            np.add(out, bias[:, None, None], out=y)
        return y

    def on_grid(self, dy, channels_first):
        """dy (N, F, Ho, Wo) placed on the output positions, zero elsewhere: (F, R) or (R, F)."""
        f = self.f
        if channels_first:
            g = np.zeros((f, self.out_cols), dtype=dy.dtype)
            self._grids(g, 0)[:, :, :self.ho, :self.wo] = self._to_grids(dy)
            return g[:, :self.cols]
        g = np.zeros((self.out_cols, f), dtype=dy.dtype)
        view = g.reshape(self.grids, self.rows, self.pitch, self.group, f)[:, :self.ho, :self.wo]
        if self.group == 1:
            view[:, :, :, 0] = dy.transpose(0, 2, 3, 1)
        else:
            # in two steps: each image's maps pixel-major first, then the samples inward in runs
            # of F (straight from dy every element would come from another image, 64 KB apart)
            pix = np.empty((self.n, self.ho, self.wo, f), dtype=dy.dtype)
            pix[...] = dy.transpose(0, 2, 3, 1)
            view[...] = pix.reshape(self.grids, self.group, self.ho, self.wo, f).transpose(0, 2, 3, 1, 4)
        return g[:self.cols]

    def input_grad(self, dxc, dest=None):
        """dx (N, C, H, W) from the gradient of the padded input (C, padded_cols)."""
        dx = np.empty((self.n, self.c, self.h, self.w), dtype=dxc.dtype) if dest is None else dest
        dx[...] = self._from_grids(self._grids(dxc, self.first_pixel)[:, :, :self.h, :self.w])
        return dx


def _channels_first(x):
    """x (N, C, H, W) copied to (C, N, H, W): the first of two steps that move the samples innermost
    (each image's channel is one contiguous run, so this copy streams; straight to (C, H, W, N) every
    element of a run would come from another image: the residual block's buffer 0.91 -> 0.45 ms)."""
    out = np.empty((x.shape[1], x.shape[0]) + x.shape[2:], dtype=x.dtype)
    out[...] = x.transpose(1, 0, 2, 3)
    return out


def _shift_forward(x, W, bias, geo, pads, dest=None):
    """Stride-1 convolution of x (N, C, H, W): y (N, F, Ho, Wo) and the cache backward needs."""
    plan = _ShiftPlan(x.shape, W.shape[0], geo, pads)
    xs = plan.buffer(x)
    wr = plan.row_weights(W)
    yw = np.empty((plan.f, plan.out_cols), dtype=x.dtype)
    for u, off in enumerate(plan.row_offsets):
        blas.gemm(wr[u], xs[:, off:off + plan.cols], yw[:, :plan.cols], beta=0.0 if u == 0 else 1.0)
    return plan.output(yw, bias, dest), (plan, xs)


def _shift_backward(dy, cache, W, need_dx=True, dest=None, need_db=True):
    """dW (F, C, kh, kw), db (F,) (None unless ``need_db``) and dx (N, C, H, W) (None unless
    ``need_dx``) for :func:`_shift_forward`."""
    plan, xs = cache
    dt = dy.dtype
    db = _bias_grad(dy) if need_db else None
    dyr = plan.on_grid(dy, channels_first=False)  # (R, F)
    dws = np.empty((plan.kh, xs.shape[0], plan.f), dtype=dt)
    for u, off in enumerate(plan.row_offsets):
        blas.gemm(xs[:, off:off + plan.cols], dyr, dws[u])  # (kw*C, R) @ (R, F)
    dW = plan.fold_weights(dws)
    if not need_dx:
        return dW, db, None
    del dyr
    # dx, the forward transposed: each kernel row's (kw*C, F) @ dy (F, R) is added onto the
    # stacked gradient at the row's offset (kh GEMMs), then the kw stacked copies are added back
    # onto the padded input at their column shifts (kw adds). With kh*kw GEMMs of (C, F) straight
    # onto the padded input instead, few channels make thin GEMMs that re-read dy every tap.
    dyc = plan.on_grid(dy, channels_first=True)  # (F, R)
    wr = plan.row_weights(W)  # (kh, F, kw*C)
    c = plan.c
    # (one column tap: the stacked gradient is the padded input's own, as wide as the input)
    dxs = np.zeros((plan.kw * c, plan.span if plan.kw > 1 else plan.padded_cols), dtype=dt)
    for u, off in enumerate(plan.row_offsets):
        blas.gemm(wr[u], dyc, dxs[:, off:off + plan.cols], beta=1.0, trans_a=True)
    if plan.kw == 1:
        dxc = dxs
    else:
        dxc = np.zeros((c, plan.padded_cols), dtype=dt)
        for v in range(plan.kw):
            dxc[:, plan.shift(v):plan.shift(v) + plan.span] += dxs[v * c:(v + 1) * c]
    return dW, db, plan.input_grad(dxc, dest)


# ----------------------------------------------------------------------------------------------
# Conv2D
# ----------------------------------------------------------------------------------------------
@register
class Conv2D(Layer):
    """2-D convolution over images of shape (C, H, W), with ``filters`` learned kernels.

    Every filter has shape (C, kh, kw): it spans all input channels (an RGB filter is 3 x kh x kw)
    and slides over the image ``stride`` pixels at a time; at each position the output is the sum
    of the filter times the window under it, plus the filter's bias. Several filters give several
    output channels (one feature map per filter: a vertical-edge one, a horizontal-edge one ...).

    Like every framework (and like the course notes' worked examples) this computes the
    **cross-correlation**: the filter is laid on the window as it is. The mathematical
    convolution first *flips* the filter (rotates it 180 degrees) and then does the same; since
    the filter is learned, the network simply learns the flipped filter, so nothing is lost.

    Parameters
    ----------
    filters : int
        Number of filters = output channels F.
    kernel_size : int or (kh, kw)
        Filter height and width (odd sizes keep 'same' padding symmetric).
    stride : int or (sh, sw)
        Step between filter positions ("strided convolution").
    padding : 'valid', 'same' or int or (ph, pw)
        'valid': no padding, the output shrinks to (H - k)/s + 1; 'same': zero padding so that the
        output is ceil(H / s) (H itself for stride 1); a number: that many zero pixels on every side.
    dilation : int or (dh, dw)
        Gaps between filter taps (a dilated filter of size k spans d*(k-1)+1 pixels).
    use_bias : bool
    initializer : str
        'auto' (He: variance 2/fan_in, right before ReLU), 'he', 'xavier', 'normal', 'zeros'.
    l1, l2 : float
        Regularization strengths for W.

    Shapes: x : ndarray of shape (batch, C, H, W) -> y : ndarray of shape (batch, F, Ho, Wo).
    ``params["W"]`` has shape (F, C, kh, kw) (the PyTorch/ONNX layout), ``params["b"]`` shape (F,).
    """

    family = "Convolution"
    description = (
        "Slides learned filters over the image and sums filter x window at each step (cross-correlation: "
        "the maths convolution would flip the filter first); each filter makes one feature map."
    )
    regularized = ("W",)

    def __init__(self, filters, kernel_size=3, stride=1, padding="valid", dilation=1, use_bias=True,
                 initializer="auto", l1=0.0, l2=0.0, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self.filters = int(filters)
        if self.filters < 1:
            raise ValueError(f"filters must be at least 1, got {filters}")
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        self.padding = _check_padding(padding)
        self.dilation = _pair(dilation, "dilation")
        self.use_bias = bool(use_bias)
        self.initializer = check_initializer_name(initializer)
        self.l1 = float(l1)
        self.l2 = float(l2)
        if self.l1 < 0 or self.l2 < 0:
            raise ValueError("l1 and l2 cannot be negative")
        self._cache = None

    def get_config(self):
        pad = self.padding if isinstance(self.padding, str) else _compact(self.padding)
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": _compact(self.kernel_size),
            "stride": _compact(self.stride),
            "padding": pad,
            "dilation": _compact(self.dilation),
            "use_bias": self.use_bias,
            "initializer": self.initializer,
            "l1": self.l1,
            "l2": self.l2,
        }

    # -- shapes --------------------------------------------------------------------------------
    def _geometry(self, shape):
        """(Ho, Wo), pads ((t, b), (l, r)) for a per-sample shape (C, H, W); clear errors."""
        if len(shape) != 3:
            hint = ""
            if len(shape) == 1:
                side = int(round(float(shape[0]) ** 0.5))
                hint = (f" (add a Reshape to (1, {side}, {side}) before it)" if side * side == shape[0]
                        else " (add a Reshape to (channels, height, width) before it)")
            raise ShapeError(f"{self.label} needs (C, H, W) input, got {tuple(shape)}{hint}", self.name)
        _, h, w = shape
        kh, kw = self.kernel_size
        ho, ph, spanh = _axis_geometry(h, kh, self.stride[0], self.dilation[0], self.padding, 0)
        wo, pw, spanw = _axis_geometry(w, kw, self.stride[1], self.dilation[1], self.padding, 1)
        if ho is None or wo is None:
            dil = "" if self.dilation == (1, 1) else f" (dilated to {spanh}x{spanw})"
            pad = self.padding if isinstance(self.padding, str) else f"{self.padding[0]},{self.padding[1]}"
            raise ShapeError(
                f"{self.label}: its {kh}x{kw} kernel{dil} is larger than its {h}x{w} input "
                f"(padding {pad}): use a smaller kernel, more padding or a bigger input",
                self.name,
            )
        return (ho, wo), (ph, pw)

    def pads(self, input_shape):
        """Zero padding as (top, bottom, left, right) for a per-sample input shape (for ONNX export)."""
        _, ((t, b), (l, r)) = self._geometry(tuple(input_shape))
        return t, b, l, r

    def output_shape(self, input_shapes):
        self._expect_inputs(input_shapes)
        (ho, wo), _ = self._geometry(tuple(input_shapes[0]))
        return (self.filters, ho, wo)

    def param_count(self, input_shapes=None):
        if input_shapes is None:
            return super().param_count()
        c = input_shapes[0][0]
        kh, kw = self.kernel_size
        return self.filters * c * kh * kw + (self.filters if self.use_bias else 0)

    def build(self, input_shapes, rng=None, dtype=np.float32):
        self._expect_inputs(input_shapes)
        shape = tuple(input_shapes[0])
        self._geometry(shape)
        rng = rng if rng is not None else np.random.default_rng()
        c = shape[0]
        kh, kw = self.kernel_size
        fan_in = c * kh * kw
        fan_out = self.filters * kh * kw
        self.params = {"W": _default_init((self.filters, c, kh, kw), fan_in, fan_out, rng, dtype, self.initializer,
                                        self.init_hint)}
        if self.use_bias:
            self.params["b"] = np.zeros(self.filters, dtype=dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        super().build(input_shapes, rng, dtype)

    # -- computation ---------------------------------------------------------------------------
    def _geo(self, x):
        (ho, wo), pads = self._geometry(tuple(x.shape[1:]))
        kh, kw = self.kernel_size
        return (kh, kw, self.stride[0], self.stride[1], self.dilation[0], self.dilation[1], ho, wo), pads

    def forward(self, x, training=False):
        """x : ndarray of shape (batch, C, H, W) -> ndarray of shape (batch, F, Ho, Wo)."""
        geo, pads = self._geo(x)
        W = self.params["W"]
        wmat = W.reshape(W.shape[0], -1)
        if wmat.dtype != x.dtype:
            wmat = wmat.astype(x.dtype)
        b = self.params.get("b")
        n = x.shape[0]
        if (PARALLEL == "chunks") != bool(_BLAS_LIMIT):
            _sync_blas_threads()
        kh, kw, _, _, _, _, ho, wo = geo
        flops = 2 * W.shape[0] * W[0].size * n * ho * wo
        workers = parallel.workers()
        chunked = PARALLEL == "chunks" and n >= 8 and parallel.enabled() and flops >= CHUNK_MIN_FLOPS
        if chunked and self._use_shift(x, geo, False) and not self._use_shift(x, geo, True):
            # split, the batch would lose the shift kernels (4 to 7 input channels): whole, they pay
            # more than the split does (LeNet-5's 6 -> 16 layer: chunks-mode step 5.95 -> 5.54 ms)
            chunked = False
        shift = self._use_shift(x, geo, chunked)
        if shift:
            wk = W if W.dtype == x.dtype else W.astype(x.dtype)

            def run(xpart, dest=None):
                return _shift_forward(xpart, wk, b, geo, pads, dest=dest)
        else:
            def run(xpart, dest=None):
                return _conv_forward(xpart, wmat, b, geo, pads, dest=dest)
        if chunked:
            # twice as many chunks as threads (at least 8 samples each): when another process
            # holds a core, the free thread takes the remaining chunks instead of the step
            # waiting for the stalled one (median block step under load 83 -> 65 ms)
            parts = parallel.chunks(n, min(2 * workers, max(workers, n // 8)))
            y = np.empty((n, W.shape[0], ho, wo), dtype=x.dtype)  # each chunk writes its rows in place
            res = parallel.map_chunks(lambda ab: run(x[ab[0]:ab[1]], dest=y[ab[0]:ab[1]]), parts)
            cols = [r[1] for r in res]
        else:
            y, cols = run(x)
            parts = None
        if training:  # inference leaves the training cache alone
            self._cache = (cols, pads, geo, parts, x.shape, shift)
        return y

    def _use_shift(self, x, geo, chunked):
        """Whether this call runs the stride-1 shift kernels (else im2col); see SHIFT_MIN_CHANNELS."""
        kh, kw, sh, sw = geo[:4]
        least = SHIFT_MIN_CHANNELS if chunked else SHIFT_MIN_CHANNELS_WHOLE
        return (SHIFT_KERNELS and sh == 1 and sw == 1 and kh * kw > 1 and x.shape[1] >= least
                and x.dtype in (np.float32, np.float64))

    def backward(self, dy):
        """dy : ndarray of shape (batch, F, Ho, Wo) -> dx : ndarray of shape (batch, C, H, W).

        Returns None instead of dx when ``need_input_grad`` is False (the network sets it for a
        layer fed directly by an Input, whose gradient no one reads).
        """
        if self._cache is None:
            raise RuntimeError(f"{self.label}: backward needs a forward pass with training=True first")
        cols, pads, geo, parts, x_shape, shift = self._cache
        need_dx = getattr(self, "need_input_grad", True)
        W = self.params["W"]
        if shift:
            # BLAS multiplies one dtype: dy in that of the forward's buffers (x's)
            dy = np.asarray(dy, dtype=(cols if parts is None else cols[0])[1].dtype)
            wk = W if W.dtype == dy.dtype else W.astype(dy.dtype)

            def run(dypart, cache, part_shape, dest=None):
                return _shift_backward(dypart, cache, wk, need_dx, dest=dest, need_db=self.use_bias)
        else:
            wmat = W.reshape(W.shape[0], -1)
            if wmat.dtype != dy.dtype:
                wmat = wmat.astype(dy.dtype)

            def run(dypart, cache, part_shape, dest=None):
                dWp, dbp, dxp = _conv_backward(dypart, cache, wmat, geo, pads, part_shape, need_dx)
                if dest is not None and dxp is not None:
                    dest[...] = dxp
                return dWp, dbp, dxp
        if parts is None:
            dW, db, dx = run(dy, cols, x_shape)
        else:
            dx = np.empty(x_shape, dtype=dy.dtype) if need_dx else None

            def one(k):
                a, b = parts[k]
                return run(dy[a:b], cols[k], (b - a,) + tuple(x_shape[1:]),
                           dest=None if dx is None else dx[a:b])

            res = parallel.map_chunks(one, range(len(parts)))
            dW = sum(r[0] for r in res)
            db = sum(r[1] for r in res) if self.use_bias else None
        self.grads["W"] = dW.reshape(W.shape).astype(W.dtype, copy=False)
        if self.use_bias:
            self.grads["b"] = db.astype(W.dtype, copy=False)
        self._cache = None
        return dx


@register
class Conv1x1(Conv2D):
    """1x1 convolution ("network in network"): mixes channels at every pixel, H and W unchanged.

    Pooling shrinks height and width; a 1x1 convolution with fewer filters than input channels
    shrinks the depth (channels) instead, which is what makes Inception modules cheap. It is a
    Conv2D with kernel_size 1 (so it has no kernel_size setting of its own).

    Shapes: x : ndarray of shape (batch, C, H, W) -> ndarray of shape (batch, filters, H, W).
    """

    description = (
        "A 1x1 convolution: a small Dense layer applied at every pixel across channels; "
        "fewer filters than channels shrinks the depth (as pooling shrinks height and width)."
    )

    def __init__(self, filters, stride=1, use_bias=True, initializer="auto", l1=0.0, l2=0.0,
                 name=None, trainable=True):
        super().__init__(filters, kernel_size=1, stride=stride, padding="valid", dilation=1, use_bias=use_bias,
                         initializer=initializer, l1=l1, l2=l2, name=name, trainable=trainable)

    def get_config(self):
        cfg = super().get_config()
        for k in ("kernel_size", "padding", "dilation"):
            cfg.pop(k)
        return cfg


# ----------------------------------------------------------------------------------------------
# Conv1D
# ----------------------------------------------------------------------------------------------
@register
class Conv1D(Layer):
    """1-D convolution over sequences or spectrograms of shape (C, L) (channels, time steps).

    The same cross-correlation as Conv2D (no filter flip) along one axis: each of the ``filters``
    kernels has shape (C, k) and slides along L.

    Parameters: filters, kernel_size (int), stride, padding ('valid', 'same' or int), dilation,
    use_bias, initializer, l1, l2 (as Conv2D).

    Shapes: x : ndarray of shape (batch, C, L) -> ndarray of shape (batch, filters, Lo).
    ``params["W"]`` has shape (filters, C, k) (PyTorch/ONNX layout), ``params["b"]`` shape (filters,).
    """

    family = "Convolution"
    description = (
        "Slides learned filters along a sequence or spectrogram (C, L): one feature track per filter "
        "(cross-correlation, no filter flip)."
    )
    regularized = ("W",)

    def __init__(self, filters, kernel_size=3, stride=1, padding="valid", dilation=1, use_bias=True,
                 initializer="auto", l1=0.0, l2=0.0, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self.filters = int(filters)
        if self.filters < 1:
            raise ValueError(f"filters must be at least 1, got {filters}")
        self.kernel_size = _pair(kernel_size, "kernel_size")[0]
        self.stride = _pair(stride, "stride")[0]
        self.dilation = _pair(dilation, "dilation")[0]
        pad = _check_padding(padding)
        self.padding = pad if isinstance(pad, str) else pad[0]
        self.use_bias = bool(use_bias)
        self.initializer = check_initializer_name(initializer)
        self.l1 = float(l1)
        self.l2 = float(l2)
        if self.l1 < 0 or self.l2 < 0:
            raise ValueError("l1 and l2 cannot be negative")
        self._conv = Conv2D(self.filters, (1, self.kernel_size), (1, self.stride),
                            self.padding if isinstance(self.padding, str) else (0, self.padding),
                            (1, self.dilation), self.use_bias, self.initializer)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "stride": self.stride,
            "padding": self.padding,
            "dilation": self.dilation,
            "use_bias": self.use_bias,
            "initializer": self.initializer,
            "l1": self.l1,
            "l2": self.l2,
        }

    def _check(self, shape):
        if len(shape) != 2:
            raise ShapeError(f"{self.label} needs (C, L) input (channels, length), got {tuple(shape)}", self.name)
        c, length = shape
        lo, _, span = _axis_geometry(length, self.kernel_size, self.stride, self.dilation,
                                     self.padding if isinstance(self.padding, str) else (self.padding,), 0)
        if lo is None:
            raise ShapeError(
                f"{self.label}: its kernel of {self.kernel_size} (spanning {span}) is larger than its "
                f"input length {length} (padding {self.padding}): use a smaller kernel or more padding",
                self.name,
            )
        return lo

    def pads(self, input_shape):
        """Zero padding as (begin, end) along L for a per-sample input shape (for ONNX export)."""
        self._check(tuple(input_shape))
        _, _, l, r = self._conv.pads((input_shape[0], 1, input_shape[1]))
        return l, r

    def output_shape(self, input_shapes):
        self._expect_inputs(input_shapes)
        return (self.filters, self._check(tuple(input_shapes[0])))

    def param_count(self, input_shapes=None):
        if input_shapes is None:
            return super().param_count()
        return self.filters * input_shapes[0][0] * self.kernel_size + (self.filters if self.use_bias else 0)

    def build(self, input_shapes, rng=None, dtype=np.float32):
        self._expect_inputs(input_shapes)
        self._check(tuple(input_shapes[0]))
        rng = rng if rng is not None else np.random.default_rng()
        c = input_shapes[0][0]
        k = self.kernel_size
        self.params = {"W": _default_init((self.filters, c, k), c * k, self.filters * k, rng, dtype, self.initializer,
                                        self.init_hint)}
        if self.use_bias:
            self.params["b"] = np.zeros(self.filters, dtype=dtype)
        self.grads = {k_: np.zeros_like(v) for k_, v in self.params.items()}
        super().build(input_shapes, rng, dtype)

    def _sync(self):
        W = self.params["W"]
        self._conv.params = {"W": W.reshape(W.shape[0], W.shape[1], 1, W.shape[2])}
        if self.use_bias:
            self._conv.params["b"] = self.params["b"]
        self._conv.grads = {}

    def forward(self, x, training=False):
        """x : ndarray of shape (batch, C, L) -> ndarray of shape (batch, filters, Lo)."""
        self._check(tuple(x.shape[1:]))
        self._sync()
        y = self._conv.forward(x[:, :, None, :], training=training)
        return y[:, :, 0, :]

    def backward(self, dy):
        """dy : ndarray of shape (batch, filters, Lo) -> dx : ndarray of shape (batch, C, L)."""
        self._conv.need_input_grad = self.need_input_grad
        dx = self._conv.backward(dy[:, :, None, :])
        self.grads["W"] = self._conv.grads["W"].reshape(self.params["W"].shape)
        if self.use_bias:
            self.grads["b"] = self._conv.grads["b"]
        return None if dx is None else dx[:, :, 0, :]


# ----------------------------------------------------------------------------------------------
# ZeroPadding2D
# ----------------------------------------------------------------------------------------------
@register
class ZeroPadding2D(Layer):
    """Adds rows and columns of zeros around each feature map.

    padding : int (all sides), (rows, cols), or (top, bottom, left, right).
    Shapes: x : ndarray of shape (batch, C, H, W) -> ndarray of shape (batch, C, H+top+bottom, W+left+right).
    """

    family = "Convolution"
    description = "Adds a border of zero pixels around every feature map, so a following convolution does not shrink it."

    def __init__(self, padding=1, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        if isinstance(padding, (list, tuple)):
            vals = [int(v) for v in padding]
            if len(vals) == 2:
                vals = [vals[0], vals[0], vals[1], vals[1]]
            elif len(vals) != 4:
                raise ValueError(f"padding must be 1, 2 or 4 numbers, got {padding!r}")
        else:
            vals = [int(padding)] * 4
        if min(vals) < 0:
            raise ValueError(f"padding cannot be negative, got {padding!r}")
        self.padding = tuple(vals)

    def get_config(self):
        t, b, l, r = self.padding
        if t == b == l == r:
            pad = t
        elif t == b and l == r:
            pad = [t, l]
        else:
            pad = list(self.padding)
        return {**super().get_config(), "padding": pad}

    def output_shape(self, input_shapes):
        self._expect_inputs(input_shapes)
        shape = tuple(input_shapes[0])
        if len(shape) != 3:
            raise ShapeError(f"{self.label} needs (C, H, W) input, got {shape}", self.name)
        t, b, l, r = self.padding
        return (shape[0], shape[1] + t + b, shape[2] + l + r)

    def forward(self, x, training=False):
        self.output_shape([x.shape[1:]])
        t, b, l, r = self.padding
        return _pad(x, ((t, b), (l, r)))

    def backward(self, dy):
        t, b, l, r = self.padding
        return dy[:, :, t:dy.shape[2] - b, l:dy.shape[3] - r]


# ----------------------------------------------------------------------------------------------
# pooling
# ----------------------------------------------------------------------------------------------
class _Pool2D(Layer):
    """Shared shape logic of MaxPool2D and AvgPool2D."""

    family = "Convolution"

    def __init__(self, pool_size=2, stride=None, padding="valid", name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self.pool_size = _pair(pool_size, "pool_size")
        self.stride = _pair(stride, "stride") if stride is not None else self.pool_size
        self.padding = _check_padding(padding)
        self._cache = None

    def get_config(self):
        pad = self.padding if isinstance(self.padding, str) else _compact(self.padding)
        return {**super().get_config(), "pool_size": _compact(self.pool_size), "stride": _compact(self.stride),
                "padding": pad}

    def _geometry(self, shape):
        if len(shape) != 3:
            raise ShapeError(f"{self.label} needs (C, H, W) input, got {tuple(shape)}", self.name)
        _, h, w = shape
        ph, pw = self.pool_size
        ho, padh, _ = _axis_geometry(h, ph, self.stride[0], 1, self.padding, 0)
        wo, padw, _ = _axis_geometry(w, pw, self.stride[1], 1, self.padding, 1)
        if ho is None or wo is None:
            raise ShapeError(
                f"{self.label}: its {ph}x{pw} window is larger than its {h}x{w} input", self.name
            )
        return (ho, wo), (padh, padw)

    def pads(self, input_shape):
        """Padding as (top, bottom, left, right) for a per-sample input shape (for ONNX export)."""
        _, ((t, b), (l, r)) = self._geometry(tuple(input_shape))
        return t, b, l, r

    def output_shape(self, input_shapes):
        self._expect_inputs(input_shapes)
        shape = tuple(input_shapes[0])
        (ho, wo), _ = self._geometry(shape)
        return (shape[0], ho, wo)

    def _slices(self, ho, wo):
        """For every window offset (i, j): the strided slices of the padded input it touches."""
        ph, pw = self.pool_size
        sh, sw = self.stride
        for i in range(ph):
            for j in range(pw):
                yield i * pw + j, (slice(None), slice(None), slice(i, i + sh * (ho - 1) + 1, sh),
                                   slice(j, j + sw * (wo - 1) + 1, sw))


@register
class MaxPool2D(_Pool2D):
    """Max pooling: keeps the largest value of each pool_size window of each feature map.

    No weights to learn (only the hyperparameters pool_size and stride); it shrinks H and W and keeps
    the strongest response of each feature. Backward sends each output's gradient to the one input
    that was the maximum (the first one on ties).

    Shapes: x : ndarray of shape (batch, C, H, W) -> ndarray of shape (batch, C, Ho, Wo).
    """

    description = "Keeps the largest value in each window of each feature map: shrinks height and width, nothing to learn."

    def forward(self, x, training=False):
        """x : ndarray of shape (batch, C, H, W) -> ndarray of shape (batch, C, Ho, Wo)."""
        (ho, wo), pads = self._geometry(tuple(x.shape[1:]))
        ph, pw = self.pool_size
        n, c, h, w = x.shape
        if training and self._tiles(x.shape, pads, ho, wo):
            return self._forward_tiles(x, ho, wo)
        # running maximum over the window offsets: ph*pw vectorised steps, no window copies
        xp = _pad(x, pads, value=-np.inf)
        y = None
        for _, sl in self._slices(ho, wo):
            y = xp[sl].copy() if y is None else np.maximum(y, xp[sl], out=y)
        if training:  # inference leaves the training cache alone
            self._cache = (xp, y, x.shape, pads, (ho, wo))
        return y

    def max_pools(self, input_shape):
        """True without padding: every window then holds only input values (Layer.max_pools)."""
        try:
            _, ((t, b), (l, r)) = self._geometry(tuple(input_shape))
        except ShapeError:
            return False
        return not (t or b or l or r)

    def _tiles(self, shape, pads, ho, wo):
        """True when the windows tile the input exactly (stride = pool size, no padding, no
        leftover rows or columns): the common 2x2 pooling of an even-sized map."""
        (t, b), (l, r) = pads
        return (self.stride == self.pool_size and not (t or b or l or r)
                and ho * self.pool_size[0] == shape[2] and wo * self.pool_size[1] == shape[3])

    def _forward_tiles(self, x, ho, wo):
        """Training forward for tiling windows: the running maximum also records which offset of
        each window won (the first one on ties), so backward is one masked copy per offset."""
        itype = np.uint8 if self.pool_size[0] * self.pool_size[1] <= 256 else np.uint32
        which = np.zeros((x.shape[0], x.shape[1], ho, wo), dtype=itype)
        better = np.empty(which.shape, dtype=bool)
        step = np.empty(which.shape, dtype=itype)
        y = None
        for k, sl in self._slices(ho, wo):
            if y is None:
                y = x[sl].copy()
                continue
            win = x[sl]
            np.greater(win, y, out=better)  # strictly: ties keep the earlier offset
            # offsets come in increasing order, so "the last one that beat the running max" is
            # max(which, k * better) (np.copyto with where= is ten times slower)
            np.multiply(better, itype(k), out=step)
            np.maximum(which, step, out=which)
            np.maximum(y, win, out=y)
        self._cache = ("tiles", which, x.shape, (ho, wo))
        return y

    def backward(self, dy):
        """dy : ndarray of shape (batch, C, Ho, Wo) -> dx : ndarray of shape (batch, C, H, W).

        Each output's gradient goes to the input of its window that was the maximum (the first one
        on ties, as in PyTorch).
        """
        if isinstance(self._cache[0], str):  # ("tiles", which, ...) from _forward_tiles
            _, which, x_shape, (ho, wo) = self._cache
            self._cache = None
            dx = np.empty(x_shape, dtype=dy.dtype)  # the windows cover every input once
            hit = np.empty(which.shape, dtype=bool)
            for k, sl in self._slices(ho, wo):
                np.equal(which, k, out=hit)
                np.multiply(dy, hit, out=dx[sl])
            return dx
        xp, y, x_shape, pads, (ho, wo) = self._cache
        self._cache = None
        n, c, h, w = x_shape
        overlap = self.stride[0] < self.pool_size[0] or self.stride[1] < self.pool_size[1]
        dxp = np.zeros(xp.shape, dtype=dy.dtype)
        taken = None
        part = np.empty(y.shape, dtype=dy.dtype)
        for _, sl in self._slices(ho, wo):
            hit = xp[sl] == y
            if taken is None:
                taken = hit
            else:
                hit &= ~taken
                taken |= hit
            if overlap:
                np.multiply(dy, hit, out=part)
                dxp[sl] += part
            else:
                np.multiply(dy, hit, out=dxp[sl])
        (t, _), (l, _) = pads
        if (t, l) == (0, 0) and xp.shape == x_shape:
            return dxp
        return dxp[:, :, t:t + h, l:l + w]


@register
class AvgPool2D(_Pool2D):
    """Average pooling: the mean of each pool_size window of each feature map (no weights).

    With padding, the mean counts only real pixels (padding zeros are not averaged in).

    Shapes: x : ndarray of shape (batch, C, H, W) -> ndarray of shape (batch, C, Ho, Wo).
    """

    description = "Replaces each window of each feature map by its average: shrinks height and width, nothing to learn."

    def _counts(self, h, w, pads, ho, wo, dtype):
        if pads == ((0, 0), (0, 0)):
            return None
        ones = _pad(np.ones((1, 1, h, w), dtype=dtype), pads)
        cnt = np.zeros((1, 1, ho, wo), dtype=dtype)
        for _, sl in self._slices(ho, wo):
            cnt += ones[sl]
        return cnt

    def forward(self, x, training=False):
        """x : ndarray of shape (batch, C, H, W) -> ndarray of shape (batch, C, Ho, Wo)."""
        (ho, wo), pads = self._geometry(tuple(x.shape[1:]))
        n, c, h, w = x.shape
        ph, pw = self.pool_size
        if pads == ((0, 0), (0, 0)) and self.stride == self.pool_size:
            y = x[:, :, :ho * ph, :wo * pw].reshape(n, c, ho, ph, wo, pw).mean(axis=(3, 5))
        else:
            xp = _pad(x, pads)
            y = np.zeros((n, c, ho, wo), dtype=x.dtype)
            for _, sl in self._slices(ho, wo):
                y += xp[sl]
            cnt = self._counts(h, w, pads, ho, wo, x.dtype)
            y /= (ph * pw) if cnt is None else cnt
        if training:  # inference leaves the training cache alone
            self._cache = (x.shape, pads, (ho, wo))
        return y

    def backward(self, dy):
        """dy : ndarray of shape (batch, C, Ho, Wo) -> dx : ndarray of shape (batch, C, H, W)."""
        x_shape, pads, (ho, wo) = self._cache
        self._cache = None
        n, c, h, w = x_shape
        ph, pw = self.pool_size
        cnt = self._counts(h, w, pads, ho, wo, dy.dtype)
        g = dy / ((ph * pw) if cnt is None else cnt)
        (t, b), (l, r) = pads
        dxp = np.zeros((n, c, h + t + b, w + l + r), dtype=dy.dtype)
        for _, sl in self._slices(ho, wo):
            dxp[sl] += g
        return dxp[:, :, t:t + h, l:l + w]


class _GlobalAveragePooling(Layer):
    """Averages every channel over all its positions: (C, *spatial) -> (C,). No weights."""

    family = "Convolution"
    #: the sample layout this pooling takes, for shape errors: "(C, H, W)" or "(C, L)"
    layout = None

    def output_shape(self, input_shapes):
        self._expect_inputs(input_shapes)
        shape = tuple(input_shapes[0])
        if len(shape) != self.layout.count(",") + 1:
            raise ShapeError(f"{self.label} needs {self.layout} input, got {shape}", self.name)
        return (shape[0],)

    def forward(self, x, training=False):
        self.output_shape([x.shape[1:]])
        if training:
            self._shape = x.shape
        return x.mean(axis=tuple(range(2, x.ndim)))

    def backward(self, dy):
        shape = self._shape
        size = int(np.prod(shape[2:]))
        return np.broadcast_to((dy / size).reshape(dy.shape + (1,) * (len(shape) - 2)), shape).copy()


@register
class GlobalAveragePooling2D(_GlobalAveragePooling):
    """Averages each whole feature map to one number: (C, H, W) -> (C,).

    Replaces Flatten + a big Dense at the end of modern CNNs (ResNet, Inception): no weights and
    any image size.

    Shapes: x : ndarray of shape (batch, C, H, W) -> ndarray of shape (batch, C).
    """

    layout = "(C, H, W)"
    description = "Averages each whole feature map to a single number: (C, H, W) becomes (C,), nothing to learn."


@register
class GlobalAveragePooling1D(_GlobalAveragePooling):
    """Averages each channel over the whole length: (C, L) -> (C,).

    Shapes: x : ndarray of shape (batch, C, L) -> ndarray of shape (batch, C).
    """

    layout = "(C, L)"
    description = "Averages each channel of a sequence over its whole length: (C, L) becomes (C,), nothing to learn."
