"""Credits, the slots a job holds and the job record, changed together or not at all.

Slots: every toolkit job holds one of its key's slots (`active` on the key's item, capped by
`max_active_per_key`) and, when `MAX_QUEUE_LENGTH` is set, one of the deployment's queue slots
(`count` on `queue#toolkit`). The job records which it took (`Job.slots`), so settling frees exactly
those, in the same transaction that finishes the job: a settle that did not commit freed nothing, a
settle that committed cannot run twice. With no queue limit nothing writes the queue item, so
admissions of different keys never touch a common item.

Every change to a counter bumps its revision (`rev` / `active_rev`), which lets `recount` replace a
counter by the number of jobs really holding it without losing a concurrent change.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from reelgate import counters, metrics
from reelgate.errors import Conflict, InsufficientCredits, QueueFull, ReelgateError
from reelgate.jobs import Job, JobStatus, StateChanges, now_iso, unfinished
from reelgate.observability import follow, logger
from reelgate.toolkit.keys import PREFIX, ApiKey
from reelgate.transact import Transaction

QUEUE_PK = "queue#toolkit"
QUEUE, KEY = "queue", "key"  # the slots a job may hold (Job.slots)
ACTIVE, ACTIVE_REV = "active", "active_rev"  # the per-key counter on the key's own item
STALE_ERROR = "the job did not finish in the time allowed"


class TooManyJobs(ReelgateError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"this API key already has {limit} unfinished jobs, the most it may have at once; "
                         "retry when one has finished")
        self.limit = limit


@dataclass
class RecountReport:
    queue: dict[str, int] | None = None  # {"before", "after"} when the queue counter was corrected
    keys: dict[str, dict[str, int]] = field(default_factory=dict)  # key_id -> {"before", "after"}
    settled_stale: list[str] = field(default_factory=list)
    unfinished: int = 0
    complete: bool = True  # False: counters kept moving and some were left for the next recount


def holds(job: Job) -> list[str]:
    """The slots a job holds until it settles; a job admitted before Job.slots existed took a queue slot."""
    return list(job.slots) if job.slots is not None else [QUEUE]


def _owner_pk(job: Job) -> str:
    return PREFIX + job.owner.removeprefix("key#")


class Ledger:
    def __init__(self, client: Any, *, jobs_table: str, state_table: str, max_queue_length: int,
                 max_active_per_key: int = 0, job_ttl_days: int = 30, clock: Any = time.time,
                 events: StateChanges | None = None) -> None:
        self._client = client
        self.events = events  # told of every job it admits or settles, once committed
        self._jobs = jobs_table
        self._state = state_table
        self.max_queue_length = max_queue_length
        self.max_active_per_key = max_active_per_key
        self._ttl_seconds = job_ttl_days * 86400
        self._clock = clock

    def admit(self, job: Job, key: ApiKey, price: int) -> None:
        """Charge `price`, take the key's slot (and a queue slot when the queue is limited) and write the
        queued job with its TTL — or raise and change nothing."""
        job.expires_at = int(self._clock()) + self._ttl_seconds
        job.slots = [KEY] + ([QUEUE] if self.max_queue_length else [])
        tx = Transaction()
        condition = "credits >= :price AND (attribute_not_exists(revoked) OR revoked = :no)"
        values: dict[str, Any] = {":price": price, ":no": False, ":one": 1}
        if self.max_active_per_key:
            condition += " AND (attribute_not_exists(#active) OR #active < :cap)"
            values[":cap"] = self.max_active_per_key
        charge = tx.update(self._state, {"pk": key.pk}, "SET credits = credits - :price ADD #active :one, #arev :one",
                           condition=condition, names={"#active": ACTIVE, "#arev": ACTIVE_REV}, values=values)
        slot = None
        if self.max_queue_length:
            slot = tx.update(self._state, {"pk": QUEUE_PK}, "ADD #count :one, #rev :one",
                             condition="attribute_not_exists(#count) OR #count < :max",
                             names={"#count": "count", "#rev": "rev"},
                             values={":one": 1, ":max": self.max_queue_length})
        tx.put(self._jobs, job.model_dump(mode="json", exclude_none=True), condition="attribute_not_exists(job_id)")
        failed = tx.commit(self._client)
        if charge in failed:
            if self.max_active_per_key and self._active(key.pk) >= self.max_active_per_key:
                raise TooManyJobs(self.max_active_per_key)
            raise InsufficientCredits(f"this request costs {price} credits; the key's balance is too low")
        if slot is not None and slot in failed:
            raise QueueFull(self.max_queue_length)
        if failed:
            raise Conflict(f"job {job.job_id} already exists")
        follow(job.job_id)
        metrics.credits(spent=price)
        if self.events:
            self.events.changed(job, None)

    def settle(self, job: Job, to: JobStatus, *, refund: int = 0, **fields: Any) -> None:
        """Finish a job, refund a failure and free the slots it holds, atomically; a settled job raises Conflict."""
        tx = Transaction()
        sets = ["#status = :to", "updated_at = :now"] + [f"#{name} = :{name}" for name in fields]
        names = {"#status": "status"} | {f"#{name}": name for name in fields}
        values = {":to": to.value, ":now": now_iso(), ":queued": JobStatus.QUEUED.value,
                  ":running": JobStatus.RUNNING.value} | {f":{name}": value for name, value in fields.items()}
        finish = tx.update(self._jobs, {"job_id": job.job_id}, "SET " + ", ".join(sets), names=names, values=values,
                           condition="#status IN (:queued, :running)")
        held = holds(job)
        adds: list[str] = []
        key_names: dict[str, str] = {}
        key_values: dict[str, Any] = {}
        if refund:
            adds.append("credits :refund")
            key_values[":refund"] = refund
        if KEY in held:
            adds += ["#active :minus", "#arev :one"]
            key_names |= {"#active": ACTIVE, "#arev": ACTIVE_REV}
            key_values |= {":minus": -1, ":one": 1}
        if adds:
            tx.update(self._state, {"pk": _owner_pk(job)}, "ADD " + ", ".join(adds), names=key_names or None,
                      values=key_values)
        if QUEUE in held:
            tx.update(self._state, {"pk": QUEUE_PK}, "ADD #count :minus, #rev :one",
                      names={"#count": "count", "#rev": "rev"}, values={":minus": -1, ":one": 1})
        if finish in tx.commit(self._client):
            raise Conflict(f"job {job.job_id} is already settled")
        metrics.credits(spent=0, refunded=refund)
        if self.events:
            settled = job.model_copy(update={"status": to, "updated_at": values[":now"]} | fields)
            self.events.changed(Job.model_validate(settled.model_dump()), job.status)

    def queue_length(self) -> int:
        """Unfinished jobs as the queue counter holds them; 0 without a queue limit, where nothing keeps
        that counter (so nothing is read)."""
        length = counters.read(self._client, self._state, QUEUE_PK) if self.max_queue_length else 0
        metrics.queue_depth(length)
        return length

    def _active(self, pk: str) -> int:
        return counters.snapshot(self._client, self._state, pk, attr=ACTIVE, rev=ACTIVE_REV).value

    # --- Recount -----------------------------------------------------------------------------------

    def unfinished(self) -> list[Job]:
        """Toolkit jobs really queued or running, read from the jobs table (consistent scan)."""
        return unfinished(self._client, self._jobs, kind_prefix="toolkit.")

    def settle_stale(self, older_than_seconds: float) -> list[str]:
        """Fail and refund unfinished jobs created more than `older_than_seconds` ago (their flow is gone)."""
        cutoff = self._clock() - older_than_seconds
        settled = []
        for job in self.unfinished():
            if job.created.timestamp() >= cutoff:
                continue
            try:
                self.settle(job, JobStatus.FAILED, refund=job.cost, error=STALE_ERROR)
            except Conflict:
                continue  # settled meanwhile
            logger.warning("stale toolkit job settled as failed", extra={"job_id": job.job_id})
            settled.append(job.job_id)
        return settled

    def recount(self, *, stale_after: float | None = None, attempts: int = 5) -> RecountReport:
        """Set the queue counter and every key's counter to the number of unfinished jobs holding them.

        A counter is only replaced if its revision did not move between the read before the scan and
        the write after it (no admission or settle touched it meanwhile); one that moved is counted again.
        """
        report = RecountReport()
        if stale_after is not None:
            report.settled_stale = self.settle_stale(stale_after)
        queue_pending, key_pending = True, set(self._key_pks())
        for _ in range(attempts):
            queue_seen = counters.snapshot(self._client, self._state, QUEUE_PK) if queue_pending else None
            keys_seen = {pk: counters.snapshot(self._client, self._state, pk, attr=ACTIVE, rev=ACTIVE_REV)
                         for pk in key_pending}
            jobs = self.unfinished()
            report.unfinished = len(jobs)
            queue_now = sum(QUEUE in holds(job) for job in jobs)
            keys_now = Counter(_owner_pk(job) for job in jobs if KEY in holds(job))
            queue_pending, key_pending = False, set()
            if queue_seen is not None and queue_seen.value != queue_now:
                if counters.reset(self._client, self._state, QUEUE_PK, queue_now, seen=queue_seen):
                    report.queue = {"before": queue_seen.value, "after": queue_now}
                else:
                    queue_pending = True
            for pk, seen in keys_seen.items():
                if seen.value == keys_now.get(pk, 0):
                    continue
                if counters.reset(self._client, self._state, pk, keys_now.get(pk, 0), seen=seen, attr=ACTIVE,
                                  rev=ACTIVE_REV, must_exist=True):
                    report.keys[pk.removeprefix(PREFIX)] = {"before": seen.value, "after": keys_now.get(pk, 0)}
                else:
                    key_pending.add(pk)
            if not queue_pending and not key_pending:
                return report
        report.complete = False
        return report

    def _key_pks(self) -> list[str]:
        return [item["pk"]["S"] for item in counters.items_with_prefix(self._client, self._state, PREFIX)]
