"""The mechanism study's driver: the quick profile end to end, resume after losing the last runs
reaches the same decisions, stale and malformed log lines."""

from __future__ import annotations

import io
import json
import shutil

import pytest

from equidocs import mechanism
from equidocs.mechanism import RunLog, log_path, run, status
from equidocs.fit import Result
from equidocs.mechanism_plan import Config, cap, ladder, plan, plan_condition, side


@pytest.fixture(scope="module")
def quick(tmp_path_factory, quick_mechanism_study):
    """The driver on the quick profile, resumed from the session's quick study (conftest.py): the
    same plan, so every run is already in its log; a folder of its own, so tests may not touch it."""
    folder = tmp_path_factory.mktemp("mechanism")
    shutil.copy(quick_mechanism_study.cache / "mechanism" / "runs-quick.jsonl", log_path("quick", folder))
    states = run("quick", workers=1, folder=folder, stream=None)
    return folder, states


def _numbers(path):
    """Each logged run's job and numbers (wall time left out), as a set of JSON strings."""
    out = set()
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        rec["result"].pop("wall_s"), rec["result"].pop("cpu_s")
        out.add(json.dumps([rec["job"], rec["result"]], sort_keys=True))
    return out


def test_quick_profile_end_to_end(quick):
    folder, states = quick
    cfg = Config.profile("quick")
    assert len(states) == len(cfg.sizes) * len(cfg.arms) and all(s["phase"] == "done" for s in states)
    log = RunLog(log_path("quick", folder)).load()
    assert log.stale == 0 and len(log.runs) == len(log_path("quick", folder).read_text().splitlines())
    for s in states:  # every ladder brackets the target or ends at the floor / cap
        means = {r["n"]: sum(r["test_acc"]) / len(r["test_acc"]) for r in s["ladder"]}
        rungs = ladder(cfg.floor, s["cap"])
        first_up = min((n for n, m in means.items() if m >= cfg.target), default=None)
        if first_up is None:
            assert max(means) == s["cap"]
        else:
            assert first_up == rungs[0] or rungs[rungs.index(first_up) - 1] in means
        assert len(s["ladder"][0]["test_acc"]) == len(cfg.seeds(s["arm"]))
    out = io.StringIO()
    rows = status("quick", folder=folder, stream=out)
    assert "total CPU time" in out.getvalue() and len(rows) == len(states)
    assert all(r["needed"] is not None for r in rows)


def test_resume_after_losing_the_last_runs_reaches_the_same_decisions(quick, tmp_path):
    folder, states = quick
    shutil.copy(log_path("quick", folder), log_path("quick", tmp_path))
    path = log_path("quick", tmp_path)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-25]))  # killed 25 runs before the end
    resumed = run("quick", workers=2, folder=tmp_path, stream=None)
    assert resumed == states
    assert _numbers(path) == _numbers(log_path("quick", folder))


def test_decisions_are_a_pure_function_of_the_log(quick):
    folder, states = quick
    log = RunLog(log_path("quick", folder)).load()
    pending, again = plan(Config.profile("quick"), log.get)
    assert pending == [] and again == states


def test_runs_of_other_code_are_ignored_and_counted(quick, tmp_path):
    folder, _ = quick
    lines = log_path("quick", folder).read_text().splitlines(keepends=True)
    rec = json.loads(lines[0])
    rec["code"] = "0" * 16
    log_path("quick", tmp_path).write_text(json.dumps(rec) + "\n" + lines[1])
    log = RunLog(log_path("quick", tmp_path)).load()
    assert (log.stale, len(log.runs)) == (1, 1)


