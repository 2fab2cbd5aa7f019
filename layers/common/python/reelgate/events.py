"""Job state changes published to the stack's EventBridge bus so other systems can react.

Every status a job takes (its creation included) is one event, `source: "reelgate"`,
`detail-type: "Reelgate Job State Change"`, whose detail is `JobStateChange` (documented in
docs/events.md; a test keeps the two equal). The job store and the toolkit ledger publish after the
change is committed; a `PutEvents` entry that fails is retried, and one that still fails is logged
with its whole detail at error level (never dropped silently), without undoing the committed change.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from reelgate import metrics
from reelgate.jobs import Job, JobStatus, now_iso
from reelgate.observability import logger

SOURCE = "reelgate"
DETAIL_TYPE = "Reelgate Job State Change"
VERSION = "1"
ATTEMPTS = 4  # PutEvents calls per event before it is logged as lost
BACKOFF_SECONDS = 0.2  # first wait between attempts; doubles


class JobStateChange(BaseModel):
    """The `detail` of a "Reelgate Job State Change" event (version 1)."""

    model_config = ConfigDict(extra="forbid")

    version: Literal["1"] = Field(description="schema version of this detail; a breaking change gets a new one")
    job_id: str = Field(description="the job's id (toolkit job id, or the mobile video_id)")
    kind: str = Field(description='what the job does, e.g. "toolkit.image_to_video", "pixverse.text2video"')
    owner: str = Field(description='who the job is for: "key#<key id>" (toolkit) or '
                                   '"app#<bundle id>#<user id>" (mobile)')
    provider: str = Field(description='who does the work: "reelgate" (the FFmpeg toolkit), "pixverse" or "topview"')
    old_status: JobStatus | None = Field(description="the status before the change; null when the job was created")
    new_status: JobStatus = Field(description="the status after the change: queued, submitting, running, "
                                              "succeeded or failed")
    output: str | None = Field(description="the result's key in the stack's media bucket once succeeded, else null")
    error: str | None = Field(description="why the job failed (the message its caller sees), else null")
    at: str = Field(description="when the change was recorded (ISO 8601, UTC, microseconds)")


def _output_location(job: Job) -> str | None:
    if job.status is not JobStatus.SUCCEEDED:
        return None
    output = job.output or {}
    for name in ("output_key", "video_key", "image_key"):
        if isinstance(output.get(name), str):
            return str(output[name])
    return None


def state_change(job: Job, old_status: JobStatus | None) -> JobStateChange:
    provider = (job.provider or {}).get("name")
    return JobStateChange(
        version=VERSION, job_id=job.job_id, kind=job.kind, owner=job.owner,
        provider=str(provider) if provider else "reelgate", old_status=old_status, new_status=job.status,
        output=_output_location(job), error=job.error if job.status is JobStatus.FAILED else None,
        at=job.updated_at or now_iso(),
    )


class JobEvents:
    """Publishes job state changes to one bus; with no bus configured it publishes nothing."""

    def __init__(self, client: Any, bus: str, *, attempts: int = ATTEMPTS, backoff: float = BACKOFF_SECONDS,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._client, self.bus = client, bus
        self._attempts, self._backoff, self._sleep = attempts, backoff, sleep

    def changed(self, job: Job, old_status: JobStatus | None) -> bool:
        """Publish one change (and its metrics); False (and an error log holding the event) if every
        attempt failed."""
        detail = state_change(job, old_status)
        if old_status is not job.status:
            metrics.job_changed(detail.kind, detail.provider, job.status.value, job.created_at)
        if not self.bus:
            return False
        entry = {"Source": SOURCE, "DetailType": DETAIL_TYPE, "Detail": detail.model_dump_json(),
                 "EventBusName": self.bus}
        failure: Any = None
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(self._backoff * 2 ** (attempt - 1))
            try:
                answer = self._client.put_events(Entries=[entry])
            except Exception as exc:
                failure = {"ErrorCode": type(exc).__name__, "ErrorMessage": str(exc)}
                continue
            if not answer.get("FailedEntryCount"):
                return True
            failure = (answer.get("Entries") or [{}])[0]
            logger.warning("job event not accepted; retrying",
                           extra={"job_id": job.job_id, "attempt": attempt + 1, "error": failure.get("ErrorCode")})
        logger.error("job event lost after retries", extra={
            "job_id": job.job_id, "event": json.loads(entry["Detail"]), "bus": self.bus,
            "error": (failure or {}).get("ErrorCode"), "error_message": (failure or {}).get("ErrorMessage")})
        return False

