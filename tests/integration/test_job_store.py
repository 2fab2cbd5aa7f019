"""Job store against moto: conditional transitions, terminal jobs frozen, one winner among writers."""

from __future__ import annotations

import threading
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


def test_of_concurrent_writers_exactly_one_wins(store: JobStore) -> None:
    job = store.create(Job(kind="k", owner="o"))
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def finish(i: int) -> None:
        barrier.wait()
        try:
            store.transition(job.job_id, JobStatus.SUCCEEDED, output={"writer": i})
            outcomes.append("won")
        except Conflict:
            outcomes.append("lost")

    threads = [threading.Thread(target=finish, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["lost"] * 7 + ["won"]


def test_a_callers_jobs_are_listed_by_time(store: JobStore) -> None:
    old = Job(kind="k", owner="key#a", created_at=(datetime.now(UTC) - timedelta(hours=2)).isoformat())
    store.create(old)
    recent = [store.create(Job(kind="k", owner="key#a")) for _ in range(3)]
    store.create(Job(kind="k", owner="key#b"))

    listed = store.list_by_owner("key#a", datetime.now(UTC) - timedelta(minutes=10))
    assert {j.job_id for j in listed} == {j.job_id for j in recent}
