"""Toolkit requests: admit (credits, queue slot, job), start the flow, wait or answer 202, report status."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from reelgate import flows
from reelgate.errors import InsufficientCredits, NotFound, QueueFull, ReelgateError
from reelgate.jobs import Job, JobStatus, JobStore, new_job_id
from reelgate.observability import logger
from reelgate.settings import Settings
from reelgate.storage import MediaStore
from reelgate.toolkit import envelope
from reelgate.toolkit.keys import ApiKey, ApiKeys
from reelgate.toolkit.ledger import Ledger, TooManyJobs
from reelgate.toolkit.schemas import IMAGE_TO_VIDEO_OP, InvalidPayload, Operation, validate
from reelgate.transact import Busy

NCA_STATUS = {JobStatus.QUEUED: "queued", JobStatus.RUNNING: "running",
              JobStatus.SUCCEEDED: "done", JobStatus.FAILED: "done"}


class JobNotStarted(ReelgateError):
    def __init__(self) -> None:
        super().__init__("could not start the job; its credits were refunded")


NOT_STARTED_ERROR = "could not start the job"


@dataclass
class Answer:
    status: int
    body: dict[str, Any]


def webhook_state(job: Job) -> dict[str, Any]:
    """The delivery state of a job's webhook: attempts, last HTTP status, next attempt, delivered at."""
    note = job.notification or {}
    return {"attempts": int(note.get("attempts") or 0), "last_status": note.get("status"),
            "next_attempt_at": note.get("next_attempt_at"), "delivered_at": note.get("delivered_at"),
            "error": note.get("error")}


