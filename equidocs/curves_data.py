"""The user's data for ``python -m equidocs curves``: a folder of class subfolders of images, or an
``.npz`` with ``x`` and ``y``, read into (N, 1, S, S) float32 pixels in [0, 1] and integer labels,
checked, hashed, and split into a training pool, a validation set and a test set.

Images are read with Pillow and converted to grayscale with ``convert("L")`` (ITU-R 601-2 luma:
L = 0.299 R + 0.587 G + 0.114 B; an alpha channel is dropped), then divided by 255. An ``.npz``
``x`` of an integer type is divided by 255 too; a floating ``x`` is used as it is. With ``size``
every image is resized to size x size (Pillow, bilinear; a non-square image is stretched).

Every problem is a :class:`DataError` whose message names the argument, what was expected and what
was given, e.g. ``DATA 'pets': expected at least 2 classes (subfolders with images); found 1: 'cat'``.

>>> split_sizes([10, 10, 40], 0.2, 0.2)
([2, 2, 8], [2, 2, 8])
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MIN_SIDE = 5            # the nets' filters are 5 x 5
MIN_PER_CLASS = 10      # validation and test take a fifth each (>= 1), the training pool the rest


class DataError(ValueError):
    """Data the command cannot use, with a message that names what to change."""


@dataclass
class Dataset:
    x: np.ndarray                 # (N, 1, S, S) float32
    y: np.ndarray                 # (N,) int64 in 0..K-1
    classes: list[str]            # class names, index = label
    source: str                   # the DATA argument
    kind: str                     # "folder" or "npz"
    original_size: str            # e.g. "16x16", or "mixed" / "12x10" before --size
    notes: list[str] = field(default_factory=list)   # what was done to the data (conversion, resizing)

    @property
    def side(self) -> int:
        return int(self.x.shape[-1])

    def digest(self) -> str:
        """sha256 (16 hex digits) of the pixels, labels and class names as the nets see them."""
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(self.x, np.float32).tobytes())
        h.update(np.ascontiguousarray(self.y, np.int64).tobytes())
        h.update("\0".join(self.classes).encode())
        return h.hexdigest()[:16]


def load(path: str | Path, size: int | None = None) -> Dataset:
    """Read DATA (a folder of class subfolders, or an .npz), resized to size x size when given."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"DATA {str(path)!r}: expected a folder of class subfolders of images or an "
                        f".npz file; given a path that does not exist")
    data = _load_npz(p, size) if p.is_file() else _load_folder(p, size)
    counts = np.bincount(data.y, minlength=len(data.classes))
    if len(data.classes) < 2:
        raise DataError(f"DATA {str(path)!r}: expected at least 2 classes; found 1: {data.classes[0]!r}")
    few = [(data.classes[i], int(c)) for i, c in enumerate(counts) if c < MIN_PER_CLASS]
    if few:
        listed = ", ".join(f"{name!r} has {c}" for name, c in few[:5]) + (", ..." if len(few) > 5 else "")
        raise DataError(f"DATA {str(path)!r}: expected at least {MIN_PER_CLASS} images per class "
                        f"(validation and test take a fifth each, at least one; the training pool "
                        f"needs the rest for its smallest rungs); given: {listed}")
    return data


def _load_folder(folder: Path, size: int | None) -> Dataset:
    from PIL import Image, UnidentifiedImageError

    where = f"DATA {str(folder)!r}"
    entries = sorted(e for e in folder.iterdir() if not e.name.startswith("."))
    subfolders = [e for e in entries if e.is_dir()]
    if not entries:
        raise DataError(f"{where}: expected class subfolders of images (or an .npz file); the folder is empty")
    if not subfolders:
        raise DataError(f"{where}: expected class subfolders of images (one folder per class); found "
                        f"{len(entries)} file(s) and no subfolder")
    files, labels, classes, ignored = [], [], [], len(entries) - len(subfolders)
    for sub in subfolders:
        images = sorted(f for f in sub.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
                        and not f.name.startswith("."))
        ignored += sum(1 for f in sub.iterdir() if not f.name.startswith(".")) - len(images)
        if images:
            classes.append(sub.name)
            files += images
            labels += [len(classes) - 1] * len(images)
    if not classes:
        raise DataError(f"{where}: expected class subfolders holding {'/'.join(IMAGE_SUFFIXES)} images; "
                        f"none of its {len(subfolders)} subfolder(s) holds any")
    if len(classes) == 1:
        raise DataError(f"{where}: expected at least 2 classes (subfolders with images); found 1: {classes[0]!r}")
    pictures, sizes = [], {}
    for f in files:
        try:
            with Image.open(f) as im:
                im.load()
                pictures.append(im.convert("L"))
        except (UnidentifiedImageError, OSError, ValueError) as err:
            raise DataError(f"{where}: cannot read image {str(f)!r} ({err}); expected a readable PNG or "
                            f"JPEG file (fix or remove it)") from None
        sizes.setdefault(pictures[-1].size, f)
    notes = ["converted to grayscale with Pillow's convert('L') (0.299 R + 0.587 G + 0.114 B, alpha "
             "dropped) and scaled to [0, 1]"]
    if ignored:
        notes.append(f"ignored {ignored} entr{'y' if ignored == 1 else 'ies'} that are not "
                     f"{'/'.join(IMAGE_SUFFIXES)} files inside a class subfolder")
    original = _check_sizes(where, sizes, size)
    if size is not None:
        if original != f"{size}x{size}":
            notes.append(f"resized from {original} to {size}x{size} with Pillow (bilinear)")
        pictures = [im if im.size == (size, size) else im.resize((size, size), Image.Resampling.BILINEAR)
                    for im in pictures]
    x = np.stack([np.asarray(im, np.float32) / 255.0 for im in pictures])[:, None]  # (N, 1, S, S)
    return Dataset(x, np.asarray(labels, np.int64), classes, str(folder), "folder", original, notes)


