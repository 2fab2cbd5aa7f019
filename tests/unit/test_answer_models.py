"""The answer models of the OpenAPI document fit what the code builds (extra fields are refused where the
model is closed, so a field added to an answer without its model fails here)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from pydantic import BaseModel, ValidationError
from reelgate.jobs import Job, JobStatus
from reelgate.mobile import models as mobile
from reelgate.providers.topview import callback_reply
from reelgate.storage import MediaStore
from reelgate.toolkit import envelope
from reelgate.toolkit import models as toolkit
from reelgate.toolkit.keys import ApiKey
from reelgate.toolkit.service import webhook_state
from reelgate.toolkit.uploads import presign
from reelgate.topview import models as topview
from reelgate.topview import plans
from reelgate.topview.callbacks import refusal
from reelgate.topview.outputs import status_answer

S3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x",
                  endpoint_url="https://s3.us-east-1.amazonaws.com", config=Config(signature_version="s3v4"))
MEDIA = MediaStore(S3, "media")  # presigned links
KEY = ApiKey(key_id="k1", name="tenant", credits=10, webhook_secret="s", created_at="2026-01-01T00:00:00+00:00")
QUEUE = {"stage": "dev", "queue_length": 2, "build_number": "1.0.0"}


def fits(model: type[BaseModel], body: Any) -> None:
    model.model_validate(body)


def test_toolkit_envelopes_fit_their_models() -> None:
    job = Job(kind="toolkit.image_to_video", owner="key#k1", input={"id": "r1"})
    done = envelope.envelope(endpoint="/v1/image/convert/video", code=200, request_id="r1", job_id=job.job_id,
                             response="https://cdn.example.com/x.mp4", message="success",
                             timings={"run_time": 1.5}, expires_at="2026-01-08T00:00:00Z", **QUEUE)
    fits(toolkit.Envelope, done)
    fits(toolkit.Accepted, envelope.accepted(job, max_queue_length=0, **QUEUE))
    fits(toolkit.Accepted, envelope.accepted(job, max_queue_length=5, **QUEUE))
    fits(toolkit.Rejected, envelope.rejected(code=429, message="queue full", request_id=None, job_id=job.job_id,
                                             **QUEUE))
    with pytest.raises(ValidationError):  # the models are closed: an unlisted field is a drift
        fits(toolkit.Accepted, envelope.accepted(job, max_queue_length=0, **QUEUE) | {"extra": 1})


def test_toolkit_status_answers_fit_their_models() -> None:
    job = Job(kind="toolkit.image_to_video", owner="key#k1", input={"webhook_url": "https://h.example.com"},
              notification={"attempts": 2, "status": 500, "next_attempt_at": "2026-01-01T00:00:05+00:00"})
    fits(toolkit.WebhookState, webhook_state(job))
    own = envelope.envelope(endpoint="/v1/toolkit/job/status", code=200, request_id=None, job_id="j",
                            response={"job_status": "running", "job_id": job.job_id, "queue_id": 1,
                                      "process_id": None, "response": None, "webhook": webhook_state(job)},
                            message="success", timings={}, **QUEUE)
    fits(toolkit.ToolkitJobStatus, own)


def test_the_upload_ticket_fits_its_model() -> None:
    fits(toolkit.UploadTicket, presign(S3, "media", KEY, {"kind": "image2video", "filename": "a.jpg",
                                                          "content_type": "image/jpeg", "metadata": {"length": 2}}))


@pytest.mark.parametrize(("kind", "output"), [
    (plans.TEXT2VIDEO, {"video_key": "videos/j.mp4"}),
    (plans.TEXT2IMAGE, {"image_key": "images/j.png"}),
    (plans.MARKETING_VIDEO, {"previews": [{"script_id": 1, "video_key": "videos/j/1.mp4", "duration_ms": 3000}]}),
])
def test_generation_statuses_fit_their_model(kind: str, output: dict[str, Any]) -> None:
    for status in (JobStatus.RUNNING, JobStatus.SUCCEEDED, JobStatus.FAILED):
        fits(mobile.GenerationStatus, status_answer(Job(kind=kind, owner="app#a#u", status=status, output=output),
                                                    MEDIA))


def test_topview_callback_replies_fit_their_model() -> None:
    fits(topview.TopViewCallbackReply, callback_reply("u-1", "uid-1"))
    fits(topview.TopViewCallbackReply, refusal(404, "4004", "no job follows this task")[1])
