"""The Pixverse flow on moto's ASL engine with the real handlers and the provider simulators:
submit -> Choice -> (Wait -> Poll -> Choice)* -> Done when polling, Await -> Poll resumed by PixVerse's
signed webhook, the Catch path, and the deadline."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from reelgate import aws
from reelgate.dynamo import from_dynamo
from reelgate.mobile.access import Limits
from reelgate.mobile.apps import App, AppRegistry
from werkzeug.wrappers import Request, Response

from infra.local.lambdas import invoke
from infra.local.simulators._server import SimServer
from infra.local.simulators.apphud import ApphudSimulator
from infra.local.simulators.pixverse import PixverseSimulator
from infra.local.simulators.pixverse_webhooks import signed_headers
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
    # three polls at status 5, then status 1; the Choice also decides how the flow waits first
    assert events.count("WaitStateEntered") == 4 and events.count("ChoiceStateEntered") == 5
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
    generations = Generations(jobs=None, limits=None, media=None, pixverse=None,
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


class CallbackGateway:
    """POST /callbacks/pixverse over real HTTP, answered by the pixverse_callback function (in process)."""

    def __init__(self) -> None:
        self._server = SimServer(self._wsgi, "127.0.0.1", 0)
        self.url = self._server.start() + "/callbacks/pixverse"

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
        result = invoke("pixverse_callback", event("pixverse_callback", headers=headers, raw=request.get_data()))
        body = base64.b64decode(result["body"]) if result.get("isBase64Encoded") else result["body"]
        return Response(body, status=result["statusCode"], mimetype="text/plain")(environ, start_response)

    def stop(self) -> None:
        self._server.stop()


@pytest.fixture
def webhooks(cloud, providers: PixverseSimulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[CallbackGateway]:
    from reelgate.mobile import api

    gateway = CallbackGateway()
    monkeypatch.setenv("REELGATE_PIXVERSE_WEBHOOK_URL", gateway.url)
    monkeypatch.setenv("REELGATE_PIXVERSE_WEBHOOK_WAIT_SECONDS", "120")  # only a webhook ends a wait in time
    monkeypatch.setenv("PIXVERSE_WEBHOOK_KEY", WEBHOOK_KEY)
    _reset_caches()
    api.generations.cache_clear()
    api.pixverse_callbacks.cache_clear()
    providers.configure(webhook_url=gateway.url, webhook_secret=WEBHOOK_KEY, webhook_retry_seconds=[0.2, 0.5, 1],
                        seconds_until_done=0.5)
    try:
        yield gateway
    finally:
        api.pixverse_callbacks.cache_clear()
        gateway.stop()


WEBHOOK_KEY = "px-webhook-key"


def test_a_signed_webhook_resumes_the_waiting_flow_in_five_transitions(cloud, providers, webhooks) -> None:
    status, body = submit()
    job = wait_terminal(cloud, body["video_id"], timeout=60)  # the flow's wait lasts 120 s: only the webhook ends it

    assert status == 200 and job["status"] == "succeeded"
    events = history(cloud, body["video_id"])
    entered = [e for e in events if e.endswith("StateEntered")]
    # Next (Choice) -> Await (webhook) -> Poll (confirms with /video/result) -> Next -> Done
    assert entered == ["ChoiceStateEntered", "TaskStateEntered", "TaskStateEntered", "ChoiceStateEntered",
                       "SucceedStateEntered"]
    delivered = [w for w in providers.state.snapshot()["webhooks"] if w["video_id"] == job["provider"]["video_id"]]
    assert delivered and delivered[-1]["http_status"] == 200 and delivered[-1]["reply"] == "ok"
    assert running_slots(cloud) == 0


def test_forged_replayed_and_unknown_webhooks_are_refused(cloud, providers, webhooks) -> None:
    _, body = submit()
    job = wait_terminal(cloud, body["video_id"], timeout=60)
    notice = {"id": job["provider"]["video_id"], "status": 1}
    raw = json.dumps(notice)
    headers = signed_headers(notice, WEBHOOK_KEY, "body") | {"Content-Type": "application/json"}

    forged = httpx.post(webhooks.url, content=raw, headers=signed_headers(notice, "guessed", "body"))
    first = httpx.post(webhooks.url, content=raw, headers=headers)
    replayed = httpx.post(webhooks.url, content=raw, headers=headers)
    unknown = {"id": "1152921504606846975", "status": 1}
    stranger = httpx.post(webhooks.url, content=json.dumps(unknown),
                          headers=signed_headers(unknown, WEBHOOK_KEY, "body"))

    assert (forged.status_code, first.status_code, replayed.status_code, stranger.status_code) == (401, 200, 401, 404)
    assert first.text == "ok" and "nonce" in replayed.text and "secret" not in forged.text.lower()


def test_without_a_webhook_the_flow_looks_itself_after_each_wait(cloud, providers, webhooks,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from reelgate.mobile import api

    monkeypatch.setenv("REELGATE_PIXVERSE_WEBHOOK_WAIT_SECONDS", "1")  # the fallback: a poll after each wait
    _reset_caches()
    api.generations.cache_clear()
    # Polls finish the video (the third look) and every webhook is lost.
    providers.configure(webhook_url="http://127.0.0.1:9/lost", seconds_until_done=None, polls_until_done=2)

    _, body = submit()
    job = wait_terminal(cloud, body["video_id"], timeout=60)

    assert job["status"] == "succeeded"
    events = history(cloud, body["video_id"])
    # Each wait ended by its timeout, then the flow looked itself (a poll that a slow answer made the client
    # retry counts twice in the simulator, so the number of waits is not fixed).
    assert events.count("TaskTimedOut") >= 1 and events[-1] == "ExecutionSucceeded"
    assert events.count("TaskSucceeded") == events.count("TaskScheduled") - events.count("TaskTimedOut")
