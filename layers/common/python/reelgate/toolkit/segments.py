"""The segmented render's flow tasks: one frame range per Map iteration, then the stream-copy join.

`tasks.render` staged the checked still under segments/<job_id>/source and listed the ranges; each
range becomes segments/<job_id>/<index>.mp4 (an encode of its own, so it starts on a keyframe), and
the join copies them into the job's output, passes it through the output gate against the whole
plan and deletes the parts. Failures are told as the one-piece render tells them (`failures_told`),
so a failed segment fails the Map and the flow settles the job exactly like a failed render.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from reelgate.errors import Conflict
from reelgate.jobs import Job
from reelgate.media import gate, render_image_video
from reelgate.media.scratch import scratch_dir
from reelgate.media.segments import join_segments
from reelgate.media.still import inspect_still
from reelgate.media.zoom import plan_zoom
from reelgate.observability import logger
from reelgate.toolkit.service import Toolkit
from reelgate.toolkit.tasks import failures_told, load_job, output_key, segment_key, zoom_args


def part_name(index: int) -> str:
    return f"{index:04d}.mp4"


def render_segment(toolkit: Toolkit, job_id: str, segment: dict[str, Any]) -> dict[str, Any]:
    """Render frames [first, stop) of the job's plan into segments/<job_id>/<index>.mp4."""
    job = _running(toolkit, job_id)
    started = time.monotonic()
    first, stop, index = int(segment["first"]), int(segment["stop"]), int(segment["index"])
    with failures_told(job_id, toolkit.settings), scratch_dir("segment-") as work:
        image, out = work / "image", work / "segment.mp4"
        toolkit.media.download_file(segment_key(job_id, "source"), image)
        plan = render_image_video(image, out, **zoom_args(job.input), first_frame=first, stop_frame=stop)
        gate.check_output(out, dataclasses.replace(gate.for_image_video(plan), frames=stop - first))
        toolkit.media.upload_file(out, segment_key(job_id, part_name(index)))
    return {"index": index, "run_time": time.monotonic() - started}


def join(toolkit: Toolkit, job_id: str, segments: list[dict[str, Any]]) -> dict[str, Any]:
    """Join the parts by stream copy into the job's output, check it against the whole plan, clean up."""
    job = _running(toolkit, job_id)
    names = [part_name(int(segment["index"])) for segment in sorted(segments, key=lambda s: int(s["first"]))]
    with failures_told(job_id, toolkit.settings), scratch_dir("join-") as work:
        image, out = work / "image", work / "output.mp4"
        toolkit.media.download_file(segment_key(job_id, "source"), image)
        parts = [work / name for name in names]
        for name, part in zip(names, parts, strict=True):
            toolkit.media.download_file(segment_key(job_id, name), part)
        join_segments(parts, out)
        still = inspect_still(image)
        plan = plan_zoom(still.size, still.orientation, **zoom_args(job.input))
        gate.check_output(out, gate.for_image_video(plan))
        toolkit.media.upload_file(out, output_key(job))
    _clean_up(toolkit, job_id, [segment_key(job_id, name) for name in ["source", *names]])
    return {"output_key": output_key(job), "run_time": _since_start(job)}


def _clean_up(toolkit: Toolkit, job_id: str, keys: list[str]) -> None:
    """Delete the still and the parts; what cannot be deleted now expires by the bucket's lifecycle rule,
    so a failed clean-up never fails a job whose output is already uploaded."""
    try:
        left = toolkit.media.delete(keys)
    except (BotoCoreError, ClientError) as exc:
        left = keys
        logger.warning("segment clean-up failed", extra={"job_id": job_id, "detail": str(exc)})
    if left:
        logger.warning("segment parts not deleted", extra={"job_id": job_id, "keys": left})


def _running(toolkit: Toolkit, job_id: str) -> Job:
    job = load_job(toolkit, job_id)
    if job.status.terminal:
        raise Conflict(f"job {job_id} is already {job.status.value}")
    return job


def _since_start(job: Job) -> float:
    """The render's wall time: from the job's start to the joined output, all segments included."""
    if not job.started_at:
        return 0.0
    return max((datetime.now(UTC) - datetime.fromisoformat(job.started_at)).total_seconds(), 0.0)
