"""Drift between the queue and slot counters and the jobs really holding them (read-only).

Counters (`Counter` dimension of the `CounterDrift` metric):
- `toolkit_queue`: the deployment's queue counter (`queue#toolkit`) against unfinished toolkit jobs holding
  a queue slot;
- `toolkit_keys`: each API key's `active` counter against its unfinished jobs, summed per key so that one
  key over and another under do not cancel out;
- `mobile_slots`: live slot leases (Pixverse and TopView share them) against unfinished mobile jobs that
  hold one, by job id: a lease whose job is not running, plus a running job without a lease.

The jobs table is scanned between two reads of the counters, so an admission or a settle during the scan is
not mistaken for drift: a toolkit counter whose revision moved is measured again (and at worst reported as
the smaller of its two differences), and a lease counts as orphaned only if it was there in both reads.
Nothing is corrected here: `python -m infra.admin queue recount` does that for the toolkit counters, and
leases expire on their own (docs/decisions.md).
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reelgate import aws, counters, metrics
from reelgate.jobs import Job, unfinished
from reelgate.mobile.access import SLOT_PREFIX
from reelgate.observability import logger
from reelgate.settings import get_settings
from reelgate.toolkit.keys import PREFIX as KEY_PREFIX
from reelgate.toolkit.ledger import ACTIVE, ACTIVE_REV, KEY, QUEUE, QUEUE_PK, holds

ATTEMPTS = 3
COUNTERS = ("toolkit_queue", "toolkit_keys", "mobile_slots")  # the alarms' dimensions (infra observability)


@dataclass(frozen=True)
class Drift:
    counter: str
    stored: int  # what the counters say is held
    running: int  # what the jobs table says is held
    drift: int  # how far apart, counted per key or per job


@dataclass(frozen=True)
class _Reading:
    queue: counters.Snapshot
    keys: dict[str, tuple[int, int | None]]  # key pk -> (active, revision)
    leases: set[str]  # job ids holding a live lease


def _read(client: Any, state: str, now: float) -> _Reading:
    keys = {item["pk"]["S"]: (int(item.get(ACTIVE, {}).get("N", "0")),
                              int(item[ACTIVE_REV]["N"]) if ACTIVE_REV in item else None)
            for item in counters.items_with_prefix(client, state, KEY_PREFIX, ACTIVE, ACTIVE_REV)}
    leases = {item["job_id"]["S"] for item in counters.items_with_prefix(client, state, SLOT_PREFIX, "job_id",
                                                                        "lease_until")
              if "job_id" in item and float(item.get("lease_until", {}).get("N", "0")) > now}
    return _Reading(counters.snapshot(client, state, QUEUE_PK), keys, leases)


def _owner_pk(job: Job) -> str:
    return KEY_PREFIX + job.owner.removeprefix("key#")


def _closest(first: int, second: int, target: int) -> int:
    """Of two readings of a counter, the nearer to the jobs' count: a change during the scan is not drift."""
    return first if abs(first - target) <= abs(second - target) else second


def measure(client: Any, *, jobs_table: str, state_table: str, clock: Callable[[], float] = time.time) -> list[Drift]:
    """Each counter's drift, read-only."""
    for _ in range(ATTEMPTS):
        before = _read(client, state_table, clock())
        jobs = unfinished(client, jobs_table)
        after = _read(client, state_table, clock())
        settled = before.queue.rev == after.queue.rev and all(
            before.keys.get(pk, (0, None))[1] == after.keys.get(pk, (0, None))[1] for pk in before.keys | after.keys)
        if settled:
            break
    toolkit = [job for job in jobs if job.kind.startswith("toolkit.")]
    queue_running = sum(QUEUE in holds(job) for job in toolkit)
    queue_stored = _closest(before.queue.value, after.queue.value, queue_running)
    holding = Counter(_owner_pk(job) for job in toolkit if KEY in holds(job))
    per_key = {pk: _closest(before.keys.get(pk, (0, None))[0], after.keys.get(pk, (0, None))[0], holding[pk])
               for pk in before.keys | after.keys | holding.keys()}
    running_mobile = {job.job_id for job in jobs if (job.provider or {}).get("slot") is not None}
    orphaned = (before.leases & after.leases) - running_mobile
    unleased = running_mobile - before.leases - after.leases
    return [
        Drift("toolkit_queue", queue_stored, queue_running, abs(queue_stored - queue_running)),
        Drift("toolkit_keys", sum(per_key.values()), sum(holding.values()),
              sum(abs(active - holding[pk]) for pk, active in per_key.items())),
        Drift("mobile_slots", len(after.leases), len(running_mobile), len(orphaned) + len(unleased)),
    ]


def report(client: Any, *, jobs_table: str, state_table: str) -> list[Drift]:
    """Measure, log both numbers of each counter and emit `CounterDrift` by Counter (0 when in step)."""
    drifts = measure(client, jobs_table=jobs_table, state_table=state_table)
    for drift in drifts:
        log = logger.warning if drift.drift else logger.info
        log("counter drift", extra={"counter": drift.counter, "stored": drift.stored, "running": drift.running,
                                    "drift": drift.drift})
        metrics.counter_drift(drift.counter, drift.drift)
    return drifts


def check() -> dict[str, Any]:
    """The scheduled function's run, on its configured tables: each counter's numbers and drift."""
    s = get_settings()
    found = report(aws.client("dynamodb"), jobs_table=s.jobs_table, state_table=s.state_table)
    return {"counters": [dataclasses.asdict(item) for item in found]}
