"""Job records in DynamoDB with conditional state transitions.

A terminal job (succeeded/failed) never changes status, output or error again, and of two
concurrent writers at most one wins: every transition is a conditional UpdateItem.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from boto3.dynamodb.conditions import Key
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError
from pydantic import BaseModel, Field

from reelgate.dynamo import from_dynamo, to_dynamo
from reelgate.errors import Conflict
from reelgate.observability import follow

_deserializer = TypeDeserializer()


class JobStatus(StrEnum):
    QUEUED = "queued"
    SUBMITTING = "submitting"  # recorded before the provider is called (mobile generations)
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED)


# Which status a job may come from when it moves to a given status.
_ALLOWED_FROM: dict[JobStatus, tuple[JobStatus, ...]] = {
    JobStatus.QUEUED: (),
    JobStatus.SUBMITTING: (),
    JobStatus.RUNNING: (JobStatus.QUEUED, JobStatus.SUBMITTING),
    JobStatus.SUCCEEDED: (JobStatus.QUEUED, JobStatus.RUNNING),
    JobStatus.FAILED: (JobStatus.QUEUED, JobStatus.SUBMITTING, JobStatus.RUNNING),
}


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def new_job_id() -> str:
    return str(uuid.uuid4())


class Job(BaseModel):
    job_id: str = Field(default_factory=new_job_id)
    kind: str
    owner: str
    status: JobStatus = JobStatus.QUEUED
    input: dict[str, Any] = Field(default_factory=dict)
    output: dict[str, Any] | None = None
    error: str | None = None
    provider: dict[str, Any] | None = None
    notification: dict[str, Any] | None = None
    cost: int = 0  # credits charged, refunded if the job fails
    slots: list[str] | None = None  # toolkit: counters held until settled ("queue", "key"); None = legacy job
    created_at: str = Field(default_factory=now_iso)
    updated_at: str = Field(default_factory=now_iso)
    started_at: str | None = None
    expires_at: int = 0

    @property
    def created(self) -> datetime:
        return datetime.fromisoformat(self.created_at)


class StateChanges(Protocol):
    """Where committed status changes go (reelgate.events.JobEvents: the stack's EventBridge bus)."""

    def changed(self, job: Job, old_status: JobStatus | None) -> Any: ...


class JobStore:
    def __init__(self, table: Any, *, ttl_days: int = 30, events: StateChanges | None = None) -> None:
        self._table = table
        self._ttl = timedelta(days=ttl_days)
        self.events = events

    def create(self, job: Job) -> Job:
        job.expires_at = int(time.time() + self._ttl.total_seconds())
        try:
            self._table.put_item(
                Item=to_dynamo(job.model_dump(mode="json", exclude_none=True)),
                ConditionExpression="attribute_not_exists(job_id)",
            )
        except ClientError as exc:
            _raise_conflict(exc, f"job {job.job_id} already exists")
        follow(job.job_id)
        if self.events:
            self.events.changed(job, None)
        return job

    def get(self, job_id: str) -> Job | None:
        item = self._table.get_item(Key={"job_id": job_id}, ConsistentRead=True).get("Item")
        return Job.model_validate(from_dynamo(item)) if item else None

    def transition(self, job_id: str, to: JobStatus, **fields: Any) -> Job:
        """Move a job to `to`, setting `fields`; raises Conflict if it is not in an allowed state."""
        allowed = _ALLOWED_FROM[to]
        if not allowed:  # jobs are created QUEUED or SUBMITTING; no state moves back there
            raise ValueError(f"no job moves to {to.value}: it is a starting state")
        values: dict[str, Any] = {":to": to.value, ":now": now_iso()}
        values |= {f":from{i}": s.value for i, s in enumerate(allowed)}
        names = {"#status": "status", "#updated_at": "updated_at"}
        sets = ["#status = :to", "#updated_at = :now"]
        for name, value in fields.items():
            names[f"#{name}"] = name
            values[f":{name}"] = to_dynamo(value)
            sets.append(f"#{name} = :{name}")
        condition = f"#status IN ({', '.join(f':from{i}' for i in range(len(allowed)))})"
        try:
            result = self._table.update_item(
                Key={"job_id": job_id},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=f"attribute_exists(job_id) AND {condition}",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            _raise_conflict(exc, f"job {job_id} cannot move to {to.value}")
        old = from_dynamo(result["Attributes"])
        # The new record is the old one with exactly the values this update set.
        job = Job.model_validate(old | {"status": to.value, "updated_at": values[":now"]}
                                 | {name: from_dynamo(to_dynamo(value)) for name, value in fields.items()})
        if self.events:
            self.events.changed(job, JobStatus(old["status"]))
        return job

    def revise(self, job_id: str, status: JobStatus, *, where: dict[str, Any] | None = None, **fields: Any) -> Job:
        """Set `fields` on a job that is still `status` and whose dotted attribute paths in `where` hold
        the given values (a multi-step job recording its progress); raises Conflict otherwise."""
        names = {"#status": "status", "#updated_at": "updated_at"}
        values: dict[str, Any] = {":status": status.value, ":now": now_iso()}
        sets = ["#updated_at = :now"]
        for name, value in fields.items():
            names[f"#{name}"] = name
            values[f":{name}"] = to_dynamo(value)
            sets.append(f"#{name} = :{name}")
        conditions = ["attribute_exists(job_id)", "#status = :status"]
        for i, (path, expected) in enumerate((where or {}).items()):
            parts = []
            for j, part in enumerate(path.split(".")):
                names[f"#w{i}_{j}"] = part
                parts.append(f"#w{i}_{j}")
            values[f":w{i}"] = to_dynamo(expected)
            conditions.append(f"{'.'.join(parts)} = :w{i}")
        try:
            result = self._table.update_item(
                Key={"job_id": job_id}, UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=" AND ".join(conditions), ExpressionAttributeNames=names,
                ExpressionAttributeValues=values, ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            _raise_conflict(exc, f"job {job_id} changed meanwhile")
        return Job.model_validate(from_dynamo(result["Attributes"]))

    def annotate(self, job_id: str, *, notification: dict[str, Any]) -> None:
        """Record delivery facts on a job; status, output and error stay untouched."""
        self._table.update_item(
            Key={"job_id": job_id},
            UpdateExpression="SET #n = :n",
            ConditionExpression="attribute_exists(job_id)",
            ExpressionAttributeNames={"#n": "notification"},
            ExpressionAttributeValues={":n": to_dynamo(notification)},
        )

    def list_by_owner(self, owner: str, since: datetime) -> list[Job]:
        jobs: list[Job] = []
        query: dict[str, Any] = {
            "IndexName": "owner-created",
            "KeyConditionExpression": Key("owner").eq(owner) & Key("created_at").gte(since.isoformat()),
        }
        while True:
            page = self._table.query(**query)
            jobs += [Job.model_validate(from_dynamo(item)) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return jobs
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def unfinished(client: Any, table: str, *, kind_prefix: str = "") -> list[Job]:
    """Jobs not yet succeeded or failed (of kinds starting with `kind_prefix`), by a consistent scan of the
    jobs table: its one index is by owner, and no status index exists to query instead."""
    values = {":queued": {"S": JobStatus.QUEUED.value}, ":submitting": {"S": JobStatus.SUBMITTING.value},
              ":running": {"S": JobStatus.RUNNING.value}}
    condition = "#status IN (:queued, :submitting, :running)"
    names = {"#status": "status"}
    if kind_prefix:
        condition += " AND begins_with(#kind, :kind)"
        names["#kind"] = "kind"
        values[":kind"] = {"S": kind_prefix}
    scan: dict[str, Any] = {"TableName": table, "ConsistentRead": True, "FilterExpression": condition,
                            "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}
    jobs: list[Job] = []
    while True:
        page = client.scan(**scan)
        for item in page.get("Items", []):
            plain = {name: _deserializer.deserialize(value) for name, value in item.items()}
            jobs.append(Job.model_validate(from_dynamo(plain)))
        if "LastEvaluatedKey" not in page:
            return jobs
        scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _raise_conflict(exc: ClientError, message: str) -> None:
    if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
        raise Conflict(message) from exc
    raise exc
