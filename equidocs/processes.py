"""Worker processes that cannot outlive the run that started them, and a clean Ctrl-C.

Importing this module (``equidocs.runstore`` does, so every trainer does) registers a fork hook:
every process forked from an equidocs process afterwards

- dies with its parent: on Linux the kernel sends it SIGTERM when the parent exits, however the
  parent ends (``kill -9`` included), so orphaned workers never keep training or hold a lock;
- ends quietly on Ctrl-C (SIGINT's default action), leaving the one message to the parent.

:func:`interrupt_children` is the parent's half of a clean Ctrl-C: it stops the worker processes at
once, so a process pool does not run its queued jobs before the interrupt reaches the caller.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _prctl():
    """libc's prctl, or None where there is none (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    return getattr(libc, "prctl", None)


_PRCTL = _prctl()
_PARENT = {"pid": os.getpid()}


def _before_fork() -> None:
    _PARENT["pid"] = os.getpid()


def _tie_to(parent: int) -> None:
    """This (child) process: die with ``parent``, end quietly on Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the line above took effect
            os._exit(1)


def _in_child() -> None:
    """Runs in every forked child: tied to the process that forked it."""
    _tie_to(_PARENT["pid"])


def dies_with_parent() -> bool:
    """Whether forked workers are tied to their parent on this platform (Linux: yes).

    >>> dies_with_parent() == sys.platform.startswith("linux")
    True
    """
    return _PRCTL is not None


def spawned_worker(parent: int) -> None:
    """A spawned (not forked) worker's initializer: the fork hook's ties, made by hand, since a
    spawned child never runs the hook. ``parent``: the pid of the process that starts the pool.
    One thread per worker, as forked workers have."""
    import torch

    torch.set_num_threads(1)
    _tie_to(parent)


def interrupt_children() -> int:
    """Kill this process's worker processes now (a Ctrl-C in the parent); returns how many."""
    children = multiprocessing.active_children()
    for child in children:
        child.kill()
    for child in children:
        child.join(timeout=5)
    return len(children)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_child=_in_child)
