"""TopView submissions from mobile callers. Same protocol as the Pixverse endpoints: identity and
entitlement, a per-user slot (a lease) and a monthly generation reserved together, the job recorded
(`submitting`) before TopView is called, then files uploaded and the first task submitted
synchronously, so that TopView's refusals reach the caller with the error table's status.

4007 (an unfinished task exists on the account) is not a refusal: the job is accepted and its flow
resubmits later, within the waiting budget (`topview_busy_wait_seconds`, or the app's own); a budget
of 0 answers 429 at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reelgate import flows
from reelgate.errors import Conflict
from reelgate.jobs import Job, JobStatus, JobStore, now_iso
from reelgate.mobile import requests
from reelgate.mobile.access import Entitlements, Limits
from reelgate.mobile.apps import App, AppRegistry
from reelgate.mobile.errors import INVALID_PARAMETER, NOT_FOUND, ApiError
from reelgate.mobile.service import is_video_id
from reelgate.mobile.slots import Submissions
from reelgate.multipart import Form
from reelgate.observability import logger
from reelgate.providers.topview import Submitted, TopViewClient, TopViewError, UnfinishedTask
from reelgate.settings import Settings
from reelgate.topview import inputs, plans
from reelgate.topview.inputs import Media, Submission
from reelgate.waits import TaskWaits


def busy_budget(app: App | None, settings: Settings) -> int:
    """Seconds a job may wait for TopView's 4007 to clear: the app's own budget, else the deployment's."""
    own = getattr(getattr(app, "topview", None), "busy_wait_seconds", None)
    return int(own) if own is not None else settings.topview_busy_wait_seconds


