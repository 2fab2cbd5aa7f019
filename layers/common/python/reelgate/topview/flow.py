"""The TopView flow's tasks (infra/statemachines/topview.asl.json).

`step` looks at the job's current TopView task (always through TopView's query: a callback only says
"look now", so a forged or stale one changes nothing), finishes a step when TopView did (copying its
results into the bucket), submits the next one, and says how long to wait. Each wait is a
`.waitForTaskToken` whose token `arm` records; a callback resumes it at once, and its timeout makes
the next look a poll, with a growing interval, until the job's deadline.

Quota rule (as Pixverse's): a job ended by TopView's verdict (a failed or moderated task) stays
counted; one ended because of us or of TopView's unavailability (deadline, a copy that could not be
made, an unexpected failure, 4007 past the waiting budget) gives its monthly generation back. Every
ended job frees its slot, and every later look at it repeats the release.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from reelgate.errors import Conflict
from reelgate.flows import failure_message, resume
from reelgate.jobs import Job, JobStatus, JobStore, now_iso
from reelgate.mobile.access import Limits
from reelgate.mobile.slots import Endings
from reelgate.observability import logger
from reelgate.providers.topview import Family, TaskResult, TopViewClient, TopViewError, UnfinishedTask
from reelgate.providers.topview_errors import NO_RESPONSE, SECURITY, http_status
from reelgate.settings import Settings
from reelgate.topview import outputs, plans
from reelgate.topview.outputs import Mirror, MirrorFailed
from reelgate.topview.service import busy_budget
from reelgate.waits import TaskWaits

MODERATION = frozenset({"4006", SECURITY})  # TopView's verdict on the content: the generation stays counted
class TopViewFlow:
    def __init__(self, *, jobs: JobStore, limits: Limits, mirror: Mirror, client: Callable[[], TopViewClient],
                 waits: TaskWaits, sfn: Any, events_client: Any, settings: Settings,
                 app_budget: Callable[[Job], int] | None = None) -> None:
        self.jobs, self.limits, self.mirror, self._client, self.waits = jobs, limits, mirror, client, waits
        self._sfn, self._events, self._settings = sfn, events_client, settings
        self.endings = Endings(jobs=jobs, limits=limits)
        self._budget = app_budget or (lambda job: busy_budget(None, settings))

    # --- flow tasks ---

    def step(self, job_id: str, polls: int = 0, adopt: dict[str, Any] | None = None) -> dict[str, Any]:
        job = self.endings.job(job_id)
        if job.status is JobStatus.SUBMITTING:
            job = self._adopt(job, adopt)
        if job.status.terminal:
            self.endings.free(job)
            return self._done(job_id)
        provider = job.provider or {}
        index = int(provider.get("step", 0))
        task_id = provider.get("task_id")
        if not task_id:
            return self._submit(job, index, polls)
        step = plans.steps(job.kind)[index]
        result = self._look(job, step.family, str(task_id))
        if result is not None and result.terminal:
            outcome = self._step_finished(job, index, result)
            if outcome is not None:
                return outcome
        if self._past_deadline(job):
            self.endings.end(job, JobStatus.FAILED, ours=True, error="TopView did not finish before the deadline")
            return self._done(job_id)
        return self._listen(job_id, str(task_id), polls + 1)

    def arm(self, job_id: str, task_id: str, token: str) -> None:
        """The flow waits for `task_id` with `token`; a callback that came meanwhile resumes it now."""
        if self.waits.arm(task_id, job_id, token):
            resume(self._sfn, token, {"task_id": task_id, "early": True})

    def fail(self, job_id: str, error: dict[str, Any]) -> None:
        """The flow's catch path: an unexpected failure still ends the job and frees the slot."""
        job = self.endings.job(job_id)
        if job.status.terminal:
            self.endings.free(job)
        else:
            self.endings.end(job, JobStatus.FAILED, ours=True, error=f"the job failed: {failure_message(error)}")

    # --- steps ---

    def _look(self, job: Job, family: Family, task_id: str) -> TaskResult | None:
        try:
            with self._client() as tv:
                return tv.query(family, task_id, script_id=plans.script_id(job))
        except (TopViewError, TimeoutError) as exc:
            logger.warning("TopView query failed; will look again",
                           extra={"job_id": job.job_id, "code": getattr(exc, "code", None)})
            return None

    def _step_finished(self, job: Job, index: int, result: TaskResult) -> dict[str, Any] | None:
        """Record a finished task; None when its results could not be copied yet (look again)."""
        if not result.succeeded:
            self.endings.end(job, JobStatus.FAILED, ours=False, error=f"TopView: {result.error or 'the task failed'}")
            return self._done(job.job_id)
        last = index + 1 == len(plans.steps(job.kind))
        try:
            produced = self._copy(job, result, final=last)
        except MirrorFailed as exc:
            if not exc.permanent and not self._past_deadline(job):
                logger.warning("copy failed; will try again at the next look", extra={"job_id": job.job_id})
                return None
            self.endings.end(job, JobStatus.FAILED, ours=True, error=f"TopView's result could not be copied: {exc}")
            return self._done(job.job_id)
        provider = job.provider or {}
        output = (job.output or {}) | produced.pop("output", {})
        if last:
            self.endings.end(job, JobStatus.SUCCEEDED, ours=False, output=output)
            return self._done(job.job_id)
        try:
            job = self.jobs.revise(job.job_id, JobStatus.RUNNING, where={"provider.step": index},
                                   provider=provider | produced | {"step": index + 1, "task_id": None},
                                   output=output)
        except Conflict:
            return self.step(job.job_id)  # another look moved it on (or ended it) first
        return self._submit(job, index + 1, 0)

    def _copy(self, job: Job, result: TaskResult, *, final: bool) -> dict[str, Any]:
        """The step's results in the bucket: provider fields to keep, and `output` for the job record."""
        job_id, kind = job.job_id, job.kind
        if kind == plans.PRODUCT_AVATAR and not final:
            if not result.replace_key:
                raise MirrorFailed("the replace step returned no productReplaceResultKey", permanent=True)
            image = self.mirror.image(result.image_url, f"images/{job_id}") if result.image_url else None
            return {"replace_key": result.replace_key, "output": {"image_key": image} if image else {}}
        if kind == plans.TEXT2IMAGE:
            assert result.image_url is not None
            return {"output": {"image_key": self.mirror.image(result.image_url, f"images/{job_id}")}}
        if kind == plans.MARKETING_VIDEO:
            previews = []
            for preview in result.previews:
                if not preview.video_url or preview.status == "fail":
                    continue
                name = f"preview-{preview.script_id}"
                cover = self.mirror.image(preview.cover_url, f"images/{job_id}/{name}") if preview.cover_url else None
                previews.append({"script_id": preview.script_id, "duration_ms": preview.duration_ms, "cover_key": cover,
                                 "video_key": self.mirror.video(preview.video_url, outputs.video_key(job_id, name))})
            if not previews:
                raise MirrorFailed("TopView listed no usable preview", permanent=True)
            return {"output": {"previews": previews, "video_key": previews[0]["video_key"],
                               "m2v_task_id": result.task_id}}
        assert result.video_url is not None
        return {"output": {"video_key": self.mirror.video(result.video_url, outputs.video_key(job_id))}}

    def _submit(self, job: Job, index: int, polls: int) -> dict[str, Any]:
        """Submit step `index` (the next step, or a retry after 4007 or unavailability)."""
        s, provider = self._settings, job.provider or {}
        step = plans.steps(job.kind)[index]
        try:
            with self._client() as tv:
                submitted = step.submit(tv, job, s.topview_notice_url or None, s)
        except UnfinishedTask:
            return self._busy(job, index, polls, "4007")
        except TopViewError as exc:
            if http_status(exc.code) >= 500 and not (exc.code == NO_RESPONSE and exc.maybe_submitted):
                return self._busy(job, index, polls, exc.code)  # TopView unavailable: try again later
            self.endings.end(job, JobStatus.FAILED, ours=exc.code not in MODERATION,
                             error=f"TopView refused step {index + 1}: {exc.code} {exc.message}",
                             output=(job.output or {}) | {"error_code": exc.code})
            return self._done(job.job_id)
        task_id = submitted.task_id
        try:  # never fail the task here: a retried step would submit (and pay for) the task twice
            self.waits.register(task_id, job.job_id)
        except Exception:  # the wait's own arm registers it again
            logger.exception("could not register the task's wait", extra={"job_id": job.job_id})
        fields = {"task_id": task_id, "family": step.family.value, "busy_since": None, "submitted_at": now_iso(),
                  "task_ids": [*provider.get("task_ids", []), task_id]}
        try:
            self.jobs.revise(job.job_id, JobStatus.RUNNING, where={"provider.step": index},
                             provider=provider | fields)
        except Conflict:
            logger.warning("the job changed while a step was submitted", extra={"job_id": job.job_id})
            return self.step(job.job_id)
        return self._listen(job.job_id, task_id, 0)

    def _busy(self, job: Job, index: int, polls: int, code: str) -> dict[str, Any]:
        """TopView cannot take the step now (4007, or unavailable): wait and submit again, within budget."""
        s, provider = self._settings, job.provider or {}
        since = provider.get("busy_since") or now_iso()
        waited = (datetime.now(UTC) - datetime.fromisoformat(since)).total_seconds()
        budget = self._budget(job) if code == "4007" else s.topview_deadline_seconds
        if waited >= budget or self._past_deadline(job):
            self.endings.end(job, JobStatus.FAILED, ours=True, output=(job.output or {}) | {"error_code": code},
                             error=f"TopView kept refusing step {index + 1} ({code}) for {int(waited)} s")
            return self._done(job.job_id)
        if not provider.get("busy_since"):
            try:
                self.jobs.revise(job.job_id, JobStatus.RUNNING, where={"provider.step": index},
                                 provider=provider | {"busy_since": since})
            except Conflict:
                return self.step(job.job_id)
        return {"job_id": job.job_id, "done": False, "polls": polls + 1, "wait": s.topview_busy_retry_seconds,
                "task_id": None, "listen": False, "adopt": None}

    # --- bookkeeping ---

    def _listen(self, job_id: str, task_id: str, polls: int) -> dict[str, Any]:
        """Wait for the task. With callbacks, each wait lasts `topview_callback_wait_seconds` (the callback
        ends it at once; the poll after a timeout is the safety net, so a lost callback costs at most
        that long); without, polls start at `topview_poll_initial_seconds` and grow. `polls` counts the
        looks since the task was submitted."""
        s = self._settings
        listen = bool(s.topview_notice_url)
        if listen:
            wait = s.topview_callback_wait_seconds
        else:
            wait = int(min(s.topview_poll_max_seconds,
                           s.topview_poll_initial_seconds * s.topview_poll_growth ** max(polls - 1, 0)))
        return {"job_id": job_id, "done": False, "polls": polls, "wait": max(wait, 1), "task_id": task_id,
                "listen": listen, "adopt": None}

    @staticmethod
    def _done(job_id: str) -> dict[str, Any]:
        return {"job_id": job_id, "done": True, "polls": 0, "wait": 0, "task_id": None, "listen": False,
                "adopt": None}

    def _adopt(self, job: Job, adopt: dict[str, Any] | None) -> Job:
        """The submission could not record TopView's answer; the flow's input carries it."""
        if not adopt or not (adopt.get("task_id") or adopt.get("busy_since")):
            self.endings.end(job, JobStatus.FAILED, ours=True, error="the submission did not complete")
            return self.endings.job(job.job_id)
        task_id = adopt.get("task_id")
        provider = (job.provider or {}) | {"task_id": task_id, "task_ids": [task_id] if task_id else [],
                                           "busy_since": adopt.get("busy_since"), "submitted_at": now_iso()}
        job_input = job.input | ({"file_ids": adopt["file_ids"]} if adopt.get("file_ids") else {})
        try:
            return self.jobs.transition(job.job_id, JobStatus.RUNNING, provider=provider, input=job_input)
        except Conflict:
            return self.endings.job(job.job_id)

    def _past_deadline(self, job: Job) -> bool:
        return (datetime.now(UTC) - job.created).total_seconds() > self._settings.topview_deadline_seconds
