"""TopViewFlow.step against moto (jobs, bucket) and the TopView simulator over real HTTP: adoption of a
submission that could not record TopView's answer, the deadline, queries that fail, the wait schedule
and the quota rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from reelgate.jobs import Job, JobStatus, JobStore
from reelgate.providers.topview import TopViewClient
from reelgate.settings import Settings
from reelgate.storage import MediaStore
from reelgate.topview.flow import TopViewFlow
from reelgate.topview.outputs import Mirror
from reelgate.waits import TaskWaits

from infra.local.simulators.topview import TopViewSimulator

UID, KEY = "sim-uid", "sim-key"


class Limits:
    def __init__(self) -> None:
        self.released: list[str] = []
        self.returned: list[str] = []

    def release(self, bundle_id: str, user_id: str, slot: int, job_id: str) -> None:
        self.released.append(job_id)

    def return_quota(self, bundle_id: str, user_id: str, month: str, job_id: str) -> None:
        self.returned.append(job_id)


class Nothing:
    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: {}


@pytest.fixture
def parts(cloud, topview_sim: TopViewSimulator, topview_control: httpx.Client,
          monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    from reelgate.settings import get_settings

    host_port = topview_sim.base_url.split("/")[2]
    monkeypatch.setenv("REELGATE_URL_ALLOWLIST", host_port)  # the safe fetcher reads the process's settings
    get_settings.cache_clear()
    settings = Settings(url_allowlist=host_port, topview_notice_url="", topview_poll_initial_seconds=15,
                        topview_poll_max_seconds=60, topview_deadline_seconds=600, mirror_backoff_seconds=0)
    jobs = JobStore(cloud.session.resource("dynamodb").Table("jobs"))
    limits = Limits()
    flow = TopViewFlow(
        jobs=jobs, limits=limits,  # type: ignore[arg-type]
        mirror=Mirror(MediaStore(cloud.client("s3"), "media"), settings),
        client=lambda: TopViewClient(topview_sim.base_url, UID, KEY, retry_base_seconds=0, max_retries=0),
        waits=TaskWaits(cloud.session.resource("dynamodb").Table("state")), sfn=Nothing(), events_client=Nothing(),
        settings=settings,
    )
    return {"flow": flow, "jobs": jobs, "limits": limits, "control": topview_control, "base": topview_sim.base_url}


def submitted_text2video(parts: dict[str, Any], *, status: JobStatus = JobStatus.RUNNING, age: float = 0,
                         task_id: str | None = None) -> Job:
    created = (datetime.now(UTC) - timedelta(seconds=age)).isoformat(timespec="microseconds")
    if task_id is None and status is JobStatus.RUNNING:
        with TopViewClient(parts["base"], UID, KEY) as tv:
            task_id = tv.submit_text2video(prompt="A cat").task_id
    job = Job(kind="topview.text2video", owner="app#com.example.app#u1", status=status, input={"prompt": "A cat"},
              provider={"name": "topview", "month": "2026-11", "slot": 0, "step": 0, "family": "text2video",
                        "task_id": task_id if status is JobStatus.RUNNING else None, "task_ids": []},
              created_at=created)
    return parts["jobs"].create(job)


def test_a_submission_that_could_not_record_topviews_answer_is_adopted(parts) -> None:
    with TopViewClient(parts["base"], UID, KEY) as tv:
        task_id = tv.submit_text2video(prompt="A cat").task_id
    job = submitted_text2video(parts, status=JobStatus.SUBMITTING)

    answer = parts["flow"].step(job.job_id, 0, {"task_id": task_id, "file_ids": None, "busy_since": None})

    adopted = parts["jobs"].get(job.job_id)
    assert adopted.status is JobStatus.RUNNING and adopted.provider["task_id"] == task_id
    assert answer["done"] is False and answer["task_id"] == task_id and answer["listen"] is False


def test_a_submission_without_an_answer_ends_failed_and_gives_its_month_back(parts) -> None:
    job = submitted_text2video(parts, status=JobStatus.SUBMITTING)

    assert parts["flow"].step(job.job_id, 0, None)["done"] is True

    ended = parts["jobs"].get(job.job_id)
    assert ended.status is JobStatus.FAILED and ended.output["quota_returned"] is True
    # (released and returned idempotently: every look at an ended job repeats both)
    assert set(parts["limits"].returned) == {job.job_id} and set(parts["limits"].released) == {job.job_id}


def test_without_callbacks_polls_grow_to_their_maximum(parts) -> None:
    parts["control"].post("/_sim/scenario", json={"stall": True}).raise_for_status()
    job = submitted_text2video(parts)
    waits = [parts["flow"].step(job.job_id, polls, None)["wait"] for polls in range(5)]
    assert waits == [15, 30, 60, 60, 60]


def test_a_failing_query_is_looked_at_again_and_the_deadline_ends_the_job(parts) -> None:
    control = parts["control"]
    control.post("/_sim/scenario", json={"stall": True, "fail_next": {"code": "5003", "times": 5,
                                                                      "endpoint": "common_task/text2video/task/query"}})
    fresh = submitted_text2video(parts)
    assert parts["flow"].step(fresh.job_id, 1, None)["done"] is False
    assert parts["jobs"].get(fresh.job_id).status is JobStatus.RUNNING

    old = submitted_text2video(parts, age=601)
    assert parts["flow"].step(old.job_id, 1, None)["done"] is True
    ended = parts["jobs"].get(old.job_id)
    assert ended.status is JobStatus.FAILED and ended.output["quota_returned"] is True  # ours, not TopView's


def test_topviews_verdict_keeps_the_month_and_success_is_mirrored(parts, cloud) -> None:
    control = parts["control"]
    control.post("/_sim/scenario", json={"polls_until_done": 0}).raise_for_status()
    good = submitted_text2video(parts)
    control.post("/_sim/scenario", json={"final_status": "fail"}).raise_for_status()
    bad = submitted_text2video(parts)

    assert parts["flow"].step(good.job_id, 0, None)["done"] and parts["flow"].step(bad.job_id, 0, None)["done"]

    done, failed = parts["jobs"].get(good.job_id), parts["jobs"].get(bad.job_id)
    assert done.status is JobStatus.SUCCEEDED
    body = cloud.client("s3").get_object(Bucket="media", Key=done.output["video_key"])["Body"].read()
    assert body[4:8] == b"ftyp"
    assert failed.status is JobStatus.FAILED and failed.output["quota_returned"] is False
    assert parts["limits"].returned == []
    assert set(parts["limits"].released) == {good.job_id, bad.job_id}
