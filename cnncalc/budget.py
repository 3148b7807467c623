"""Cooperative cancellation of a long analysis: a per-thread Budget that the pipeline's long
loops check every few hundred nodes (graph building, the engine's walk, the web page's parts).

Stage: shared by the core and the I/O edge. `cnncalc serve` sets a Budget (a deadline, and a
test for "the client left or a newer edit superseded this one") around each analysis; nothing
else does, so for the library and the CLI a checkpoint is one attribute test and never raises.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from cnncalc.errors import CnncalcError

EVERY = 256  # nodes between checkpoints in the pipeline's loops (`if not i % EVERY: checkpoint()`)
POLL_S = 0.02  # seconds between two calls of a budget's `stop` test (a socket poll is a syscall)


class Cancelled(CnncalcError):
    """The analysis was stopped before its end: its time ran out, or its client no longer wants it."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(None, message)
        self.reason = reason  # "deadline", or what `stop` returned: "gone", "superseded", ...


class Budget:
    """A deadline (time.monotonic() seconds) and `stop`, a test that returns why the work is no
    longer wanted ("gone", "superseded") or None; checked at most every POLL_S seconds."""

    __slots__ = ("_next_poll", "deadline", "seconds", "stop")

    def __init__(self, seconds: float | None = None, stop: Callable[[], str | None] | None = None) -> None:
        self.seconds = seconds
        self.deadline = None if seconds is None else time.monotonic() + seconds
        self.stop = stop
        self._next_poll = 0.0

    def check(self) -> None:
        """Raise Cancelled when the deadline has passed or `stop` says why the work is unwanted."""
        now = time.monotonic()
        if self.deadline is not None and now > self.deadline:
            raise Cancelled("deadline", f"the analysis took more than {self.seconds:g} s, the time one analysis "
                            "may take here")
        if self.stop is not None and now >= self._next_poll:
            self._next_poll = now + POLL_S
            reason = self.stop()
            if reason:
                raise Cancelled(reason, f"the analysis was stopped ({reason})")


_local = threading.local()


def checkpoint() -> None:
    """Check the current thread's budget, if it has one (it raises Cancelled); otherwise nothing."""
    budget = getattr(_local, "budget", None)
    if budget is not None:
        budget.check()


@contextmanager
def limited(budget: Budget | None) -> Iterator[Budget | None]:
    """Run the block under `budget` in this thread (None: no budget), restoring the one before."""
    before = getattr(_local, "budget", None)
    _local.budget = budget
    try:
        yield budget
    finally:
        _local.budget = before
