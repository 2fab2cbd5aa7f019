"""Mobile submissions and status reads. Pixverse is called synchronously so that its refusals
reach the caller with the table's status; the flow then follows the generation to its end."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from reelgate import flows
from reelgate.jobs import Job, JobStatus, JobStore
from reelgate.mobile import requests
from reelgate.mobile.access import Entitlements, Limits
from reelgate.mobile.apps import App, AppRegistry
from reelgate.mobile.errors import (
    CONTENT_DELETED,
    IMAGE2VIDEO,
    INVALID_ACCOUNT,
    INVALID_PARAMETER,
    NO_ACCESS,
    NOT_FOUND,
    TEXT2VIDEO,
    ApiError,
    from_provider,
)
from reelgate.providers.pixverse import PixverseClient, PixverseError
from reelgate.settings import Settings
from reelgate.storage import MediaStore

DELETED = 6  # Pixverse's status of a video it deleted
STATUS = {JobStatus.QUEUED: "generating", JobStatus.RUNNING: "generating",
          JobStatus.SUCCEEDED: "success", JobStatus.FAILED: "error"}


def video_key(job_id: str) -> str:
    return f"videos/{job_id}.mp4"


class MobileApi:
    def __init__(self, *, apps: AppRegistry, entitlements: Entitlements, limits: Limits, jobs: JobStore,
                 media: MediaStore, pixverse: Callable[[], PixverseClient], sfn: Any, settings: Settings) -> None:
        self.apps, self.entitlements, self.limits, self.jobs = apps, entitlements, limits, jobs
        self.media, self._pixverse, self._sfn, self._settings = media, pixverse, sfn, settings

    def text_to_video(self, body: Any) -> dict[str, Any]:
        who, prompt = requests.caller(body), requests.prompt(body)
        app = self._entitled_app(who)
        job = Job(kind="pixverse.text2video", owner=who.owner, input={"prompt": prompt})
        return self._submit(app, who, job, TEXT2VIDEO, lambda px: px.text_to_video(
            prompt=prompt, aspect_ratio=app.pixverse.aspect_ratio, trace_id=_trace(job, "generate"),
            **_generation(app)))

    def image_to_video(self, fields: dict[str, str], upload: requests.Image | None) -> dict[str, Any]:
        who, prompt = requests.caller(fields), requests.prompt(fields)
        image = requests.image(upload)
        app = self._entitled_app(who)
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
        job = self.jobs.get(video_id) if len(video_id) <= 64 else None
        if job is None or not job.kind.startswith("pixverse."):
            raise ApiError(NOT_FOUND, "video not found")
        if job.owner != who.owner:
            raise ApiError(NO_ACCESS, "no access to this video")
        if (job.output or {}).get("provider_status") == DELETED:
            raise ApiError(CONTENT_DELETED, "the content was deleted")
        url = self.media.url(video_key(job.job_id)) if job.status is JobStatus.SUCCEEDED else None
        return {"status": STATUS[job.status], "video_url": url}

    def _entitled_app(self, who: requests.Caller) -> App:
        app = self.apps.get(who.bundle_id)
        if app is None:
            raise ApiError(INVALID_ACCOUNT, f"invalid account: app {who.bundle_id} is not registered")
        self.entitlements.require(app, who.user_id)
        return app

    def _submit(self, app: App, who: requests.Caller, job: Job, table: dict[int, int],
                generate: Callable[[PixverseClient], int]) -> dict[str, Any]:
        month = self.limits.reserve(app, who.user_id)
        try:
            with self._pixverse() as pixverse:
                video_id = generate(pixverse)
        except PixverseError as exc:
            self.limits.give_back(app.bundle_id, who.user_id, month)
            raise from_provider(exc.err_code, exc.message, table) from exc
        except Exception:
            self.limits.give_back(app.bundle_id, who.user_id, month)
            raise
        job.status = JobStatus.RUNNING
        job.provider = {"name": "pixverse", "video_id": str(video_id), "month": month}
        self.jobs.create(job)
        try:
            flows.start(self._sfn, self._settings.pixverse_flow_arn, job.job_id,
                        {"job_id": job.job_id, "wait": self._settings.poll_initial_seconds, "polls": 0})
        except Exception:
            self.jobs.transition(job.job_id, JobStatus.FAILED, error="the generation could not be followed")
            self.limits.release_slot(app.bundle_id, who.user_id)
            raise
        return {"video_id": job.job_id, "message": None}


def _trace(job: Job, step: str) -> str:
    # One Ai-trace-id per job and step: a retried submission gets Pixverse's first answer, not a second charge.
    return str(uuid.uuid5(uuid.UUID(job.job_id), step))


def _generation(app: App) -> dict[str, Any]:
    d = app.pixverse
    return {"model": d.model, "quality": d.quality, "duration": d.duration, "motion_mode": d.motion_mode}
