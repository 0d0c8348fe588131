"""Convolution and max-pooling in NumPy, forward and backward, vectorised.

All four functions work on batches of images in NCHW layout, as ``torch.nn.functional``
does: ``x`` has shape ``(N, C, H, W)`` (batch, channels, height, width). They follow
``torch.nn.functional.conv2d`` and ``torch.nn.functional.max_pool2d`` exactly, and the
backward functions return what torch autograd computes.

Conventions:

- Inputs are float arrays; work in float64 and return float64 arrays.
- ``stride`` and ``padding`` are ints, used for both the height and the width. Kernels
  may be non-square (``KH != KW``) and images non-square (``H != W``).
- Output size, for both functions (``floor`` division; padding only in ``conv2d``)::

      H_out = (H + 2 * padding - KH) // stride + 1
      W_out = (W + 2 * padding - KW) // stride + 1

  Rows or columns that do not fill a whole window at the bottom/right are ignored.
- Vectorise ``conv2d``: no Python loops over images, filters and output pixels. Use
  im2col or a strided view (``np.lib.stride_tricks.sliding_window_view``) and one matrix
  product or ``np.einsum``; a loop over the ``KH * KW`` kernel offsets is fine. The grader
  times ``conv2d`` on 8 images of 3x32x32 with 16 filters of 3x3 and allows 50 times what an
  im2col version takes (at least 0.3 s); four nested loops take seconds.
- No function modifies its arguments.
"""

from __future__ import annotations

import numpy as np


def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 1, padding: int = 0) -> np.ndarray:
    """2-D convolution as deep-learning libraries define it: a cross-correlation.

    ``out[n, f, i, j] = b[f] + sum over c, p, q of
    xp[n, c, i * stride + p, j * stride + q] * w[f, c, p, q]``, where ``xp`` is ``x``
    zero-padded by ``padding`` pixels on every side. The kernel is **not** flipped
    (that is what ``torch.nn.functional.conv2d`` computes).

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Input images.
    w : ndarray of shape (F, C, KH, KW)
        ``F`` filters, each spanning all ``C`` input channels.
    b : ndarray of shape (F,)
        One bias per filter.
    stride : int, default=1
        Step between two windows, in both directions (``>= 1``).
    padding : int, default=0
        Zeros added on each side of the height and the width (``>= 0``).

    Returns
    -------
    out : ndarray of shape (N, F, H_out, W_out)
        Float64, with ``H_out``, ``W_out`` as in the module docstring.
    """
    # BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    # a read-only view of every window: (N, C, H_out, W_out, KH, KW), no copy
    win = np.lib.stride_tricks.sliding_window_view(xp, w.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]
    out = np.einsum("nchwpq,fcpq->nfhw", win, w, optimize=True)
    return out + b[None, :, None, None]
    # END SOLUTION


def conv2d_backward(
    dout: np.ndarray, x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 1, padding: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of a scalar loss through ``conv2d(x, w, b, stride, padding)``.

    Parameters
    ----------
    dout : ndarray of shape (N, F, H_out, W_out)
        Gradient of the loss with respect to the output of ``conv2d``.
    x, w, b, stride, padding
        The inputs of the forward call, as in ``conv2d``.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
        Gradient with respect to ``x`` (the unpadded input; pixels that no window
        reaches get 0).
    dw : ndarray of shape (F, C, KH, KW)
        Gradient with respect to ``w``.
    db : ndarray of shape (F,)
        Gradient with respect to ``b``.

    All three are float64 and equal what torch autograd gives for
    ``torch.nn.functional.conv2d`` (up to rounding).
    """
    # BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    dout = np.asarray(dout, dtype=np.float64)
    h, wd = x.shape[2:]
    _, _, kh, kw = w.shape
    ho, wo = dout.shape[2], dout.shape[3]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    dw = np.einsum("nchwpq,nfhw->fcpq", win, dout, optimize=True)
    db = dout.sum(axis=(0, 2, 3))
    dxp = np.zeros_like(xp)
    cols = np.einsum("nfhw,fcpq->nchwpq", dout, w, optimize=True)  # each window's share
    for p in range(kh):  # scatter-add each kernel offset back: KH * KW vectorised adds
        for q in range(kw):
            dxp[:, :, p : p + stride * ho : stride, q : q + stride * wo : stride] += cols[:, :, :, :, p, q]
    dx = dxp[:, :, padding : padding + h, padding : padding + wd]
    return dx, dw, db
    # END SOLUTION


def max_pool2d(x: np.ndarray, kernel: int, stride: int | None = None) -> np.ndarray:
    """Max-pooling over ``kernel x kernel`` windows, channel by channel (no padding).

    ``out[n, c, i, j] = max over p, q < kernel of x[n, c, i * stride + p, j * stride + q]``,
    as ``torch.nn.functional.max_pool2d(x, kernel, stride)``.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Input.
    kernel : int
        Side of the square window.
    stride : int or None, default=None
        Step between two windows; ``None`` means ``stride = kernel`` (torch's default).
        ``stride < kernel`` gives overlapping windows.

    Returns
    -------
    out : ndarray of shape (N, C, H_out, W_out)
        Float64, ``H_out = (H - kernel) // stride + 1`` and likewise for ``W_out``.
    """
    # BEGIN SOLUTION
    stride = kernel if stride is None else stride
    x = np.asarray(x, dtype=np.float64)
    win = np.lib.stride_tricks.sliding_window_view(x, (kernel, kernel), axis=(2, 3))[:, :, ::stride, ::stride]
    return win.max(axis=(4, 5))
    # END SOLUTION


def max_pool2d_backward(dout: np.ndarray, x: np.ndarray, kernel: int, stride: int | None = None) -> np.ndarray:
    """Gradient of a scalar loss through ``max_pool2d(x, kernel, stride)``.

    Each output pixel passes its gradient ``dout[n, c, i, j]`` to **one** input pixel: the
    position of the maximum in its window. When several positions in a window hold the
    maximum (a tie), the gradient goes to the **first** of them in row-major order within
    the window (as ``np.argmax`` on the flattened window picks it, and as torch does).
    Every other pixel of the window gets nothing from it. With overlapping windows an
    input pixel can be the maximum of several windows: its gradient is the **sum** over them.

    Parameters
    ----------
    dout : ndarray of shape (N, C, H_out, W_out)
        Gradient of the loss with respect to the output of ``max_pool2d``.
    x, kernel, stride
        The inputs of the forward call, as in ``max_pool2d``.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
        Float64; equals what torch autograd gives for ``torch.nn.functional.max_pool2d``.
    """
    # BEGIN SOLUTION
    stride = kernel if stride is None else stride
    x = np.asarray(x, dtype=np.float64)
    dout = np.asarray(dout, dtype=np.float64)
    n, c = x.shape[:2]
    win = np.lib.stride_tricks.sliding_window_view(x, (kernel, kernel), axis=(2, 3))[:, :, ::stride, ::stride]
    ho, wo = win.shape[2], win.shape[3]
    arg = win.reshape(n, c, ho, wo, kernel * kernel).argmax(axis=4)  # first maximum, row-major
    p, q = np.divmod(arg, kernel)
    rows = np.arange(ho)[None, None, :, None] * stride + p
    cols = np.arange(wo)[None, None, None, :] * stride + q
    nn = np.arange(n)[:, None, None, None]
    cc = np.arange(c)[None, :, None, None]
    dx = np.zeros_like(x)
    np.add.at(dx, (nn, cc, rows, cols), dout)  # add.at sums the windows that share a maximum
    return dx
    # END SOLUTION
