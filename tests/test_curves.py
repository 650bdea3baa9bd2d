"""``python -m equidocs curves``: end to end on a tiny image folder (outputs, CSV = JSON, resume,
determinism, the test set decides nothing), an .npz input, every refused input with its message, and
the committed digits example (fresh, its CSV = its JSON)."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from equidocs import curves, curves_data, curves_report
from equidocs.cli import main
from equidocs.curves_report import csv_rows
from equidocs.curves_train import balanced_order

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "docs" / "own-data" / "digits"
REFRESH = ".venv/bin/python scripts/digits_as_images.py && .venv/bin/python -m equidocs curves " \
          "build/digits-images --out docs/own-data/digits"
SMOKE = ["--design", "smoke", "--seeds", "2", "--max-train", "12"]  # a pipeline check in seconds
SHAPES = {"bar": np.ones((1, 5)), "box": np.pad(np.zeros((3, 3)), 1, constant_values=1),
          "cross": np.clip(np.eye(5) + np.eye(5)[::-1], 0, 1)}


def shapes(n: int = 40, side: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n noisy images per class of a bar, a box and a cross at random places: (N, S, S) uint8, labels."""
    rng, xs, ys = np.random.default_rng(seed), [], []
    for label, glyph in enumerate(SHAPES.values()):
        for _ in range(n):
            canvas = np.zeros((side, side))
            r, c = rng.integers(0, side - glyph.shape[0] + 1), rng.integers(0, side - glyph.shape[1] + 1)
            canvas[r:r + glyph.shape[0], c:c + glyph.shape[1]] = glyph
            xs.append(np.clip((canvas + rng.normal(0, 0.1, canvas.shape)) * 255, 0, 255).astype(np.uint8))
            ys.append(label)
    return np.stack(xs), np.array(ys)


def write_folder(folder: Path, x: np.ndarray, y: np.ndarray, names=tuple(SHAPES)) -> Path:
    from PIL import Image

    for i, (image, label) in enumerate(zip(x, y)):
        (folder / names[label]).mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / names[label] / f"{i:03d}.png")
    return folder


