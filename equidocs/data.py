"""Datasets where one small pattern sits somewhere on a larger canvas: glyphs or real digits.

Every sample records where its pattern was placed, so experiments can train on one region of the
canvas and test on another. Randomness comes only from the `seed` argument (a `torch.Generator`).

>>> ds = pattern_canvas(6, 16, where="top-left", seed=0)
>>> ds.x.shape, ds.num_classes, bool(region("top-left", 16, 5).contains(ds.positions).all())
(torch.Size([6, 1, 16, 16]), 4, True)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import torch

DIGIT_SIZE = 8  # side of scikit-learn's bundled digit images
SPLIT_FRACTIONS = {"train": 0.6, "val": 0.2, "test": 0.2}  # of each class's source digits
_SPLIT_SEED = 0  # fixed forever: changing it would move digits between train and test
_MIN_GLYPH = 5  # below this some glyphs coincide (a 4x4 octagon is a thick cross)


@dataclass(frozen=True)
class Dataset:
    """Images, labels, where each pattern was placed (top-left row, col) and its source index.

    >>> ds = pattern_canvas(4, 12)
    >>> len(ds.subset(torch.tensor([0, 2]))), ds.positions.dtype
    (2, torch.int64)
    """

    x: torch.Tensor  # (N, 1, H, W) float32
    y: torch.Tensor  # (N,) int64 class labels
    positions: torch.Tensor  # (N, 2) int64 top-left (row, col) of the pattern, before permutation
    source: torch.Tensor  # (N,) int64 digits: index into load_digits(); patterns: glyph index (= y)
    num_classes: int  # number of classes of the task (not just those present in y)

    def __post_init__(self) -> None:
        n = len(self.x)
        if self.y.shape != (n,) or self.positions.shape != (n, 2) or self.source.shape != (n,):
            raise ValueError(
                f"Dataset fields: expected y (N,), positions (N, 2), source (N,) with N={n}; given "
                f"{tuple(self.y.shape)}, {tuple(self.positions.shape)}, {tuple(self.source.shape)}")

    def __len__(self) -> int:
        return len(self.x)

    def subset(self, idx: torch.Tensor) -> Dataset:
        """The samples at `idx` (indices or a boolean mask), same class count."""
        return Dataset(self.x[idx], self.y[idx], self.positions[idx], self.source[idx],
                       self.num_classes)


@dataclass(frozen=True)
class Region:
    """Allowed top-left positions of a pattern: rows [top, top+height) x cols [left, left+width).

    >>> Region(2, 3, 4, 5).contains(torch.tensor([[2, 3], [6, 3]])).tolist()
    [True, False]
    """

    top: int
    left: int
    height: int
    width: int

    def __post_init__(self) -> None:
        for name in ("top", "left", "height", "width"):
            v, least = getattr(self, name), 1 if name in ("height", "width") else 0
            if not _is_int(v) or v < least:
                raise ValueError(f"Region {name}={v!r}: expected an integer >= {least}")

    def contains(self, positions: torch.Tensor) -> torch.Tensor:
        """Boolean mask (N,) of which (row, col) positions (N, 2) lie in the region."""
        r, c = positions[:, 0], positions[:, 1]
        in_rows = (r >= self.top) & (r < self.top + self.height)
        return in_rows & (c >= self.left) & (c < self.left + self.width)


Where = Region | str | tuple[int, int]  # a Region, a region name, or one fixed (row, col)
REGION_NAMES = ("anywhere", "top-left", "top-right", "bottom-left", "bottom-right", "center")


def region(name: str, canvas: int | tuple[int, int], pattern: int) -> Region:
    """Named region: "anywhere", or a quadrant or the middle half of the allowed top-left range.

    Quadrants take the first or last floor(R/2) of the R = side - pattern + 1 positions per axis, so
    opposite quadrants never share a top-left position (their pixel footprints may still overlap).

    >>> region("anywhere", 32, 5), region("bottom-right", 32, 5)
    (Region(top=0, left=0, height=28, width=28), Region(top=14, left=14, height=14, width=14))
    """
    h, w = _canvas_hw(canvas)
    _check_fits(pattern, (h, w), "pattern")
    rh, rw = h - pattern + 1, w - pattern + 1
    if name == "anywhere":
        return Region(0, 0, rh, rw)
    if name not in REGION_NAMES:
        raise ValueError(f"region name={name!r}: expected one of {REGION_NAMES}")
    qh, qw = rh // 2, rw // 2
    if qh == 0 or qw == 0:
        raise ValueError(f"region {name!r} is empty: canvas {(h, w)} leaves {rh}x{rw} top-left "
                         f"positions for pattern={pattern}; expected at least 2 per axis")
    top = {"top": 0, "bottom": rh - qh, "center": (rh - qh) // 2}[name.split("-")[0]]
    left = {"left": 0, "right": rw - qw, "center": (rw - qw) // 2}[name.split("-")[-1]]
    return Region(top, left, qh, qw)


def glyphs(num_classes: int = 4, size: int = 5) -> torch.Tensor:
    """Bank of distinct (size, size) glyphs, class 0 an octagon ("stop sign"), all of equal ink.

    Every glyph touches all four sides of its box, so none is a shifted copy of another, and each is
    scaled to total ink (pixel sum) = size, so total brightness, which a dense net reads with one
    position-blind unit, cannot tell classes apart.

    >>> g = glyphs(3)
    >>> g.shape, g.sum(dim=(1, 2)).round(decimals=4).tolist()
    (torch.Size([3, 5, 5]), [5.0, 5.0, 5.0])
    """
    if not _is_int(size) or size < _MIN_GLYPH:
        raise ValueError(f"glyph size={size!r}: expected an integer >= {_MIN_GLYPH}")
    r, c = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    m, k = size - 1, max(1, round(size / (2 + math.sqrt(2))))  # k: octagon corner cut
    mid = (r == m // 2) | (r == size // 2)  # middle row(s): two when size is even
    midc = (c == m // 2) | (c == size // 2)  # middle column(s)
    bank = {
        "octagon": (r + c >= k) & (r + m - c >= k) & (m - r + c >= k) & (2 * m - r - c >= k),
        "cross": mid | midc,
        "square": (r == 0) | (r == m) | (c == 0) | (c == m),
        "triangle": (2 * c - m).abs() <= r,
        "diagonal": r == c,
        "T": (r == 0) | midc,
        "L": (c == 0) | (r == m),
        "X": (r == c) | (r + c == m),
        "H": (c == 0) | (c == m) | mid,
        "anti-diagonal": r + c == m,
    }
    if not _is_int(num_classes) or not 1 <= num_classes <= len(bank):
        raise ValueError(f"num_classes={num_classes!r}: expected an integer in 1..{len(bank)} "
                         f"(the glyph bank: {', '.join(bank)})")
    g = torch.stack(list(bank.values())[:num_classes]).float()  # (K, size, size) in {0, 1}
    return g * (size / g.sum(dim=(1, 2), keepdim=True))  # ink = size, the sparsest's (diagonal)


def pattern_canvas(n: int, canvas: int | tuple[int, int] = 32, *, num_classes: int = 4,
                   pattern_size: int = 5, where: Where = "anywhere", noise: float = 0.1,
                   deform: float = 0.0, seed: int = 0,
                   permutation: torch.Tensor | None = None) -> Dataset:
    """n canvases, each with its class's glyph (classes balanced) at a position drawn from `where`.

    With ``deform > 0`` every glyph is redrawn with its own random shape (see :func:`deform_glyphs`),
    so no two examples share a template and a lookup table of the training set cannot win.

    >>> ds = pattern_canvas(4, (10, 12), where=(1, 2), noise=0.0)
    >>> bool((ds.x[:, 0, 1:6, 2:7] == glyphs()[ds.y]).all()), ds.positions[0].tolist()
    (True, [1, 2])
    """
    _check_n(n)
    if not isinstance(deform, (int, float)) or isinstance(deform, bool) or not 0 <= deform <= 2:
        raise ValueError(f"deform={deform!r}: expected a number in [0, 2]")
    bank = glyphs(num_classes, pattern_size)
    gen = torch.Generator().manual_seed(seed)
    y = (torch.arange(n) % num_classes)[torch.randperm(n, generator=gen)]
    patches = deform_glyphs(bank[y], deform, gen) if deform > 0 else bank[y]
    return _compose(patches, y, y.clone(), num_classes, canvas, where, noise, gen, permutation)


def deform_glyphs(patches: torch.Tensor, strength: float, gen: torch.Generator) -> torch.Tensor:
    """Each (p, p) glyph redrawn inside its box with its own random shape: unlimited variety.

    At ``strength`` 1: a rotation of up to 15 degrees, a scale of 0.85 to 1.15, a shear of up to
    0.2, a sub-pixel shift of up to half a pixel (resampled bilinearly, which also blurs), a stroke
    thickened by up to 60% (a blend with its 3x3 max) and a contrast of 0.6 to 1.4. Every draw comes
    from ``gen``.

    >>> g = glyphs()[[0, 0]]
    >>> d = deform_glyphs(g, 1.0, torch.Generator().manual_seed(0))
    >>> d.shape, bool((d[0] != d[1]).any()), bool((d >= 0).all())
    (torch.Size([2, 5, 5]), True, True)
    """
    n, p = len(patches), patches.shape[-1]

    def uniform(*shape: int) -> torch.Tensor:  # in [-strength, strength]
        return (torch.rand(*shape, generator=gen) * 2 - 1) * strength

    angle, scale, shear = uniform(n) * math.radians(15), 1 + 0.15 * uniform(n), 0.2 * uniform(n)
    shift = uniform(n, 2) * (0.5 * 2 / p)  # half a pixel, in the [-1, 1] coordinates of the box
    thick, contrast = torch.rand(n, generator=gen) * 0.6 * strength, 1 + 0.4 * uniform(n)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin + shear, shift[:, 0]], 1),
                         torch.stack([sin, cos, shift[:, 1]], 1)], 1)  # (n, 2, 3): output -> input
    grid = torch.nn.functional.affine_grid(theta, [n, 1, p, p], align_corners=False)
    out = torch.nn.functional.grid_sample(patches[:, None], grid, mode="bilinear",
                                          padding_mode="zeros", align_corners=False)
    fat = torch.nn.functional.max_pool2d(out, 3, stride=1, padding=1)
    out = out + thick[:, None, None, None] * (fat - out)
    return (out * contrast[:, None, None, None])[:, 0]


def upsample(ds: Dataset, factor: int) -> Dataset:
    """The same images at ``factor`` times the resolution (bilinear): more pixels per object.

    The scene is unchanged (object, noise and position scale together), so only the number of
    pixels grows; positions are given in the new pixels.

    >>> big = upsample(pattern_canvas(2, 8), 3)
    >>> tuple(big.x.shape), big.positions.max().item() <= 3 * 3
    ((2, 1, 24, 24), True)
    """
    if not _is_int(factor) or factor < 1:
        raise ValueError(f"upsample factor={factor!r}: expected an integer >= 1")
    if factor == 1:
        return ds
    x = torch.nn.functional.interpolate(ds.x, scale_factor=factor, mode="bilinear",
                                        align_corners=False)
    return Dataset(x, ds.y, ds.positions * factor, ds.source, ds.num_classes)


def digit_split_sizes() -> dict[str, int]:
    """Number of SOURCE digit images in each pool; the pools are disjoint and cover all 1,797.

    >>> digit_split_sizes()
    {'train': 1079, 'val': 359, 'test': 359}
    """
    return {split: len(pool) for split, pool in _digit_pools().items()}


def digits_canvas(n: int | None, canvas: int | tuple[int, int] = 32, *, split: str = "train",
                  where: Where = "anywhere", noise: float = 0.0, seed: int = 0,
                  permutation: torch.Tensor | None = None) -> Dataset:
    """n distinct source digits of one pool (None: all), each pasted 8x8 at a position from `where`.

    >>> ds = digits_canvas(None, 16, split="test")
    >>> ds.x.shape, ds.num_classes, float(ds.x.max())
    (torch.Size([359, 1, 16, 16]), 10, 1.0)
    """
    if min(_canvas_hw(canvas)) < DIGIT_SIZE:
        raise ValueError(f"canvas={canvas!r}: expected H, W >= {DIGIT_SIZE} (the digits are "
                         f"{DIGIT_SIZE}x{DIGIT_SIZE})")
    pools = _digit_pools()
    if split not in pools:
        raise ValueError(f"split={split!r}: expected one of {tuple(pools)}")
    pool = pools[split]
    if n is not None:
        _check_n(n)
        if n > len(pool):
            raise ValueError(f"n={n} exceeds the {split!r} pool of {len(pool)} source digits: "
                             f"expected n <= {len(pool)} (each source digit is used at most once)")
    gen = torch.Generator().manual_seed(seed)
    source = pool[torch.randperm(len(pool), generator=gen)[:n]]
    images, labels = _load_digits()
    return _compose(images[source], labels[source], source, 10, canvas, where, noise, gen,
                    permutation)


def pixel_permutation(canvas: int | tuple[int, int], seed: int = 0) -> torch.Tensor:
    """A fixed random order of the H*W pixel positions (the shuffled-pixels control).

    >>> p = pixel_permutation(4, seed=1)
    >>> p.shape, sorted(p.tolist()) == list(range(16))
    (torch.Size([16]), True)
    """
    h, w = _canvas_hw(canvas)
    return torch.randperm(h * w, generator=torch.Generator().manual_seed(seed))


def permute_pixels(x: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    """Shuffle every image's pixels the same way: out[..., i] = x[..., perm[i]] over flat (H, W).

    >>> x = torch.arange(4.0).reshape(1, 1, 2, 2)
    >>> permute_pixels(x, torch.tensor([3, 2, 1, 0])).flatten().tolist()
    [3.0, 2.0, 1.0, 0.0]
    """
    if x.ndim < 2:
        raise ValueError(f"x of shape {tuple(x.shape)}: expected (..., H, W) with at least 2 dims")
    _check_permutation(perm, tuple(x.shape[-2:]))
    return x.flatten(-2)[..., perm].reshape(x.shape)  # (..., H*W) -> (..., H, W)


def _compose(patches: torch.Tensor, y: torch.Tensor, source: torch.Tensor, num_classes: int,
             canvas: int | tuple[int, int], where: Where, noise: float, gen: torch.Generator,
             permutation: torch.Tensor | None) -> Dataset:
    """Paste square patches (N, p, p) onto noisy (or zero) canvases at positions from `where`."""
    h, w = _canvas_hw(canvas)
    if not isinstance(noise, (int, float)) or not noise >= 0:
        raise ValueError(f"noise={noise!r}: expected a number >= 0")
    n, p = len(patches), patches.shape[-1]
    reg = _resolve(where, (h, w), p)
    if permutation is not None:
        _check_permutation(permutation, (h, w))
    rows = reg.top + torch.randint(reg.height, (n,), generator=gen)
    cols = reg.left + torch.randint(reg.width, (n,), generator=gen)
    x = torch.randn(n, h, w, generator=gen).mul_(noise) if noise > 0 else torch.zeros(n, h, w)
    offs = torch.arange(p)
    ri = (rows[:, None] + offs)[:, :, None]  # (N, p, 1)
    ci = (cols[:, None] + offs)[:, None, :]  # (N, 1, p)
    x.index_put_((torch.arange(n)[:, None, None], ri, ci), patches, accumulate=True)  # add windows
    x = x.unsqueeze(1)  # (N, 1, H, W)
    if permutation is not None:
        x = permute_pixels(x, permutation)
    return Dataset(x, y.long(), torch.stack([rows, cols], dim=1), source.long(), num_classes)


def _resolve(where: Where, hw: tuple[int, int], p: int) -> Region:
    """`where` as a Region, checked so that every position in it keeps the pattern on the canvas."""
    _check_fits(p, hw, "pattern_size")
    if isinstance(where, str):
        return region(where, hw, p)
    if isinstance(where, tuple) and len(where) == 2 and all(_is_int(v) for v in where):
        row, col = where
        if not (0 <= row <= hw[0] - p and 0 <= col <= hw[1] - p):
            raise ValueError(f"position {where} puts the {p}x{p} pattern off canvas {hw}: expected "
                             f"0 <= row <= {hw[0] - p} and 0 <= col <= {hw[1] - p}")
        return Region(row, col, 1, 1)
    if not isinstance(where, Region):
        raise TypeError(f"where={where!r}: expected a Region, a region name or a (row, col) "
                        f"tuple of ints")
    if where.top + where.height > hw[0] - p + 1 or where.left + where.width > hw[1] - p + 1:
        raise ValueError(f"{where} lies outside canvas {hw} for a {p}x{p} pattern: expected "
                         f"top + height <= {hw[0] - p + 1} and left + width <= {hw[1] - p + 1}")
    return where


@lru_cache(maxsize=1)
def _load_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's bundled 1,797 digits as (N, 8, 8) float32 in [0, 1] and (N,) int64 labels."""
    from sklearn.datasets import load_digits  # bundled with scikit-learn: no download

    d = load_digits()
    images = torch.tensor(d.images, dtype=torch.float32) / 16.0  # (1797, 8, 8), raw values 0..16
    return images, torch.tensor(d.target, dtype=torch.int64)


