"""A mobile job's slot and monthly generation: one protocol for the Pixverse and the TopView endpoints
(docs/decisions.md, "Mobile slots, quotas and identity").

`Submissions` is the submit side: the caller's entitled app, a slot (a short lease) and the month's
generation reserved with the job recorded `submitting`, the slot handed to the flow once the flow
follows the job, and everything given back when the submission does not become a followed job.

`Endings` is the flows' side: a job ends once; every ended job frees its slot, and gives its month back
when the failure was ours, and every later look at an ended job repeats both (they are idempotent).
"""

from __future__ import annotations

from typing import Any

from reelgate.errors import Conflict, NotFound
from reelgate.jobs import Job, JobStatus, JobStore
from reelgate.mobile.access import Entitlements, Limits, Reservation
from reelgate.mobile.apps import App, AppRegistry
from reelgate.mobile.errors import INVALID_ACCOUNT, ApiError
from reelgate.mobile.requests import Caller
from reelgate.observability import logger


def split_owner(owner: str) -> tuple[str, str]:
    """(bundle id, user id) of a mobile job's owner "app#<bundle id>#<user id>"."""
    bundle_id, user_id = owner.removeprefix("app#").split("#", 1)
    return bundle_id, user_id


def entitled_app(apps: AppRegistry, entitlements: Entitlements, who: Caller, source: str | None) -> App:
    """The caller's registered app, once Apphud (or its cached answer) says the user is entitled."""
    app = apps.get(who.bundle_id)
    if app is None:
        raise ApiError(INVALID_ACCOUNT, f"invalid account: app {who.bundle_id} is not registered")
    entitlements.require(app, who.user_id, source)
    return app


class Submissions:
    def __init__(self, *, apps: AppRegistry, entitlements: Entitlements, limits: Limits, jobs: JobStore) -> None:
        self.apps, self.entitlements, self.limits, self.jobs = apps, entitlements, limits, jobs

    def entitled_app(self, who: Caller, source: str | None) -> App:
        return entitled_app(self.apps, self.entitlements, who, source)

    def open(self, app: App, who: Caller, job: Job, lease_seconds: float, provider: str, **fields: Any) -> Reservation:
        """Reserve a slot and the month's generation for `job` and record it `submitting` (its provider
        record: the provider's name, the reservation, then `fields`); if the record fails, nothing is held."""
        held = self.limits.reserve(app, who.user_id, job.job_id, lease_seconds,
                                   finished=self.finished, expired=self.reap)
        job.status = JobStatus.SUBMITTING
        job.provider = {"name": provider, "month": held.month, "slot": held.slot, **fields}
        try:
            self.jobs.create(job)
        except Exception:
            self.limits.give_back(app.bundle_id, who.user_id, held, job.job_id)
            raise
        return held

    def hand_over(self, app: App, who: Caller, held: Reservation, job: Job, lease_seconds: float) -> None:
        """The flow now owns the slot: its lease covers the whole job. Best effort."""
        try:
            self.limits.extend(app.bundle_id, who.user_id, held.slot, job.job_id, lease_seconds)
        except Exception:
            logger.exception("could not extend the slot lease", extra={"job_id": job.job_id})

    def abandon(self, job: Job, held: Reservation, error: str) -> None:
        """The submission did not become a followed job: it fails, and gives back slot and quota."""
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

    def finished(self, job_id: str) -> bool:
        job = self.jobs.get(job_id)
        return job is not None and job.status.terminal

    def reap(self, job_id: str) -> None:
        """A job whose submit lease expired while still `submitting` was killed mid-submission: it ends
        failed with its quota returned (the failure is ours), before the new submission is counted; its
        slot is free for the taking. Best effort: a failure here must not cost the new submission anything."""
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


class Endings:
    def __init__(self, *, jobs: JobStore, limits: Limits) -> None:
        self.jobs, self.limits = jobs, limits

    def job(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise NotFound(f"job {job_id} not found")
        return job

    def end(self, job: Job, to: JobStatus, *, ours: bool, **fields: Any) -> None:
        """End the job; `ours`: the failure is not the provider's verdict on it, so the month's generation
        is given back. A failed job keeps the output it had unless `fields` brings one."""
        if to is JobStatus.FAILED:
            fields["output"] = (fields.get("output") or job.output or {}) | {"quota_returned": ours}
        try:
            job = self.jobs.transition(job.job_id, to, **fields)
        except Conflict:
            job = self.job(job.job_id)  # another attempt ended it first; its outcome stands
            self.free(job)
            return
        self.free(job)  # if this fails, the next look at the (terminal) job frees it again

    def free(self, job: Job) -> None:
        """Release the ended job's slot and, if it says so, give its generation back (both idempotent)."""
        provider = job.provider or {}
        bundle_id, user_id = split_owner(job.owner)
        if "slot" in provider:
            self.limits.release(bundle_id, user_id, int(provider["slot"]), job.job_id)
        if job.status is JobStatus.FAILED and (job.output or {}).get("quota_returned") and "month" in provider:
            self.limits.return_quota(bundle_id, user_id, str(provider["month"]), job.job_id)
