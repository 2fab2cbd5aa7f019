"""The Pixverse flow's tasks: wait for PixVerse's webhook or poll with an adaptive interval, mirror the
finished video, finish the job.

With a webhook URL configured (`pixverse_webhook_url`), each wait is a .waitForTaskToken that the
webhook ends at once (POST /callbacks/pixverse) and that times out after `pixverse_webhook_wait_seconds`,
when the flow looks itself; without, the flow polls at the adaptive interval. Either way the job is
finished only on what `/video/result` says.

Quota rule (docs/decisions.md): a generation that ends by Pixverse's verdict on it (success, moderated,
deleted, failed by the provider) stays counted; one that ends because of us (deadline, mirror that
could not be made, an unexpected failure) gives its monthly generation back. Every terminal job frees
its slot, and every later look at a terminal job repeats the release (and the give-back the job
records), so a release that failed once is made by the next task: the poll's retry or the Fail path.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reelgate import deadline, fetch
from reelgate.errors import Conflict
from reelgate.flows import failure_message, resume
from reelgate.jobs import Job, JobStatus, JobStore
from reelgate.mobile.access import Limits
from reelgate.mobile.service import first_look, video_key
from reelgate.mobile.slots import Endings
from reelgate.observability import logger
from reelgate.providers.pixverse import PixverseClient, PixverseError, VideoResult
from reelgate.settings import Settings
from reelgate.storage import MediaStore
from reelgate.waits import TaskWaits

FAILED_STATUSES = {6: "the video was deleted by the provider", 7: "the video was blocked by moderation",
                   8: "the provider failed to generate the video"}
MIRROR_RESERVE_SECONDS = 5.0  # left after a mirror attempt: upload and record the outcome


class MirrorFailed(Exception):
    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class Generations:
    def __init__(self, *, jobs: JobStore, limits: Limits, media: MediaStore, pixverse: Callable[[], PixverseClient],
                 settings: Settings, waits: TaskWaits | None = None, sfn: Any = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.jobs, self.limits, self.media, self._pixverse = jobs, limits, media, pixverse
        self._settings, self._waits, self._sfn, self._sleep = settings, waits, sfn, sleep
        self.endings = Endings(jobs=jobs, limits=limits)

    def next_wait(self, polls: int) -> int:
        s = self._settings
        return int(min(s.poll_max_seconds, s.poll_initial_seconds * s.poll_growth ** polls))

    def arm(self, job_id: str, video_id: str, token: str) -> None:
        """The flow waits for PixVerse's webhook about `video_id` with `token`; one that came meanwhile
        resumes it now."""
        if self._waits is None or self._sfn is None:
            raise RuntimeError("waiting for webhooks needs the task waits and Step Functions")
        if self._waits.arm(str(video_id), job_id, token):
            resume(self._sfn, token, {"video_id": str(video_id), "early": True})

    def poll(self, job_id: str, polls: int, video_id: str | None = None) -> dict[str, Any]:
        """One look at the provider: {done: true} once the job is finished, else when to look again.

        `video_id` is Pixverse's id from the flow's input: a job still `submitting` adopts it (the
        submission's own write of it failed)."""
        done = {"job_id": job_id, "done": True, "video_id": video_id, "listen": False, "wait": 0}
        job = self.endings.job(job_id)
        if job.status is JobStatus.SUBMITTING:
            job = self._adopt(job, video_id)
        if job.status.terminal:
            self.endings.free(job)
            return done
        try:
            with self._pixverse() as pixverse:
                result = pixverse.result(int(job.provider["video_id"]))  # type: ignore[index]
        except PixverseError as exc:
            logger.warning("poll failed; will look again", extra={"job_id": job_id, "code": exc.err_code})
            result = None
        if result is not None and result.terminal and self._finish(job, result):
            return done
        if self._past_deadline(job):
            self.endings.end(job, JobStatus.FAILED, ours=True, error="the provider did not finish before the deadline")
            return done
        video_id = video_id or (job.provider or {}).get("video_id")
        if self._settings.pixverse_webhook_url:
            return {"job_id": job_id, "done": False, "polls": polls + 1, "video_id": video_id,
                    **first_look(self._settings)}
        return {"job_id": job_id, "done": False, "polls": polls + 1, "wait": self.next_wait(polls + 1),
                "video_id": video_id, "listen": False}

    def fail(self, job_id: str, error: dict[str, Any]) -> None:
        """The flow's catch path: an unexpected failure still ends the job and frees the slot; a job that
        already ended (its slot release is what failed) gets the release again."""
        job = self.endings.job(job_id)
        if job.status.terminal:
            self.endings.free(job)
        else:
            self.endings.end(job, JobStatus.FAILED, ours=True, error=f"the generation failed: {failure_message(error)}")

    def _adopt(self, job: Job, video_id: str | None) -> Job:
        if not video_id:
            # Flows are started only once Pixverse accepted, with its id; without one nothing can be followed.
            self.endings.end(job, JobStatus.FAILED, ours=True, error="the submission did not complete")
            return self.endings.job(job.job_id)
        try:
            return self.jobs.transition(job.job_id, JobStatus.RUNNING,
                                        provider=(job.provider or {}) | {"video_id": str(video_id)})
        except Conflict:
            return self.endings.job(job.job_id)  # the submission recorded it after all, or the job ended

    def _finish(self, job: Job, result: VideoResult) -> bool:
        """Record a finished generation; False when its video could not be copied yet (look again)."""
        if not result.succeeded:
            self.endings.end(job, JobStatus.FAILED, ours=False,
                             error=FAILED_STATUSES.get(result.status, "generation failed"),
                             output={"provider_status": int(result.status)})
            return True
        if not result.url:
            raise ValueError(f"Pixverse reported video {result.id} finished without a URL")
        key = video_key(job.job_id)
        with tempfile.TemporaryDirectory(dir=self._settings.work_dir) as work:
            try:
                mirrored = self._mirror(result.url, Path(work) / "video.mp4")
            except MirrorFailed as exc:
                if not exc.permanent and not self._past_deadline(job):
                    logger.warning("mirror failed; will try again at the next look", extra={"job_id": job.job_id})
                    return False
                self.endings.end(job, JobStatus.FAILED, ours=True,
                                 error=f"the finished video could not be copied: {exc}")
                return True
            self.media.upload_file(mirrored.path, key)
        self.endings.end(job, JobStatus.SUCCEEDED, ours=False, output={"video_key": key, "size": mirrored.size})
        return True

    def _mirror(self, url: str, dest: Path) -> fetch.Fetched:
        """Download the provider's video, retrying transient failures (CDN errors, a slow or cut download,
        a wrong content type) with doubling backoff while the invocation has time for another attempt."""
        s = self._settings
        wait, last = s.mirror_backoff_seconds, None
        for attempt in range(1, s.mirror_attempts + 1):
            try:
                return fetch.fetch_to_file(url, dest, allowed_types=("video/",))
            except fetch.UnsafeURL as exc:
                raise MirrorFailed(str(exc), permanent=True) from exc
            except fetch.FetchError as exc:
                last = exc
                logger.warning("mirror attempt failed", extra={"attempt": attempt, "reason": str(exc)})
            if attempt == s.mirror_attempts or deadline.remaining() < wait + MIRROR_RESERVE_SECONDS + 1:
                break
            self._sleep(wait)
            wait *= 2
        raise MirrorFailed(str(last or "no attempt was made"), permanent=False)

    def _past_deadline(self, job: Job) -> bool:
        return (datetime.now(UTC) - job.created).total_seconds() > self._settings.generation_deadline_seconds