@lru_cache(maxsize=1)
def _digit_pools() -> dict[str, torch.Tensor]:
    """Sorted source indices of each pool, split per class by SPLIT_FRACTIONS with a fixed seed."""
    _, labels = _load_digits()
    gen, pools = torch.Generator().manual_seed(_SPLIT_SEED), {s: [] for s in SPLIT_FRACTIONS}
    for k in range(10):
        idx = torch.nonzero(labels == k).flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        n_val, n_test = (round(len(idx) * SPLIT_FRACTIONS[s]) for s in ("val", "test"))
        for s, part in zip(SPLIT_FRACTIONS, idx.split([len(idx) - n_val - n_test, n_val, n_test])):
            pools[s].append(part)
    return {s: torch.cat(parts).sort().values for s, parts in pools.items()}


def _canvas_hw(canvas: int | tuple[int, int]) -> tuple[int, int]:
    """(H, W) from an int side or an (H, W) pair of positive ints."""
    hw = (canvas, canvas) if _is_int(canvas) else canvas
    if not (isinstance(hw, tuple) and len(hw) == 2 and all(_is_int(v) and v >= 1 for v in hw)):
        raise TypeError(f"canvas={canvas!r}: expected a positive int or an (H, W) tuple of them")
    return hw


def _check_fits(p: int, hw: tuple[int, int], name: str) -> None:
    if not _is_int(p) or not 1 <= p <= min(hw):
        raise ValueError(f"{name}={p!r} does not fit canvas {hw}: expected {name} <= {min(hw)}")


def _check_n(n: int) -> None:
    if not _is_int(n) or n <= 0:
        raise ValueError(f"n={n!r}: expected a positive integer")


def _check_permutation(perm: torch.Tensor, hw: tuple[int, int]) -> None:
    size = hw[0] * hw[1]
    if not isinstance(perm, torch.Tensor) or perm.dtype != torch.int64 or perm.shape != (size,):
        given = (f"{perm.dtype} {tuple(perm.shape)}" if isinstance(perm, torch.Tensor)
                 else type(perm).__name__)
        raise ValueError(f"permutation: expected an int64 tensor of shape ({size},) for canvas "
                         f"{hw}; given {given}")
    if not torch.equal(perm.sort().values, torch.arange(size)):
        raise ValueError(f"permutation: expected each of 0..{size - 1} exactly once")


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)
