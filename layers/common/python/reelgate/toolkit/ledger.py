"""Credits, the deployment-wide queue slot and the job record, changed together or not at all."""

from __future__ import annotations

from typing import Any

from reelgate import counters
from reelgate.errors import Conflict, InsufficientCredits, QueueFull
from reelgate.jobs import Job, JobStatus, now_iso
from reelgate.toolkit.keys import ApiKey
from reelgate.transact import Transaction

QUEUE_PK = "queue#toolkit"


class Ledger:
    def __init__(self, client: Any, *, jobs_table: str, state_table: str, max_queue_length: int) -> None:
        self._client = client
        self._jobs = jobs_table
        self._state = state_table
        self.max_queue_length = max_queue_length

    def admit(self, job: Job, key: ApiKey, price: int) -> None:
        """Charge `price`, take a queue slot and write the queued job — or raise and change nothing."""
        tx = Transaction()
        charge = tx.update(
            self._state, {"pk": key.pk}, "SET credits = credits - :price",
            condition="credits >= :price AND (attribute_not_exists(revoked) OR revoked = :no)",
            values={":price": price, ":no": False},
        )
        slot = tx.update(self._state, {"pk": QUEUE_PK}, "ADD #count :one", names={"#count": "count"},
                         values={":one": 1} | ({":max": self.max_queue_length} if self.max_queue_length else {}),
                         condition="attribute_not_exists(#count) OR #count < :max" if self.max_queue_length else None)
        tx.put(self._jobs, job.model_dump(mode="json", exclude_none=True), condition="attribute_not_exists(job_id)")
        failed = tx.commit(self._client)
        if charge in failed:
            raise InsufficientCredits(f"this request costs {price} credits; the key's balance is too low")
        if slot in failed:
            raise QueueFull(self.max_queue_length)
        if failed:
            raise Conflict(f"job {job.job_id} already exists")

    def settle(self, job: Job, to: JobStatus, *, refund: int = 0, **fields: Any) -> None:
        """Finish a job and refund a failure atomically, then free its queue slot; a settled job raises Conflict."""
        tx = Transaction()
        sets = ["#status = :to", "updated_at = :now"] + [f"#{name} = :{name}" for name in fields]
        names = {"#status": "status"} | {f"#{name}": name for name in fields}
        values = {":to": to.value, ":now": now_iso(), ":queued": JobStatus.QUEUED.value,
                  ":running": JobStatus.RUNNING.value} | {f":{name}": value for name, value in fields.items()}
        finish = tx.update(self._jobs, {"job_id": job.job_id}, "SET " + ", ".join(sets), names=names, values=values,
                           condition="#status IN (:queued, :running)")
        if refund:
            owner_pk = "apikey#" + job.owner.removeprefix("key#")
            tx.update(self._state, {"pk": owner_pk}, "ADD credits :refund", values={":refund": refund})
        if finish in tx.commit(self._client):
            raise Conflict(f"job {job.job_id} is already settled")
        self._release_slot()

    def _release_slot(self) -> None:
        # Only a job that was just finished gets here, so a slot is never released twice.
        counters.decrement(self._client, self._state, QUEUE_PK)

    def queue_length(self) -> int:
        return counters.read(self._client, self._state, QUEUE_PK)
