"""Scheduled (EventBridge): how far the queue and slot counters are from the jobs really holding them.
Logs both numbers of each counter and emits `CounterDrift` by Counter (reelgate.drift); changes nothing."""

from __future__ import annotations

import dataclasses
from typing import Any

from reelgate import aws, drift
from reelgate.entry import task_entry
from reelgate.settings import get_settings


def check(event: dict[str, Any]) -> dict[str, Any]:
    s = get_settings()
    found = drift.report(aws.client("dynamodb"), jobs_table=s.jobs_table, state_table=s.state_table)
    return {"counters": [dataclasses.asdict(item) for item in found]}


handler = task_entry(check)
