"""The concept figure (explorer_models.figure): each kind's first layer drawn as a matrix, hidden
units x input pixels, from exported models. Checked on tiny untrained models against the layers'
own weights: conv is one kernel repeated (every diagonal constant), locally connected is banded
(zero outside each unit's window) with different values along a diagonal, dense is full."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from equidocs.experiments import explorer_models
from equidocs.explorer import export_model
from equidocs.models import LocallyConnected2d, make_model
from equidocs.plotting import KIND_NAMES, theme

SIDE, K, WIDTH, HIDDEN = 6, 3, 2, 40     # a 6x6 canvas, 3x3 windows, 2 channels, 40 dense units
P = SIDE * SIDE


def tiny_result() -> tuple[dict, dict]:
    """A result dict shaped like explorer_models.run's, holding one untrained model per kind (the
    drawn ones: largest n, first seed) and a decoy per kind that must not be drawn."""
    models, entries = {}, []
    for n, seed in ((8, 0), (4, 0), (8, 1)):
        for kind in ("conv", "local", "dense"):
            torch.manual_seed(100 * seed + n + len(kind))
            model = make_model(kind, (1, SIDE, SIDE), 4, depth=1, width=WIDTH, kernel_size=K,
                               hidden=HIDDEN, padding="circular")
            entries.append({"n": n, "seed": seed, **export_model(model)})
            if (n, seed) == (8, 0):
                models[kind] = model
    weights = {"canvas": SIDE, "models": entries}
    result = {"kinds": ["conv", "local", "dense"], "ns": [4, 8], "seeds": [0, 1],
              "companions": {explorer_models.WEIGHTS_FILE: weights}}
    return result, models


@pytest.fixture(scope="module")
def drawn():
    """{kind: (drawn matrix, scaled back to weights, as (H, W, H, W)), the model}, light and dark."""
    result, models = tiny_result()
    out = {}
    for scheme in ("light", "dark"):
        with theme(scheme):
            fig = explorer_models.figure(result)
        panels = [ax for ax in fig.axes if ax.images]
        assert len(panels) == 3, "one matrix panel per kind"
        for ax, kind in zip(panels, result["kinds"]):
            assert ax.get_title().startswith(KIND_NAMES[kind])
            shown = np.asarray(ax.images[0].get_array(), float)
            assert shown.shape == (P, P), "rows: one channel's positions (or P dense units); columns: pixels"
            assert np.abs(shown).max() == pytest.approx(1.0), "each panel divided by its largest |weight|"
            out[kind] = (shown, models[kind])
        plt.close(fig)
    return out


def first_weight(model) -> torch.Tensor:
    layer = next(m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, LocallyConnected2d, torch.nn.Linear)))
    return layer.weight.detach()


def window(i: int, j: int) -> np.ndarray:
    """(H, W) mask of the pixels in output position (i, j)'s circular K x K window."""
    d = lambda a, b: min((a - b) % SIDE, (b - a) % SIDE)  # noqa: E731 (circular distance)
    return np.array([[d(y, i) <= K // 2 and d(x, j) <= K // 2 for x in range(SIDE)] for y in range(SIDE)])


def test_conv_matrix_is_one_kernel_repeated_along_the_diagonals(drawn):
    shown, model = drawn["conv"]
    m = shown.reshape(SIDE, SIDE, SIDE, SIDE)  # (out row, out col, pixel row, pixel col)
    # Shift the output position and the input pixel together: the weight does not change.
    assert np.allclose(m, np.roll(m, 1, axis=(0, 2)), atol=1e-6)
    assert np.allclose(m, np.roll(m, 1, axis=(1, 3)), atol=1e-6)
    assert np.allclose(np.diagonal(shown), shown[0, 0], atol=1e-6)  # the main diagonal is constant
    # Against the layer's own kernel (cross-correlation, circular padding K // 2): channel 0.
    w = first_weight(model)[0, 0].numpy()
    lim = np.abs(w).max()
    for i, j, a, b in ((0, 0, 0, 0), (2, 3, 1, 2), (5, 5, 2, 2)):
        assert m[i, j, (i + a - K // 2) % SIDE, (j + b - K // 2) % SIDE] * lim == pytest.approx(w[a, b], abs=1e-6)


def test_locally_connected_matrix_is_banded_with_weights_of_its_own_per_row(drawn):
    shown, model = drawn["local"]
    m = shown.reshape(SIDE, SIDE, SIDE, SIDE)
    for i in range(SIDE):
        for j in range(SIDE):
            inside = window(i, j)
            assert np.all(m[i, j][~inside] == 0), f"unit ({i}, {j}) reads a pixel outside its window"
            assert np.all(m[i, j][inside] != 0), f"unit ({i}, {j}) ignores a pixel of its window"
    assert not np.allclose(m, np.roll(m, 1, axis=(0, 2)), atol=1e-3), "no sharing: diagonals vary"
    w = first_weight(model).numpy()  # (L, out, K*K): position l = i * SIDE + j, channel 0
    lim = np.abs(w[:, 0]).max()
    for i, j, a, b in ((0, 0, 0, 0), (2, 3, 1, 2), (5, 5, 2, 2)):
        expected = w[i * SIDE + j, 0, a * K + b]
        assert m[i, j, (i + a - K // 2) % SIDE, (j + b - K // 2) % SIDE] * lim == pytest.approx(expected, abs=1e-6)


def test_dense_matrix_is_full_and_is_the_first_units_weights(drawn):
    shown, model = drawn["dense"]
    assert np.all(shown != 0)
    w = first_weight(model)[:P].numpy()  # (units, pixels): the first P of HIDDEN units
    assert np.allclose(shown * np.abs(w).max(), w, atol=1e-6)


def test_the_conv_band_is_as_wide_as_the_kernel(drawn):
    shown, _ = drawn["conv"]
    assert (np.count_nonzero(shown, axis=1) <= K * K).all()  # (a zero weight only narrows it)
    assert np.count_nonzero(drawn["local"][0], axis=1).tolist() == [K * K] * P
