"""Mobile submissions and status reads. Pixverse is called synchronously so that its refusals
reach the caller with the table's status; the flow then follows the generation to its end.

A submission is recorded before Pixverse is called (status `submitting`) and holds its slot as a
short lease; once Pixverse accepted, the flow is started with Pixverse's video id in its input, so a
failed write of that id still leaves a flow that adopts it (docs/decisions.md, "Mobile slots, quotas
and identity").
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from reelgate import flows
from reelgate.errors import Conflict
from reelgate.jobs import Job, JobStatus, JobStore
from reelgate.mobile import requests
from reelgate.mobile.access import Entitlements, Limits, Reservation
from reelgate.mobile.apps import App, AppRegistry
from reelgate.mobile.errors import (
    CONTENT_DELETED,
    IMAGE2VIDEO,
    INVALID_ACCOUNT,
    INVALID_PARAMETER,
    NOT_FOUND,
    TEXT2VIDEO,
    ApiError,
    from_provider,
)
from reelgate.observability import logger
from reelgate.providers.pixverse import PixverseClient, PixverseError
from reelgate.settings import Settings
from reelgate.storage import MediaStore
from reelgate.topview.outputs import status_answer as topview_status

DELETED = 6  # Pixverse's status of a video it deleted
STATUS = {JobStatus.QUEUED: "generating", JobStatus.SUBMITTING: "generating", JobStatus.RUNNING: "generating",
          JobStatus.SUCCEEDED: "success", JobStatus.FAILED: "error"}


def video_key(job_id: str) -> str:
    return f"videos/{job_id}.mp4"


def is_video_id(value: str) -> bool:
    """Reelgate's video ids are canonical uuid4 strings (122 random bits); nothing else can exist."""
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return False
    return parsed.version == 4 and str(parsed) == value


def split_owner(owner: str) -> tuple[str, str]:
    """(bundle id, user id) of a mobile job's owner "app#<bundle id>#<user id>"."""
    bundle_id, user_id = owner.removeprefix("app#").split("#", 1)
    return bundle_id, user_id