def _calls(functions: tuple[str, ...]):
    """``called(arm)``: whether a training step of ``arm``'s net calls any of ``functions``."""
    import importlib

    import torch

    from equidocs.nets import make_net

    def called(arm: str) -> bool:
        if arm == "memoriser":  # a lookup: no net
            return False
        hits = []
        with pytest.MonkeyPatch.context() as mp:
            for spec in functions:
                module, _, qualname = spec.partition(":")
                owner = importlib.import_module(module)
                *path, name = qualname.split(".")
                for part in path:
                    owner = getattr(owner, part)
                original = getattr(owner, name)
                mp.setattr(owner, name, lambda *a, _f=original, **k: hits.append(1) or _f(*a, **k))
            net = make_net(arm, 7, 4, width=4)
            net(torch.randn(3, 1, 7, 7)).sum().backward()
        return bool(hits)

    return called


REPLAY_CAP_S = 60  # replay only logged runs this cheap (a code may have logged only long runs of an arm)


def test_carried_over_runs_are_current_and_replay_with_the_same_numbers(tmp_path):
    """Each CARRIED_OVER entry is keyed by today's code; no carried-over arm calls the functions the
    change touched (an arm left out does); a logged run of each carried-over arm (the
    cheapest in the committed log) re-run now gives its logged numbers: bit for bit on a CPU with
    the capability that logged it, within the audit's accuracy tolerance on another (an AMD and an
    Intel AVX-512 machine round differently, and a 16,384-example run then stops at another epoch).
    A non-listed arm's run stays stale.
    (Replays alone cannot tell a reordered sum from none: the cheapest runs are too short to drift.)"""
    from equidocs import cache
    from equidocs.audit import CROSS_DEVICE_TOLERANCE
    from equidocs.fit import Job, fit
    from equidocs.runstore import CARRIED_OVER, code_hash

    assert set(CARRIED_OVER) <= {code_hash()}, "a CARRIED_OVER entry keyed by earlier code is dead: remove it"
    records = [json.loads(line) for line in log_path("full").read_text().splitlines() if line.strip()]
    for earlier, (arms, changed, _why) in CARRIED_OVER.get(code_hash(), {}).items():
        called, checked = _calls(changed), []
        for arm in arms:
            assert not called(arm), f"{arm} calls {changed}, which changed since {earlier}"
            logged = [r for r in records if r["code"] == earlier and r["job"]["arm"] == arm
                      and "device" not in r  # a GPU's run is not bit-repeatable here
                      and r["result"]["cpu_s"] <= REPLAY_CAP_S]
            if not logged:  # no (cheap) run of this arm under that code: nothing to replay
                continue
            rec = min(logged, key=lambda r: r["result"]["cpu_s"])
            now, want = ({k: v for k, v in d.items() if k not in ("wall_s", "cpu_s")}
                         for d in (fit(Job.from_dict(rec["job"])).to_dict(), rec["result"]))
            if rec["cpu"] == cache.cpu_capability():
                assert json.dumps(now, sort_keys=True) == json.dumps(want, sort_keys=True), (arm, rec["job"])  # NaN too
            else:  # another CPU rounds differently and the runs drift apart: the audit's cross-CPU tolerance
                for name in ("train_acc", "val_acc", "test_acc"):
                    assert abs(now[name] - want[name]) <= CROSS_DEVICE_TOLERANCE, (arm, name)
            checked.append(arm)
        assert checked, f"no logged run under {earlier}: nothing to carry over"
        stale_arm = next((r for r in records if r["code"] == earlier and r["job"]["arm"] not in arms), None)
        if stale_arm is not None:
            assert called(stale_arm["job"]["arm"]), f"{changed} never run: the check above cannot fail"
            path = log_path("quick", tmp_path)
            path.write_text(json.dumps(stale_arm) + "\n" + json.dumps(rec) + "\n")
            log = RunLog(path).load()
            assert (log.stale, log.carried, len(log.runs)) == (1, 1, 1)


