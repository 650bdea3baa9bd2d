"""Tests for equidocs.train and equidocs.data_specs: determinism, the parallel path against the
one-at-a-time oracle, stop rules, learning-rate choice on the validation split, errors."""
import sys
import types
from dataclasses import replace

import pytest
import torch

from equidocs import train as train_mod
from equidocs.data import permute_pixels, pixel_permutation
from equidocs.data_specs import PERMUTATION_SEED, make_splits
from equidocs.equivariance import shift
from equidocs.train import Job, RunResult, TrainConfig, roll_batch, train, train_many, tune_lr

DATA = {"dataset": "patterns", "canvas": 8, "n_val": 30, "n_test": 30}
SMALL = {"depth": 1, "width": 4, "kernel_size": 3, "hidden": 32, "head": "max"}
SHORT = TrainConfig(max_steps=40, eval_every=10)


def job(kind: str = "dense", seed: int = 0, n: int = 32, cfg: TrainConfig = SHORT, **kw) -> Job:
    return Job(kind, DATA, n, seed=seed, model=SMALL, train=cfg, **kw)


def numbers(r: RunResult) -> dict:
    """Everything a run reports except its wall time."""
    return {k: v for k, v in r.to_dict().items() if k != "wall_s"}


@pytest.fixture(autouse=True)
def one_thread():
    """Run as train_many's workers do (one thread): same arithmetic, and no fight over 2 cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ---- determinism and the parallel path ---------------------------------------------------------

@pytest.mark.parametrize("kind", ["conv", "local", "dense"])
def test_same_job_gives_identical_numbers(kind):
    a, b = train(job(kind)), train(job(kind))
    assert numbers(a) == numbers(b)
    assert a.steps > 0 and a.loss_curve and a.params > 0


def test_different_seeds_differ():
    a, b = train(job("conv", seed=0)), train(job("conv", seed=1))
    assert a.loss_curve != b.loss_curve


def test_train_many_parallel_equals_one_at_a_time_in_job_order():
    # Growing n_train: train_many schedules the largest first, so completion order != job order.
    jobs = [job(kind, seed=s, n=n) for s, (kind, n) in
            enumerate([("dense", 16), ("conv", 24), ("local", 32), ("conv", 48), ("dense", 64)])]
    oracle = [train(j) for j in jobs]
    parallel = train_many(jobs, workers=2)
    assert [(r.kind, r.seed, r.n_train) for r in parallel] == [(j.kind, j.seed, j.n_train) for j in jobs]
    assert [numbers(r) for r in parallel] == [numbers(r) for r in oracle]
    assert [numbers(r) for r in train_many(jobs, workers=1)] == [numbers(r) for r in oracle]


def test_result_does_not_depend_on_callers_thread_count():
    # 200 steps: long enough that a 2-thread conv backward (another summation order) would show.
    j = job("conv", cfg=TrainConfig(max_steps=200, eval_every=20))
    one = train(j)
    torch.set_num_threads(2)
    two = train(j)
    assert torch.get_num_threads() == 2  # the caller's setting is restored
    assert numbers(one) == numbers(two)
    assert [numbers(r) for r in train_many([j], workers=1)] == [numbers(one)]


def test_train_many_rejects_bad_workers():
    with pytest.raises(ValueError, match="workers=0"):
        train_many([job()], workers=0)


# ---- stop rules --------------------------------------------------------------------------------

def test_easy_task_stops_when_fit_before_budget():
    cfg = TrainConfig(max_steps=1500)
    r = train(job("dense", cfg=cfg))
    assert r.stop == "fit" and not r.hit_budget
    assert r.steps < cfg.max_steps and r.steps % cfg.eval_every == 0
    assert r.train_loss < cfg.fit_loss and r.train_acc == 1.0


def test_tiny_budget_stops_at_budget():
    r = train(job("conv", cfg=TrainConfig(max_steps=5, eval_every=20)))
    assert r.stop == "budget" and r.hit_budget and r.steps == 5
    assert r.loss_curve[-1][0] == 5  # the last step is always recorded


def test_no_progress_stops_on_plateau():
    r = train(job("dense", cfg=TrainConfig(lr=1e-9, max_steps=500, eval_every=5, patience=20)))
    assert r.stop == "plateau" and not r.hit_budget and r.steps <= 30


# ---- learning-rate choice ----------------------------------------------------------------------

def fake_result(j: Job, val_acc: float, test_acc: float, steps: int = 100) -> RunResult:
    return RunResult(kind=j.kind, n_train=j.n_train, seed=j.seed, lr=j.train.lr, params=1,
                     steps=steps, stop="fit", hit_budget=False, train_acc=1.0, val_acc=val_acc,
                     test_acc=test_acc, train_loss=0.0, loss_curve=[], wall_s=0.0)


def fake_train_many(monkeypatch, val: dict, test: dict, steps: dict) -> list:
    """Replace tune_lr's trainer with a table lookup by learning rate; returns the jobs it saw."""
    seen = []

    def fake(jobs, **kw):
        seen.extend((j.train.lr, j.seed) for j in jobs)
        return [fake_result(j, val[j.train.lr], test[j.train.lr], steps[j.train.lr]) for j in jobs]

    monkeypatch.setattr(train_mod, "train_many", fake)
    return seen


