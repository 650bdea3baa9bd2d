"""Measure translation equivariance (feature maps) and invariance (predictions).

Two properties, never to be conflated:

- *equivariance* of a feature map f: shifting the input shifts the output,
  ``f(S x) = S' f(x)``, where ``S'`` is the same translation scaled by the output stride;
- *invariance* of a classifier g: shifting the input leaves the output unchanged,
  ``g(S x) = g(x)``; global pooling turns an equivariant feature map into an invariant one.

`equivariance_error` measures the first for an output with spatial dims and the second for
logits ``(N, K)``; `error_map` locates the error; `shift_consistency` is Zhang (2019)'s
prediction-level metric; `assert_equivariant` compares `equivariance_error` with a tolerance.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable

import torch
from torch import Tensor, nn

MODES = ("circular", "zeros")  # circular = torch.roll; zeros = content pushed off the edge is lost
DEFAULT_SHIFTS = ((1, 0), (0, 1), (2, -3), (-1, -1))  # (dy, dx) pairs tried by assert_equivariant
RTOL = {torch.float32: 1e-5, torch.float64: 1e-12}  # assert_equivariant's default per input dtype


def _as_int(label: str, value: object) -> int:
    """Return `value` as an int; reject bools, floats and anything without __index__."""
    if isinstance(value, bool):
        raise ValueError(f"{label}={value!r}: expected an integer, got a bool")
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"{label}={value!r}: expected an integer") from None


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode={mode!r}: expected one of {MODES}")


def _check_batch(x: object) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"x: expected a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"x: expected shape (N, C, H, W), got {tuple(x.shape)}")


def _spans(d: int, n: int) -> tuple[slice, slice]:
    """(destination, source) slices of a length-n axis translated by d, with |d| < n."""
    return (slice(d, n), slice(0, n - d)) if d >= 0 else (slice(0, n + d), slice(-d, n))


def shift(x: Tensor, dy: int, dx: int, mode: str = "circular") -> Tensor:
    """Translate the last two dims by (dy, dx) pixels: ``y[..., i, j] = x[..., i - dy, j - dx]``.

    Positive shifts move content down/right. ``"circular"`` wraps indices modulo (H, W);
    ``"zeros"`` reads 0 where ``i - dy`` or ``j - dx`` falls outside and needs |dy| < H, |dx| < W.

    >>> shift(torch.arange(4.0).reshape(1, 4), 0, 1, mode="zeros")
    tensor([[0., 0., 1., 2.]])
    """
    dy, dx = _as_int("shift dy", dy), _as_int("shift dx", dx)
    _check_mode(mode)
    if not isinstance(x, Tensor):
        raise TypeError(f"shift x: expected a torch.Tensor, got {type(x).__name__}")
    if x.ndim < 2:
        raise ValueError(f"shift x: expected at least 2 dims (..., H, W), got {tuple(x.shape)}")
    if mode == "circular":
        return torch.roll(x, shifts=(dy, dx), dims=(-2, -1))
    h, w = x.shape[-2:]
    if abs(dy) >= h or abs(dx) >= w:
        raise ValueError(f"shift (dy, dx)=({dy}, {dx}): expected |dy| < H={h} and |dx| < W={w} "
                         f"with mode='zeros'")
    (y_dst, y_src), (x_dst, x_src) = _spans(dy, h), _spans(dx, w)
    out = torch.zeros_like(x)
    out[..., y_dst, x_dst] = x[..., y_src, x_src]
    return out


def _residual(f: Callable[[Tensor], Tensor], x: Tensor, dy: int, dx: int,
              mode: str) -> tuple[Tensor, Tensor]:
    """(f(S x) - S' f(x) for the best output shift S', f(x)); S' = identity for (N, K) outputs."""
    _check_batch(x)
    with torch.no_grad():
        fx, fsx = f(x), f(shift(x, dy, dx, mode))
    if fx.ndim == 2:
        return fsx - fx, fx
    if fx.ndim != 4:
        raise ValueError(f"f(x): expected shape (N, K) or (N, C, H, W), got {tuple(fx.shape)}")
    candidates = []
    for d, n_in, n_out, axis in ((dy, x.shape[-2], fx.shape[-2], "H"),
                                 (dx, x.shape[-1], fx.shape[-1], "W")):
        if n_in % n_out:
            raise ValueError(f"f(x): expected an integer output stride, got {axis}={n_in} -> "
                             f"{n_out} (input {tuple(x.shape)}, output {tuple(fx.shape)})")
        s = n_in // n_out
        options = {math.floor(d / s), math.ceil(d / s)}  # one option when s divides d
        candidates.append([c for c in options if mode == "circular" or abs(c) < n_out])
    residuals = [fsx - shift(fx, cy, cx, mode) for cy in candidates[0] for cx in candidates[1]]
    return min(residuals, key=torch.linalg.vector_norm), fx


