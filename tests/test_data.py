"""Tests for equidocs.data: placement, determinism, glyphs, digit pools, pixel shuffles, errors."""
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_digits

from equidocs.data import (
    REGION_NAMES, Dataset, Region, digit_split_sizes, digits_canvas, glyphs, pattern_canvas,
    permute_pixels, pixel_permutation, region,
)


def crops(ds: Dataset, p: int) -> torch.Tensor:
    """The p x p window at each sample's recorded position, (N, p, p), read with a plain loop."""
    pos = ds.positions.tolist()
    return torch.stack([img[0, r:r + p, c:c + p] for img, (r, c) in zip(ds.x, pos)])


def off_window(ds: Dataset, p: int) -> torch.Tensor:
    """Each canvas with its p x p window at the recorded position zeroed out, (N, H, W)."""
    x = ds.x[:, 0].clone()
    for img, (r, c) in zip(x, ds.positions.tolist()):
        img[r:r + p, c:c + p] = 0
    return x


def shifted_equal(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether b equals a shifted by some (dy, dx) with zero fill: brute force over all shifts."""
    s = a.shape[0]
    big = torch.zeros(3 * s, 3 * s)
    big[s:2 * s, s:2 * s] = a
    return any(torch.equal(big[s - dy:2 * s - dy, s - dx:2 * s - dx], b)
               for dy in range(-s + 1, s) for dx in range(-s + 1, s))


# ---- pattern_canvas ------------------------------------------------------------------------------

def test_pattern_shapes_and_dtypes():
    ds = pattern_canvas(50, (20, 24), num_classes=5, pattern_size=6)
    assert ds.x.shape == (50, 1, 20, 24) and ds.x.dtype == torch.float32
    assert ds.y.shape == (50,) and ds.y.dtype == torch.int64
    assert ds.positions.shape == (50, 2) and ds.positions.dtype == torch.int64
    assert len(ds) == 50 and ds.num_classes == 5 and torch.equal(ds.source, ds.y)


def test_pattern_deterministic_by_seed():
    a, b, c = (pattern_canvas(40, 16, seed=s) for s in (3, 3, 4))
    for field in ("x", "y", "positions", "source"):
        assert torch.equal(getattr(a, field), getattr(b, field))
    assert not torch.equal(a.x, c.x) and not torch.equal(a.positions, c.positions)


def test_noise_level_does_not_move_labels_or_positions():
    clean, noisy = pattern_canvas(30, 16, noise=0.0), pattern_canvas(30, 16, noise=0.5)
    assert torch.equal(clean.y, noisy.y) and torch.equal(clean.positions, noisy.positions)
    assert 0.4 < (noisy.x - clean.x).std() < 0.6


def test_labels_in_range_and_balanced():
    ds = pattern_canvas(103, 16, num_classes=7)
    counts = torch.bincount(ds.y, minlength=7)
    assert ds.y.min() >= 0 and ds.y.max() < 7 and counts.max() - counts.min() <= 1
    assert ds.y[:7].unique().numel() > 1  # shuffled, not 0, 1, 2, ... in order


@pytest.mark.parametrize("canvas", [12, 32, 64])
def test_glyph_found_at_recorded_position_and_size_fixed(canvas):
    ds = pattern_canvas(60, canvas, noise=0.0, num_classes=10, seed=canvas)
    assert torch.equal(crops(ds, 5), glyphs(10)[ds.y])  # same 5x5 glyph at every canvas size
    assert torch.count_nonzero(off_window(ds, 5)) == 0  # and nothing else on the canvas


def test_fixed_position_exact():
    ds = pattern_canvas(9, (11, 13), where=(6, 8), noise=0.0)
    assert (ds.positions == torch.tensor([6, 8])).all()
    assert torch.equal(ds.x[:, 0, 6:11, 8:13], glyphs()[ds.y])


def test_subset_keeps_fields_aligned():
    ds = pattern_canvas(10, 12)
    sub = ds.subset(ds.y == 1)
    assert (sub.y == 1).all() and torch.equal(sub.x, ds.x[ds.y == 1]) and sub.num_classes == 4


# ---- glyphs --------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", range(5, 13))
def test_glyphs_distinct_and_not_shifted_copies(size):
    g = glyphs(10, size)
    assert g.shape == (10, size, size) and g.min() >= 0 and g.max() <= 1
    for i in range(10):
        for j in range(i + 1, 10):
            assert not shifted_equal(g[i], g[j]), (size, i, j)


def test_glyphs_equal_ink_prefix_stable_and_octagon_first():
    g = glyphs(10, 7)
    torch.testing.assert_close(g.sum(dim=(1, 2)), torch.full((10,), 7.0))
    assert torch.equal(glyphs(4, 7), g[:4])
    octagon = g[0] > 0
    assert torch.equal(octagon, octagon.T) and torch.equal(octagon, octagon.flip(0))  # symmetric
    assert not octagon[0, 0] and octagon[0, 3] and octagon[3].all()  # corners cut, sides full


# ---- regions -------------------------------------------------------------------------------------

def test_quadrants_cover_corners_and_are_disjoint():
    anywhere = region("anywhere", 32, 5)
    assert anywhere == Region(0, 0, 28, 28)
    quads = {name: region(name, 32, 5) for name in REGION_NAMES[1:]}
    assert quads["top-left"] == Region(0, 0, 14, 14) and quads["center"] == Region(7, 7, 14, 14)
    assert quads["bottom-right"] == Region(14, 14, 14, 14)
    grid = torch.cartesian_prod(torch.arange(28), torch.arange(28))
    corners = [quads[n].contains(grid) for n in REGION_NAMES[1:5]]  # the four quadrants
    assert torch.equal(sum(m.long() for m in corners), torch.ones(28 * 28, dtype=torch.long))


@settings(max_examples=60, deadline=None)
@given(h=st.integers(5, 40), w=st.integers(5, 40), p=st.integers(5, 12),
       name=st.sampled_from(REGION_NAMES), seed=st.integers(0, 2**31))
def test_placement_inside_named_region(h, w, p, name, seed):
    if p > min(h, w):
        with pytest.raises(ValueError, match=f"pattern_size={p} does not fit canvas"):
            pattern_canvas(5, (h, w), pattern_size=p, where=name)
        return
    if name != "anywhere" and min(h, w) - p + 1 < 2:
        with pytest.raises(ValueError, match="is empty"):
            region(name, (h, w), p)
        return
    ds = pattern_canvas(20, (h, w), pattern_size=p, where=name, noise=0.0, seed=seed)
    assert region(name, (h, w), p).contains(ds.positions).all()
    assert (ds.positions[:, 0] <= h - p).all() and (ds.positions[:, 1] <= w - p).all()
    assert torch.equal(crops(ds, p), glyphs(4, p)[ds.y])


@settings(max_examples=60, deadline=None)
@given(data=st.data(), h=st.integers(5, 30), w=st.integers(5, 30))
def test_placement_inside_explicit_region(data, h, w):
    top, left = data.draw(st.integers(0, h - 5)), data.draw(st.integers(0, w - 5))
    height, width = data.draw(st.integers(1, h - 4 - top)), data.draw(st.integers(1, w - 4 - left))
    reg = Region(top, left, height, width)
    ds = pattern_canvas(20, (h, w), where=reg, noise=0.0, seed=data.draw(st.integers(0, 99)))
    assert reg.contains(ds.positions).all()
    assert torch.equal(crops(ds, 5), glyphs()[ds.y])


# ---- digits --------------------------------------------------------------------------------------

def test_digit_pools_disjoint_cover_all_and_stratified():
    pools = {s: digits_canvas(None, 8, split=s).source for s in ("train", "val", "test")}
    assert {s: len(v) for s, v in pools.items()} == digit_split_sizes()
    assert sum(digit_split_sizes().values()) == 1797
    everything = torch.cat(list(pools.values()))
    assert torch.equal(everything.sort().values, torch.arange(1797))  # disjoint and complete
    target = torch.tensor(load_digits().target)
    for pool in pools.values():
        assert torch.bincount(target[pool], minlength=10).min() > 0.15 * len(pool) / 10


def test_no_test_digit_in_train_at_any_n_or_seed():
    test = set(digits_canvas(None, 8, split="test").source.tolist())
    for seed in range(3):
        assert test.isdisjoint(digits_canvas(500, 16, split="train", seed=seed).source.tolist())


def test_digits_placed_exactly_with_labels_and_scale():
    d = load_digits()
    ds = digits_canvas(40, (20, 24), split="val", where="bottom-right", seed=1)
    assert ds.x.shape == (40, 1, 20, 24) and ds.num_classes == 10
    assert ds.source.unique().numel() == 40  # distinct source digits
    assert torch.equal(ds.y, torch.tensor(d.target)[ds.source])
    assert torch.equal(crops(ds, 8), torch.tensor(d.images, dtype=torch.float32)[ds.source] / 16)
    assert torch.count_nonzero(off_window(ds, 8)) == 0
    assert region("bottom-right", (20, 24), 8).contains(ds.positions).all()


def test_digits_deterministic_by_seed():
    a, b, c = (digits_canvas(30, 16, noise=0.2, seed=s) for s in (5, 5, 6))
    assert torch.equal(a.x, b.x) and torch.equal(a.source, b.source)
    assert not torch.equal(a.source, c.source)


# ---- pixel permutation ---------------------------------------------------------------------------

def test_pixel_permutation_is_deterministic_permutation():
    p = pixel_permutation((6, 7), seed=2)
    assert p.dtype == torch.int64 and torch.equal(p.sort().values, torch.arange(42))
    assert torch.equal(p, pixel_permutation((6, 7), seed=2))
    assert not torch.equal(p, pixel_permutation((6, 7), seed=3))


def test_permute_pixels_matches_loop_and_inverts():
    x, perm = torch.randn(3, 2, 4, 5), pixel_permutation((4, 5), seed=1)
    out = permute_pixels(x, perm)
    expected = torch.empty_like(x)
    for i, j in enumerate(perm.tolist()):  # output pixel i takes input pixel perm[i], every image
        expected[..., i // 5, i % 5] = x[..., j // 5, j % 5]
    assert torch.equal(out, expected)
    assert torch.equal(out.flatten(-2).sort().values, x.flatten(-2).sort().values)  # same multiset
    assert torch.equal(permute_pixels(out, torch.argsort(perm)), x)


def test_permutation_argument_applied_after_placement():
    perm = pixel_permutation(16, seed=7)
    plain = pattern_canvas(20, 16, seed=1)
    shuffled = pattern_canvas(20, 16, seed=1, permutation=perm)
    assert torch.equal(shuffled.x, permute_pixels(plain.x, perm))
    assert torch.equal(shuffled.positions, plain.positions)
    digits = digits_canvas(10, 16, seed=1)
    shuffled_digits = digits_canvas(10, 16, seed=1, permutation=perm)
    assert torch.equal(shuffled_digits.x, permute_pixels(digits.x, perm))


# ---- errors --------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, match", [
    (lambda: pattern_canvas(4, 32, pattern_size=40), ValueError,
     r"pattern_size=40 does not fit canvas \(32, 32\): expected pattern_size <= 32"),
    (lambda: digits_canvas(4, (6, 20)), ValueError, r"canvas=\(6, 20\): expected H, W >= 8"),
    (lambda: Region(0, 0, 0, 3), ValueError, r"Region height=0: expected an integer >= 1"),
    (lambda: Region(-1, 0, 2, 3), ValueError, r"Region top=-1: expected an integer >= 0"),
    (lambda: pattern_canvas(4, 32, where=Region(20, 0, 9, 1)), ValueError,
     r"lies outside canvas \(32, 32\) for a 5x5 pattern: expected top \+ height <= 28"),
    (lambda: pattern_canvas(4, 32, where=(28, 0)), ValueError,
     r"position \(28, 0\) puts the 5x5 pattern off canvas \(32, 32\): expected 0 <= row <= 27"),
    (lambda: pattern_canvas(4, 32, where=[1, 2]), TypeError, r"where=\[1, 2\]: expected a Region"),
    (lambda: pattern_canvas(0), ValueError, r"n=0: expected a positive integer"),
    (lambda: digits_canvas(-3), ValueError, r"n=-3: expected a positive integer"),
    (lambda: digits_canvas(400, split="test"), ValueError,
     r"n=400 exceeds the 'test' pool of 359 .* n <= 359"),
    (lambda: digits_canvas(2000), ValueError, r"pool of 1079 source digits"),
    (lambda: pattern_canvas(4, noise=-0.1), ValueError, r"noise=-0.1: expected a number >= 0"),
    (lambda: digits_canvas(4, noise=float("nan")), ValueError, r"noise=nan"),
    (lambda: pattern_canvas(4, where="middle"), ValueError, r"region name='middle': expected one"),
    (lambda: region("top-left", 5, 5), ValueError,
     r"region 'top-left' is empty: canvas \(5, 5\) leaves 1x1"),
    (lambda: digits_canvas(4, split="dev"), ValueError,
     r"split='dev': expected one of \('train', 'val', 'test'\)"),
    (lambda: glyphs(11), ValueError, r"num_classes=11: expected an integer in 1..10"),
    (lambda: pattern_canvas(4, num_classes=0), ValueError, r"num_classes=0"),
    (lambda: glyphs(4, size=4), ValueError, r"glyph size=4: expected an integer >= 5"),
    (lambda: pattern_canvas(4, 32.0), TypeError, r"canvas=32.0: expected a positive int"),
    (lambda: pixel_permutation((4, 0)), TypeError, r"canvas=\(4, 0\)"),
    (lambda: pattern_canvas(4, 8, permutation=torch.arange(63)), ValueError,
     r"expected an int64 tensor of shape \(64,\) for canvas \(8, 8\); given torch.int64 \(63,\)"),
    (lambda: pattern_canvas(4, 8, permutation=torch.zeros(64, dtype=torch.long)), ValueError,
     r"permutation: expected each of 0..63 exactly once"),
    (lambda: permute_pixels(torch.zeros(2, 2), torch.arange(4.0)), ValueError, r"torch.float32"),
    (lambda: permute_pixels(torch.zeros(4), torch.arange(4)), ValueError, r"\(\.\.\., H, W\)"),
])
def test_errors_name_argument_expected_and_given(call, error, match):
    with pytest.raises(error, match=match):
        call()
