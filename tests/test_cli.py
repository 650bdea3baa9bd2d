"""Tests for the command line: list, run (cache miss then hit), and the errors that exit 2."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from equidocs import experiments
from equidocs.cli import main

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, cache: Path) -> subprocess.CompletedProcess:
    """``python -m equidocs ARGS`` in a fresh interpreter, as a user types it."""
    env = {**os.environ, "EQUIDOCS_CACHE": str(cache)}
    return subprocess.run([sys.executable, "-m", "equidocs", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("EQUIDOCS_CACHE", str(folder))
    return folder


def test_list_names_every_experiment(cache):
    done = cli("list", cache=cache)
    assert done.returncode == 0, done.stderr
    listed = [line.split()[0] for line in done.stdout.splitlines() if line.strip()]
    assert listed == list(experiments.NAMES)
    for name in experiments.NAMES:
        assert experiments.get(name).TITLE in done.stdout


def test_run_prints_summary_with_miss_then_hit(cache, tmp_path, capsys):
    out = tmp_path / "out"
    rows = []
    for _ in range(2):
        assert main(["run", "parameter_counts", "--out", str(out)]) == 0
        text = capsys.readouterr().out
        assert "experiment" in text and "cache" in text and str(out.resolve()) in text
        rows.append(next(line.split() for line in text.splitlines()
                         if line.startswith("parameter_counts")))
    assert [row[1] for row in rows] == ["miss", "hit"]
    assert (out / "results" / "parameter_counts.json").exists()
    assert (out / "figures" / "parameter_counts-dark.svg").exists()


def test_unknown_experiment_exits_2_naming_it(cache, tmp_path, capsys):
    # In-process (main's return value is the exit status; test_list covers `python -m equidocs`).
    assert main(["run", "parameter_counts", "no_such_experiment", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "no_such_experiment" in err and "parameter_counts" in err
    assert not (tmp_path / "o").exists() and not cache.exists()  # nothing ran, not even the known one


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_exits_2_with_a_clear_message(cache, tmp_path, capsys):
    assert main(["run", "parameter_counts", "--device", "cuda", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--device cuda" in err and "CUDA is not available" in err
    assert not cache.exists()


def test_bad_profile_is_an_argparse_error(cache, capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", "--profile", "huge"])
    assert info.value.code == 2 and "huge" in capsys.readouterr().err


@pytest.mark.parametrize("args, complaint", [
    (["run", "--device", "tpu"], "--device 'tpu': expected cpu, cuda or cuda:N"),
    (["run", "--workers", "0"], "--workers: expected a positive whole number, got '0'"),
    (["audit", "--runs", "-1"], "--runs: expected a whole number >= 0, got '-1'"),
    (["audit", "--device", "gpu"], "expected cpu, cuda or cuda:N"),
])
def test_bad_device_workers_and_runs_are_refused_with_a_clear_message(cache, capsys, args, complaint):
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2 and complaint in capsys.readouterr().err
    assert not cache.exists()


def test_stale_without_freeze_is_refused(cache, capsys):
    assert main(["run", "--stale"]) == 2
    assert "--stale goes with --freeze" in capsys.readouterr().err
