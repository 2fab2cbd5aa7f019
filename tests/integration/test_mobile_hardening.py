"""Mobile hardening (issue 8): submissions bounded by the invocation, recorded before Pixverse is called,
slots as leases, the quota rule, mirror retries, and a Fail path that still frees the slot.

moto in-process with the real handlers and ASL flow; Pixverse and Apphud are the simulators over HTTP."""

from __future__ import annotations

import importlib
import inspect
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from reelgate import aws
from reelgate.dynamo import from_dynamo
from reelgate.mobile.access import Limits
from reelgate.mobile.apps import App, AppRegistry
from reelgate.providers.pixverse import PixverseClient

from infra.local.lambdas import LocalContext, invoke
from infra.local.simulators.apphud import ApphudSimulator
from infra.local.simulators.pixverse import PixverseSimulator
from tests.helpers import event, reply
from tests.integration.conftest import _reset_caches
from tests.integration.test_pixverse_flow import history, submit, wait_terminal

BUNDLE = "com.example.app"


@dataclass
class Stack:
    pixverse: PixverseSimulator
    apphud: ApphudSimulator
    cloud: Any

    @property
    def jobs_table(self) -> str:
        return str(self.cloud.env["REELGATE_JOBS_TABLE"])

    def limits(self) -> Limits:
        return Limits(aws.client("dynamodb"), self.cloud.env["REELGATE_STATE_TABLE"])

    def running(self, user: str = "active_user") -> int:
        return self.limits().running(BUNDLE, user)

    def used(self, user: str = "active_user") -> int:
        """Generations counted against this month (read from the quota item itself)."""
        key = f"quota#{BUNDLE}#{user}#{datetime.now(UTC).strftime('%Y-%m')}"
        item = aws.table(self.cloud.env["REELGATE_STATE_TABLE"]).get_item(Key={"pk": key}).get("Item", {})
        return int(item.get("count", 0))

    def jobs(self) -> list[dict[str, Any]]:
        return [from_dynamo(i) for i in aws.table(self.jobs_table).scan()["Items"]]

    def generate_calls(self) -> int:
        return sum(1 for c in self.pixverse.state.calls if c["path"].endswith("/generate"))


@pytest.fixture(name="stack")
def stack_fixture(cloud, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    pixverse, apphud = PixverseSimulator(api_key="px-key"), ApphudSimulator(api_keys=("app_key",))
    base = pixverse.start()
    for name, value in {
        "PIXVERSE_BASE_URL": base, "PIXVERSE_API_KEY": "px-key", "APPHUD_BASE_URL": apphud.start(),
        "REELGATE_TEST_APPHUD_KEY": "app_key", "REELGATE_URL_ALLOWLIST": base.split("/")[2],
        "REELGATE_POLL_INITIAL_SECONDS": "0", "REELGATE_POLL_MAX_SECONDS": "0",
        "REELGATE_MIRROR_BACKOFF_SECONDS": "0.01", "REELGATE_PIXVERSE_RETRY_BASE_SECONDS": "0.01",
        "REELGATE_EVENT_BUS": "default", "REELGATE_APPHUD_WEBHOOK_TOKEN": "hook-token",
    }.items():
        monkeypatch.setenv(name, value)
    _reset_caches()
    from reelgate.mobile import api

    api.mobile.cache_clear()
    api.generations.cache_clear()
    AppRegistry(aws.table(cloud.env["REELGATE_STATE_TABLE"])).put(
        App(bundle_id=BUNDLE, apphud_key_ref="env:REELGATE_TEST_APPHUD_KEY", concurrent_generations=1))
    try:
        yield Stack(pixverse, apphud, cloud)
    finally:
        api.mobile.cache_clear()
        api.generations.cache_clear()
        pixverse.stop()
        apphud.stop()


def finished(stack: Stack, video_id: str) -> dict[str, Any]:
    """The job once its flow has ended too (the slot and quota are settled after the job's own write)."""
    job = wait_terminal(stack.cloud, video_id)
    sfn = aws.client("stepfunctions")
    arn = stack.cloud.env["REELGATE_PIXVERSE_FLOW_ARN"].replace(":stateMachine:", ":execution:") + f":{video_id}"
    ends = time.monotonic() + 30
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.monotonic() < ends, f"the flow of {video_id} is still running"
        time.sleep(0.05)
    return job


def settings_changed(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    _reset_caches()
    from reelgate.mobile import api

    api.mobile.cache_clear()
    api.generations.cache_clear()


def injected(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "InternalServerError", "Message": "injected"}}, operation)


