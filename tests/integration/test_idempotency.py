"""Idempotency-Key on the submit endpoints, through the real handlers on moto (and the Pixverse simulator):
a repeat returns the first answer and creates no second job, charge or provider call."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from reelgate import aws
from reelgate.dynamo import from_dynamo
from reelgate.idempotency import IdempotencyStore, KeyReused, StillInProgress
from reelgate.toolkit.keys import ApiKeys

from infra.local.lambdas import invoke
from tests.helpers import circle_image, event, reply
from tests.integration.conftest import _reset_caches
from tests.integration.test_pixverse_flow import providers, submit  # noqa: F401 (fixture)

KEY = "rg_idempotency_key"
PRICE = 10


@pytest.fixture
def key(cloud, monkeypatch):
    monkeypatch.setenv("REELGATE_API_WAIT_SECONDS", "0")  # answer 202 at once; the flow runs on
    _reset_caches()
    return ApiKeys(aws.table(cloud.env["REELGATE_STATE_TABLE"])).create("idem", credits=100, plaintext=KEY)[1]


@pytest.fixture
def still(file_server) -> dict[str, Any]:
    circle_image(file_server.root / "still.jpg", (320, 240))
    return {"image_url": f"{file_server.base_url}/still.jpg", "length": 1, "frame_rate": 24}


def image_to_video(body: dict[str, Any], idem: str | None = "key-1") -> tuple[int, Any]:
    headers = {"x-api-key": KEY} | ({"Idempotency-Key": idem} if idem else {})
    return reply(invoke("toolkit_image_to_video", event("toolkit_image_to_video", body, headers=headers)))


def jobs(cloud) -> list[dict[str, Any]]:
    return [from_dynamo(item) for item in aws.table(cloud.env["REELGATE_JOBS_TABLE"]).scan()["Items"]]


def credits(key) -> int:
    return ApiKeys(aws.table("state")).get(key.key_id).credits


def settled(cloud, count: int, timeout: float = 60) -> list[dict[str, Any]]:
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        found = jobs(cloud)
        if len(found) == count and all(j["status"] in ("succeeded", "failed") for j in found):
            return found
        time.sleep(0.2)
    raise AssertionError(f"jobs not settled: {[(j['job_id'], j['status']) for j in jobs(cloud)]}")


def test_a_sequential_repeat_answers_the_first_answer_with_one_job_and_one_charge(cloud, key, still) -> None:
    first = image_to_video(still)
    again = image_to_video(still)

    assert first[0] == 202 and again == first
    [job] = settled(cloud, 1)
    assert job["job_id"] == first[1]["job_id"] and job["status"] == "succeeded"
    assert credits(key) == 100 - PRICE


def test_concurrent_repeats_make_one_job_and_one_charge(cloud, key, still) -> None:
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: image_to_video(still, "burst"), range(6)))

    assert {status for status, _ in answers} == {202}
    assert len({body["job_id"] for _, body in answers}) == 1
    settled(cloud, 1)
    assert credits(key) == 100 - PRICE


def test_the_same_key_with_another_body_answers_422_and_changes_nothing(cloud, key, still) -> None:
    image_to_video(still)
    status, body = image_to_video(still | {"length": 2})

    assert status == 422 and body == {"code": 422, "message": (
        "this Idempotency-Key was already used with a different request body; use a new key for a different request")}
    settled(cloud, 1)
    assert credits(key) == 100 - PRICE


def test_without_the_header_every_request_is_a_new_job(cloud, key, still) -> None:
    image_to_video(still, None)
    image_to_video(still, None)
    settled(cloud, 2)
    assert credits(key) == 100 - 2 * PRICE


def test_a_key_expires_after_its_ttl(cloud, key, still, monkeypatch) -> None:
    monkeypatch.setenv("REELGATE_IDEMPOTENCY_TTL_SECONDS", "1")
    _reset_caches()
    from reelgate import idempotency

    idempotency.store.cache_clear()
    first = image_to_video(still)
    time.sleep(2.1)
    second = image_to_video(still)
    idempotency.store.cache_clear()

    assert second[1]["job_id"] != first[1]["job_id"]
    settled(cloud, 2)


def test_a_refusal_is_not_remembered_so_a_retry_after_a_top_up_runs(cloud, key, still) -> None:
    aws.table("state").update_item(Key={"pk": key.pk}, UpdateExpression="SET credits = :zero",
                                   ExpressionAttributeValues={":zero": 0})
    assert image_to_video(still)[0] == 402

    ApiKeys(aws.table("state")).top_up(key.key_id, PRICE)
    status, _ = image_to_video(still)

    assert status == 202
    settled(cloud, 1)


def test_a_repeat_while_the_first_is_in_flight_waits_for_its_answer_or_answers_409(cloud) -> None:
    store = IdempotencyStore(aws.table("state"), ttl_seconds=60, wait_seconds=0)
    assert store.claim("scope", "k", "print") is None
    with pytest.raises(StillInProgress):
        store.claim("scope", "k", "print")
    with pytest.raises(KeyReused):
        store.claim("scope", "k", "other print")


# --- the mobile API: one provider call -------------------------------------------------------------------

def text2video(idem: str, prompt: str = "A cat") -> tuple[int, Any]:
    body = {"app_bundle_id": "com.example.app", "apphud_user_id": "active_user", "prompt": prompt}
    return reply(invoke("text_to_video", event("text_to_video", body, headers={"Idempotency-Key": idem})))


def pixverse_submits(sim) -> int:
    return sum(1 for call in sim.state.calls if call["method"] == "POST" and "generate" in call["path"])


def test_mobile_repeats_make_one_generation_and_one_pixverse_call(cloud, providers) -> None:  # noqa: F811
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: text2video("m-1"), range(4)))
    again = text2video("m-1")

    assert {status for status, _ in answers} == {200}
    assert len({body["video_id"] for _, body in [*answers, again]}) == 1
    assert pixverse_submits(providers) == 1
    assert len(jobs(cloud)) == 1


def test_mobile_same_key_other_body_answers_the_tables_invalid_parameter(cloud, providers) -> None:  # noqa: F811
    text2video("m-2")
    status, body = text2video("m-2", prompt="A dog")

    assert status == 422 and body["code"] == 400017 and body["video_id"] is None
    assert "different request body" in body["message"]
    assert pixverse_submits(providers) == 1