def _check_sizes(where: str, sizes: dict, size: int | None) -> str:
    """The images' common size as "WxH" ("mixed" if they differ); refuse what --size must fix."""
    (w, h), first = next(iter(sizes.items()))
    if len(sizes) > 1:
        (w2, h2), second = list(sizes.items())[1]
        if size is None:
            raise DataError(f"{where}: expected images of one size; {str(first)!r} is {w}x{h} but "
                            f"{str(second)!r} is {w2}x{h2} (width x height). Pass --size S to resize "
                            f"every image to S x S")
        return "mixed"
    if w != h and size is None:
        raise DataError(f"{where}: expected square images; given {w}x{h} (width x height, e.g. "
                        f"{str(first)!r}). Pass --size S to resize every image to S x S")
    if size is None and w < MIN_SIDE:
        raise DataError(f"{where}: expected images at least {MIN_SIDE}x{MIN_SIDE} (the filters are "
                        f"{MIN_SIDE}x{MIN_SIDE}); given {w}x{h}. Pass --size S (S >= {MIN_SIDE}) to resize")
    return f"{w}x{h}"


def _load_npz(path: Path, size: int | None) -> Dataset:
    where = f"DATA {str(path)!r}"
    if path.suffix.lower() != ".npz":
        raise DataError(f"{where}: expected a folder of class subfolders or an .npz file; given a "
                        f"{path.suffix or 'suffix-less'} file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except Exception as err:  # noqa: BLE001 (a damaged archive fails in many ways)
        raise DataError(f"{where}: cannot read it as an .npz archive ({err})") from None
    missing = [k for k in ("x", "y") if k not in arrays]
    if missing:
        raise DataError(f"{where}: expected arrays 'x' (images) and 'y' (labels); missing "
                        f"{' and '.join(repr(k) for k in missing)}, found {sorted(arrays)}")
    x, y = arrays["x"], arrays["y"]
    shapes = "(N, H, W), (N, H, W, 1) or (N, 1, H, W)"
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    elif x.ndim == 4 and x.shape[3] == 1:
        x = x[..., 0]
    if x.ndim != 3 or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise DataError(f"{where}: expected x of shape {shapes} with numbers; given shape "
                        f"{arrays['x'].shape} of {arrays['x'].dtype}")
    if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{where}: expected y of shape ({len(x)},) with integer labels (one per image "
                        f"of x); given shape {y.shape} of {y.dtype}")
    pixels = x.astype(np.float32) / (255.0 if not np.issubdtype(x.dtype, np.floating) else 1.0)
    if not np.isfinite(pixels).all():
        raise DataError(f"{where}: expected finite pixel values in x; given NaN or infinity")
    h, w = x.shape[1:]
    original = _check_sizes(where, {(w, h): "x"}, size)
    notes = ["x of an integer type divided by 255" if not np.issubdtype(x.dtype, np.floating)
             else "x (floating point) used as given"]
    if size is not None and (h, w) != (size, size):
        from PIL import Image

        pixels = np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(im, np.float32)).resize((size, size), Image.Resampling.BILINEAR))
                           for im in pixels])
        notes.append(f"resized from {original} to {size}x{size} with Pillow (bilinear)")
    values, labels = np.unique(y, return_inverse=True)
    return Dataset(np.ascontiguousarray(pixels[:, None], np.float32), labels.astype(np.int64),
                   [str(v) for v in values], str(path), "npz", original, notes)


# ---- the split: a training pool, validation and test, stratified by class --------------------------

def split_sizes(counts: list[int], val_fraction: float, test_fraction: float) -> tuple[list[int], list[int]]:
    """Per class: (validation, test) sizes, each round(fraction x count) and at least 1."""
    val = [max(1, round(val_fraction * c)) for c in counts]
    test = [max(1, round(test_fraction * c)) for c in counts]
    return val, test


def split(y: np.ndarray, val_fraction: float, test_fraction: float, seed: int) -> dict[str, np.ndarray]:
    """Stratified split of indices into ``pool`` (training sets are drawn from it), ``val`` and
    ``test``: per class a seeded shuffle, the first ones to test, the next to validation.

    >>> s = split(np.repeat([0, 1], 10), 0.2, 0.2, seed=0)
    >>> [len(s[k]) for k in ("pool", "val", "test")], sorted(set(s["pool"]) & set(s["test"]))
    ([12, 4, 4], [])
    """
    rng = np.random.default_rng(seed)
    counts = np.bincount(y).tolist()
    val_n, test_n = split_sizes(counts, val_fraction, test_fraction)
    parts: dict[str, list] = {"pool": [], "val": [], "test": []}
    for c, (nv, nt) in enumerate(zip(val_n, test_n)):
        idx = rng.permutation(np.flatnonzero(y == c))
        parts["test"] += idx[:nt].tolist()
        parts["val"] += idx[nt:nt + nv].tolist()
        parts["pool"] += idx[nt + nv:].tolist()
    return {k: np.sort(np.asarray(v, np.int64)) for k, v in parts.items()}
