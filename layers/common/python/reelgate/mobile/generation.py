"""The Pixverse flow's tasks: poll with an adaptive interval, mirror the finished video, finish the job."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reelgate import events, fetch
from reelgate.errors import Conflict, NotFound
from reelgate.flows import failure_message
from reelgate.jobs import Job, JobStatus, JobStore
from reelgate.mobile.access import Limits
from reelgate.mobile.service import video_key
from reelgate.observability import logger
from reelgate.providers.pixverse import PixverseClient, PixverseError, VideoResult
from reelgate.settings import Settings
from reelgate.storage import MediaStore

FAILED_STATUSES = {6: "the video was deleted by the provider", 7: "the video was blocked by moderation",
                   8: "the provider failed to generate the video"}


class Generations:
    def __init__(self, *, jobs: JobStore, limits: Limits, media: MediaStore, pixverse: Callable[[], PixverseClient],
                 events_client: Any, settings: Settings) -> None:
        self.jobs, self.limits, self.media, self._pixverse = jobs, limits, media, pixverse
        self._events, self._settings = events_client, settings

    def next_wait(self, polls: int) -> int:
        s = self._settings
        return int(min(s.poll_max_seconds, s.poll_initial_seconds * s.poll_growth ** polls))

    def poll(self, job_id: str, polls: int) -> dict[str, Any]:
        """One look at the provider: {done: true} once the job is finished, else when to look again."""
        job = self._job(job_id)
        if job.status.terminal:
            return {"job_id": job_id, "done": True}
        try:
            with self._pixverse() as pixverse:
                result = pixverse.result(int(job.provider["video_id"]))  # type: ignore[index]
        except PixverseError as exc:
            logger.warning("poll failed; will look again", extra={"job_id": job_id, "code": exc.err_code})
            result = None
        if result is not None and result.terminal:
            self._finish(job, result)
            return {"job_id": job_id, "done": True}
        if self._past_deadline(job):
            self._end(job, JobStatus.FAILED, error="the provider did not finish before the deadline")
            return {"job_id": job_id, "done": True}
        return {"job_id": job_id, "done": False, "polls": polls + 1, "wait": self.next_wait(polls + 1)}

    def fail(self, job_id: str, error: dict[str, Any]) -> None:
        """The flow's catch path: an unexpected failure still ends the job and frees the slot."""
        job = self._job(job_id)
        if not job.status.terminal:
            self._end(job, JobStatus.FAILED, error=f"the generation failed: {failure_message(error)}")

    def _finish(self, job: Job, result: VideoResult) -> None:
        if not result.succeeded:
            self._end(job, JobStatus.FAILED, error=FAILED_STATUSES.get(result.status, "generation failed"),
                      output={"provider_status": int(result.status)})
            return
        if not result.url:
            raise ValueError(f"Pixverse reported video {result.id} finished without a URL")
        key = video_key(job.job_id)
        with tempfile.TemporaryDirectory(dir=self._settings.work_dir) as work:
            mirrored = fetch.fetch_to_file(result.url, Path(work) / "video.mp4", allowed_types=("video/",))
            self.media.upload_file(mirrored.path, key)
        self._end(job, JobStatus.SUCCEEDED, output={"video_key": key, "size": mirrored.size})

    def _past_deadline(self, job: Job) -> bool:
        return (datetime.now(UTC) - job.created).total_seconds() > self._settings.generation_deadline_seconds

    def _end(self, job: Job, to: JobStatus, **fields: Any) -> None:
        try:
            job = self.jobs.transition(job.job_id, to, **fields)
        except Conflict:
            return  # another attempt finished it first; the slot was released then
        bundle_id, user_id = job.owner.removeprefix("app#").split("#", 1)
        self.limits.release_slot(bundle_id, user_id)
        events.publish(self._events, self._settings.event_bus, job)

    def _job(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise NotFound(f"job {job_id} not found")
        return job
