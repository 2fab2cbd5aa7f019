"""The toolkit flow's tasks: render (download, convert, upload), settle (outcome, credits), notify."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reelgate import events, fetch, media, webhooks
from reelgate.errors import Conflict, NotFound
from reelgate.flows import failure_message
from reelgate.jobs import Job, JobStatus, now_iso
from reelgate.media.scratch import scratch_dir
from reelgate.toolkit.service import Toolkit


def render(toolkit: Toolkit, job_id: str) -> dict[str, Any]:
    """Produce <job_id>.mp4 in the media bucket; any failure raises and the flow settles it as failed."""
    job = _job(toolkit, job_id)
    if job.status is JobStatus.QUEUED:
        job = toolkit.jobs.transition(job_id, JobStatus.RUNNING, started_at=now_iso())
    elif job.status.terminal:
        raise Conflict(f"job {job_id} is already {job.status.value}")
    started = time.monotonic()
    key = job.input.get("output_key") or f"{job_id}.mp4"
    with scratch_dir() as work:
        out = work / "output.mp4"
        if job.kind == "toolkit.image_to_video":
            _image_to_video(toolkit, job.input, work, out)
        else:
            inputs = fetch.fetch_all([item["video_url"] for item in job.input["video_urls"]], work / "inputs")
            media.concatenate([f.path for f in inputs], out)
        toolkit.media.upload_file(out, key)
    return {"output_key": key, "run_time": time.monotonic() - started}


def _image_to_video(toolkit: Toolkit, request: dict[str, Any], work: Path, out: Path) -> None:
    image = work / "image"
    if request.get("source_key"):  # uploaded to our own bucket (S3 trigger): no URL to fetch
        toolkit.media.download_file(request["source_key"], image)
    else:
        fetch.fetch_to_file(request["image_url"], image, allowed_types=("image/",))
    media.render_image_video(image, out, length=float(request.get("length", 5)),
                             frame_rate=int(request.get("frame_rate", 30)),
                             zoom_speed=float(request.get("zoom_speed", 3)))


def settle(toolkit: Toolkit, events_client: Any, bus: str, task: dict[str, Any]) -> dict[str, Any]:
    """Record the outcome once (refunding a failure) and say whether a webhook is due."""
    job = _job(toolkit, task["job_id"])
    timings = _timings(job, datetime.now(UTC), float(task.get("run_time") or 0.0))
    try:
        if task["outcome"] == "succeeded":
            toolkit.ledger.settle(job, JobStatus.SUCCEEDED, output=timings | {"output_key": task["output_key"]})
        else:
            toolkit.ledger.settle(job, JobStatus.FAILED, refund=job.cost, output=timings,
                                  error=failure_message(task.get("error") or {}))
    except Conflict:
        pass  # settled by an earlier attempt: settling is idempotent
    job = _job(toolkit, job.job_id)
    events.publish(events_client, bus, job)
    return {"notify": bool(job.input.get("webhook_url"))}


def _timings(job: Job, finished: datetime, run_time: float) -> dict[str, float]:
    started = datetime.fromisoformat(job.started_at) if job.started_at else finished
    return {"run_time": run_time, "queue_time": max((started - job.created).total_seconds(), 0.0),
            "total_time": (finished - job.created).total_seconds()}


def notify(toolkit: Toolkit, job_id: str) -> dict[str, Any]:
    """POST the signed envelope to the job's webhook; the outcome is recorded, never raised."""
    job = _job(toolkit, job_id)
    key = toolkit.keys.get(job.owner.removeprefix("key#"))
    delivery = webhooks.deliver(job.input["webhook_url"], toolkit.job_envelope(job), secret=key.webhook_secret,
                                msg_id=f"msg_{job.job_id}")
    record = {"delivered": delivery.delivered, "attempts": delivery.attempts, "status": delivery.status,
              "error": delivery.error, "at": now_iso()}
    toolkit.jobs.annotate(job_id, notification=record)
    return record


def _job(toolkit: Toolkit, job_id: str) -> Job:
    job = toolkit.jobs.get(job_id)
    if job is None:
        raise NotFound(f"job {job_id} not found")
    return job