def test_tune_lr_picks_by_validation_never_test(monkeypatch):
    # Validation favours 1e-2; the test set favours 1e-3 strongly; steps are equal.
    grid = [1e-3, 3e-3, 1e-2]
    seen = fake_train_many(monkeypatch, val={1e-3: 0.5, 3e-3: 0.5, 1e-2: 0.9},
                           test={1e-3: 1.0, 3e-3: 0.0, 1e-2: 0.0}, steps=dict.fromkeys(grid, 100))
    out = tune_lr(job(), grid, seeds=(0, 1), workers=1)
    assert out["lr"] == 1e-2
    assert sorted(seen) == sorted((lr, s) for lr in grid for s in (0, 1))
    assert [row["val_acc"] for row in out["table"]] == [0.5, 0.5, 0.9]
    assert all("test" not in key for row in out["table"] for key in row)


def test_tune_lr_ties_go_to_fewer_steps_then_the_smaller_rate(monkeypatch):
    grid = [1e-2, 3e-3, 1e-3]
    # 1e-3 and 3e-3 tie on validation (within `tie`); 3e-3 converged faster. 1e-2 is fastest and
    # best on the test set, but clearly worse on validation: never chosen.
    fake_train_many(monkeypatch, val={1e-3: 0.800, 3e-3: 0.803, 1e-2: 0.7},
                    test={1e-3: 0.5, 3e-3: 0.5, 1e-2: 1.0}, steps={1e-3: 400, 3e-3: 200, 1e-2: 20})
    assert tune_lr(job(), grid, seeds=(0,), tie=0.005, workers=1)["lr"] == 3e-3
    assert tune_lr(job(), grid, seeds=(0,), tie=0.0, workers=1)["lr"] == 3e-3  # no tie: best val
    fake_train_many(monkeypatch, val=dict.fromkeys(grid, 0.5), test={1e-3: 0.0, 3e-3: 0.0, 1e-2: 1.0},
                    steps=dict.fromkeys(grid, 100))
    assert tune_lr(job(), grid, seeds=(0,), workers=1)["lr"] == 1e-3  # a full tie: the smallest


def test_tune_lr_choice_follows_its_table():
    out = tune_lr(job("dense", cfg=SHORT), [1e-3, 1e-2, 1e-1], seeds=(0, 1), workers=1)
    top = max(row["val_acc"] for row in out["table"])
    tied = [row for row in out["table"] if row["val_acc"] >= top - out["tie"]]
    assert out["lr"] == min(tied, key=lambda row: (row["steps"], row["lr"]))["lr"]
    assert [row["lr"] for row in out["table"]] == [1e-3, 1e-2, 1e-1]


def test_tune_lr_rejects_empty_grid():
    with pytest.raises(ValueError, match="grid"):
        tune_lr(job(), [])


# ---- TrainConfig validation --------------------------------------------------------------------

@pytest.mark.parametrize("field, value", [
    ("batch_size", 0), ("batch_size", 1.5), ("max_steps", -1), ("max_steps", True),
    ("eval_every", 0), ("patience", "10"), ("lr", 0.0), ("lr", float("nan")), ("lr", "fast"),
    ("fit_loss", -0.1), ("fit_loss", float("inf")), ("weight_decay", -1e-4),
    ("augment", "flip"), ("augment", None),
])
def test_train_config_rejects_bad_values_naming_the_field(field, value):
    with pytest.raises(ValueError, match=rf"TrainConfig\.{field}="):
        TrainConfig(**{field: value})