class Toolkit:
    def __init__(self, *, jobs: JobStore, keys: ApiKeys, ledger: Ledger, media: MediaStore, sfn: Any,
                 settings: Settings, sleep: Any = time.sleep) -> None:
        self.jobs, self.keys, self.ledger, self.media = jobs, keys, ledger, media
        self._sfn, self._settings, self._sleep = sfn, settings, sleep

    @property
    def settings(self) -> Settings:
        return self._settings

    def price(self, op: Operation) -> int:
        s = self._settings
        return s.price_image_to_video if op is IMAGE_TO_VIDEO_OP else s.price_concatenate

    def submit(self, key: ApiKey, op: Operation, payload: Any) -> Answer:
        data = validate(op.schema, payload)
        limit = self._settings.toolkit_max_video_urls
        if len(data.get("video_urls", ())) > limit:
            raise InvalidPayload(f"video_urls: at most {limit} items are allowed")
        if "video_urls" in data:  # a clip may carry fields of the caller's own (NCA ignores them): not stored
            data["video_urls"] = [{"video_url": clip["video_url"]} for clip in data["video_urls"]]
        job = Job(kind=op.kind, owner=key.owner, input=data | {"endpoint": op.endpoint}, cost=self.price(op))
        try:
            self.enqueue(job, key)
        except (InsufficientCredits, QueueFull, TooManyJobs, Busy) as exc:
            code = 402 if isinstance(exc, InsufficientCredits) else 503 if isinstance(exc, Busy) else 429
            return Answer(code, self._rejected(code, str(exc), job))
        if "webhook_url" not in data:
            job = self.wait(job.job_id, self._settings.api_wait_seconds)
            if job.status.terminal:
                body = self.job_envelope(job)
                return Answer(body["code"], body)
        return Answer(202, envelope.accepted(
            job, stage=self._settings.stage, max_queue_length=self.ledger.max_queue_length,
            queue_length=self.ledger.queue_length(), build_number=self._settings.build_number))

    def enqueue(self, job: Job, key: ApiKey) -> None:
        """Admit the job (credits, slots, record) and start its flow; a flow that cannot start is refunded.

        Busy, TooManyJobs, QueueFull, InsufficientCredits: nothing was written. JobNotStarted: the job
        is recorded as failed and refunded (or, if even that failed, left for `queue recount`).
        """
        self.ledger.admit(job, key, job.cost)
        try:
            flows.start(self._sfn, self._settings.toolkit_flow_arn, job.job_id, {"job_id": job.job_id})
        except Exception as exc:
            logger.exception("the job's flow did not start", extra={"job_id": job.job_id})
            try:
                self.ledger.settle(job, JobStatus.FAILED, refund=job.cost, error=NOT_STARTED_ERROR)
            except Exception:
                logger.exception("the unstarted job was not settled; queue recount will", extra={"job_id": job.job_id})
            raise JobNotStarted from exc

    def wait(self, job_id: str, budget: float, interval: float = 0.1, longest: float = 0.5) -> Job:
        """The job once terminal, or as it is when the budget runs out; looks again every `interval` seconds,
        growing to `longest`: an answer comes at most half a second after its job ends (at a second, the
        wait was a quarter of a 5 s render's answer time), for two strongly consistent reads a second."""
        deadline = time.monotonic() + budget
        while True:
            job = self.jobs.get(job_id)
            if job is None:
                raise NotFound(f"job {job_id} not found")
            if job.status.terminal or time.monotonic() + interval > deadline:
                return job
            self._sleep(interval)
            interval = min(interval * 1.5, longest)

    def job_envelope(self, job: Job, queue_length: int | None = None) -> dict[str, Any]:
        """The envelope of a job as NCA reports it: 200 + output URL, or 500 + the failure. `queue_length`:
        the one an answer already read (one read per answer), else read here."""
        output = job.output or {}
        succeeded = job.status is JobStatus.SUCCEEDED
        link = self.media.link(output["output_key"]) if succeeded else None
        return envelope.envelope(
            endpoint=job.input.get("endpoint", ""), code=200 if succeeded else 500, request_id=job.input.get("id"),
            job_id=job.job_id, response=link.url if link else None,
            message="success" if succeeded else job.error, timings=output, stage=self._settings.stage,
            queue_length=self.ledger.queue_length() if queue_length is None else queue_length,
            build_number=self._settings.build_number, expires_at=link.expires_iso if link else None)

    def status(self, key: ApiKey, job_id: str) -> Answer:
        job = self.jobs.get(job_id)
        if job is None or job.owner != key.owner or not job.kind.startswith("toolkit."):
            return Answer(404, {"error": "Job not found", "job_id": job_id})
        length = self.ledger.queue_length()  # both envelopes carry it: read once
        own = self.job_envelope(job, length) if job.status.terminal else None
        inner = {"job_status": NCA_STATUS[job.status], "job_id": job.job_id,
                 "queue_id": envelope.queue_id(self._settings.stage),
                 "process_id": own["pid"] if own else None, "response": own}
        if job.input.get("webhook_url"):
            inner["webhook"] = webhook_state(job)
        return Answer(200, self._own_envelope("/v1/toolkit/job/status", inner, length))

    def recent(self, key: ApiKey, since_seconds: float) -> Answer:
        since = datetime.now(UTC) - timedelta(seconds=since_seconds)
        jobs = self.jobs.list_by_owner(key.owner, since)
        statuses = {job.job_id: NCA_STATUS[job.status] for job in jobs if job.kind.startswith("toolkit.")}
        return Answer(200, self._own_envelope("/v1/toolkit/jobs/status", statuses))

    def authenticated(self) -> Answer:
        return Answer(200, self._own_envelope("/v1/toolkit/authenticate", "Authorized"))

    def _own_envelope(self, endpoint: str, response: Any, queue_length: int | None = None) -> dict[str, Any]:
        # Status calls answer synchronously with an envelope of their own (NCA mints them a job id too).
        return envelope.envelope(
            endpoint=endpoint, code=200, request_id=None, job_id=new_job_id(), response=response,
            message="success", timings={}, stage=self._settings.stage,
            queue_length=self.ledger.queue_length() if queue_length is None else queue_length,
            build_number=self._settings.build_number)

    def _rejected(self, code: int, message: str, job: Job) -> dict[str, Any]:
        return envelope.rejected(code=code, message=message, request_id=job.input.get("id"), job_id=job.job_id,
                                 stage=self._settings.stage, queue_length=self.ledger.queue_length(),
                                 build_number=self._settings.build_number)
