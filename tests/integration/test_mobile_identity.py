"""Identity hardening (issue 8): the Apphud webhook is only a hint to ask Apphud again, "no entitlement"
is cached briefly, and Apphud lookups are rate-limited per app and per source address."""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from reelgate import aws
from reelgate.mobile.access import Entitlements
from reelgate.mobile.apps import App
from reelgate.mobile.errors import ApiError
from reelgate.providers.apphud import Customer

from infra.local.lambdas import invoke
from infra.local.simulators.apphud_fixtures import customer_payload
from tests.helpers import event, reply
from tests.integration.test_mobile_hardening import (  # noqa: F401 (stack_fixture: the "stack" fixture)
    BUNDLE,
    Stack,
    finished,
    settings_changed,
    stack_fixture,
)

TOKEN = "hook-token"
ACTIVE = [{"id": "s1", "product_id": "pro", "group": "pro", "status": "regular", "environment": "production",
           "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(), "cancelled_at": None}]
REFUNDED = [{"id": "s1", "product_id": "pro", "group": "pro", "status": "refunded", "environment": "production",
             "expires_at": None, "cancelled_at": "2026-01-01T00:00:00Z"}]


def webhook(user_id: str, subscriptions: list[dict[str, Any]], token: str = TOKEN) -> tuple[int, Any]:
    body = {"app": {"uid": "x", "bundle_id": BUNDLE, "package_name": None},
            "event": {"id": "e1", "name": "subscription_started", "properties": {}},
            "user": customer_payload(user_id, subscriptions)}
    ev = event("get_status", body, headers={"X-Apphud-Token": token})
    ev["path"] = ev["resource"] = ev["requestContext"]["resourcePath"] = "/webhooks/apphud"
    return reply(invoke("apphud_webhook", ev))


def text2video(user: str, source: str = "203.0.113.10") -> tuple[int, Any]:
    body = {"app_bundle_id": BUNDLE, "apphud_user_id": user, "prompt": "A cat"}
    ev = copy.deepcopy(event("text_to_video", body))
    ev["requestContext"]["identity"]["sourceIp"] = source
    return reply(invoke("text_to_video", ev))


def apphud_lookups(stack: Stack) -> int:
    return len(stack.apphud.calls)


# --- the webhook: forget, never trust ---


def test_a_forged_active_webhook_grants_nothing(stack: Stack) -> None:
    status, answer = webhook("nobody-bought-anything", ACTIVE)  # a valid token, a made-up purchase

    assert status == 200 and answer["ok"] is True
    status, body = text2video("nobody-bought-anything")
    assert status == 401 and body.get("code") == 400012, body
    assert apphud_lookups(stack) == 1  # decided by Apphud, read with the app's own key


def test_a_forged_revocation_webhook_revokes_nothing(stack: Stack) -> None:
    webhook("active_user", REFUNDED)

    status, body = text2video("active_user")

    assert status == 200, body
    finished(stack, body["video_id"])


def test_a_webhook_makes_the_next_request_ask_apphud_again(stack: Stack) -> None:
    status, body = text2video("active_user")  # caches "active" for entitlement_cache_seconds
    assert status == 200
    finished(stack, body["video_id"])
    stack.apphud.set_user("active_user", REFUNDED)  # refunded in Apphud...

    webhook("active_user", ACTIVE)  # ...and the event's payload is stale: it must not matter

    status, body = text2video("active_user")
    assert status == 401 and body.get("code") == 400012, body


def test_a_webhook_with_a_wrong_token_is_refused_and_forgets_nothing(stack: Stack) -> None:
    status, body = text2video("active_user")
    finished(stack, body["video_id"])
    stack.apphud.set_user("active_user", REFUNDED)

    assert webhook("active_user", REFUNDED, token="wrong")[0] == 401

    status, body = text2video("active_user")  # still the cached answer
    assert status == 200
    finished(stack, body["video_id"])


# --- negative answers are cached briefly, lookups are rate-limited ---


class FakeApphud:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def customer(self, api_key: str, user_id: str) -> Customer | None:
        self.calls.append(user_id)
        return Customer.model_validate({"user_id": user_id, "subscriptions": ACTIVE}) if user_id == "paid" else None


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0  # the start of a rate-limit window

    def __call__(self) -> float:
        return self.now


def entitlements(cloud, monkeypatch: pytest.MonkeyPatch, *, negative: int = 30, per_app: int = 0,
                 per_source: int = 0) -> tuple[Entitlements, FakeApphud, Clock]:
    """Entitlements configured through the settings, as the composition root builds them."""
    settings_changed(monkeypatch, REELGATE_ENTITLEMENT_NEGATIVE_CACHE_SECONDS=str(negative),
                     REELGATE_APPHUD_LOOKUPS_PER_APP_PER_MINUTE=str(per_app),
                     REELGATE_APPHUD_LOOKUPS_PER_SOURCE_PER_MINUTE=str(per_source))
    apphud, clock = FakeApphud(), Clock()
    table = aws.table(cloud.env["REELGATE_STATE_TABLE"])
    found = Entitlements(table, apphud, cache_seconds=300, key_for=lambda app: "key", clock=clock)
    return found, apphud, clock


APP = App(bundle_id=BUNDLE, apphud_key_ref="env:NONE")


def test_no_entitlement_is_cached_only_briefly_and_an_active_one_for_longer(cloud, monkeypatch) -> None:
    found, apphud, clock = entitlements(cloud, monkeypatch, negative=30)

    assert found.active(APP, "free") is False and found.active(APP, "paid") is True
    clock.now += 29
    assert found.active(APP, "free") is False and found.active(APP, "paid") is True
    assert apphud.calls == ["free", "paid"]  # both from the cache
    clock.now += 2  # 31 s: the negative answer is stale, the active one is not
    assert found.active(APP, "free") is False and found.active(APP, "paid") is True

    assert apphud.calls == ["free", "paid", "free"]


def test_apphud_lookups_are_limited_per_source_address(cloud, monkeypatch) -> None:
    found, apphud, clock = entitlements(cloud, monkeypatch, per_source=3)

    for n in range(3):
        assert found.active(APP, f"invented-{n}", "198.51.100.7") is False
    with pytest.raises(ApiError) as refused:
        found.active(APP, "invented-3", "198.51.100.7")

    assert (refused.value.status, refused.value.code) == (503, 500069)
    assert len(apphud.calls) == 3
    assert found.active(APP, "invented-0", "198.51.100.7") is False  # a cached answer needs no lookup
    assert found.active(APP, "invented-4", "198.51.100.8") is False  # another address has its own budget
    clock.now += 60  # the next window
    assert found.active(APP, "invented-5", "198.51.100.7") is False
    assert apphud.calls == ["invented-0", "invented-1", "invented-2", "invented-4", "invented-5"]


def test_apphud_lookups_are_limited_per_app_across_addresses(cloud, monkeypatch) -> None:
    found, apphud, _ = entitlements(cloud, monkeypatch, per_app=4)

    for n in range(4):
        assert found.active(APP, f"invented-{n}") is False
    with pytest.raises(ApiError) as refused:
        found.active(APP, "invented-9")

    assert refused.value.code == 500069 and len(apphud.calls) == 4


def test_the_submit_endpoints_limit_lookups_by_the_callers_address(stack: Stack, monkeypatch) -> None:
    settings_changed(monkeypatch, REELGATE_APPHUD_LOOKUPS_PER_SOURCE_PER_MINUTE="2")
    if time.time() % 60 > 50:  # keep the three requests inside one rate-limit window
        time.sleep(60 - time.time() % 60 + 0.1)

    answers = [text2video(f"invented-{n}", source="192.0.2.1") for n in range(3)]

    assert [(status, body["code"]) for status, body in answers] == [(401, 400012), (401, 400012), (503, 500069)]
    assert apphud_lookups(stack) == 2
    assert text2video("invented-3", source="192.0.2.2")[0] == 401  # another address is still served


# --- Apphud failing: no access, the table's 503 / 500069 ---


@pytest.mark.parametrize("status", [503, 500, 429])
def test_apphud_down_answers_503_500069_and_generates_nothing(stack: Stack, status: int) -> None:
    import httpx

    httpx.post(f"{stack.apphud.base_url}/_sim/down", json={"down": True, "status": status}).raise_for_status()

    answered = text2video("active_user")

    assert answered[0] == 503 and answered[1]["code"] == 500069
    assert stack.generate_calls() == 0 and stack.jobs() == []
    httpx.post(f"{stack.apphud.base_url}/_sim/down", json={"down": False}).raise_for_status()
    assert text2video("active_user")[0] == 200  # no refusal was cached


def test_an_app_key_apphud_rejects_answers_503_500069_not_access(stack: Stack, monkeypatch) -> None:
    monkeypatch.setenv("REELGATE_TEST_APPHUD_KEY", "app_wrong")  # the app's key, as Apphud sees it, is invalid

    status, answer = text2video("active_user")

    assert (status, answer["code"]) == (503, 500069)
    assert "app_wrong" not in answer["message"]
    assert stack.generate_calls() == 0 and stack.jobs() == []


# --- DynamoDB throttling: the table's 503, other AWS errors a quiet 500 ---


@pytest.mark.parametrize(("code", "status", "answer_code"), [
    ("ThrottlingException", 503, 500069), ("ProvisionedThroughputExceededException", 503, 500069),
    ("RequestLimitExceeded", 503, 500069), ("InternalServerError", 500, 500100),
])
def test_a_throttled_table_answers_503_500069(stack: Stack, code: str, status: int, answer_code: int) -> None:
    from botocore.exceptions import ClientError
    from reelgate.mobile import api

    api.mobile.cache_clear()  # get_status composes its stores anew, on the client refused below
    events = aws.table(stack.jobs_table).meta.client.meta.events

    def refused(**_: Any) -> None:
        raise ClientError({"Error": {"Code": code, "Message": "arn:aws:dynamodb:us-east-1:123:table/jobs"}}, "GetItem")

    events.register("before-call.dynamodb.GetItem", refused)
    try:
        answer = reply(invoke("get_status", event("get_status", {
            "app_bundle_id": BUNDLE, "apphud_user_id": "active_user",
            "video_id": "00000000-0000-4000-8000-000000000000"})))
    finally:
        events.unregister("before-call.dynamodb.GetItem", refused)

    assert (answer[0], answer[1]["code"]) == (status, answer_code)
    assert "arn:aws" not in answer[1]["message"] and code not in answer[1]["message"]