def test_train_config_names_the_valid_augmentations():
    with pytest.raises(ValueError, match=r"TrainConfig\.augment='roll': expected one of 'none', 'shift'"):
        TrainConfig(augment="roll")


# ---- random-shift augmentation -----------------------------------------------------------------

SHIFT = replace(SHORT, augment="shift")


def test_roll_batch_rolls_each_image_circularly_by_its_own_shift():
    x = torch.randn(5, 3, 7, 6, generator=torch.Generator().manual_seed(0))
    dy, dx = torch.tensor([0, 1, -2, 9, 6]), torch.tensor([0, 5, 3, -1, 13])
    out = roll_batch(x, dy, dx)
    for i in range(5):
        assert torch.equal(out[i], torch.roll(x[i], (int(dy[i]), int(dx[i])), dims=(1, 2)))
        assert torch.equal(out[i], shift(x[i], int(dy[i]), int(dx[i])))  # the same convention
    assert torch.equal(torch.sort(out.flatten(1)).values, torch.sort(x.flatten(1)).values)


def test_roll_batch_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"roll_batch: expected x \(N, C, H, W\) and dy, dx \(N,\), "
                                         r"got x \(2, 3, 4, 4\), dy \(3,\), dx \(2,\)"):
        roll_batch(torch.zeros(2, 3, 4, 4), torch.zeros(3).long(), torch.zeros(2).long())


def test_random_shifts_cover_every_offset():
    x = torch.zeros(4000, 1, 4, 5)
    x[:, 0, 0, 0] = 1  # a dot at the origin lands at (dy, dx)
    out = train_mod._random_shift(x, torch.Generator().manual_seed(0))
    counts = out.sum(dim=(0, 1))
    assert out.sum(dim=(1, 2, 3)).eq(1).all() and counts.min() > 0.6 * 4000 / 20


@pytest.mark.parametrize("kind, head", [("dense", "max"), ("conv", "flatten"), ("local", "max")])
def test_shift_augmented_job_is_deterministic_and_differs_from_none(kind, head):
    j = replace(job(kind, cfg=SHIFT), model={**SMALL, "head": head})
    a, b = train(j), train(j)
    assert numbers(a) == numbers(b)
    assert a.loss_curve != train(replace(j, train=SHORT)).loss_curve


def test_shift_augmentation_barely_touches_an_invariant_net():
    # Circular padding + max pooling: the conv net's logits ignore circular shifts, so only the
    # summation order of its gradients changes.
    plain, shifted = train(job("conv")), train(job("conv", cfg=SHIFT))
    assert (plain.train_acc, plain.val_acc, plain.test_acc) == (
        shifted.train_acc, shifted.val_acc, shifted.test_acc)
    assert [s for s, _ in shifted.loss_curve] == [s for s, _ in plain.loss_curve]
    assert [v for _, v in shifted.loss_curve] == pytest.approx([v for _, v in plain.loss_curve], abs=1e-5)


def test_none_never_shifts_and_shift_changes_only_the_training_images(monkeypatch):
    plain = numbers(train(job("conv")))

    def fail(x, generator):
        raise AssertionError("augment='none' must not shift")

    monkeypatch.setattr(train_mod, "_random_shift", fail)
    assert numbers(train(job("conv"))) == plain

    def draw_but_keep(x, generator):  # draws from the shift stream, leaves the images alone
        torch.randint(8, (2, len(x)), generator=generator)
        return x

    monkeypatch.setattr(train_mod, "_random_shift", draw_but_keep)
    assert numbers(train(job("conv", cfg=SHIFT))) == plain  # init and batch order untouched


