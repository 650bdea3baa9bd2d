"""Tests for equidocs.equivariance: shift algebra, equivariance of conv layers, its failures."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from equidocs.equivariance import (
    RTOL,
    assert_equivariant,
    equivariance_error,
    error_map,
    shift,
    shift_consistency,
)
from equidocs.models import ConvNet, DenseNet, LocallyConnected2d, LocallyConnectedNet

FAST = settings(max_examples=25, deadline=None)


def _randn(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _conv(c_in: int, c_out: int, k: int, padding_mode: str, seed: int) -> nn.Conv2d:
    torch.manual_seed(seed)
    return nn.Conv2d(c_in, c_out, k, padding="same", padding_mode=padding_mode).double()


# --- shift --------------------------------------------------------------------------------------

shapes = st.lists(st.integers(1, 4), min_size=0, max_size=2).flatmap(
    lambda lead: st.tuples(st.integers(1, 7), st.integers(1, 7)).map(lambda hw: (*lead, *hw)))


@FAST
@given(shape=shapes, dy=st.integers(-20, 20), dx=st.integers(-20, 20))
def test_circular_shift_then_inverse_is_identity(shape, dy, dx):
    x = _randn(*shape)
    assert torch.equal(shift(shift(x, dy, dx), -dy, -dx), x)


@FAST
@given(shape=shapes, a=st.tuples(st.integers(-9, 9), st.integers(-9, 9)),
       b=st.tuples(st.integers(-9, 9), st.integers(-9, 9)))
def test_circular_shifts_compose_by_adding(shape, a, b):
    x = _randn(*shape)
    assert torch.equal(shift(shift(x, *a), *b), shift(x, a[0] + b[0], a[1] + b[1]))


@FAST
@given(data=st.data(), shape=shapes)
def test_zeros_shift_matches_pixel_loop(data, shape):
    h, w = shape[-2:]
    dy, dx = data.draw(st.integers(1 - h, h - 1)), data.draw(st.integers(1 - w, w - 1))
    x = _randn(*shape)
    expected = torch.zeros_like(x)
    for i in range(h):
        for j in range(w):
            if 0 <= i - dy < h and 0 <= j - dx < w:
                expected[..., i, j] = x[..., i - dy, j - dx]
    assert torch.equal(shift(x, dy, dx, mode="zeros"), expected)


def test_shift_accepts_numpy_integers():
    x = _randn(3, 4)
    assert torch.equal(shift(x, np.int64(1), np.int32(-2)), shift(x, 1, -2))


@pytest.mark.parametrize("args, error, match", [
    ((_randn(4, 4), 3.5, 0), ValueError, r"shift dy=3\.5: expected an integer"),
    ((_randn(4, 4), 0, 2.0), ValueError, r"shift dx=2\.0: expected an integer"),
    ((_randn(4, 4), True, 0), ValueError, r"shift dy=True: expected an integer, got a bool"),
    ((_randn(4), 1, 1), ValueError, r"shift x: expected at least 2 dims .* got \(4,\)"),
    (([[1.0]], 1, 1), TypeError, r"shift x: expected a torch.Tensor, got list"),
    ((_randn(4, 4), 4, 0, "zeros"), ValueError, r"expected \|dy\| < H=4 .* mode='zeros'"),
    ((_randn(4, 4), 1, 1, "reflect"), ValueError, r"mode='reflect': expected one of"),
])
def test_shift_rejects_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        shift(*args)


# --- circular convolution is equivariant --------------------------------------------------------

@FAST
@given(data=st.data(), h=st.integers(5, 12), w=st.integers(5, 12), c_in=st.integers(1, 3),
       c_out=st.integers(1, 4), k=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_circular_conv2d_is_equivariant_for_every_shift(data, h, w, c_in, c_out, k, seed):
    dy, dx = data.draw(st.integers(-2 * h, 2 * h)), data.draw(st.integers(-2 * w, 2 * w))
    conv = _conv(c_in, c_out, k, "circular", seed)
    x = _randn(2, c_in, h, w, seed=seed, dtype=torch.float64)
    assert equivariance_error(conv, x, dy, dx) < RTOL[torch.float64]


@settings(max_examples=10, deadline=None)
@given(size=st.integers(6, 12), width=st.integers(4, 8), depth=st.integers(1, 3),
       k=st.sampled_from([3, 5]), seed=st.integers(0, 2**16))
def test_circular_convnet_features_are_equivariant(size, width, depth, k, seed):
    torch.manual_seed(seed)
    net = ConvNet((2, size, size), 10, width=width, depth=depth, kernel_size=k,
                  padding="circular", downsample="none")
    x = _randn(2, 2, size, size, seed=seed)
    assert_equivariant(net.features, x, shifts=[(1, 0), (0, -1), (size // 2, 3), (-size, 7)])


# --- zero padding: exact in the interior, wrong at the border -----------------------------------

def _check_interior_exact_border_wrong(e: torch.Tensor, margin: int, tol: float) -> None:
    interior = e[margin:-margin, margin:-margin]
    border = e.clone()
    border[margin:-margin, margin:-margin] = 0
    assert interior.max() < tol, f"interior error {interior.max():.3g} (margin {margin})"
    assert border.max() > 1e-2, f"border error only {border.max():.3g}"


@FAST
@given(data=st.data(), k=st.sampled_from([3, 5]), c_out=st.integers(1, 4),
       seed=st.integers(0, 2**16))
def test_zero_padded_conv2d_is_exact_only_away_from_the_border(data, k, c_out, seed):
    dy, dx = data.draw(st.integers(-2, 2)), data.draw(st.integers(-2, 2))
    if dy == dx == 0:
        dy = 1
    conv = _conv(2, c_out, k, "zeros", seed)
    x = _randn(3, 2, 16, 16, seed=seed, dtype=torch.float64)
    e = error_map(conv, x, dy, dx)
    assert e.shape == (16, 16)
    _check_interior_exact_border_wrong(e, k // 2 + max(abs(dy), abs(dx)), 1e-12)


def test_zero_padded_convnet_is_exact_only_away_from_the_border():
    torch.manual_seed(0)
    net = ConvNet((1, 20, 20), 10, width=4, depth=2, kernel_size=3, padding="zeros",
                  downsample="none")
    e = error_map(net.features, _randn(4, 1, 20, 20), 2, -1)
    _check_interior_exact_border_wrong(e, 2 * 1 + 2, 1e-5)


# --- stride and pooling: equivariant only to shifts by the stride; blur-pool helps ---------------

def _features(downsample: str, seed: int) -> ConvNet:
    torch.manual_seed(seed)
    return ConvNet((1, 16, 16), 10, width=8, depth=2, kernel_size=3, padding="circular",
                   downsample=downsample)


@pytest.mark.parametrize("downsample", ["stride", "maxpool", "blurpool"])
def test_downsampling_convnet_is_equivariant_only_to_multiples_of_its_stride(downsample):
    net = _features(downsample, seed=0)
    x = _randn(4, 1, 16, 16)
    s = 16 // net.features(x).shape[-1]
    assert s > 1
    assert_equivariant(net.features, x, shifts=[(s, 0), (0, -s), (2 * s, s)])
    odd = [equivariance_error(net.features, x, dy, dx) for dy, dx in [(1, 0), (0, 1), (1, -1)]]
    assert min(odd) > 1e-2, odd


def test_blurpool_has_lower_odd_shift_error_than_stride_and_maxpool():
    def mean_odd_error(downsample: str) -> float:
        errors = [equivariance_error(_features(downsample, seed).features,
                                     _randn(4, 1, 16, 16, seed=seed), dy, dx)
                  for seed in range(3) for dy, dx in [(1, 0), (0, 1), (1, 1), (-1, 2)]]
        return float(np.mean(errors))

    blur, stride, maxpool = (mean_odd_error(d) for d in ("blurpool", "stride", "maxpool"))
    message = f"odd-shift error: blurpool {blur:.3f}, stride {stride:.3f}, maxpool {maxpool:.3f}"
    assert blur < stride and blur < maxpool, message


# --- no weight sharing, no equivariance ---------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: LocallyConnected2d(2, 4, 12, 3),
    lambda: LocallyConnectedNet((2, 12, 12), 10, width=4, depth=2, kernel_size=3).features,
    lambda: DenseNet((2, 12, 12), 10, hidden=64),
], ids=["LocallyConnected2d", "LocallyConnectedNet.features", "DenseNet"])
def test_models_without_weight_sharing_are_not_equivariant(make):
    torch.manual_seed(0)
    f, x = make(), _randn(4, 2, 12, 12)
    errors = [equivariance_error(f, x, dy, dx) for dy, dx in [(1, 0), (0, 2), (-3, 1)]]
    assert min(errors) > 1e-2, errors
    with pytest.raises(AssertionError, match=r"worst shift \(dy, dx\)=.* has relative error"):
        assert_equivariant(f, x)


# --- classifiers: invariance after global pooling -----------------------------------------------

def test_global_pooled_circular_convnet_is_shift_invariant():
    torch.manual_seed(0)
    net = ConvNet((1, 12, 12), 10, width=8, depth=2, kernel_size=3, padding="circular",
                  downsample="none", head="avg")
    x = _randn(64, 1, 12, 12)
    assert shift_consistency(net, x, max_shift=6, n_pairs=3) == 1.0
    assert_equivariant(net, x, shifts=[(1, 0), (5, -3), (-6, 6)])  # logits: invariance


def test_dense_classifier_is_not_shift_consistent():
    torch.manual_seed(0)
    net = DenseNet((1, 12, 12), 10, hidden=64)
    x = _randn(256, 1, 12, 12)
    consistency = shift_consistency(net, x, max_shift=3, n_pairs=2)
    assert 0.05 < consistency < 0.95, consistency


# --- shift_consistency: seeded, side-effect free ------------------------------------------------

def test_shift_consistency_is_deterministic_and_leaves_global_state_alone():
    torch.manual_seed(0)
    net = DenseNet((1, 8, 8), 5, hidden=32).train()
    x = _randn(64, 1, 8, 8)
    rng_state = torch.get_rng_state()
    first = shift_consistency(net, x, max_shift=2, n_pairs=3, seed=7)
    assert shift_consistency(net, x, max_shift=2, n_pairs=3, seed=7) == first
    assert torch.equal(torch.get_rng_state(), rng_state)
    assert net.training


def test_shift_consistency_rejects_bad_input():
    net = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    x = _randn(2, 1, 4, 4)
    with pytest.raises(ValueError, match=r"max_shift=-1: expected >= 0"):
        shift_consistency(net, x, max_shift=-1)
    with pytest.raises(ValueError, match=r"max_shift=4: expected < min\(H, W\)=4 with mode='z"):
        shift_consistency(net, x, max_shift=4, mode="zeros")
    with pytest.raises(ValueError, match=r"n_pairs=0: expected >= 1"):
        shift_consistency(net, x, max_shift=1, n_pairs=0)
    with pytest.raises(ValueError, match=r"x: expected shape \(N, C, H, W\), got \(1, 4, 4\)"):
        shift_consistency(net, x[0], max_shift=1)


# --- equivariance_error: definition details -----------------------------------------------------

@FAST
@given(dy=st.integers(-7, 7), dx=st.integers(-7, 7), mode=st.sampled_from(["circular", "zeros"]))
def test_fractional_output_shift_uses_the_best_candidate(dy, dx, mode):
    def f(x):
        return nn.functional.avg_pool2d(x, 2)

    x = _randn(2, 3, 8, 8, dtype=torch.float64)
    fx, fsx = f(x), f(shift(x, dy, dx, mode))
    best = min(torch.linalg.vector_norm(fsx - shift(fx, cy, cx, mode)).item()
               for cy in {dy // 2, -(-dy // 2)} for cx in {dx // 2, -(-dx // 2)}
               if mode == "circular" or max(abs(cy), abs(cx)) < 4)
    expected = best / torch.linalg.vector_norm(fx).item()
    assert equivariance_error(f, x, dy, dx, mode) == pytest.approx(expected, rel=1e-12)


def test_invariance_error_for_logits():
    x = _randn(3, 2, 6, 6)
    assert equivariance_error(lambda t: t.mean(dim=(2, 3)), x, 2, -1) < 1e-6
    assert equivariance_error(lambda t: t[:, 0, 0, :2], x, 2, -1) > 0.5


@pytest.mark.parametrize("f, x, match", [
    (lambda t: t, _randn(2, 6, 6), r"x: expected shape \(N, C, H, W\), got \(2, 6, 6\)"),
    (lambda t: t[..., :5, :], _randn(1, 1, 6, 6), r"integer output stride, got H=6 -> 5"),
    (lambda t: t[:, 0], _randn(1, 1, 6, 6), r"f\(x\): expected shape \(N, K\) or"),
    (lambda t: 0 * t, _randn(1, 1, 6, 6), r"f\(x\): expected a non-zero output"),
])
def test_equivariance_error_rejects_bad_input(f, x, match):
    with pytest.raises(ValueError, match=match):
        equivariance_error(f, x, 1, 1)


def test_error_map_needs_a_spatial_output_and_assert_needs_a_known_dtype():
    x = _randn(1, 1, 6, 6)
    with pytest.raises(ValueError, match=r"expected shape \(N, C, H, W\) for an error map"):
        error_map(lambda t: t.mean(dim=(2, 3)), x, 1, 1)
    with pytest.raises(ValueError, match=r"rtol=None: expected x.dtype in .* pass rtol"):
        assert_equivariant(lambda t: t, x.half())
    assert_equivariant(lambda t: t, x.half(), rtol=0.0)
