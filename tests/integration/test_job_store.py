"""Job store against moto: conditional transitions, terminal jobs frozen, one winner among writers (the race
played out in a fixed order: the condition is what is tested, not moto's thread safety)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from reelgate import aws
from reelgate.errors import Conflict
from reelgate.jobs import Job, JobStatus, JobStore


@pytest.fixture
def store(cloud) -> JobStore:
    return JobStore(aws.table(cloud.env["REELGATE_JOBS_TABLE"]))


def test_a_job_moves_forward_and_keeps_its_fields(store: JobStore) -> None:
    job = store.create(Job(kind="toolkit.concatenate", owner="key#a", input={"length": 2.5}))
    running = store.transition(job.job_id, JobStatus.RUNNING, started_at="2026-01-01T00:00:00+00:00")
    done = store.transition(job.job_id, JobStatus.SUCCEEDED, output={"output_key": "x.mp4", "run_time": 1.25})

    assert running.status is JobStatus.RUNNING and running.started_at == "2026-01-01T00:00:00+00:00"
    assert done.status is JobStatus.SUCCEEDED
    assert store.get(job.job_id).output == {"output_key": "x.mp4", "run_time": 1.25}
    assert store.get(job.job_id).input == {"length": 2.5}
    assert done.expires_at > datetime.now(UTC).timestamp()


def test_a_terminal_job_never_changes(store: JobStore) -> None:
    job = store.create(Job(kind="k", owner="o"))
    store.transition(job.job_id, JobStatus.FAILED, error="boom")

    for target in (JobStatus.RUNNING, JobStatus.SUCCEEDED, JobStatus.FAILED):
        with pytest.raises(Conflict):
            store.transition(job.job_id, target, error="overwritten")
    assert store.get(job.job_id).error == "boom"


def test_the_same_job_cannot_be_created_twice(store: JobStore) -> None:
    job = store.create(Job(kind="k", owner="o"))
    with pytest.raises(Conflict):
        store.create(Job(job_id=job.job_id, kind="k", owner="other"))
    assert store.get(job.job_id).owner == "o"


def test_of_writers_that_all_saw_the_job_running_exactly_the_first_wins(store: JobStore, cloud) -> None:
    """The race, made deterministic: every writer read the job as running (its own view), then they write in
    turn. Only the conditional write decides, so one finishes it and the rest get Conflict and change nothing."""
    job = store.create(Job(kind="k", owner="o"))
    store.transition(job.job_id, JobStatus.RUNNING)
    writers = [JobStore(aws.table(cloud.env["REELGATE_JOBS_TABLE"])) for _ in range(4)]
    assert all(w.get(job.job_id).status is JobStatus.RUNNING for w in writers)  # every writer's stale view

    outcomes = []
    for i, writer in enumerate(writers):
        target = JobStatus.SUCCEEDED if i % 2 == 0 else JobStatus.FAILED
        try:
            writer.transition(job.job_id, target, output={"writer": i})
            outcomes.append("won")
        except Conflict:
            outcomes.append("lost")

    assert outcomes == ["won", "lost", "lost", "lost"]
    final = store.get(job.job_id)
    assert final.status is JobStatus.SUCCEEDED and final.output == {"writer": 0}


def test_a_transition_needs_the_job_to_exist_and_to_be_in_an_allowed_state(store: JobStore) -> None:
    with pytest.raises(Conflict):
        store.transition("no-such-job", JobStatus.RUNNING)
    assert store.get("no-such-job") is None  # the failed update created nothing

    job = store.create(Job(kind="k", owner="o"))
    store.transition(job.job_id, JobStatus.RUNNING)
    with pytest.raises(Conflict):
        store.transition(job.job_id, JobStatus.RUNNING)  # running only from queued or submitting
    assert store.get(job.job_id).status is JobStatus.RUNNING


@pytest.mark.parametrize("start", [JobStatus.QUEUED, JobStatus.SUBMITTING])
def test_no_job_moves_back_to_a_starting_state(store: JobStore, start: JobStatus) -> None:
    job = store.create(Job(kind="k", owner="o"))
    store.transition(job.job_id, JobStatus.RUNNING)
    with pytest.raises(ValueError, match="starting state"):
        store.transition(job.job_id, start)
    assert store.get(job.job_id).status is JobStatus.RUNNING


def test_a_callers_jobs_are_listed_by_time(store: JobStore) -> None:
    old = Job(kind="k", owner="key#a", created_at=(datetime.now(UTC) - timedelta(hours=2)).isoformat())
    store.create(old)
    recent = [store.create(Job(kind="k", owner="key#a")) for _ in range(3)]
    store.create(Job(kind="k", owner="key#b"))

    listed = store.list_by_owner("key#a", datetime.now(UTC) - timedelta(minutes=10))
    assert {j.job_id for j in listed} == {j.job_id for j in recent}