class MobileApi:
    def __init__(self, *, apps: AppRegistry, entitlements: Entitlements, limits: Limits, jobs: JobStore,
                 media: MediaStore, pixverse: Callable[[], PixverseClient], sfn: Any, settings: Settings) -> None:
        self.apps, self.entitlements, self.limits, self.jobs = apps, entitlements, limits, jobs
        self.media, self._pixverse, self._sfn, self._settings = media, pixverse, sfn, settings

    def text_to_video(self, body: Any, source: str | None = None) -> dict[str, Any]:
        who, prompt = requests.caller(body), requests.prompt(body)
        app = self._entitled_app(who, source)
        job = Job(kind="pixverse.text2video", owner=who.owner, input={"prompt": prompt})
        return self._submit(app, who, job, TEXT2VIDEO, lambda px: px.text_to_video(
            prompt=prompt, aspect_ratio=app.pixverse.aspect_ratio, trace_id=_trace(job, "generate"),
            **_generation(app)))

    def image_to_video(self, fields: dict[str, str], upload: requests.Image | None,
                       source: str | None = None) -> dict[str, Any]:
        who, prompt = requests.caller(fields), requests.prompt(fields)
        image = requests.image(upload)
        app = self._entitled_app(who, source)
        job = Job(kind="pixverse.image2video", owner=who.owner, input={"prompt": prompt})
        job.input["image_key"] = f"uploads/{job.job_id}{image.extension}"
        self.media.put_bytes(image.data, job.input["image_key"], image.content_type)

        def generate(px: PixverseClient) -> int:
            img_id = px.upload_image(image.data, image.filename, image.content_type, trace_id=_trace(job, "upload"))
            return px.image_to_video(prompt=prompt, img_id=img_id, trace_id=_trace(job, "generate"), **_generation(app))

        return self._submit(app, who, job, IMAGE2VIDEO, generate)

    def status(self, body: Any) -> dict[str, Any]:
        who, video_id = requests.caller(body), requests.text(body, "video_id")
        if self.apps.get(who.bundle_id) is None:
            raise ApiError(INVALID_PARAMETER, f"invalid parameter: app {who.bundle_id} is not registered")
        job = self.jobs.get(video_id) if is_video_id(video_id) else None
        # Another user's video answers exactly like an unknown one: the answer never tells a stranger
        # which ids exist (docs/decisions.md).
        if job is None or not job.kind.startswith(("pixverse.", "topview.")) or job.owner != who.owner:
            raise ApiError(NOT_FOUND, "video not found")
        if (job.output or {}).get("provider_status") == DELETED:
            raise ApiError(CONTENT_DELETED, "the content was deleted")
        if job.kind.startswith("topview."):
            return topview_status(job, self.media)  # adds image_url / previews where they apply
        url = self.media.url(video_key(job.job_id)) if job.status is JobStatus.SUCCEEDED else None
        return {"status": STATUS[job.status], "video_url": url}

    def _entitled_app(self, who: requests.Caller, source: str | None) -> App:
        app = self.apps.get(who.bundle_id)
        if app is None:
            raise ApiError(INVALID_ACCOUNT, f"invalid account: app {who.bundle_id} is not registered")
        self.entitlements.require(app, who.user_id, source)
        return app

    def _submit(self, app: App, who: requests.Caller, job: Job, table: dict[int, int],
                generate: Callable[[PixverseClient], int]) -> dict[str, Any]:
        s = self._settings
        held = self.limits.reserve(app, who.user_id, job.job_id, s.slot_submit_lease_seconds,
                                   finished=self._finished, expired=self._reap)
        job.status = JobStatus.SUBMITTING
        job.provider = {"name": "pixverse", "month": held.month, "slot": held.slot}
        try:
            self.jobs.create(job)
        except Exception:
            self.limits.give_back(app.bundle_id, who.user_id, held, job.job_id)
            raise
        try:
            with self._pixverse() as pixverse:
                video_id = str(generate(pixverse))
        except PixverseError as exc:
            self._abandon(job, held, f"Pixverse refused the submission: {exc.message}")
            raise from_provider(exc.err_code, exc.message, table) from exc
        except Exception:
            self._abandon(job, held, "the submission failed")
            raise
        self._record_accepted(job, video_id)
        try:
            flows.start(self._sfn, s.pixverse_flow_arn, job.job_id,
                        {"job_id": job.job_id, "video_id": video_id, "wait": s.poll_initial_seconds, "polls": 0})
        except Exception:
            self._abandon(job, held, "the generation could not be followed")
            raise
        try:  # the flow now owns the slot; its lease covers the whole generation
            self.limits.extend(app.bundle_id, who.user_id, held.slot, job.job_id,
                               s.generation_deadline_seconds + s.slot_lease_slack_seconds)
        except Exception:
            logger.exception("could not extend the slot lease", extra={"job_id": job.job_id})
        return {"video_id": job.job_id, "message": None}

    def _record_accepted(self, job: Job, video_id: str) -> None:
        """Pixverse accepted: store its id. If this write fails the flow, started with the id, adopts it."""
        try:
            self.jobs.transition(job.job_id, JobStatus.RUNNING, provider=(job.provider or {}) | {"video_id": video_id})
        except Conflict:
            pass  # the flow adopted it first
        except Exception:
            logger.exception("could not record the accepted generation; the flow will adopt it",
                             extra={"job_id": job.job_id, "provider_video_id": video_id})

    def _abandon(self, job: Job, held: Reservation, error: str) -> None:
        """The submission did not become a followed generation: it fails, and gives back slot and quota."""
        bundle_id, user_id = split_owner(job.owner)
        try:
            self.jobs.transition(job.job_id, JobStatus.FAILED, error=error, output={"quota_returned": True})
        except Conflict:  # a flow did start after all and ended the job: its outcome decides the quota
            current = self.jobs.get(job.job_id)
            self.limits.release(bundle_id, user_id, held.slot, job.job_id)
            if current is not None and (current.output or {}).get("quota_returned"):
                self.limits.return_quota(bundle_id, user_id, held.month, job.job_id)
            return
        except Exception:
            logger.exception("could not record the failed submission", extra={"job_id": job.job_id})
        self.limits.give_back(bundle_id, user_id, held, job.job_id)

    def _finished(self, job_id: str) -> bool:
        job = self.jobs.get(job_id)
        return job is not None and job.status.terminal

    def _reap(self, job_id: str) -> None:
        """A job whose submit lease expired while still `submitting` was killed mid-submission: it ends
        failed with its quota returned (the failure is ours); its slot is free for the taking. Best
        effort: a failure here must not cost the new submission anything."""
        try:
            job = self.jobs.get(job_id)
            if job is None or job.status is not JobStatus.SUBMITTING:
                return
            self.jobs.transition(job_id, JobStatus.FAILED, error="the submission did not complete",
                                 output={"quota_returned": True})
            bundle_id, user_id = split_owner(job.owner)
            self.limits.return_quota(bundle_id, user_id, str((job.provider or {}).get("month", "")), job_id)
        except Conflict:
            pass
        except Exception:
            logger.exception("could not end an abandoned submission", extra={"job_id": job_id})


def _trace(job: Job, step: str) -> str:
    # One Ai-trace-id per job and step: a retried submission gets Pixverse's first answer, not a second charge.
    return str(uuid.uuid5(uuid.UUID(job.job_id), step))


def _generation(app: App) -> dict[str, Any]:
    d = app.pixverse
    return {"model": d.model, "quality": d.quality, "duration": d.duration, "motion_mode": d.motion_mode}