# --- 1. a submission is bounded by the invocation's remaining time ---


def test_a_slow_pixverse_attempt_is_cut_at_the_deadline_and_the_submission_gives_everything_back(
        stack: Stack) -> None:
    stack.pixverse.configure(delay_next={"seconds": 9, "endpoint": "video/text/generate"})
    handler = importlib.import_module("functions.text_to_video.handler").handler
    body = {"app_bundle_id": BUNDLE, "apphud_user_id": "active_user", "prompt": "A cat"}

    started = time.monotonic()
    status, answer = reply(handler(event("text_to_video", body), LocalContext("text_to_video", timeout_ms=6000)))
    elapsed = time.monotonic() - started

    assert elapsed < 5.0, f"the submission ran {elapsed:.1f}s of a 6 s invocation"
    assert status == 502 and answer["video_id"] is None
    [job] = stack.jobs()
    assert job["status"] == "failed" and job["output"]["quota_returned"] is True
    assert stack.running() == 0 and stack.used() == 0
    status, body = submit()  # nothing is held: the next submission is accepted
    assert status == 200 and finished(stack, body["video_id"])["status"] == "succeeded"


def test_no_retry_after_wait_is_started_that_cannot_finish_before_the_deadline(stack: Stack) -> None:
    from reelgate import deadline
    from reelgate.providers.pixverse import PixverseError

    stack.pixverse.configure(rate_limit_next={"retry_after": 8, "endpoint": "video/text/generate"})
    client = PixverseClient(stack.pixverse.base_url, "px-key", max_retry_after=30.0)

    started = time.monotonic()
    with deadline.bounded(5.0), pytest.raises(PixverseError) as raised:
        client.text_to_video(prompt="A cat", model="v4.5", quality="540p", duration=5, aspect_ratio="16:9")

    assert raised.value.http_status == 429
    assert time.monotonic() - started < 2.0  # it neither slept 8 s nor tried again
    assert stack.generate_calls() == 1


def test_each_attempt_gets_at_most_the_time_left(stack: Stack) -> None:
    from reelgate import deadline
    from reelgate.providers.pixverse import NO_RESPONSE, PixverseError

    stack.pixverse.configure(delay_next={"seconds": 6, "endpoint": "video/text/generate"})
    client = PixverseClient(stack.pixverse.base_url, "px-key", timeout=30.0)

    started = time.monotonic()
    with deadline.bounded(3.0), pytest.raises(PixverseError) as raised:
        client.text_to_video(prompt="A cat", model="v4.5", quality="540p", duration=5, aspect_ratio="16:9")

    assert raised.value.err_code == NO_RESPONSE
    assert time.monotonic() - started < 3.5  # cut at the deadline, not after the answer's 6 s


# --- 2. the job is recorded before Pixverse is called ---


def test_the_job_is_recorded_as_submitting_before_pixverse_is_called(stack: Stack, monkeypatch) -> None:
    seen: list[list[str]] = []
    original = PixverseClient.text_to_video

    def spying(self: PixverseClient, **kwargs: Any) -> int:
        seen.append([job["status"] for job in stack.jobs()])
        return original(self, **kwargs)

    monkeypatch.setattr(PixverseClient, "text_to_video", spying)
    status, body = submit()

    assert status == 200 and seen == [["submitting"]]
    assert finished(stack, body["video_id"])["status"] == "succeeded"


def test_a_failed_job_write_after_pixverse_accepted_is_adopted_by_the_flow(stack: Stack) -> None:
    failed: list[str] = []

    def fail_first_job_write_after_accept(params: dict[str, Any], **_: Any) -> None:
        if params.get("TableName") == stack.jobs_table and stack.generate_calls() and not failed:
            failed.append(params.get("UpdateExpression", "put"))
            raise injected("UpdateItem")

    events = aws.table(stack.jobs_table).meta.client.meta.events
    for operation in ("PutItem", "UpdateItem"):
        events.register(f"before-parameter-build.dynamodb.{operation}", fail_first_job_write_after_accept)

    status, body = submit()

    assert failed, "the injected failure never happened"
    assert status == 200, body  # the caller holds an id: a retry would pay twice
    job = finished(stack, body["video_id"])
    [provider_id] = stack.pixverse.state.jobs
    assert job["status"] == "succeeded" and job["provider"]["video_id"] == str(provider_id)
    assert stack.generate_calls() == 1
    assert stack.running() == 0 and stack.used() == 1


