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
from reelgate.mobile.access import Entitlements, Limits
from reelgate.mobile.apps import App, AppRegistry
from reelgate.mobile.errors import (
    CONTENT_DELETED,
    IMAGE2VIDEO,
    INVALID_PARAMETER,
    NOT_FOUND,
    TEXT2VIDEO,
    ApiError,
    from_provider,
)
from reelgate.mobile.slots import Submissions
from reelgate.observability import logger
from reelgate.providers.pixverse import PixverseClient, PixverseError
from reelgate.settings import Settings
from reelgate.storage import MediaStore
from reelgate.topview.outputs import status_answer as topview_status

DELETED = 6  # Pixverse's status of a video it deleted
STATUS = {JobStatus.QUEUED: "generating", JobStatus.SUBMITTING: "generating", JobStatus.RUNNING: "generating",
          JobStatus.SUCCEEDED: "success", JobStatus.FAILED: "error"}


def first_look(settings: Settings) -> dict[str, Any]:
    """How a new generation's flow waits first (part of its input): for the webhook, or to poll."""
    if settings.pixverse_webhook_url:
        return {"listen": True, "wait": settings.pixverse_webhook_wait_seconds}
    return {"listen": False, "wait": settings.poll_initial_seconds}


def video_key(job_id: str) -> str:
    return f"videos/{job_id}.mp4"


def is_video_id(value: str) -> bool:
    """Reelgate's video ids are canonical uuid4 strings (122 random bits); nothing else can exist."""
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return False
    return parsed.version == 4 and str(parsed) == value


class MobileApi:
    def __init__(self, *, apps: AppRegistry, entitlements: Entitlements, limits: Limits, jobs: JobStore,
                 media: MediaStore, pixverse: Callable[[], PixverseClient], sfn: Any, settings: Settings) -> None:
        self.apps, self.entitlements, self.limits, self.jobs = apps, entitlements, limits, jobs
        self.media, self._pixverse, self._sfn, self._settings = media, pixverse, sfn, settings
        self.submissions = Submissions(apps=apps, entitlements=entitlements, limits=limits, jobs=jobs)

    def text_to_video(self, body: Any, source: str | None = None) -> dict[str, Any]:
        who, prompt = requests.caller(body), requests.prompt(body)
        app = self.submissions.entitled_app(who, source)
        job = Job(kind="pixverse.text2video", owner=who.owner, input={"prompt": prompt})
        return self._submit(app, who, job, TEXT2VIDEO, lambda px: px.text_to_video(
            prompt=prompt, aspect_ratio=app.pixverse.aspect_ratio, trace_id=_trace(job, "generate"),
            **_generation(app)))

    def image_to_video(self, fields: dict[str, str], upload: requests.Image | None,
                       source: str | None = None) -> dict[str, Any]:
        who, prompt = requests.caller(fields), requests.prompt(fields)
        image = requests.image(upload)
        app = self.submissions.entitled_app(who, source)
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
        link = self.media.link(video_key(job.job_id)) if job.status is JobStatus.SUCCEEDED else None
        return {"status": STATUS[job.status], "video_url": link.url if link else None,
                "expires_at": link.expires_iso if link else None}

    def _submit(self, app: App, who: requests.Caller, job: Job, table: dict[int, int],
                generate: Callable[[PixverseClient], int]) -> dict[str, Any]:
        s, submissions = self._settings, self.submissions
        held = submissions.open(app, who, job, s.slot_submit_lease_seconds, "pixverse")
        try:
            with self._pixverse() as pixverse:
                video_id = str(generate(pixverse))
        except PixverseError as exc:
            submissions.abandon(job, held, f"Pixverse refused the submission: {exc.message}")
            raise from_provider(exc.err_code, exc.message, table) from exc
        except Exception:
            submissions.abandon(job, held, "the submission failed")
            raise
        self._record_accepted(job, video_id)
        try:
            flows.start(self._sfn, s.pixverse_flow_arn, job.job_id,
                        {"job_id": job.job_id, "video_id": video_id, "polls": 0, "done": False, **first_look(s)})
        except Exception:
            submissions.abandon(job, held, "the generation could not be followed")
            raise
        submissions.hand_over(app, who, held, job, s.generation_deadline_seconds + s.slot_lease_slack_seconds)
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


def _trace(job: Job, step: str) -> str:
    # One Ai-trace-id per job and step: a retried submission gets Pixverse's first answer, not a second charge.
    return str(uuid.uuid5(uuid.UUID(job.job_id), step))


def _generation(app: App) -> dict[str, Any]:
    d = app.pixverse
    return {"model": d.model, "quality": d.quality, "duration": d.duration, "motion_mode": d.motion_mode}
