"""Job events on the local cloud: every state change of a toolkit job and of a Pixverse generation, read back
from the events tap (the SQS queue the local bus routes every event to) in order, with the documented schema."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import boto3
import httpx
import pytest
from reelgate.events import DETAIL_TYPE, SOURCE, JobStateChange

from tests.e2e.conftest import DEV_KEY, wait_for
from tests.e2e.test_mobile import APP, subscriber
from tests.helpers import circle_image


class Tap:
    """Reads the tap once for every test: events of other tests' jobs are kept, not lost."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.url = info["events_tap"]
        self.sqs = boto3.client("sqs", endpoint_url=info["aws_endpoint"], region_name="us-east-1",
                                aws_access_key_id=info["aws_access_key_id"],
                                aws_secret_access_key=info["aws_secret_access_key"])
        self.by_job: dict[str, list[JobStateChange]] = defaultdict(list)

    def drain(self) -> None:
        while messages := self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                body = json.loads(message["Body"])
                assert (body["source"], body["detail-type"]) == (SOURCE, DETAIL_TYPE), body
                event = JobStateChange.model_validate(body["detail"])  # extra fields are refused
                self.by_job[event.job_id].append(event)
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])

    def of(self, job_id: str, count: int) -> list[JobStateChange]:
        def arrived() -> bool:
            self.drain()
            return len(self.by_job[job_id]) >= count

        wait_for(arrived, timeout=30)
        return sorted(self.by_job[job_id], key=lambda e: e.at)


@pytest.fixture(scope="module")
def tap(local_cloud) -> Tap:
    return Tap(local_cloud.info)


def transitions(events: list[JobStateChange]) -> list[tuple[str | None, str]]:
    return [(e.old_status, e.new_status) for e in events]


def test_make_dev_names_the_tap_on_the_local_aws_endpoint(local_cloud) -> None:
    url = local_cloud.info["events_tap"]
    assert url.startswith(local_cloud.info["aws_endpoint"]) and url.endswith("/reelgate-events-tap")


def test_a_toolkit_job_publishes_each_of_its_changes_in_order(local_cloud, site, tap) -> None:
    circle_image(site.root / "events-circle.jpg", (400, 300))
    body = {"image_url": f"{site.url}/events-circle.jpg", "length": 1, "frame_rate": 15}
    with local_cloud.client() as http:
        response = http.post("/v1/image/convert/video", json=body, headers={"x-api-key": DEV_KEY})
    assert response.status_code == 200, response.text
    job_id = response.json()["job_id"]

    events = tap.of(job_id, 3)

    assert transitions(events) == [(None, "queued"), ("queued", "running"), ("running", "succeeded")]
    assert {(e.version, e.kind, e.provider) for e in events} == {("1", "toolkit.image_to_video", "reelgate")}
    assert len({e.owner for e in events}) == 1 and events[0].owner.startswith("key#")
    assert events[-1].output and events[-1].output.endswith(".mp4") and events[-1].error is None
    assert [e.output for e in events[:-1]] == [None, None]


def test_a_pixverse_generation_publishes_each_of_its_changes_in_order(local_cloud, tap) -> None:
    pixverse = local_cloud.info["pixverse"].removesuffix("/openapi/v2")
    httpx.post(f"{pixverse}/_sim/reset").raise_for_status()
    httpx.post(f"{pixverse}/_sim/scenario", json={"polls_until_done": 1}).raise_for_status()
    user = subscriber({"apphud": local_cloud.info["apphud"]})
    with local_cloud.client() as http:
        response = http.post("/text2video", json={"app_bundle_id": APP, "apphud_user_id": user, "prompt": "A cat"})
        assert response.status_code == 200, response.text
        video_id = str(response.json()["video_id"])

    events = tap.of(video_id, 3)

    assert transitions(events) == [(None, "submitting"), ("submitting", "running"), ("running", "succeeded")]
    assert {(e.kind, e.provider, e.owner) for e in events} == {
        ("pixverse.text2video", "pixverse", f"app#{APP}#{user}")}
    assert (events[-1].output, events[-1].error) == (f"videos/{video_id}.mp4", None)