def curves_cli(capsys, *args) -> tuple[int, str, str]:
    code = main(["curves", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return write_folder(tmp_path_factory.mktemp("shapes") / "shapes", *shapes())


@pytest.fixture(scope="module")
def first(folder, tmp_path_factory) -> Path:
    """The smoke design on the shapes, one worker; its output folder."""
    out = tmp_path_factory.mktemp("first") / "out"
    assert main(["curves", str(folder), "--out", str(out), "--workers", "1", *SMOKE]) == 0
    return out


def report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


def per_seed(r: dict) -> dict:
    return {arm: [p["per_seed"] for p in a["curve"]] for arm, a in r["arms"].items()}


def assert_csv_matches_json(out: Path) -> None:
    with (out / "curves.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    expected = csv_rows(report(out))
    assert len(rows) == len(expected) and rows, f"{out}: {len(rows)} CSV rows, {len(expected)} in the JSON"
    for got, want in zip(rows, expected):
        assert got["arm"] == want["arm"] and int(got["n"]) == want["n"] and int(got["seeds"]) == want["seeds"]
        for key in ("mean", "low", "high"):
            assert float(got[key]) == want[key], (got, want)


# ---- end to end ------------------------------------------------------------------------------------

def test_outputs_exist_and_the_csv_is_the_json(first, folder):
    for name in ("curves.png", "curves.svg", "curves.csv", "report.json", "report.md", "runs.jsonl", "log.txt"):
        assert (first / name).stat().st_size > 0, name
    assert_csv_matches_json(first)
    r = report(first)
    s = r["split"]
    assert s["train_pool"] + s["validation"] + s["test"] == r["data"]["images"] == 120
    assert r["design"]["ladder"] == [3, 4, 6, 8, 12]
    assert set(r["arms"]) == {"conv", "local", "conv_flatten", "dense", "memoriser"}
    for arm, a in r["arms"].items():
        assert len(a["curve"]) == 5 and all(len(p["per_seed"]) == 2 for p in a["curve"])
        assert a["need"]["censored"] in ("", "above", "below") and a["need"]["text"]
        assert (a["settings"] == {}) == (arm == "memoriser")
    for arm, ratio in r["ratios_vs_conv"].items():  # conv is named only when the interval lies above 1
        assert ratio["winner"] in ("conv", arm, "inconclusive") and (ratio["winner"] == "conv") == (ratio["low"] > 1)
    assert sum(r["stops"].values()) == r["compute"]["runs"] == len((first / "runs.jsonl").read_text().splitlines())
    assert r["code"]["curves"] == curves.code_hash() and len(r["data"]["hash"]) == 16
    md = (first / "report.md").read_text(encoding="utf-8")
    assert md.endswith(curves_report.body(r)) and md.startswith("# Sample efficiency on")
    assert "```" not in md  # a page renders the body: no code fence (the doc tests would run it)
    assert all(a["need"]["text"] in md for a in r["arms"].values())


def test_it_states_its_estimate_before_training_and_logs_what_it_printed(first):
    log = (first / "log.txt").read_text(encoding="utf-8")
    assert log.index("estimated time: about") < log.index("batch 1 ")
    assert "split (stratified, seed 0): training pool 72, validation 24" in log


def test_a_rerun_trains_nothing_and_an_interrupted_one_resumes(first, capsys):
    before = report(first)
    data = before["data"]["source"]
    code, out, _ = curves_cli(capsys, data, "--out", first, "--workers", "1", *SMOKE)
    assert code == 0 and "done: 0 runs trained now" in out
    assert report(first)["compute"]["trained_now"] == 0 and per_seed(report(first)) == per_seed(before)
    lines = (first / "runs.jsonl").read_text().splitlines()  # as if killed before the last 4 runs
    (first / "runs.jsonl").write_text("\n".join(lines[:-4]) + "\n")
    code, out, _ = curves_cli(capsys, data, "--out", first, "--workers", "1", *SMOKE)
    assert code == 0 and f"done: 4 runs trained now, {len(lines) - 4} reused" in out
    assert per_seed(report(first)) == per_seed(before)


def test_the_same_seeds_give_the_same_numbers_with_any_number_of_workers(first, folder, tmp_path):
    assert main(["curves", str(folder), "--out", str(tmp_path / "again"), "--workers", "2", *SMOKE]) == 0
    again, before = report(tmp_path / "again"), report(first)
    assert per_seed(again) == per_seed(before)
    assert {a: x["settings"] for a, x in again["arms"].items()} == {a: x["settings"] for a, x in before["arms"].items()}


def test_an_npz_input_and_the_test_set_decides_nothing(first, tmp_path):
    """The shapes as an .npz (N, H, W, 1) whose test images are replaced by noise: every choice
    (pilot, tuning) is the same as on the folder; only the test accuracies change."""
    x, y = shapes()
    parts = curves_data.split(y, 0.2, 0.2, seed=0)
    x[parts["test"]] = np.random.default_rng(1).integers(0, 256, x[parts["test"]].shape, dtype=np.uint8)
    np.savez(tmp_path / "shapes.npz", x=x[..., None], y=y + 7)  # labels need not start at 0
    assert main(["curves", str(tmp_path / "shapes.npz"), "--out", str(tmp_path / "o"), "--workers", "1", *SMOKE]) == 0
    r, before = report(tmp_path / "o"), report(first)
    assert r["data"]["kind"] == "npz" and r["data"]["classes"] == ["7", "8", "9"]
    assert r["split"] == before["split"] | {"per_class": r["split"]["per_class"]}
    for arm in r["arms"]:
        for key in ("pilot", "pilot_n", "tuning", "settings"):
            assert r["arms"][arm][key] == before["arms"][arm][key], (arm, key)
    assert per_seed(r) != per_seed(before)
    assert_csv_matches_json(tmp_path / "o")


# ---- refused inputs: exit 2, one message naming the argument, no traceback --------------------------

def _bad(tmp_path: Path, case: str) -> tuple[list, str]:
    """(extra arguments, expected words) of a refused input built in tmp_path."""
    x, y = shapes(n=12)
    if case == "missing":
        return [tmp_path / "nowhere"], "a path that does not exist"
    if case == "empty":
        (tmp_path / "empty").mkdir()
        return [tmp_path / "empty"], "the folder is empty"
    if case == "no subfolders":
        write_folder(tmp_path / "f", x[:3], y[:3])
        for f in (tmp_path / "f" / "bar").iterdir():
            f.rename(tmp_path / "f" / f.name)
        (tmp_path / "f" / "bar").rmdir()
        return [tmp_path / "f"], "expected class subfolders of images (one folder per class); found 3 file(s)"
    if case == "one class":
        write_folder(tmp_path / "f", x[y == 0], y[y == 0])
        return [tmp_path / "f"], "expected at least 2 classes (subfolders with images); found 1: 'bar'"
    if case == "mixed sizes":
        write_folder(tmp_path / "f", x, y)
        from PIL import Image
        Image.fromarray(np.zeros((14, 14), np.uint8)).save(tmp_path / "f" / "box" / "zz.png")
        return [tmp_path / "f"], "is 12x12 but"
    if case == "corrupt":
        write_folder(tmp_path / "f", x, y)
        (tmp_path / "f" / "cross" / "broken.png").write_bytes(b"\x89PNG not really")
        return [tmp_path / "f"], "broken.png"
    if case == "not square":
        write_folder(tmp_path / "f", x[:, :, :10].copy(), y)
        return [tmp_path / "f"], "expected square images; given 10x12 (width x height"
    if case == "too few":
        keep = np.concatenate([np.flatnonzero(y == c)[:k] for c, k in ((0, 12), (1, 4), (2, 12))])
        write_folder(tmp_path / "f", x[keep], y[keep])
        return [tmp_path / "f"], "expected at least 10 images per class"
    if case == "npz without y":
        np.savez(tmp_path / "d.npz", x=x)
        return [tmp_path / "d.npz"], "expected arrays 'x' (images) and 'y' (labels); missing 'y'"
    if case == "npz x shape":
        np.savez(tmp_path / "d.npz", x=np.repeat(x[..., None], 3, axis=3), y=y)
        return [tmp_path / "d.npz"], "expected x of shape (N, H, W), (N, H, W, 1) or (N, 1, H, W) with numbers; given shape (36, 12, 12, 3)"
    if case == "npz y shape":
        np.savez(tmp_path / "d.npz", x=x, y=y[:-1])
        return [tmp_path / "d.npz"], "expected y of shape (36,) with integer labels"
    raise AssertionError(case)


CASES = ["missing", "empty", "no subfolders", "one class", "mixed sizes", "corrupt", "not square", "too few",
         "npz without y", "npz x shape", "npz y shape"]


@pytest.mark.parametrize("case", CASES)
def test_unusable_data_is_refused_with_a_message_naming_it(case, tmp_path, capsys):
    args, words = _bad(tmp_path, case)
    code, out, err = curves_cli(capsys, *args, "--out", tmp_path / "out")
    assert code == 2, (case, out, err)
    assert err.startswith(f"error: DATA '{args[0]}'") and words in err, err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_mixed_sizes_name_both_files_and_size_resizes_them(tmp_path, capsys):
    args, _ = _bad(tmp_path, "mixed sizes")
    _, _, err = curves_cli(capsys, *args)
    assert "is 12x12 but" in err and "box/zz.png' is 14x14" in err and "Pass --size S" in err
    data = curves_data.load(args[0], size=12)
    assert data.x.shape == (37, 1, 12, 12) and "resized from mixed to 12x12 with Pillow (bilinear)" in data.notes


def test_non_square_images_are_resized_with_size(tmp_path):
    args, _ = _bad(tmp_path, "not square")
    data = curves_data.load(args[0], size=8)
    assert data.x.shape[1:] == (1, 8, 8) and data.original_size == "10x12"


@pytest.mark.parametrize("args, words", [
    (["--target", "1.5"], "argument --target: expected an accuracy strictly between 0 and 1, got '1.5'"),
    (["--target", "0"], "argument --target: expected an accuracy strictly between 0 and 1, got '0'"),
    (["--size", "3"], "argument --size: expected a whole number >= 5 (the filters are 5x5), got '3'"),
    (["--seeds", "0"], "argument --seeds: expected a positive whole number, got '0'"),
])
def test_bad_options_are_refused_naming_the_option(folder, args, words, capsys):
    with pytest.raises(SystemExit) as info:
        main(["curves", str(folder), *args])
    assert info.value.code == 2 and words in capsys.readouterr().err


# ---- pieces ------------------------------------------------------------------------------------------

def test_split_is_stratified_disjoint_and_complete():
    y = np.repeat(np.arange(4), [10, 20, 30, 41])
    parts = curves_data.split(y, 0.2, 0.2, seed=0)
    together = np.concatenate(list(parts.values()))
    assert sorted(together.tolist()) == list(range(len(y)))
    assert np.bincount(y[parts["test"]]).tolist() == [2, 4, 6, 8]


def test_every_prefix_of_the_training_order_is_class_balanced():
    y = np.repeat(np.arange(3), [30, 10, 20])
    order = balanced_order(y, seed=5)
    for n in (3, 9, 30):
        counts = np.bincount(y[order[:n]], minlength=3)
        assert counts.max() - counts.min() <= 1, (n, counts)
    assert not np.array_equal(order, balanced_order(y, seed=6))


def test_the_ladder_is_sqrt2_spaced_and_capped_at_the_pool():
    assert curves.ladder(10, 1079) == [10, 14, 20, 28, 40, 57, 80, 113, 160, 226, 320, 453, 640, 905, 1079]
    assert curves.ladder(3, 24)[-1] == 24 and curves.ladder(4, 4) == [4]


# ---- the committed example on the page "Your own data" ------------------------------------------------

def test_the_committed_digits_example_is_fresh():
    r = report(DEMO)
    assert r["code"]["curves"] == curves.code_hash(), (
        f"docs/own-data/digits was made by other code ({r['code']['curves']}, now {curves.code_hash()}): "
        f"refresh it with `{REFRESH}` (finished runs in its runs.jsonl are reused)")
    published = json.loads(json.dumps(asdict(curves.DESIGNS["published"])))
    assert {k: r["design"][k] for k in published} == published, "not the published design"
    assert (r["design"]["seeds"], r["design"]["target"]) == (5, 0.9), "not the default seeds and target"
    assert_csv_matches_json(DEMO)
    for name in ("curves.png", "curves.svg", "log.txt"):
        assert (DEMO / name).stat().st_size > 0, name


def test_the_committed_digits_example_is_of_the_data_the_script_writes(tmp_path):
    import runpy

    runpy.run_path(str(ROOT / "scripts" / "digits_as_images.py"))["save"](tmp_path / "digits")
    assert curves_data.load(tmp_path / "digits").digest() == report(DEMO)["data"]["hash"], (
        f"scripts/digits_as_images.py now writes other images: refresh with `{REFRESH}`")


def test_a_damaged_run_store_is_named_with_the_fix(folder, tmp_path, capsys):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "runs.jsonl").write_text('{"key": "k", "spec": {"arm": "conv"}, "result": {}}\n')
    code, _, err = curves_cli(capsys, folder, "--out", tmp_path / "o", *SMOKE)
    assert code == 2 and "runs.jsonl:1: expected one JSON run record" in err and "Delete that line" in err
    assert "Traceback" not in err


def test_a_ladder_below_one_example_per_class_is_refused(folder, tmp_path, capsys):
    code, _, err = curves_cli(capsys, folder, "--out", tmp_path / "o", "--max-train", "2", "--design", "smoke")
    assert code == 2 and "--max-train 2: expected at least 3 (one example per class)" in err
