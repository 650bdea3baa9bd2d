"""Long runs stop cleanly: workers die with their parent and never hold the lock, a waiting run says
who it waits for, Ctrl-C prints one line, ``--workers`` is capped, the device is checked on every
path and ``--force`` re-trains."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from equidocs import cache, processes, runner

ROOT = Path(__file__).resolve().parents[1]

# A parent that takes the experiment lock, then trains slow jobs on two forked workers.
PARENT = textwrap.dedent("""
    import sys
    from equidocs import cache
    from equidocs.train import Job, TrainConfig, train_many
    slow = TrainConfig(max_steps=100000, patience=100000, fit_loss=1e-9)
    jobs = [Job("local", {"dataset": "patterns", "canvas": 16, "n_val": 10, "n_test": 10}, 256, seed=s,
                train=slow) for s in range(4)]
    with cache.lock("locktest", "k"):
        print("locked", flush=True)
        train_many(jobs, workers=2)
""")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead too
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in found]


@pytest.mark.skipif(not processes.dies_with_parent(), reason="needs Linux's parent-death signal")
def test_kill_9_of_the_parent_takes_its_workers_and_frees_the_lock(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    parent = subprocess.Popen([sys.executable, "-c", PARENT], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert parent.stdout.readline().strip() == "locked"
        deadline = time.monotonic() + 30
        while len(workers := _children(parent.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(workers) >= 2, "the workers did not start"
        parent.kill()
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(w) for w in workers), "a worker outlived its killed parent"
        waiter = subprocess.run([sys.executable, "-c", "from equidocs import cache\n"
                                 "with cache.lock('locktest', 'k'): print('got it')"],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
        assert "got it" in waiter.stdout
    finally:
        parent.kill()
        for w in _children(parent.pid):
            os.kill(w, signal.SIGKILL)


def test_a_run_waiting_for_the_lock_says_who_holds_it(tmp_path):
    # The holder keeps the lock until told to let go, so a slow start of the waiter cannot race it.
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    holder = subprocess.Popen([sys.executable, "-c", "import sys\nfrom equidocs import cache\n"
                               "with cache.lock('locktest', 'k'):\n print('locked', flush=True)\n sys.stdin.readline()"],
                              cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    waiter = None
    try:
        assert holder.stdout.readline().strip() == "locked"
        waiter = subprocess.Popen([sys.executable, "-c", "from equidocs import cache\n"
                                   "with cache.lock('locktest', 'k'): print('got it', flush=True)"],
                                  cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        said = waiter.stderr.readline()
        assert f"waiting for pid {holder.pid}" in said, said
        holder.stdin.write("release\n")
        holder.stdin.flush()
        out, _ = waiter.communicate(timeout=60)
        assert "got it" in out
    finally:
        holder.kill()
        if waiter is not None:
            waiter.kill()


def test_ctrl_c_stops_a_run_with_one_line_and_no_traceback(tmp_path):
    env = {**os.environ, "EQUIDOCS_CACHE": str(tmp_path / "cache")}
    run = subprocess.Popen([sys.executable, "-m", "equidocs", "run", "sample_efficiency", "--workers", "2",
                            "--out", str(tmp_path / "out")], cwd=ROOT, env=env, stderr=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
    line = ""
    while "runs to train" not in line:  # the workers are busy
        line = run.stderr.readline()
        assert line or run.poll() is None, "the run ended before training"
    time.sleep(1)
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=30)
    assert run.returncode == 130
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.strip().splitlines()[-1].startswith("interrupted: run stopped; finished training runs are kept")


def test_workers_are_capped_at_the_cores_with_a_note(tmp_path):
    env = {**os.environ, "EQUIDOCS_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "equidocs", "run", "parameter_counts", "--workers", "999",
                           "--out", str(tmp_path / "out")], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "note: --workers 999 capped at" in done.stderr


def test_the_device_is_checked_on_every_path(tmp_path, monkeypatch):
    monkeypatch.setenv("EQUIDOCS_CACHE", str(tmp_path))
    with pytest.raises(ValueError, match="device='bogus': expected cpu, cuda or cuda:N"):
        runner.run_experiment("parameter_counts", "quick", device="bogus")
    assert not list(tmp_path.rglob("*.json")), "nothing is cached under a bad device"


def test_force_retrains_every_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EQUIDOCS_CACHE", str(tmp_path))
    first = runner.run_experiment("amnesia_distance", "quick", workers=1)
    runs = len(first.record["runs"])
    for entry in (tmp_path / "amnesia_distance").glob("*.json"):
        entry.unlink()  # the result goes, the stored runs stay
    capsys.readouterr()
    runner.run_experiment("amnesia_distance", "quick", workers=1)
    assert f"({runs} runs, {runs} from the run store)" in capsys.readouterr().err  # a rerun reuses runs
    again = runner.run_experiment("amnesia_distance", "quick", workers=1, force=True)
    assert not again.cached and f"({runs} runs, 0 from the run store)" in capsys.readouterr().err
    assert again.record["result"] == first.record["result"]  # retrained, deterministically


def test_a_stale_lock_file_of_a_dead_holder_is_taken_over(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    path = cache._lock_path("locktest", "k")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("pid 999999 (a run that was killed), since 00:00:00")
    start = time.monotonic()
    with cache.lock("locktest", "k"):
        assert path.read_text().startswith(f"pid {os.getpid()}")
    assert time.monotonic() - start < 5


def test_a_spawned_worker_dies_with_its_parent(tmp_path):
    """A GPU's workers are spawned, so the fork hook never ties them to the parent:
    ``spawned_worker`` does, and a worker whose parent is killed with -9 goes too."""
    import subprocess
    import sys
    import textwrap
    import time

    script = textwrap.dedent(f"""
        import os, time
        from concurrent.futures import ProcessPoolExecutor
        from equidocs.fit import pool_context
        from equidocs.processes import spawned_worker
        if __name__ == "__main__":
            pool = ProcessPoolExecutor(1, mp_context=pool_context("cuda"), initializer=spawned_worker,
                                       initargs=(os.getpid(),))
            print(pool.submit(os.getpid).result(), flush=True)
            time.sleep(60)
        """)
    (tmp_path / "spawner.py").write_text(script)
    parent = subprocess.Popen([sys.executable, str(tmp_path / "spawner.py")], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(parent.stdout.readline())
        assert _alive(worker)
        parent.kill()
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(worker)
    finally:
        parent.kill()


def test_a_cuda_index_the_machine_lacks_is_named(monkeypatch):
    import torch

    from equidocs.runner import check_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert check_device("cuda:0") == "cuda:0" and check_device("cuda") == "cuda"
    with pytest.raises(ValueError, match=r"--device='cuda:1': expected cuda:0 to cuda:0 \(this machine's 1 CUDA"):
        check_device("cuda:1", "--device")
