"""The toolkit flow's tasks: render (download, check, convert, upload), settle (outcome, credits, slots), notify.

What a caller reads in `job.error` (and in the webhook) is always one of Reelgate's own sentences:
render raises `JobFailed` / `InputRefused` with such a sentence and logs the detail (FFmpeg's stderr,
paths, AWS errors); settle shows only those two error types' messages and replaces anything else
(a crash, a Lambda timeout, a Step Functions error) with a fixed text.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reelgate import fetch, media, metrics, webhooks
from reelgate.deadline import DeadlineExceeded
from reelgate.errors import Conflict, NotFound, ReelgateError
from reelgate.jobs import Job, JobStatus, now_iso
from reelgate.links import OUTBOX
from reelgate.media import InputRefused, Limits, MediaError, MediaTimeout, gate
from reelgate.media.limits import check_items, size_text
from reelgate.media.scratch import scratch_dir
from reelgate.media.segments import segment_ranges
from reelgate.media.still import checked_still
from reelgate.media.zoom import frame_count
from reelgate.observability import logger
from reelgate.settings import Settings
from reelgate.storage import SEGMENTS
from reelgate.toolkit.service import Toolkit

INTERNAL_ERROR = "the job failed because of an internal error"
TIMEOUT_ERROR = "the job did not finish in the time allowed"
CONVERSION_ERROR = "the conversion failed"
DOWNLOAD_ERROR = "an input could not be downloaded"
# Error types whose message render wrote for the caller; any other failure shows a fixed text.
PUBLIC_ERRORS = frozenset({"JobFailed", "InputRefused"})
TIMEOUT_ERRORS = frozenset({"States.Timeout", "Sandbox.Timedout", "DeadlineExceeded", "MediaTimeout"})
MAX_ERROR_CHARS = 300


class JobFailed(ReelgateError):
    """A render failure told in Reelgate's own words (safe to show the caller); details are logged."""


def limits(settings: Settings) -> Limits:
    return Limits(
        max_items=settings.toolkit_max_video_urls, max_input_bytes=settings.toolkit_max_input_bytes,
        max_total_bytes=settings.toolkit_max_total_input_bytes,
        max_duration_seconds=settings.toolkit_max_duration_seconds,
        max_video_pixels=settings.toolkit_max_video_pixels, max_image_pixels=settings.toolkit_max_image_pixels,
    )


def render(toolkit: Toolkit, job_id: str) -> dict[str, Any]:
    """Produce outbox/<job_id>.mp4 (or the job's own output key) in the media bucket, under the output
    prefixes the CDN may read; any failure raises and the flow settles it as failed.

    An image → video job of more than `toolkit_segment_frames` frames is only prepared here: its still
    is fetched, checked and staged under segments/, and the answer lists the frame ranges the flow's
    Map renders in parallel (reelgate.toolkit.segments) before joining them into the same output key.
    """
    job = load_job(toolkit, job_id)
    if job.status is JobStatus.QUEUED:
        job = toolkit.jobs.transition(job_id, JobStatus.RUNNING, started_at=now_iso())
    elif job.status.terminal:
        raise Conflict(f"job {job_id} is already {job.status.value}")
    started = time.monotonic()
    ranges = segment_plan(toolkit.settings, job)
    with failures_told(job_id, toolkit.settings), scratch_dir() as work:
        if ranges:
            image, label = fetch_image(toolkit, job.input, work)
            checked_still(image, limits(toolkit.settings), label)
            toolkit.media.upload_file(image, segment_key(job_id, "source"), content_type="application/octet-stream")
        else:
            out = work / "output.mp4"
            expected = _convert(toolkit, job.kind, job.input, work, out)
            gate.check_output(out, expected)  # the output gate: never hand out a file that is not what was asked
            toolkit.media.upload_file(out, output_key(job))
    segments = [{"index": index, "first": first, "stop": stop} for index, (first, stop) in enumerate(ranges)]
    return {"output_key": output_key(job), "run_time": time.monotonic() - started, "segmented": bool(segments),
            "segments": segments, "concurrency": toolkit.settings.toolkit_segment_concurrency}


def output_key(job: Job) -> str:
    return str(job.input.get("output_key") or f"{OUTBOX}{job.job_id}.mp4")


def segment_key(job_id: str, name: str) -> str:
    """Where a segmented render keeps its still ("source") and its parts; removed once joined."""
    return f"{SEGMENTS}{job_id}/{name}"