def test_projection_is_zero_when_done_and_positive_while_runs_are_missing(quick, tmp_path):
    from equidocs.mechanism_projection import calibrate, projected_seconds

    folder, states = quick
    cfg = Config.profile("quick")
    log = RunLog(log_path("quick", folder)).load()
    calib = calibrate(cfg, log.runs)
    assert set(calib) == {(arm, False) for arm in cfg.arms if arm != "memoriser"}
    assert all(per_flop > 0 and epochs > 0 for per_flop, epochs in calib.values())
    assert [projected_seconds(cfg, calib, s, states) for s in states] == [0.0] * len(states)
    path = log_path("quick", tmp_path)
    path.write_text("".join(log_path("quick", folder).read_text().splitlines(keepends=True)[:-40]))
    _, partial = plan(cfg, RunLog(path).load().get)
    left = {(s["arm"], s["size"]): projected_seconds(cfg, calib, s, partial) for s in partial}
    assert all((left[s["arm"], s["size"]] > 0) == (s["phase"] != "done" and s["arm"] != "memoriser")
               for s in partial)
    assert any(left.values())


def test_projection_calibrates_the_large_canvases_apart():
    """Runs on a large canvas with its settings calibrate that canvas kind alone; until there are
    any, the smaller canvases' rate stands in; superseded large-canvas runs are left out."""
    from dataclasses import replace

    from equidocs.fit import Result
    from equidocs.mechanism_plan import base_job
    from equidocs.mechanism_projection import calibrate, run_seconds

    cfg = Config.profile("full")

    def logged(job, cpu_s):
        return json.dumps(job.to_dict()), Result("patience", 2000, 40.0, 30.0, 10, 1.0, 0.9, 0.9, 0.3, 1,
                                                  cpu_s, cpu_s)

    small, large = replace(base_job(cfg, "dense", 16), n_train=8192), replace(base_job(cfg, "dense", 20), n_train=8192)
    runs = dict([logged(small, 100.0)])
    only_small = calibrate(cfg, runs)
    assert set(only_small) == {("dense", False)}
    assert run_seconds(cfg, only_small, "dense", 20, 8192) > 0  # the small canvases stand in
    runs.update([logged(large, 25.0), logged(replace(large, fused_adam=False, seed=1), 1e6)])
    both = calibrate(cfg, runs)
    assert set(both) == {("dense", False), ("dense", True)}
    assert both["dense", True][0] < both["dense", False][0] / 3  # the superseded slow run is left out
    assert run_seconds(cfg, both, "dense", 20, 8192) < run_seconds(cfg, only_small, "dense", 20, 8192)


def test_a_malformed_line_is_reported_with_file_and_line(quick, tmp_path):
    folder, _ = quick
    lines = log_path("quick", folder).read_text().splitlines(keepends=True)
    path = log_path("quick", tmp_path)
    path.write_text(lines[0] + lines[1][:40] + "\n" + lines[2])
    with pytest.raises(ValueError, match=rf"{path}:2: expected one JSON run record"):
        RunLog(path).load()


def _synthetic(need: float, noise: float):
    """A lookup whose every run exists: accuracy rises 0.04 per doubling through 0.9 at ``need``,
    plus seeded noise (a law the ladder should bracket)."""
    import math
    import random

    def have(job):
        r = random.Random(f"{job.n_train} {job.seed} {job.lr} {job.weight_decay} {job.width} {job.hidden}")
        acc = min(0.99, max(0.25, 0.9 + 0.04 * math.log2(job.n_train / need) + r.gauss(0, noise)))
        return Result("patience", 100, 1.0, 1.0, 1, 1.0, acc, acc, 0.1, 1, 0.0, 0.0)
    return have


