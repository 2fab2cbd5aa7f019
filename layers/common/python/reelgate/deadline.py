"""The current invocation's deadline: set once by the entry point from the Lambda context, read by
domain code that must finish (or give up cleanly) before Lambda ends the function.

Outside an invocation (tests, scripts) there is no deadline and `remaining()` is unbounded.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("reelgate_deadline", default=None)
UNBOUNDED = float("inf")


class DeadlineExceeded(TimeoutError):
    """There is not enough of the invocation left to do the next piece of work."""


@contextmanager
def invocation(context: Any) -> Iterator[None]:
    """Within the block, `remaining()` counts down the Lambda context's remaining time."""
    millis = getattr(context, "get_remaining_time_in_millis", None)
    token = _deadline.set(time.monotonic() + millis() / 1000 if callable(millis) else None)
    try:
        yield
    finally:
        _deadline.reset(token)


@contextmanager
def bounded(seconds: float) -> Iterator[None]:
    """A deadline of `seconds` from now (tests, and work that must end earlier than the invocation)."""
    current = _deadline.get()
    ends = time.monotonic() + seconds
    token = _deadline.set(ends if current is None else min(current, ends))
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float:
    """Seconds left in this invocation (infinite outside one)."""
    ends = _deadline.get()
    return UNBOUNDED if ends is None else max(ends - time.monotonic(), 0.0)


def require(seconds: float, what: str) -> float:
    """`remaining()`, or DeadlineExceeded when less than `seconds` are left for `what`."""
    left = remaining()
    if left < seconds:
        raise DeadlineExceeded(f"not enough time left for {what}")
    return left
