"""Progress of a batch of training runs, with an ETA: a bar on a terminal, a line every so often
in a log file (so a long study run with ``nohup ... > log`` says where it is and when it will end).

The ETA weighs each remaining run by its estimated cost (model kind x examples x pixels), so a
batch whose long runs go first does not promise too early an end.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Sequence, TextIO

from tqdm import tqdm  # plain text bars: no widget warnings inside notebooks

LOG_EVERY_S = float(os.environ.get("EQUIDOCS_PROGRESS_EVERY", "30"))  # seconds between log lines


def fmt_duration(seconds: float) -> str:
    """Seconds as ``1h02m``, ``3m05s`` or ``42s``.

    >>> fmt_duration(3725), fmt_duration(185), fmt_duration(42.4)
    ('1h02m', '3m05s', '42s')
    """
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class Progress:
    """Counts finished runs of one batch and reports progress and a cost-weighted ETA.

    >>> p = Progress("demo", [1.0, 3.0], stream=None)
    >>> p.advance(3.0); p.fraction
    0.75
    """

    def __init__(self, desc: str, costs: Sequence[float], *, done_before: int = 0,
                 stream: TextIO | None = sys.stderr) -> None:
        self.desc, self.total_cost, self.n = desc, float(sum(costs)), len(costs)
        self.done_before, self.done, self.cost_done = done_before, 0, 0.0
        self.start = self.last = time.monotonic()
        self.stream = stream
        tty = stream is not None and hasattr(stream, "isatty") and stream.isatty()
        self.bar = tqdm(total=self.n, desc=desc, leave=False, file=stream) if tty and self.n else None
        if stream is not None and not tty and self.n:
            self._line(f"{self.n} runs to train" + (f", {done_before} from the run store" if done_before else ""))

    @property
    def fraction(self) -> float:
        return self.cost_done / self.total_cost if self.total_cost else 1.0

    def eta(self) -> float | None:
        """Seconds left, from the cost done so far and the time it took (None before any)."""
        if not self.cost_done:
            return None
        elapsed = time.monotonic() - self.start
        return elapsed * (self.total_cost - self.cost_done) / self.cost_done

    def _line(self, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        print(f"[{stamp}] {self.desc}: {text}", file=self.stream, flush=True)

    def advance(self, cost: float) -> None:
        self.done += 1
        self.cost_done += cost
        if self.bar is not None:
            self.bar.update()
            eta = self.eta()
            if eta is not None:
                self.bar.set_postfix_str(f"ETA {fmt_duration(eta)}")
            return
        now = time.monotonic()
        if self.stream is not None and (now - self.last >= LOG_EVERY_S or self.done == self.n):
            self.last = now
            eta = self.eta()
            self._line(f"{self.done}/{self.n} runs ({self.fraction:.0%} of the work), "
                       f"elapsed {fmt_duration(now - self.start)}"
                       + (f", ETA {fmt_duration(eta)}" if eta is not None and self.done < self.n else ""))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
