"""The mechanism study's trainer: determinism, parallel == serial, the best-validation checkpoint,
JSON round trips and clear errors."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from equidocs import fit as fit_mod
from equidocs.fit import Job, fit, fit_many

SMALL = dict(n_val=50, n_test=50, epochs=2, min_steps=60, min_evals=6, patience=3)


def test_same_job_gives_bit_identical_results():
    job = Job("local", 7, 32, seed=3, **SMALL)
    a, b = fit(job).to_dict(), fit(job).to_dict()
    for r in (a, b):
        r.pop("wall_s"), r.pop("cpu_s")
    assert a == b


@pytest.mark.parametrize("weight_decay", [0.0, 1e-3])
def test_foreach_adam_trains_every_net_bit_for_bit_like_the_default_loop(weight_decay):
    """fit uses Adam(foreach=True) for speed; the runs logged with torch's default per-parameter loop
    stay current (runstore.CARRIED_OVER) only because both give the same bits."""
    from equidocs.nets import NETS, make_net

    def train(arm: str, foreach: bool | None) -> list[torch.Tensor]:
        torch.manual_seed(0)
        net = make_net(arm, 8, 4, width=8, hidden=64)
        opt = torch.optim.Adam(net.parameters(), 3e-3, weight_decay=weight_decay, foreach=foreach)
        g = torch.Generator().manual_seed(1)
        for _ in range(60):
            x, y = torch.randn(32, 1, 8, 8, generator=g), torch.randint(0, 4, (32,), generator=g)
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(net(x), y).backward()
            opt.step()
        return [p.detach() for p in net.parameters()]

    for arm in NETS:
        loop, foreach = train(arm, None), train(arm, True)
        assert all(torch.equal(a, b) for a, b in zip(loop, foreach)), arm
        torch.manual_seed(0)
        init = list(make_net(arm, 8, 4, width=8, hidden=64).parameters())
        assert not all(torch.equal(a, b) for a, b in zip(loop, init)), f"{arm}: training changed nothing"


def test_flush_denormal_is_part_of_the_job_and_is_undone_after_it():
    from equidocs.mechanism_plan import Config, base_job

    def subnormal_survives() -> bool:
        return bool((torch.tensor([1e-40]) * torch.tensor([1.0])).item() != 0.0)

    assert subnormal_survives()
    job = Job("conv", 6, 8, 0, n_val=20, n_test=20, epochs=1, min_steps=20, flush_denormal=True)
    seen = {}
    original = fit_mod._fit
    try:
        fit_mod._fit = lambda j, device="cpu": seen.setdefault("survives", subnormal_survives()) or original(j, device)
        fit(job)
    finally:
        fit_mod._fit = original
    assert seen == {"survives": False} and subnormal_survives()
    assert Job.from_dict(job.to_dict()) == job and "flush_denormal" not in replace(job, flush_denormal=False).to_dict()
    with pytest.raises(ValueError, match=r"Job flush_denormal=1: expected True or False"):
        replace(job, flush_denormal=1)
    cfg = Config.profile("full")
    assert [base_job(cfg, "dense", s).flush_denormal for s in (16, 20, 24)] == [False, True, True]


def test_sparse_max_is_part_of_the_job_for_pooled_arms_on_large_sizes():
    from equidocs.mechanism_plan import Config, base_job

    job = Job("local", 6, 8, 0, n_val=20, n_test=20, epochs=1, min_steps=20, sparse_max=True)
    assert Job.from_dict(job.to_dict()) == job and "sparse_max" not in replace(job, sparse_max=False).to_dict()
    a, b = fit(job).to_dict(), fit(job).to_dict()
    assert {k: v for k, v in a.items() if k not in ("wall_s", "cpu_s")} == \
        {k: v for k, v in b.items() if k not in ("wall_s", "cpu_s")}
    with pytest.raises(ValueError, match=r"Job sparse_max=True for arm='conv_flatten': expected an arm"):
        replace(job, arm="conv_flatten")
    with pytest.raises(ValueError, match=r"Job sparse_max=0: expected True or False"):
        replace(job, sparse_max=0)
    cfg = Config.profile("full")
    assert [[base_job(cfg, arm, s).sparse_max for s in (16, 20, 24)] for arm in ("conv", "local", "dense")] \
        == [[False, True, True], [False, True, True], [False, False, False]]


def test_fused_adam_is_part_of_the_job_on_large_sizes(monkeypatch):
    from equidocs.mechanism_plan import Config, base_job

    job = Job("dense", 8, 64, 0, n_val=20, n_test=20, epochs=2, min_steps=50, weight_decay=1e-4, fused_adam=True)
    assert Job.from_dict(job.to_dict()) == job and "fused_adam" not in replace(job, fused_adam=False).to_dict()
    strip = lambda r: {k: v for k, v in r.to_dict().items() if k not in ("wall_s", "cpu_s")}  # noqa: E731
    assert strip(fit(job)) == strip(fit(job))  # deterministic
    made, adam = [], torch.optim.Adam
    monkeypatch.setattr(torch.optim, "Adam", lambda *a, **k: made.append(k) or adam(*a, **k))
    for flag in (True, False):
        fit(replace(job, fused_adam=flag))
    assert [(k.get("fused"), k.get("foreach")) for k in made] == [(True, None), (None, True)]
    with pytest.raises(ValueError, match=r"Job fused_adam='yes': expected True or False"):
        replace(job, fused_adam="yes")
    cfg = Config.profile("full")
    assert [base_job(cfg, arm, s).fused_adam for arm in ("dense", "memoriser") for s in (16, 20, 24)] \
        == [False, True, True] * 2


def test_parallel_equals_serial_and_calls_back_in_this_process():
    jobs = [Job(arm, 6, 16, seed=s, **SMALL) for arm in ("conv", "dense", "memoriser") for s in (0, 1)]
    seen = []
    par = fit_many(jobs, workers=2, on_result=lambda i, job, r: seen.append((i, job)))
    ser = fit_many(jobs, workers=1)
    strip = [{k: v for k, v in r.to_dict().items() if k not in ("wall_s", "cpu_s", "val_loss")} for r in par]
    assert strip == [{k: v for k, v in r.to_dict().items() if k not in ("wall_s", "cpu_s", "val_loss")} for r in ser]
    assert sorted(i for i, _ in seen) == list(range(len(jobs))) and all(jobs[i] == j for i, j in seen)


def test_test_accuracy_is_read_at_the_best_validation_checkpoint(monkeypatch):
    """Scripted validation accuracies, best at the 2nd of 4 evaluations (patience 2): the net scored
    on the test set has exactly the weights it had there, not the last ones."""
    seen = {}
    script = iter([0.4, 0.95, 0.3, 0.3])
    real = fit_mod._accuracy_loss

    def fake(net, x, y, batch=2048):
        weights = torch.cat([p.detach().flatten() for p in net.parameters()]).clone()
        if len(x) == 40:  # validation
            acc = next(script, None)
            if acc is None:
                return real(net, x, y)
            seen.setdefault("val", []).append(weights)
            return acc, 1.0
        if len(x) == 70:  # test
            seen["test"] = weights
        return real(net, x, y)

    monkeypatch.setattr(fit_mod, "_accuracy_loss", fake)
    r = fit(Job("conv", 6, 24, seed=1, n_val=40, n_test=70, epochs=1, min_steps=80, min_evals=4,
                patience=2, fit_loss=1e-9))
    assert (r.stop, r.val_acc, r.evals, r.steps, r.best_epoch) == ("patience", 0.95, 4, 80, 40.0)
    assert torch.equal(seen["test"], seen["val"][1])
    assert not torch.equal(seen["test"], seen["val"][-1])


def test_job_round_trips_through_json():
    job = Job("cnn_fc", 12, 181, 4, lr=1e-2, weight_decay=1e-4, width=8, hidden=1024)
    assert Job.from_dict(json.loads(json.dumps(job.to_dict()))) == job


@pytest.mark.parametrize("change,message", [
    ({"arm": "mlp"}, r"Job arm='mlp': expected one of \("),
    ({"canvas": 4}, r"Job canvas=4: expected an integer >= 5"),
    ({"n_train": 0}, r"Job n_train=0: expected a positive integer"),
    ({"lr": -1.0}, r"Job lr=-1.0: expected a positive finite number"),
    ({"weight_decay": float("nan")}, r"Job weight_decay=nan: expected a non-negative finite number"),
    ({"seed": -2}, r"Job seed=-2: expected an integer >= 0"),
])
def test_bad_jobs_raise_naming_argument_expected_given(change, message):
    with pytest.raises(ValueError, match=message):
        replace(Job("conv", 8, 16, 0), **change)


def test_unknown_keys_and_bad_workers():
    with pytest.raises(TypeError, match=r"unknown key\(s\) \['depth'\]"):
        Job.from_dict({**Job("conv", 8, 16, 0).to_dict(), "depth": 2})
    with pytest.raises(ValueError, match=r"workers=0: expected a positive integer"):
        fit_many([Job("conv", 8, 16, 0)], workers=0)


def test_device_cpu_is_the_default_path_and_other_devices_get_moved_splits():
    """``fit(job, "cpu")`` is ``fit(job)`` bit for bit (the CPU path moves nothing); on another
    device every split's images and labels are moved there (the meta device stands in for a GPU)."""
    from equidocs.data_specs import make_splits

    job = Job("local", 7, 32, seed=1, sparse_max=True, **SMALL)
    strip = lambda r: {k: v for k, v in r.to_dict().items() if k not in ("wall_s", "cpu_s")}  # noqa: E731
    assert strip(fit(job, "cpu")) == strip(fit(job))
    s = make_splits(job.spec(), job.n_train, job.seed)
    assert fit_mod._on("cpu", s) is s
    moved = fit_mod._on("meta", s)
    assert all(t.device.type == "meta" for d in (moved.train, moved.val, moved.test) for t in (d.x, d.y))
    assert [len(d) for d in (moved.train, moved.val, moved.test)] == [len(d) for d in (s.train, s.val, s.test)]


def test_workers_fork_on_the_cpu_and_spawn_for_a_gpu():
    """A forked child cannot use CUDA: a GPU's workers are spawned, and a spawned worker (a fresh
    interpreter that imports equidocs anew) gives the same result as this process."""
    from concurrent.futures import ProcessPoolExecutor

    assert fit_mod.pool_context("cpu").get_start_method() == "fork"
    assert fit_mod.pool_context("cuda:0").get_start_method() == "spawn"
    job = Job("conv", 6, 16, seed=0, **SMALL)
    with ProcessPoolExecutor(1, mp_context=fit_mod.pool_context("cuda"), initializer=fit_mod._init_worker) as pool:
        spawned = pool.submit(fit, job, "cpu").result()
    assert {k: v for k, v in spawned.to_dict().items() if k not in ("wall_s", "cpu_s")} == \
        {k: v for k, v in fit(job).to_dict().items() if k not in ("wall_s", "cpu_s")}
