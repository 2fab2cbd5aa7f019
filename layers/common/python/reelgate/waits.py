"""Which jobs wait for which provider task, and the task tokens of their flows' waits (state table).

Used for TopView tasks (`tvtask#<task id>`) and Pixverse videos (`pxvideo#<video id>`). One item per
task: the jobs following it, each job's current task token (`waiters`), how many callbacks arrived
(`notices`) and how many of them each job has taken into account (`consumed`). A callback and a flow's
wait each make one atomic update and read the other's part in its result, so whichever comes second
resumes the flow: a callback that arrives before the flow waits is not lost, and one that arrives while
it waits resumes it at once. M2V exports answer their M2V task's id [?], so several jobs may follow one
TopView task id: a callback wakes all of them; each re-reads its own task from TopView.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

TOPVIEW = "tvtask#"
PIXVERSE = "pxvideo#"
TTL_SECONDS = 40 * 86400  # late callbacks are still recognized (and ignored) for weeks
_NAMES = {"#w": "waiters", "#c": "consumed", "#n": "notices"}  # several are DynamoDB reserved words


@dataclass(frozen=True)
class Woken:
    """A genuine callback's effect: the task token of each job's flow waiting for its task (by job id)."""

    waiters: dict[str, str]
    notices: int


def _conditional(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class TaskWaits:
    def __init__(self, table: Any, *, prefix: str = TOPVIEW, clock: Callable[[], float] = time.time) -> None:
        self._table, self._prefix, self._clock = table, prefix, clock

    def register(self, task_id: str, job_id: str) -> None:
        """`job_id` follows `task_id` from now on; callbacks that came before do not count for it."""
        ttl = int(self._clock()) + TTL_SECONDS
        self._table.update_item(
            Key={"pk": self._prefix + task_id},
            UpdateExpression="SET #w = if_not_exists(#w, :empty), #c = if_not_exists(#c, :empty), "
                             "#n = if_not_exists(#n, :zero), #ttl = :ttl ADD #jobs :job",
            ExpressionAttributeNames=_NAMES | {"#ttl": "expires_at", "#jobs": "jobs"},
            ExpressionAttributeValues={":empty": {}, ":zero": 0, ":ttl": ttl, ":job": {job_id}},
        )
        try:
            self._table.update_item(
                Key={"pk": self._prefix + task_id}, UpdateExpression="SET #c.#job = #n",
                ConditionExpression="attribute_not_exists(#c.#job)",
                ExpressionAttributeNames={"#c": "consumed", "#n": "notices", "#job": job_id},
            )
        except ClientError as exc:
            if not _conditional(exc):
                raise

    def arm(self, task_id: str, job_id: str, token: str) -> bool:
        """Record the flow's current task token; True when a callback came that the job has not seen
        yet (the caller then resumes the flow itself). Registers the job if that had not happened."""
        for _ in range(2):
            try:
                old = self._table.update_item(
                    Key={"pk": self._prefix + task_id},
                    UpdateExpression="SET #w.#job = :token, #c.#job = #n",
                    ConditionExpression="attribute_exists(pk) AND contains(#jobs, :id)",
                    ExpressionAttributeNames=_NAMES | {"#jobs": "jobs", "#job": job_id},
                    ExpressionAttributeValues={":token": token, ":id": job_id},
                    ReturnValues="ALL_OLD",
                ).get("Attributes", {})
            except ClientError as exc:
                if not _conditional(exc):
                    raise
                self.register(task_id, job_id)
                continue
            seen = (old.get("consumed") or {}).get(job_id, 0)
            return int(old.get("notices", 0)) > int(seen)
        return False

    def notify(self, task_id: str) -> Woken | None:
        """Count a callback for `task_id`; None when no job ever followed that task."""
        try:
            new = self._table.update_item(
                Key={"pk": self._prefix + task_id}, UpdateExpression="ADD #n :one SET #at = :now",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#n": "notices", "#at": "last_notice_at"},
                ExpressionAttributeValues={":one": 1, ":now": int(self._clock())}, ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as exc:
            if _conditional(exc):
                return None
            raise
        waiters = {str(job): str(token) for job, token in (new.get("waiters") or {}).items() if token}
        return Woken(waiters, int(new.get("notices", 0)))

    def delivered(self, task_id: str, job_id: str, notices: int) -> None:
        """The callback resumed `job_id`'s wait itself: its next wait need not resume at once for it."""
        try:
            self._table.update_item(
                Key={"pk": self._prefix + task_id}, UpdateExpression="SET #c.#job = :n",
                ConditionExpression="attribute_exists(#c) AND (attribute_not_exists(#c.#job) OR #c.#job < :n)",
                ExpressionAttributeNames={"#c": "consumed", "#job": job_id},
                ExpressionAttributeValues={":n": notices},
            )
        except ClientError as exc:
            if not _conditional(exc):
                raise