def test_a_pixverse_refusal_fails_the_recorded_job_and_gives_back_slot_and_quota(stack: Stack) -> None:
    stack.pixverse.configure(fail_next={"code": 500054, "endpoint": "video/text/generate"})

    status, body = submit()

    assert (status, body["code"]) == (403, 500054)
    [job] = stack.jobs()
    assert job["status"] == "failed" and "refused" in job["error"]
    assert stack.running() == 0 and stack.used() == 0


# --- 3. slots are leases; the quota rule; the Fail path still frees the slot ---


class Killed(BaseException):
    """What Lambda does at the timeout: the process is gone, no except/finally of ours runs."""


def test_a_submission_killed_after_reserving_holds_no_slot_once_its_lease_expires(stack: Stack,
                                                                                  monkeypatch) -> None:
    settings_changed(monkeypatch, REELGATE_SLOT_SUBMIT_LEASE_SECONDS="1")

    def killed(self: PixverseClient, **_: Any) -> int:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(PixverseClient, "text_to_video", killed)
        with pytest.raises(Killed):
            submit()
    assert submit()[0] == 429  # the lease is still live (concurrent_generations=1)

    time.sleep(2.1)
    status, body = submit()

    assert status == 200, body
    assert finished(stack, body["video_id"])["status"] == "succeeded"
    [reaped] = [job for job in stack.jobs() if job["job_id"] != body["video_id"]]
    assert reaped["status"] == "failed" and reaped["output"]["quota_returned"] is True
    assert stack.used() == 1  # the killed submission's generation was given back
    assert stack.running() == 0


def test_a_killed_submission_gives_its_month_back_before_the_next_one_is_counted(stack: Stack,
                                                                                   monkeypatch) -> None:
    AppRegistry(aws.table(stack.cloud.env["REELGATE_STATE_TABLE"])).put(App(
        bundle_id=BUNDLE, apphud_key_ref="env:REELGATE_TEST_APPHUD_KEY", concurrent_generations=1,
        monthly_generations=1))
    settings_changed(monkeypatch, REELGATE_SLOT_SUBMIT_LEASE_SECONDS="1")

    def killed(self: PixverseClient, **_: Any) -> int:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(PixverseClient, "text_to_video", killed)
        with pytest.raises(Killed):
            submit()
    time.sleep(2.1)
    status, body = submit()  # the only generation of the month was the killed one: it is given back first

    assert status == 200, body
    assert finished(stack, body["video_id"])["status"] == "succeeded"
    assert stack.used() == 1
    assert submit()[1]["code"] == 500060  # and the month is now really used


def test_the_quota_stays_counted_when_moderation_refuses_and_is_returned_when_the_failure_is_ours(
        stack: Stack, monkeypatch) -> None:
    stack.pixverse.configure(final_status=7, polls_until_done=0)
    _, body = submit(user="active_user")
    moderated = finished(stack, body["video_id"])

    stack.pixverse.configure(stall=True)
    settings_changed(monkeypatch, REELGATE_GENERATION_DEADLINE_SECONDS="1")
    _, body = submit(user="trial_user")
    timed_out = finished(stack, body["video_id"])

    assert moderated["status"] == "failed" and stack.used("active_user") == 1
    assert timed_out["status"] == "failed" and "deadline" in timed_out["error"]
    assert stack.used("trial_user") == 0
    assert moderated["output"]["quota_returned"] is False and timed_out["output"]["quota_returned"] is True
    assert stack.running("active_user") == stack.running("trial_user") == 0


def test_a_slot_whose_release_keeps_failing_in_the_poll_task_is_released_by_the_fail_path(stack: Stack) -> None:
    refused: list[str] = []

    def fail_releases_outside_the_fail_path(params: dict[str, Any], **_: Any) -> None:
        key = params.get("Key", {}).get("pk", {}).get("S", "")
        from_fail_path = any(f.function == "fail" and f.filename.endswith("generation.py") for f in inspect.stack())
        ended = any(job["status"] in ("succeeded", "failed") for job in stack.jobs())
        if key.startswith("slot") and ended and not from_fail_path:
            refused.append(key)
            raise injected("release")

    events = aws.client("dynamodb").meta.events
    for operation in ("DeleteItem", "UpdateItem"):
        events.register(f"before-parameter-build.dynamodb.{operation}", fail_releases_outside_the_fail_path)

    status, body = submit()
    job = finished(stack, body["video_id"])
    steps = history(stack.cloud, body["video_id"])
    for operation in ("DeleteItem", "UpdateItem"):
        events.unregister(f"before-parameter-build.dynamodb.{operation}", fail_releases_outside_the_fail_path)

    assert refused, "the injected failure never happened"
    assert job["status"] == "succeeded"
    assert steps[-1] == "ExecutionFailed"  # the Fail path ran...
    status, body = submit()  # ...and freed the only slot
    assert status == 200 and finished(stack, body["video_id"])["status"] == "succeeded"


