"""Slow checks that run in the background, started once per test session however many pytest-xdist
workers there are, and read by whichever test needs them.

A job is a command whose output and exit status land in files of a folder shared by the session
(the first worker to need a job starts it under a lock; the others find it started). ``wait()``
returns once the status file is there. The worker that started a job waits for it at the end of
its session (another worker may still need it), so nothing outlives the run.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def shared_dir(tmp_path_factory) -> Path:
    """A folder shared by every worker of this session (the session's base temp folder)."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "background"
    folder.mkdir(exist_ok=True)
    return folder


@contextmanager
def session_lock(folder: Path):
    """An exclusive lock held by one worker at a time."""
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass
class Job:
    """A background command's files: ``NAME.out``, ``NAME.err`` and ``NAME.rc`` (exit code, seconds)."""

    folder: Path
    name: str

    @property
    def out(self) -> Path:
        return self.folder / f"{self.name}.out"

    @property
    def err(self) -> Path:
        return self.folder / f"{self.name}.err"

    @property
    def rc(self) -> Path:
        return self.folder / f"{self.name}.rc"

    def wait(self, timeout: float = 1800) -> tuple[int, str, str, float]:
        """(exit code, stdout, stderr, seconds it ran) once the job has ended; fails after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while not self.rc.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"background job {self.name!r} still running after {timeout:.0f} s")
            time.sleep(0.2)
        code, seconds = self.rc.read_text().split()
        read = lambda path: path.read_text(encoding="utf-8", errors="replace")  # noqa: E731
        return int(code), read(self.out), read(self.err), float(seconds)


def start(folder: Path, name: str, argv: list[str],
          env: dict[str, str] | None = None) -> tuple[Job, subprocess.Popen | None]:
    """Start ``argv`` (cwd = repo root) unless this session already has; returns the job and, in the
    process that started it, the Popen (else None) to :func:`reap` at teardown."""
    job = Job(folder, name)
    with session_lock(folder):
        marker = folder / f"{name}.started"
        if marker.exists():
            return job, None
        marker.write_text(str(os.getpid()))
        out, err = open(job.out, "w", encoding="utf-8"), open(job.err, "w", encoding="utf-8")
        began = time.monotonic()
        proc = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=out, stderr=err,
                                text=True)

    def finish() -> None:
        code = proc.wait()
        out.close(), err.close()
        part = job.rc.with_suffix(".part")
        part.write_text(f"{code} {time.monotonic() - began:.1f}")
        part.replace(job.rc)  # appears whole

    threading.Thread(target=finish, name=f"background-{name}", daemon=True).start()
    return job, proc


def reap(proc: subprocess.Popen | None, timeout: float = 1800) -> None:
    """At the end of a worker's session: let a job it started finish (another worker may be waiting
    for it), killing it only past ``timeout`` seconds."""
    if proc is None:
        return
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