@pytest.mark.parametrize("need, noise", [(20, 0.03), (1000, 0.01), (50000, 0.005), (6, 0.02), (1e6, 0.01)])
def test_ladder_ends_clear_of_the_target_or_at_floor_or_cap(need, noise):
    cfg = Config.profile("full")
    jobs, state = plan_condition(cfg, "conv", 10, _synthetic(need, noise))
    assert jobs == [] and state["phase"] == "done"
    rows, rungs = state["ladder"], ladder(cfg.floor, state["cap"])
    low, high = rows[0], rows[-1]
    assert low["n"] == rungs[0] or side(low["test_acc"], cfg.target, cfg.job["n_test"], cfg.bracket_z) == "below"
    assert high["n"] == rungs[-1] or side(high["test_acc"], cfg.target, cfg.job["n_test"], cfg.bracket_z) == "above"
    assert [r["n"] for r in rows] == [n for n in rungs if low["n"] <= n <= high["n"]]  # no gaps


def test_a_noisy_crossing_takes_more_rungs_than_a_bare_bracket():
    noisy = _synthetic(1000, 0.01)
    bare = plan_condition(Config(bracket_z=0.0), "conv", 10, noisy)[1]["ladder"]
    clear = plan_condition(Config(), "conv", 10, noisy)[1]["ladder"]
    assert len(clear) > len(bare)


def test_side_counts_seeds_and_test_examples():
    assert side([0.85] * 10, 0.9, 2000, 2.0) == "below"
    assert side([0.895] * 10, 0.9, 2000, 2.0) == "close"  # the test set's binomial noise alone
    assert side([0.80, 1.0] * 5, 0.9, 2000, 2.0) == "close"  # the seeds' spread
    assert side([0.95] * 10, 0.9, 2000, 2.0) == "above"


def test_caps_come_from_compute_and_profiles_are_checked():
    cfg = Config.profile("full")
    assert cap(cfg, "memoriser", 16) == cfg.max_cap
    assert cap(cfg, "memoriser", 24) == cfg.memoriser_max_cap
    assert cap(cfg, "cnn_fc", 16) < cap(cfg, "cnn_fc", 6) <= cfg.max_cap
    assert cap(cfg, "dense", 24) < cap(cfg, "dense", 20) <= cfg.large_max_cap
    assert cap(cfg, "dense", 20) > cfg.max_cap  # the large sizes' budget reaches past 2^17
    with pytest.raises(ValueError, match=r"profile='huge': expected 'quick' or 'full'"):
        Config.profile("huge")
    assert mechanism.main(["status", "--profile", "quick", "--dir", "/nonexistent-folder"]) == 0


def test_a_background_run_stops_cleanly_on_sigint(tmp_path):
    """Started the way scripts/mechanism.sh starts it (a shell's background job: SIGINT ignored),
    `kill -INT` still stops the study with its one-line message and exit status 130."""
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-m", "equidocs.mechanism", "run", "--profile", "quick",
                             "--dir", str(tmp_path)], stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    deadline = time.monotonic() + 120
    while not (tmp_path / "runs-quick.jsonl").exists() and time.monotonic() < deadline:
        time.sleep(0.2)   # the study is under way once its first run is logged
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted: finished runs are in the log" in err


def test_sizes_and_hours_limit_which_runs_start(quick, tmp_path):
    """``hours``: no run starts after that much time. ``sizes``: only those canvases' runs start:
    from the quick study's log less every 6x6 run and the last two 8x8 ones, ``sizes=(8,)`` runs
    those two again and stops there, the 6x6 runs still to do."""
    out = io.StringIO()
    run("quick", folder=tmp_path, hours=1e-9, stream=out)
    assert not log_path("quick", tmp_path).exists() and "stopped starting runs after 1e-09 h" in out.getvalue()
    folder, _ = quick
    lines = log_path("quick", folder).read_text().splitlines(keepends=True)
    eights = [line for line in lines if json.loads(line)["job"]["canvas"] == 8]
    log_path("quick", tmp_path).write_text("".join(eights[:-2]))
    out = io.StringIO()
    states = run("quick", folder=tmp_path, sizes=(8,), stream=out)
    assert _numbers(log_path("quick", tmp_path)) == {n for n in _numbers(log_path("quick", folder))
                                                     if json.loads(n)[0]["canvas"] == 8}
    assert "no run of canvases 8 is ready (the others' are)" in out.getvalue()
    assert {s["size"]: s["phase"] for s in states if s["phase"] == "done"} == {8: "done"}