class TopViewService:
    def __init__(self, *, apps: AppRegistry, entitlements: Entitlements, limits: Limits, jobs: JobStore,
                 client: Callable[[], TopViewClient], sfn: Any, waits: TaskWaits, settings: Settings) -> None:
        self.apps, self.entitlements, self.limits, self.jobs = apps, entitlements, limits, jobs
        self._client, self._sfn, self.waits, self._settings = client, sfn, waits, settings
        self.submissions = Submissions(apps=apps, entitlements=entitlements, limits=limits, jobs=jobs)

    # --- the endpoints ---

    def text2video(self, body: Any, source: str | None = None) -> dict[str, Any]:
        return self.start(inputs.text2video(body), plans.TEXT2VIDEO, source)

    def text2image(self, body: Any, source: str | None = None) -> dict[str, Any]:
        return self.start(inputs.text2image(body), plans.TEXT2IMAGE, source)

    def image2video(self, form: Form, source: str | None = None) -> dict[str, Any]:
        return self.start(inputs.image2video(form), plans.IMAGE2VIDEO, source)

    def video_avatar(self, body: Any, source: str | None = None) -> dict[str, Any]:
        return self.start(inputs.video_avatar(body), plans.VIDEO_AVATAR, source)

    def product_avatar(self, form: Form, source: str | None = None) -> dict[str, Any]:
        return self.start(inputs.product_avatar(form), plans.PRODUCT_AVATAR, source)

    def marketing_video(self, body: Any | Form, source: str | None = None) -> dict[str, Any]:
        sub = inputs.marketing_video_files(body) if isinstance(body, Form) else inputs.marketing_video_link(body)
        return self.start(sub, plans.MARKETING_VIDEO, source)

    def marketing_video_export(self, body: Any, source: str | None = None) -> dict[str, Any]:
        sub = inputs.marketing_video_export(body)
        preview = self._finished_preview(sub.caller, str(sub.input["video_id"]))
        script = int(sub.input["script_id"])
        scripts = {int(p["script_id"]) for p in (preview.output or {}).get("previews", [])}
        if script not in scripts:
            raise ApiError(INVALID_PARAMETER, f"invalid parameter: script_id {script} is not a preview of this "
                                              f"video (previews: {', '.join(map(str, sorted(scripts)))})")
        task_id = (preview.output or {}).get("m2v_task_id") or (preview.provider or {}).get("task_id")
        sub = Submission(sub.caller, sub.input | {"m2v_task_id": task_id})
        return self.start(sub, plans.MARKETING_EXPORT, source)

    # --- the protocol ---

    def start(self, sub: Submission, kind: str, source: str | None) -> dict[str, Any]:
        s, who, submissions = self._settings, sub.caller, self.submissions
        app = submissions.entitled_app(who, source)
        job = Job(kind=kind, owner=who.owner, input={k: v for k, v in sub.input.items() if v is not None})
        step = plans.steps(kind)[0]
        held = submissions.open(app, who, job, s.slot_submit_lease_seconds, "topview",
                                step=0, family=step.family.value, task_id=None, task_ids=[])
        try:
            submitted = self._submit_first(job, sub.files, step, busy_budget(app, s))
        except TopViewError as exc:
            submissions.abandon(job, held, f"TopView refused the submission: {exc.code} {exc.message}")
            raise
        except Exception:
            submissions.abandon(job, held, "the submission failed")
            raise
        task_id = submitted.task_id if submitted else None
        job.provider = (job.provider or {}) | {"task_id": task_id, "task_ids": [task_id] if task_id else [],
                                               "submitted_at": now_iso(), "busy_since": None if task_id else now_iso()}
        if task_id:
            self._register(task_id, job.job_id)
        self._record_accepted(job)
        adopt = {"task_id": task_id, "file_ids": job.input.get("file_ids"), "busy_since": job.provider["busy_since"]}
        try:
            flows.start(self._sfn, s.topview_flow_arn, job.job_id, {"job_id": job.job_id, "polls": 0, "adopt": adopt})
        except Exception:
            submissions.abandon(job, held, "the job could not be followed")
            raise
        submissions.hand_over(app, who, held, job, s.topview_deadline_seconds + s.slot_lease_slack_seconds)
        return {"video_id": job.job_id, "message": None}

    def _submit_first(self, job: Job, files: dict[str, list[Media]], step: plans.Step,
                      budget: int) -> Submitted | None:
        """Upload every file (credential → PUT → check), then submit the first task; None on 4007 when
        the job may wait for TopView to finish the account's unfinished task."""
        s = self._settings
        with self._client() as tv:
            if files:
                job.input["file_ids"] = {name: [tv.upload(m.data, m.content_type, format=m.format) for m in items]
                                         for name, items in files.items()}
            try:
                return step.submit(tv, job, s.topview_notice_url or None, s)
            except UnfinishedTask:
                if budget <= 0:
                    raise
                logger.info("TopView has an unfinished task; the job waits", extra={"job_id": job.job_id})
                return None

    def _register(self, task_id: str, job_id: str) -> None:
        try:
            self.waits.register(task_id, job_id)
        except Exception:  # the flow's first wait registers it again; until then callbacks are 404s
            logger.exception("could not register the task's wait", extra={"job_id": job_id})

    def _record_accepted(self, job: Job) -> None:
        """TopView accepted (or the job waits for 4007): store it. If this write fails, the flow adopts it."""
        try:
            self.jobs.transition(job.job_id, JobStatus.RUNNING, provider=job.provider, input=job.input)
        except Conflict:
            pass
        except Exception:
            logger.exception("could not record the accepted submission; the flow will adopt it",
                             extra={"job_id": job.job_id})

    def _finished_preview(self, who: requests.Caller, video_id: str) -> Job:
        job = self.jobs.get(video_id) if is_video_id(video_id) else None
        if job is None or job.kind != plans.MARKETING_VIDEO or job.owner != who.owner:
            raise ApiError(NOT_FOUND, "video not found")
        if job.status is not JobStatus.SUCCEEDED:
            raise ApiError(INVALID_PARAMETER, "invalid parameter: video_id is not a finished marketing video preview")
        return job
