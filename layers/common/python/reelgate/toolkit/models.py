"""The toolkit's answers as pydantic models: what `envelope`, `service` and `api` put on the wire.

Request bodies are the JSON Schemas in `schemas` (and `uploads.UPLOAD`), the very ones that validate,
so NCA's 400 texts stay jsonschema's; these models describe the answers for the OpenAPI document.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Queue(_Answer):
    pid: int = Field(description="the answering process (NCA reports its worker's pid)")
    queue_id: int = Field(description="the stage's toolkit flow, as a number")
    queue_length: int = Field(ge=0, description="jobs queued or running now")
    build_number: str


class Envelope(_Queue):
    """NCA's envelope: a finished job (code 200 + the output URL, or 500 + the failure), or a status call."""

    endpoint: str
    code: int
    id: str | None = Field(description="the caller's own request id, echoed back")
    job_id: str
    response: Any = Field(description="the output URL of a job; a status call's answer")
    expires_at: str | None = Field(
        description="when the output URL in `response` stops working (ISO 8601 UTC); null without one")
    message: Any = Field(description='"success", or why the job failed')
    run_time: float
    queue_time: float
    total_time: float


class Accepted(_Queue):
    """202: the job runs on; its result comes by webhook or by the job status endpoint."""

    code: Literal[202]
    id: str | None
    job_id: str
    message: Literal["processing"]
    max_queue_length: int | Literal["unlimited"]


class Rejected(_Queue):
    """402 (credits), 429 (queue or per-key limit), 503 (overloaded): nothing was charged or started."""

    code: int
    id: str | None
    job_id: str
    message: str


class NcaError(_Answer):
    """NCA's error shape: 400 `Invalid request payload: …`, 401 `Unauthorized`; idempotency 409 / 422."""

    code: int
    message: str


class NcaInternalError(NcaError):
    """500 without a job: the failure's request id, never its text (the logs have the detail)."""

    request_id: str


class JobNotFound(_Answer):
    error: Literal["Job not found"]
    job_id: str


class WebhookState(_Answer):
    attempts: int
    last_status: int | None
    next_attempt_at: str | None
    delivered_at: str | None
    error: str | None


class JobState(_Answer):
    job_status: Literal["queued", "running", "done"]
    job_id: str
    queue_id: int
    process_id: int | None
    response: Envelope | None = Field(description="the job's own envelope once it is done")
    webhook: WebhookState | None = Field(None, description="delivery state, for jobs with a webhook_url")


class ToolkitJobStatus(Envelope):
    response: JobState


class ToolkitJobsStatus(Envelope):
    response: dict[str, Literal["queued", "running", "done"]] = Field(description="job id -> status")


class Authenticated(Envelope):
    response: Literal["Authorized"]


class UploadTicket(_Answer):
    """A presigned PUT into the key's own inbox; send every header listed."""

    upload_url: str
    upload_key: str
    method: Literal["PUT"]
    headers: dict[str, str]
    expires_in: int
