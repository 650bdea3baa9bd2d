"""Save scikit-learn's bundled 8x8 digits as 16x16 PNG images in class folders, each digit pasted at a
random position (so where it sits varies, as on the site's canvases): the example data of the page
"Your own data". Deterministic (seed 0), so the same files come out every time.

    .venv/bin/python scripts/digits_as_images.py [--out build/digits-images]
    .venv/bin/python -m equidocs curves build/digits-images --out docs/own-data/digits
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

CANVAS = 16  # canvas side: an 8x8 digit has (16 - 8 + 1)^2 = 81 places


def save(out: Path, canvas: int = CANVAS, seed: int = 0) -> int:
    """Write out/<digit>/<index>.png for every bundled digit; returns how many."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    images = np.rint(digits.images * (255 / 16)).astype(np.uint8)  # 0..16 -> 0..255
    side = images.shape[1]
    for i, (image, label) in enumerate(zip(images, digits.target)):
        r, c = rng.integers(0, canvas - side + 1, size=2)
        page = np.zeros((canvas, canvas), np.uint8)
        page[r:r + side, c:c + side] = image
        folder = out / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(page).save(folder / f"{i:04d}.png")
    return len(images)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("build/digits-images"))
    args = parser.parse_args()
    n = save(args.out)
    print(f"{n} digits saved as {CANVAS}x{CANVAS} PNG images in {args.out}/<digit>/")
