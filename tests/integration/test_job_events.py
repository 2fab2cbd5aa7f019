"""Every committed status change of the job store and the toolkit ledger reaches the bus (read from the tap)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from reelgate import aws
from reelgate.errors import Conflict
from reelgate.events import DETAIL_TYPE, SOURCE, JobEvents, JobStateChange
from reelgate.jobs import Job, JobStatus, JobStore
from reelgate.toolkit.keys import ApiKeys
from reelgate.toolkit.ledger import Ledger


def tapped(cloud: Any) -> list[JobStateChange]:
    sqs = cloud.client("sqs")
    url = sqs.get_queue_url(QueueName="reelgate-events-tap")["QueueUrl"]
    out: list[JobStateChange] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            body = json.loads(message["Body"])
            assert (body["source"], body["detail-type"]) == (SOURCE, DETAIL_TYPE)
            out.append(JobStateChange.model_validate(body["detail"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return sorted(out, key=lambda e: e.at)


@pytest.fixture
def publisher(cloud) -> JobEvents:
    return JobEvents(aws.client("events"), cloud.env["REELGATE_EVENT_BUS"])


def test_the_job_store_publishes_creation_and_every_transition_with_the_old_status(cloud, publisher) -> None:
    store = JobStore(aws.table(cloud.env["REELGATE_JOBS_TABLE"]), events=publisher)
    job = store.create(Job(kind="pixverse.text2video", owner="app#com.app#u1", status=JobStatus.SUBMITTING,
                           provider={"name": "pixverse"}))
    running = store.transition(job.job_id, JobStatus.RUNNING, provider={"name": "pixverse", "video_id": "7"})
    done = store.transition(job.job_id, JobStatus.SUCCEEDED, output={"video_key": "videos/j.mp4"})
    with pytest.raises(Conflict):
        store.transition(job.job_id, JobStatus.FAILED, error="late")  # refused: nothing to publish

    assert running.provider == {"name": "pixverse", "video_id": "7"} and store.get(job.job_id) == done
    events = tapped(cloud)
    assert [(e.old_status, e.new_status) for e in events] == [
        (None, "submitting"), ("submitting", "running"), ("running", "succeeded")]
    assert {(e.job_id, e.provider, e.kind, e.owner) for e in events} == {
        (job.job_id, "pixverse", "pixverse.text2video", "app#com.app#u1")}
    assert events[-1].output == "videos/j.mp4" and events[-1].at == done.updated_at


def test_the_ledger_publishes_admission_and_settlement(cloud, publisher) -> None:
    state = cloud.env["REELGATE_STATE_TABLE"]
    key = ApiKeys(aws.table(state)).create("k", credits=100)[1]
    books = Ledger(aws.client("dynamodb"), jobs_table=cloud.env["REELGATE_JOBS_TABLE"], state_table=state,
                   max_queue_length=0, events=publisher)
    job = Job(kind="toolkit.concatenate", owner=key.owner, cost=35)
    books.admit(job, key, 35)
    books.settle(job, JobStatus.FAILED, refund=35, error="the clip could not be read")
    with pytest.raises(Conflict):
        books.settle(job, JobStatus.FAILED, refund=35, error="again")

    events = tapped(cloud)
    assert [(e.old_status, e.new_status, e.error) for e in events] == [
        (None, "queued", None), ("queued", "failed", "the clip could not be read")]
    assert events[0].provider == "reelgate" and events[0].owner == key.owner


def test_the_operators_recount_publishes_the_stale_jobs_it_settles(cloud) -> None:
    from infra import admin

    state = cloud.env["REELGATE_STATE_TABLE"]
    key = ApiKeys(aws.table(state)).create("k", credits=100)[1]
    stale = Job(kind="toolkit.concatenate", owner=key.owner, cost=35, created_at="2020-01-01T00:00:00.000000+00:00")
    Ledger(aws.client("dynamodb"), jobs_table=cloud.env["REELGATE_JOBS_TABLE"], state_table=state,
           max_queue_length=0).admit(stale, key, 35)  # no publisher: only the recount's event is expected

    result = admin._queue(admin.parser().parse_args(["queue", "recount", "--stale-after", "60"]), admin.configured())

    assert result["settled_stale"] == [stale.job_id]
    [event] = tapped(cloud)
    assert (event.job_id, event.old_status, event.new_status) == (stale.job_id, "queued", "failed")
    assert admin.event_bus() == cloud.env["REELGATE_EVENT_BUS"]