def equivariance_error(f: Callable[[Tensor], Tensor], x: Tensor, dy: int, dx: int,
                       mode: str = "circular") -> float:
    """Relative error of f under the input shift (dy, dx): ``||f(S x) - S' f(x)|| / ||f(x)||``.

    For a feature map f: (N, C, H, W) -> (N, C', H/s, W/s), ``S'`` shifts by (dy/s, dx/s).
    When s does not divide a shift, no output shift is exact and the error is the minimum over
    the floor and ceil of dy/s and dx/s: the best any pure translation of the output can do.
    For logits f: (N, C, H, W) -> (N, K), ``S'`` is the identity: this is the *invariance*
    error ``||f(S x) - f(x)|| / ||f(x)||``. Raises ValueError when ``f(x)`` is all zeros.

    >>> conv = torch.nn.Conv2d(1, 4, 3, padding=1, padding_mode="circular")
    >>> equivariance_error(conv, torch.randn(2, 1, 8, 8), 2, -3) < 1e-5
    True
    """
    residual, fx = _residual(f, x, dy, dx, mode)
    norm = torch.linalg.vector_norm(fx)
    if norm == 0:
        raise ValueError("f(x): expected a non-zero output, got all zeros (relative error "
                         "undefined; a dead network is trivially 'equivariant')")
    return (torch.linalg.vector_norm(residual) / norm).item()


def error_map(f: Callable[[Tensor], Tensor], x: Tensor, dy: int, dx: int,
              mode: str = "zeros") -> Tensor:
    """Where the equivariance error sits: ``E[i, j] = mean_n sum_c |f(S x) - S' f(x)| / m``.

    ``S'`` is chosen as in `equivariance_error`; m = mean over n, i, j of ``sum_c |f(x)|``, so
    E is in units of a typical output position. Shape (H', W'); needs a spatial output.

    >>> conv = torch.nn.Conv2d(1, 4, 3, padding=1)  # zero padding: exact only in the interior
    >>> e = error_map(conv, torch.randn(2, 1, 12, 12), 1, 0)
    >>> bool(e[2:-2, 2:-2].max() < 1e-5), bool(e[-1].max() > 1e-3)
    (True, True)
    """
    residual, fx = _residual(f, x, dy, dx, mode)
    if fx.ndim != 4:
        raise ValueError(f"f(x): expected shape (N, C, H, W) for an error map, "
                         f"got {tuple(fx.shape)}")
    scale = fx.abs().sum(dim=1).mean()
    if scale == 0:
        raise ValueError("f(x): expected a non-zero output, got all zeros")
    return residual.abs().sum(dim=1).mean(dim=0) / scale  # (H', W')


def shift_consistency(model: nn.Module, x: Tensor, max_shift: int, n_pairs: int = 1,
                      seed: int = 0, mode: str = "circular") -> float:
    """Share of inputs whose predicted class agrees under two random shifts (Zhang, 2019).

    ``mean over pairs and n of [argmax model(S1 x_n) == argmax model(S2 x_n)]``, where each
    input draws its own S1, S2 uniformly from [-max_shift, max_shift]^2 with a
    ``torch.Generator`` seeded by `seed`. Runs in eval mode without grad; restores the mode.

    >>> net = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    >>> shift_consistency(net, torch.randn(8, 3, 6, 6), max_shift=2)
    1.0
    """
    _check_batch(x)
    _check_mode(mode)
    max_shift, n_pairs = _as_int("max_shift", max_shift), _as_int("n_pairs", n_pairs)
    if max_shift < 0:
        raise ValueError(f"max_shift={max_shift}: expected >= 0")
    if mode == "zeros" and max_shift >= min(x.shape[-2:]):
        raise ValueError(f"max_shift={max_shift}: expected < min(H, W)={min(x.shape[-2:])} "
                         f"with mode='zeros'")
    if n_pairs < 1:
        raise ValueError(f"n_pairs={n_pairs}: expected >= 1")
    generator = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    agree = []
    try:
        with torch.no_grad():
            for _ in range(n_pairs):
                offsets = torch.randint(-max_shift, max_shift + 1, (2, len(x), 2),
                                        generator=generator).tolist()  # (pair, N, (dy, dx))
                preds = [model(torch.stack([shift(xi, dy, dx, mode)
                                            for xi, (dy, dx) in zip(x, draw)])).argmax(dim=1)
                         for draw in offsets]
                agree.append((preds[0] == preds[1]).float().mean().item())
    finally:
        model.train(was_training)
    return sum(agree) / n_pairs


def assert_equivariant(f: Callable[[Tensor], Tensor], x: Tensor,
                       shifts: Iterable[tuple[int, int]] = DEFAULT_SHIFTS,
                       mode: str = "circular", rtol: float | None = None) -> None:
    """Assert ``equivariance_error(f, x, dy, dx) <= rtol`` for every (dy, dx) in `shifts`.

    The default rtol depends on x.dtype (`RTOL`); for logits this asserts invariance.

    >>> conv = torch.nn.Conv2d(2, 3, 3, padding=1, padding_mode="circular")
    >>> assert_equivariant(conv, torch.randn(1, 2, 8, 8))
    """
    _check_batch(x)
    if rtol is None:
        if x.dtype not in RTOL:
            raise ValueError(f"rtol=None: expected x.dtype in {list(RTOL)}, got {x.dtype}; "
                             f"pass rtol explicitly")
        rtol = RTOL[x.dtype]
    errors = {(dy, dx): equivariance_error(f, x, dy, dx, mode) for dy, dx in shifts}
    if not errors:
        raise ValueError("shifts: expected at least one (dy, dx) pair, got none")
    worst = max(errors, key=errors.__getitem__)
    if errors[worst] > rtol:
        raise AssertionError(f"not equivariant: worst shift (dy, dx)={worst} has relative error "
                             f"{errors[worst]:.3g} > rtol={rtol:.3g} (mode={mode!r}, "
                             f"{len(errors)} shifts tried)")