def segment_plan(settings: Settings, job: Job) -> list[tuple[int, int]]:
    """The frame ranges of a segmented render; [] for a job rendered in one piece."""
    if job.kind != "toolkit.image_to_video":
        return []
    zoom = zoom_args(job.input)
    ranges = segment_ranges(frame_count(zoom["length"], zoom["frame_rate"]), settings.toolkit_segment_frames)
    return ranges if len(ranges) > 1 else []


def zoom_args(request: dict[str, Any]) -> dict[str, Any]:
    return {"length": float(request.get("length", 5)), "frame_rate": int(request.get("frame_rate", 30)),
            "zoom_speed": float(request.get("zoom_speed", 3))}


@contextmanager
def failures_told(job_id: str, settings: Settings) -> Iterator[None]:
    """Turn a render step's failure into JobFailed / InputRefused in Reelgate's words; log the detail."""
    try:
        yield
    except gate.OutputMismatch as exc:
        logger.error("output gate refused the render", extra={"job_id": job_id, "detail": str(exc)})
        raise JobFailed(str(exc)) from exc
    except InputRefused as exc:
        logger.info("input refused", extra={"job_id": job_id, "reason": str(exc)})
        raise
    except JobFailed:
        raise
    except (MediaTimeout, DeadlineExceeded) as exc:
        logger.warning("render ran out of time", extra={"job_id": job_id, "detail": str(exc)})
        raise JobFailed(TIMEOUT_ERROR) from exc
    except fetch.FetchError as exc:
        logger.warning("download failed", extra={"job_id": job_id, "detail": str(exc)})
        raise _download_failure(exc, settings) from exc
    except MediaError as exc:
        logger.error("conversion failed", extra={"job_id": job_id, "detail": str(exc)})
        raise JobFailed(CONVERSION_ERROR) from exc


def fetch_image(toolkit: Toolkit, request: dict[str, Any], work: Path) -> tuple[Path, str]:
    """The job's still as a local file, and the name a refusal gives it."""
    image = work / "image"
    if request.get("source_key"):  # uploaded to our own bucket (S3 trigger): no URL to fetch
        toolkit.media.download_file(request["source_key"], image)
        return image, "the uploaded image"
    max_bytes = min(limits(toolkit.settings).max_input_bytes, toolkit.settings.fetch_max_bytes)
    fetch.fetch_to_file(request["image_url"], image, allowed_types=("image/",), max_bytes=max_bytes)
    return image, "image_url"


def _convert(toolkit: Toolkit, kind: str, request: dict[str, Any], work: Path, out: Path) -> gate.Expected:
    """Render `out`; return what the output gate must find in it."""
    bounds = limits(toolkit.settings)
    max_bytes = min(bounds.max_input_bytes, toolkit.settings.fetch_max_bytes)
    if kind == "toolkit.image_to_video":
        image, label = fetch_image(toolkit, request, work)
        plan = media.render_image_video(image, out, **zoom_args(request), limits=bounds, label=label)
        return gate.for_image_video(plan)
    items = request["video_urls"]
    check_items(len(items), bounds)  # before a single byte is downloaded
    paths = _clips(toolkit, items, work / "inputs", max_bytes)
    way = media.concatenate(paths, out, limits=bounds, labels=[f"video_urls[{index}]" for index in range(len(items))])
    return gate.for_concatenation([media.probe(path) for path in paths], way)


def _clips(toolkit: Toolkit, items: list[dict[str, str]], work: Path, max_bytes: int) -> list[Path]:
    """Each clip as a local file, in order: URLs fetched (safely), `video_key`s (an inbox manifest's
    objects of the same tenant, checked at ingest) copied from the bucket."""
    work.mkdir(parents=True, exist_ok=True)
    urls = [item["video_url"] for item in items if "video_url" in item]
    fetched = iter(f.path for f in fetch.fetch_all(urls, work, max_bytes=max_bytes))
    paths = []
    for index, item in enumerate(items):
        if "video_key" not in item:
            paths.append(next(fetched))
            continue
        path = work / f"key-{index:03d}"
        toolkit.media.download_file(item["video_key"], path)
        if path.stat().st_size > max_bytes:
            raise InputRefused(f"video_urls[{index}] is larger than the {size_text(max_bytes)} limit per input")
        paths.append(path)
    return paths


