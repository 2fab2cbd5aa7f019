"""A request without a webhook waits for its job, looking less often the longer it waits."""

from __future__ import annotations

from typing import Any

from reelgate.jobs import Job, JobStatus
from reelgate.settings import Settings
from reelgate.toolkit.service import Toolkit


class Jobs:
    def __init__(self, finish_after: int) -> None:
        self.reads, self.finish_after = 0, finish_after

    def get(self, job_id: str) -> Job:
        self.reads += 1
        status = JobStatus.SUCCEEDED if self.reads > self.finish_after else JobStatus.RUNNING
        return Job(job_id=job_id, kind="toolkit.image_to_video", owner="key#k", status=status)


def toolkit(jobs: Jobs, sleeps: list[float]) -> Toolkit:
    none: Any = None
    return Toolkit(jobs=jobs, keys=none, ledger=none, media=none, sfn=none,  # type: ignore[arg-type]
                   settings=Settings(), sleep=sleeps.append)


def test_the_wait_between_looks_grows_to_half_a_second() -> None:
    sleeps: list[float] = []

    job = toolkit(Jobs(finish_after=8), sleeps).wait("j", budget=60)

    assert job.status is JobStatus.SUCCEEDED
    assert sleeps[0] == 0.1 and sleeps == sorted(sleeps) and max(sleeps) == 0.5
    assert len(sleeps) == 8


def test_a_job_that_does_not_finish_is_answered_as_it_is_within_the_budget(monkeypatch: Any) -> None:
    sleeps: list[float] = []
    clock = [0.0]
    monkeypatch.setattr("reelgate.toolkit.service.time.monotonic", lambda: clock[0] + sum(sleeps))

    job = toolkit(Jobs(finish_after=10_000), sleeps).wait("j", budget=5)

    assert job.status is JobStatus.RUNNING and sum(sleeps) <= 5
    assert len(sleeps) < 50 / 3  # a fixed 0.1 s would have read the job 50 times in 5 s