@pytest.mark.parametrize("kwargs, message", [
    ({"sizes": (9,)}, "sizes=(9,): expected canvases among the study's [6, 8]"),
    ({"sizes": ()}, "sizes=(): expected canvases among"),
    ({"hours": 0}, "hours=0: expected a positive number of hours"),
    ({"device": "gpu"}, "device='gpu': expected cpu, cuda or cuda:N"),
    ({"workers": 0}, "workers=0: expected a positive integer"),
])
def test_run_rejects_bad_limits_naming_them(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
                       .replace("]", r"\]")):
        run("quick", folder=tmp_path, stream=None, **kwargs)


def test_merge_adds_the_other_machines_runs_once(quick, tmp_path):
    """Two machines' copies of the log: merge adds what this one lacks, once; runs under other code
    are left out and counted; a device's runs keep their device and are counted by it."""
    folder, _ = quick
    lines = log_path("quick", folder).read_text().splitlines(keepends=True)
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir(), there.mkdir()
    log_path("quick", here).write_text("".join(lines[:5]))
    gpu = [json.loads(line) for line in lines[3:8]]
    for rec in gpu:
        rec["device"] = "cuda (a GPU)"
    gpu[-1]["code"] = "0" * 16
    log_path("quick", there).write_text("".join(json.dumps(r) + "\n" for r in gpu))
    out = io.StringIO()
    assert mechanism.merge(log_path("quick", there), "quick", folder=here, stream=out) == 2
    assert "2 run(s) added" in out.getvalue() and "2 already here, 1 under other code" in out.getvalue()
    assert mechanism.merge(log_path("quick", there), "quick", folder=here, stream=io.StringIO()) == 0
    log = RunLog(log_path("quick", here)).load()
    assert len(log.runs) == 7 and log.devices == {"cpu": 5, "cuda (a GPU)": 2}
    out = io.StringIO()
    status("quick", folder=here, stream=out)
    assert "[5 on cpu, 2 on cuda (a GPU)]" in out.getvalue()
    with pytest.raises(ValueError, match="merge source='.*nowhere': expected a run log"):
        mechanism.merge(tmp_path / "nowhere", "quick", folder=here)


def test_merge_refuses_a_log_it_cannot_read_and_adds_nothing(quick, tmp_path):
    folder, _ = quick
    lines = log_path("quick", folder).read_text().splitlines(keepends=True)
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir(), there.mkdir()
    log_path("quick", here).write_text(lines[0])
    bad = json.loads(lines[2])
    bad["job"]["colour"] = "red"
    log_path("quick", there).write_text(lines[1] + json.dumps(bad) + "\n")
    with pytest.raises(ValueError, match=r"runs-quick.jsonl:2: expected a run record .*colour.*Nothing was added"):
        mechanism.merge(log_path("quick", there), "quick", folder=here)
    assert log_path("quick", here).read_text() == lines[0]


def test_cpu_time_and_its_calibration_count_cpu_runs_only(quick, tmp_path):
    """A GPU run's process time is its host thread's, not a CPU run's one-core cost."""
    folder, _ = quick
    lines = log_path("quick", folder).read_text().splitlines(keepends=True)
    recs = [json.loads(line) for line in lines[:4]]
    recs[0]["device"] = "cuda (a GPU)"
    log_path("quick", tmp_path).write_text("".join(json.dumps(r) + "\n" for r in recs))
    log = RunLog(log_path("quick", tmp_path)).load()
    assert len(log.runs) == 4 and len(log.cpu_runs()) == 3
    assert log.cpu_s == pytest.approx(sum(r["result"]["cpu_s"] for r in recs[1:]))