def _download_failure(exc: fetch.FetchError, settings: Settings) -> ReelgateError:
    if "-byte limit" in str(exc):  # the safe fetcher's size refusal: the input's own fault
        limit = min(settings.toolkit_max_input_bytes, settings.fetch_max_bytes)
        return InputRefused(f"an input is larger than the {size_text(limit)} limit per input")
    status = getattr(exc, "status", None)
    return JobFailed(f"{DOWNLOAD_ERROR} (HTTP {status})" if status else DOWNLOAD_ERROR)


def public_failure(error: dict[str, Any]) -> tuple[str, bool]:
    """(the job's error text, whether the job was refused for its own input) from Step Functions' {Error, Cause}."""
    name = str(error.get("Error") or "")
    try:
        cause = json.loads(error.get("Cause") or "")
    except (TypeError, ValueError):
        cause = None
    cause = cause if isinstance(cause, dict) else {}
    kind = str(cause.get("errorType") or name)
    message = cause.get("errorMessage")
    if kind in PUBLIC_ERRORS and isinstance(message, str) and message.strip():
        return message.strip()[:MAX_ERROR_CHARS], kind == "InputRefused"
    if name in TIMEOUT_ERRORS or kind in TIMEOUT_ERRORS:
        return TIMEOUT_ERROR, False
    return INTERNAL_ERROR, False


def settle(toolkit: Toolkit, task: dict[str, Any]) -> dict[str, Any]:
    """Record the outcome once (refunding a failure, freeing the job's slots) and say whether a webhook is due."""
    job = load_job(toolkit, task["job_id"])
    timings = _timings(job, datetime.now(UTC), float(task.get("run_time") or 0.0))
    try:
        if task["outcome"] == "succeeded":
            toolkit.ledger.settle(job, JobStatus.SUCCEEDED, output=timings | {"output_key": task["output_key"]})
        else:
            error = task.get("error") or {}
            message, refused = public_failure(error)
            logger.info("job failed", extra={"job_id": job.job_id, "error": error.get("Error"), "refused": refused})
            refund = 0 if refused and not toolkit.settings.toolkit_refund_refused_input else job.cost
            toolkit.ledger.settle(job, JobStatus.FAILED, refund=refund, output=timings, error=message)
    except Conflict:
        pass  # settled by an earlier attempt: settling is idempotent
    job = load_job(toolkit, job.job_id)
    return {"notify": bool(job.input.get("webhook_url"))}


def _timings(job: Job, finished: datetime, run_time: float) -> dict[str, float]:
    started = datetime.fromisoformat(job.started_at) if job.started_at else finished
    return {"run_time": run_time, "queue_time": max((started - job.created).total_seconds(), 0.0),
            "total_time": (finished - job.created).total_seconds()}


def notify(toolkit: Toolkit, job_id: str, attempt: int = 1) -> dict[str, Any]:
    """One attempt to POST the signed envelope; the flow waits out the schedule between attempts.

    The delivery state is recorded on the job after every attempt; never raises for delivery. Answers
    {"done", "wait" (seconds before the next attempt), "attempt" (its number)} for the flow.
    """
    job = load_job(toolkit, job_id)
    key = toolkit.keys.get(job.owner.removeprefix("key#"))
    plan = webhooks.schedule(toolkit.settings.webhook_schedule)
    delivery = webhooks.deliver(job.input["webhook_url"], toolkit.job_envelope(job), secret=key.webhook_secret,
                                msg_id=f"msg_{job.job_id}", attempts=1)
    metrics.webhook_attempt(delivery.delivered)
    now = datetime.now(UTC)
    again = not delivery.delivered and delivery.retryable and attempt < len(plan)
    wait = plan[attempt] if again else 0
    record = {"delivered": delivery.delivered, "attempts": attempt, "status": delivery.status,
              "error": delivery.error, "at": now.isoformat(),
              "next_attempt_at": (now + timedelta(seconds=wait)).isoformat() if again else None,
              "delivered_at": now.isoformat() if delivery.delivered else None}
    toolkit.jobs.annotate(job_id, notification=record)
    return {"done": not again, "wait": wait, "attempt": attempt + 1}


def load_job(toolkit: Toolkit, job_id: str) -> Job:
    job = toolkit.jobs.get(job_id)
    if job is None:
        raise NotFound(f"job {job_id} not found")
    return job
