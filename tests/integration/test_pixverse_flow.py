"""The Pixverse flow on moto's ASL engine with the real handlers and the provider simulators:
submit -> (Wait -> Poll -> Choice)* -> Done, the Catch path, and the deadline."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from reelgate import aws
from reelgate.dynamo import from_dynamo
from reelgate.mobile.access import Limits
from reelgate.mobile.apps import App, AppRegistry

from infra.local.lambdas import invoke
from infra.local.simulators.apphud import ApphudSimulator
from infra.local.simulators.pixverse import PixverseSimulator
from tests.helpers import event, reply
from tests.integration.conftest import _reset_caches

BUNDLE = "com.example.app"


@pytest.fixture
def providers(cloud, monkeypatch: pytest.MonkeyPatch) -> Iterator[PixverseSimulator]:
    pixverse, apphud = PixverseSimulator(api_key="px-key"), ApphudSimulator(api_keys=("app_key",))
    base = pixverse.start()
    monkeypatch.setenv("PIXVERSE_BASE_URL", base)
    monkeypatch.setenv("PIXVERSE_API_KEY", "px-key")
    monkeypatch.setenv("APPHUD_BASE_URL", apphud.start())
    monkeypatch.setenv("REELGATE_TEST_APPHUD_KEY", "app_key")
    monkeypatch.setenv("REELGATE_URL_ALLOWLIST", base.split("/")[2])
    monkeypatch.setenv("REELGATE_POLL_INITIAL_SECONDS", "0")
    monkeypatch.setenv("REELGATE_POLL_MAX_SECONDS", "0")
    monkeypatch.setenv("REELGATE_MIRROR_BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("REELGATE_EVENT_BUS", "default")  # the account's default bus (no CDK stack here)
    _reset_caches()
    from reelgate.mobile import api

    api.mobile.cache_clear()
    api.generations.cache_clear()
    AppRegistry(aws.table(cloud.env["REELGATE_STATE_TABLE"])).put(
        App(bundle_id=BUNDLE, apphud_key_ref="env:REELGATE_TEST_APPHUD_KEY", concurrent_generations=1))
    try:
        yield pixverse
    finally:
        api.mobile.cache_clear()
        api.generations.cache_clear()
        pixverse.stop()
        apphud.stop()


def submit(prompt: str = "A cat", user: str = "active_user") -> tuple[int, Any]:
    body = {"app_bundle_id": BUNDLE, "apphud_user_id": user, "prompt": prompt}
    return reply(invoke("text_to_video", event("text_to_video", body)))


def wait_terminal(cloud, job_id: str, timeout: float = 30) -> dict[str, Any]:
    table = aws.table(cloud.env["REELGATE_JOBS_TABLE"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = from_dynamo(table.get_item(Key={"job_id": job_id})["Item"])
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {job['status']}")


def history(cloud, job_id: str) -> list[str]:
    sfn = aws.client("stepfunctions")
    arn = cloud.env["REELGATE_PIXVERSE_FLOW_ARN"].replace(":stateMachine:", ":execution:") + f":{job_id}"
    for _ in range(100):
        if sfn.describe_execution(executionArn=arn)["status"] != "RUNNING":
            break
        time.sleep(0.05)
    return [e["type"] for e in sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]]


def running_slots(cloud, user: str = "active_user") -> int:
    return Limits(aws.client("dynamodb"), cloud.env["REELGATE_STATE_TABLE"]).running(BUNDLE, user)


def test_a_generation_is_polled_to_success_and_mirrored(cloud, providers) -> None:
    providers.configure(polls_until_done=3)

    status, body = submit()
    job = wait_terminal(cloud, body["video_id"])

    assert status == 200 and body["message"] is None
    assert job["status"] == "succeeded" and job["output"]["video_key"] == f"videos/{body['video_id']}.mp4"
    mirrored = aws.client("s3").get_object(Bucket="media", Key=job["output"]["video_key"])["Body"].read()
    assert mirrored[4:8] == b"ftyp"
    events = history(cloud, body["video_id"])
    # three polls at status 5, then status 1
    assert events.count("WaitStateEntered") == 4 and events.count("ChoiceStateEntered") == 4
    assert events[-1] == "ExecutionSucceeded"
    assert running_slots(cloud) == 0


def test_an_unexpected_task_failure_takes_the_catch_path_and_frees_the_slot(cloud, providers,
                                                                             monkeypatch) -> None:
    from reelgate.storage import MediaStore

    def broken_upload(*_: Any, **__: Any) -> None:
        raise RuntimeError("the bucket is on fire")

    providers.configure(polls_until_done=1)
    monkeypatch.setattr(MediaStore, "upload_file", broken_upload)  # every poll attempt raises

    status, body = submit()
    job = wait_terminal(cloud, body["video_id"])

    assert status == 200
    assert job["status"] == "failed" and "the bucket is on fire" in job["error"]
    events = history(cloud, body["video_id"])
    assert "TaskFailed" in events and events[-1] == "ExecutionFailed"
    assert running_slots(cloud) == 0


def test_a_provider_that_stalls_past_the_deadline_ends_in_error(cloud, providers, monkeypatch) -> None:
    providers.configure(stall=True)
    monkeypatch.setenv("REELGATE_GENERATION_DEADLINE_SECONDS", "1")
    _reset_caches()

    status, body = submit()
    job = wait_terminal(cloud, body["video_id"])

    assert job["status"] == "failed" and "deadline" in job["error"]
    # the job ends first, then its slot is freed (a separate write of the same task): look for a few seconds
    freed = time.monotonic() + 5
    while running_slots(cloud) and time.monotonic() < freed:
        time.sleep(0.05)
    assert running_slots(cloud) == 0
    status, body = submit()  # the slot is free again: a new generation is accepted
    assert status == 200, body


def test_a_typical_60_second_generation_costs_at_most_20_state_transitions(cloud, providers, capsys) -> None:
    from reelgate.mobile.generation import Generations
    from reelgate.settings import Settings

    # With the production schedule (5 s growing to 30 s), how many looks does a 60 s generation take? The
    # first wait is the submission's (poll_initial_seconds), each later one the poll task's next_wait.
    production = Settings(_env_file=None, poll_initial_seconds=5, poll_max_seconds=30, poll_growth=2.0)
    generations = Generations(jobs=None, limits=None, media=None, pixverse=None, events_client=None,
                              settings=production)
    schedule = [production.poll_initial_seconds] + [generations.next_wait(polls) for polls in range(1, 20)]
    assert schedule[:6] == [5, 10, 20, 30, 30, 30]
    looks = next(n for n in range(1, 20) if sum(schedule[:n]) >= 60)
    assert looks == 4
    providers.configure(polls_until_done=looks - 1)  # the same number of looks, without waiting for real

    _, body = submit()
    wait_terminal(cloud, body["video_id"])
    events = history(cloud, body["video_id"])
    transitions = sum(1 for e in events if e.endswith("StateEntered"))

    with capsys.disabled():
        print(f"\n60 s generation: waits {schedule[:looks]} s, {looks} polls, {transitions} state transitions")
    assert events[-1] == "ExecutionSucceeded" and events.count("TaskStateEntered") == looks
    assert transitions <= 20