def test_shift_applies_to_training_minibatches_only(monkeypatch):
    shifted, evaluated = [], []
    real_shift, real_accuracy, real_loss = train_mod._random_shift, train_mod.accuracy, train_mod._full_loss

    def spy_shift(x, generator):
        shifted.append(len(x))
        return real_shift(x, generator)

    def spy(real):
        def wrapped(model, x, y, *args):
            evaluated.append(x)
            return real(model, x, y, *args)
        return wrapped

    monkeypatch.setattr(train_mod, "_random_shift", spy_shift)
    monkeypatch.setattr(train_mod, "accuracy", spy(real_accuracy))
    monkeypatch.setattr(train_mod, "_full_loss", spy(real_loss))
    cfg = TrainConfig(max_steps=40, eval_every=10, batch_size=8, fit_loss=10.0, augment="shift")
    r = train(job("conv", cfg=cfg))
    assert r.stop == "fit" and r.steps == 10 and shifted == [8] * 10  # fit at the first check
    splits = make_splits(DATA, 32, seed=0)
    clean = [splits.train.x, splits.train.x, splits.val.x, splits.test.x, splits.train.x]
    assert len(evaluated) == len(clean)  # fit check, then train, val and test accuracy, train loss
    assert all(torch.equal(x, c) for x, c in zip(evaluated, clean))


# ---- make_splits -------------------------------------------------------------------------------

@pytest.mark.parametrize("spec, error, words", [
    ({"dataset": "mnist"}, ValueError, ["'mnist'", "digits", "patterns"]),
    ({}, ValueError, ["dataset=None", "patterns"]),
    ("patterns", ValueError, ["'patterns'", "expected one of"]),
    ({"dataset": "patterns", "colour": 1}, TypeError, ["colour", "canvas"]),
    ({"dataset": "digits", "num_classes": 4}, TypeError, ["num_classes", "'digits'"]),
])
def test_make_splits_rejects_unknown_dataset_or_option(spec, error, words):
    with pytest.raises(error) as info:
        make_splits(spec, 8, seed=0)
    assert all(w in str(info.value) for w in words), str(info.value)


@pytest.mark.parametrize("spec", [DATA, {"dataset": "digits", "canvas": 10, "n_val": 20, "n_test": 20}])
def test_held_out_sets_do_not_depend_on_training_seed_or_size(spec):
    a, b, c = make_splits(spec, 16, seed=0), make_splits(spec, 16, seed=1), make_splits(spec, 40, seed=5)
    assert not torch.equal(a.train.x, b.train.x)
    for split in ("val", "test"):
        for other in (b, c):
            assert torch.equal(getattr(a, split).x, getattr(other, split).x)
            assert torch.equal(getattr(a, split).y, getattr(other, split).y)


@pytest.mark.parametrize("dataset", ["patterns", "digits"])
def test_permuted_arm_shuffles_train_val_and_test_the_same_way(dataset):
    spec = {"dataset": dataset, "canvas": 10, "n_val": 20, "n_test": 20,
            "train_where": "top-left", "test_where": "bottom-right"}
    plain, shuffled = make_splits(spec, 24, seed=3), make_splits({**spec, "permute": True}, 24, seed=3)
    perm = pixel_permutation(10, seed=PERMUTATION_SEED)
    for split in ("train", "val", "test"):
        a, b = getattr(plain, split), getattr(shuffled, split)
        assert torch.equal(permute_pixels(a.x, perm), b.x) and torch.equal(a.y, b.y)
        assert not torch.equal(a.x, b.x)


# ---- probes ------------------------------------------------------------------------------------

def test_probe_is_called_after_training_and_its_dict_returned(monkeypatch):
    calls = []

    def probe(model, splits, j, scale=1):
        calls.append(j)
        return {"train_n": scale * len(splits.train), "out": list(model(splits.test.x[:2]).shape)}

    module = types.ModuleType("fake_probe_module")
    module.probe = probe
    monkeypatch.setitem(sys.modules, "fake_probe_module", module)
    j = job("conv", probe="fake_probe_module:probe")
    r = train(j)
    assert calls == [j] and r.probe == {"train_n": 32, "out": [2, 4]}
    assert train(replace(j, probe_args={"scale": 3})).probe["train_n"] == 96  # keyword arguments
    assert train(replace(j, probe=None)).probe is None


@pytest.mark.parametrize("probe, error", [
    ("equidocs.train", ValueError), ("equidocs.train:no_such_function", AttributeError),
    ("no_such_module_xyz:f", ModuleNotFoundError),
])
def test_bad_probe_string_errors(probe, error):
    with pytest.raises(error, match="module:function" if error is ValueError else None):
        train(job("dense", cfg=TrainConfig(max_steps=2), probe=probe))