# --- 4. mirroring retries transient failures ---


def test_a_mirror_that_fails_twice_then_works_ends_in_success(stack: Stack) -> None:
    stack.pixverse.configure(polls_until_done=0, download_next=[{"http_status": 503},
                                                                {"content_type": "text/html"}])

    _, body = submit()
    job = finished(stack, body["video_id"])

    assert job["status"] == "succeeded", job.get("error")
    mirrored = aws.client("s3").get_object(Bucket="media", Key=job["output"]["video_key"])["Body"].read()
    assert mirrored[4:8] == b"ftyp"
    assert [f.times for f in stack.pixverse.state.faults if f.kind == "download"] == [0, 0]  # both were served
    assert stack.used() == 1


def test_a_mirror_that_never_works_ends_in_error_at_the_deadline_with_the_quota_returned(
        stack: Stack, monkeypatch) -> None:
    settings_changed(monkeypatch, REELGATE_GENERATION_DEADLINE_SECONDS="2")
    stack.pixverse.configure(polls_until_done=0, download_next={"http_status": 503, "times": 100000})

    _, body = submit()
    job = finished(stack, body["video_id"])

    assert job["status"] == "failed" and stack.used() == 0 and stack.running() == 0
    assert "could not be copied" in job["error"] and job["output"]["quota_returned"] is True


def test_a_mirror_refused_for_its_address_ends_in_error_with_the_quota_returned(stack: Stack, monkeypatch) -> None:
    stack.pixverse.configure(polls_until_done=0)
    settings_changed(monkeypatch, REELGATE_URL_ALLOWLIST="")  # the simulator's loopback URL is now refused

    _, body = submit()
    job = finished(stack, body["video_id"])

    assert job["status"] == "failed" and "loopback" in job["error"]
    assert stack.used() == 0 and stack.running() == 0


# --- 6. /get-status tells a stranger nothing ---


def get_status(user: str, video_id: Any) -> tuple[int, Any]:
    body = {"app_bundle_id": BUNDLE, "apphud_user_id": user, "video_id": video_id}
    return reply(invoke("get_status", event("get_status", body)))


def test_another_users_video_answers_exactly_like_an_unknown_one(stack: Stack) -> None:
    _, body = submit(user="active_user")
    video_id = body["video_id"]
    finished(stack, video_id)

    foreign = get_status("trial_user", video_id)
    unknown = get_status("trial_user", str(uuid.uuid4()))

    assert foreign == unknown == (404, {"code": 500008, "message": "video not found"})
    assert get_status("active_user", video_id)[0] == 200


def test_video_ids_are_uuid4_and_anything_else_is_not_looked_up(stack: Stack) -> None:
    _, body = submit()
    finished(stack, body["video_id"])
    assert uuid.UUID(body["video_id"]).version == 4 and str(uuid.UUID(body["video_id"])) == body["video_id"]
    reads: list[Any] = []  # GetItem keys of the jobs table (its client is shared with the other tables)
    aws.table(stack.jobs_table).meta.client.meta.events.register(
        "before-parameter-build.dynamodb.GetItem",
        lambda params, **_: reads.append(params["Key"]) if params.get("TableName") == stack.jobs_table else None)

    others = (body["video_id"].upper(), str(uuid.uuid1()), "x" * 36, str(uuid.uuid4())[:-1])
    for other in others:
        assert get_status("active_user", other) == (404, {"code": 500008, "message": "video not found"})

    looked_up = [key["job_id"]["S"] if isinstance(key["job_id"], dict) else key["job_id"] for key in reads]
    assert [job_id for job_id in looked_up if job_id in others] == []
    assert get_status("active_user", body["video_id"])[0] == 200 and reads  # a real id is read
