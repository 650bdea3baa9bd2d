"""The mechanism study's driver: the quick profile end to end, resume after losing the last runs
reaches the same decisions, stale and malformed log lines."""

from __future__ import annotations

import io
import json
import shutil

import pytest

from equidocs import mechanism
from equidocs.mechanism import RunLog, log_path, run, status
from equidocs.mechanism_plan import Config, cap, ladder, plan


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


def test_a_malformed_line_is_reported_with_file_and_line(quick, tmp_path):
    folder, _ = quick
    lines = log_path("quick", folder).read_text().splitlines(keepends=True)
    path = log_path("quick", tmp_path)
    path.write_text(lines[0] + lines[1][:40] + "\n" + lines[2])
    with pytest.raises(ValueError, match=rf"{path}:2: expected one JSON run record"):
        RunLog(path).load()


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
