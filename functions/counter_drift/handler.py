"""Scheduled (EventBridge): how far the queue and slot counters are from the jobs really holding them.
Logs both numbers of each counter and emits `CounterDrift` by Counter (reelgate.drift); changes nothing."""

from __future__ import annotations

from typing import Any

from reelgate.entry import task_entry


def check(event: dict[str, Any]) -> dict[str, Any]:
    from reelgate import drift  # on the first call, as the composition roots (docs/decisions.md)

    return drift.check()


handler = task_entry(check)
