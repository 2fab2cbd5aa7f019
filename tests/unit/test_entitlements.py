"""Entitlements (mobile/access.py) without AWS: Apphud failures never grant access, answers are cached
for exactly their time, and a refusal is the 503 / 500069 of the error table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from reelgate.mobile.access import Entitlements
from reelgate.mobile.apps import App
from reelgate.mobile.errors import GET_STATUS, INVALID_ACCOUNT, OVERLOADED, ApiError
from reelgate.providers.apphud import ApphudAuthError, ApphudError, ApphudUnavailable, Customer

from tests.helpers import MemoryTable

APP = App(bundle_id="com.example.app", apphud_key_ref="env:NONE")
ACTIVE = [{"status": "regular", "environment": "production",
           "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat()}]


class Table(MemoryTable):
    """The three calls Entitlements makes on its DynamoDB table, kept in a dict."""

    def put_item(self, Item: dict[str, Any]) -> None:
        self.items[Item["pk"]] = dict(Item)

    def delete_item(self, Key: dict[str, str]) -> None:
        self.items.pop(Key["pk"], None)


class Apphud:
    """Answers from a queue: a list of subscriptions (a customer), None (unknown user) or an exception."""

    def __init__(self, *answers: Any) -> None:
        self.answers, self.calls, self.asked = list(answers), 0, []

    def customer(self, api_key: str, user_id: str) -> Customer | None:
        self.calls += 1
        self.asked.append((api_key, user_id))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return None if answer is None else Customer.model_validate({"user_id": user_id, "subscriptions": answer})


class Limiter:
    def __init__(self, allow: bool = True) -> None:
        self.allow, self.taken = allow, []

    def take(self, key: str, limit: int, window: int) -> bool:
        assert window == 60  # per-minute budgets
        self.taken.append((key, limit))
        return self.allow


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def entitlements(apphud: Apphud, *, table: Table | None = None, clock: Clock | None = None,
                 limiter: Limiter | None = None) -> Entitlements:
    return Entitlements(table or Table(), apphud, cache_seconds=300, negative_cache_seconds=20,
                        key_for=lambda app: f"key-of-{app.bundle_id}", clock=clock or Clock(),
                        limiter=limiter or Limiter())


@pytest.mark.parametrize("failure", [
    ApphudAuthError("Apphud rejected the api_key (HTTP 401)"), ApphudError("Apphud answered HTTP 404"),
    ApphudUnavailable("Apphud answered HTTP 503"), ApphudUnavailable("Apphud unreachable: ConnectError"),
])
def test_an_apphud_failure_is_a_503_500069_never_access(failure: ApphudError) -> None:
    table = Table()
    found = entitlements(Apphud(failure, ACTIVE), table=table)

    with pytest.raises(ApiError) as refused:
        found.require(APP, "u1")

    assert (refused.value.status, refused.value.code) == (503, OVERLOADED) == (GET_STATUS[OVERLOADED], 500069)
    expected = ("the subscription service is unavailable; try again later" if isinstance(failure, ApphudUnavailable)
                else f"the subscription service refused the check: {failure}")
    assert refused.value.message == expected
    assert table.items == {}  # nothing cached: the next request asks Apphud again
    assert found.active(APP, "u1") is True


def test_an_unknown_user_and_an_inactive_one_are_refused_as_invalid_accounts() -> None:
    found = entitlements(Apphud(None, [{"status": "expired", "environment": "production"}]))
    for user in ("nobody", "lapsed"):
        with pytest.raises(ApiError) as refused:
            found.require(APP, user)
        assert (refused.value.status, refused.value.code) == (401, INVALID_ACCOUNT)
        assert refused.value.message == "the user has no active subscription in this app"


def test_an_active_answer_is_cached_for_exactly_its_seconds_then_asked_again() -> None:
    clock = Clock()
    apphud = Apphud(ACTIVE, None)  # the second lookup: the subscription is gone
    found = entitlements(apphud, clock=clock)

    assert found.active(APP, "u1") is True
    assert apphud.asked == [(f"key-of-{APP.bundle_id}", "u1")]  # the app's own key, the user asked about
    clock.now += 299
    assert found.active(APP, "u1") is True and apphud.calls == 1
    clock.now += 1  # 300 s: the cached answer is no longer fresh
    assert found.active(APP, "u1") is False and apphud.calls == 2


def test_a_negative_answer_is_cached_for_its_shorter_time() -> None:
    clock = Clock()
    apphud = Apphud(None, ACTIVE)
    found = entitlements(apphud, clock=clock)

    assert found.active(APP, "u1") is False
    clock.now += 19
    assert found.active(APP, "u1") is False and apphud.calls == 1
    clock.now += 1
    assert found.active(APP, "u1") is True and apphud.calls == 2


def test_forget_makes_the_next_request_ask_apphud() -> None:
    apphud = Apphud(ACTIVE, None)
    found = entitlements(apphud)
    assert found.active(APP, "u1") is True
    found.forget(APP.bundle_id, "u1")
    assert found.active(APP, "u1") is False and apphud.calls == 2


def test_a_cached_answer_belongs_to_its_app_and_user() -> None:
    apphud = Apphud(ACTIVE, None, None)
    found = entitlements(apphud)
    other = APP.model_copy(update={"bundle_id": "com.example.other"})

    assert found.active(APP, "u1") is True
    assert found.active(APP, "u2") is False and found.active(other, "u1") is False
    assert apphud.calls == 3


@pytest.mark.parametrize("source", ["198.51.100.7", None])
def test_a_refused_lookup_is_a_503_and_apphud_is_not_asked(source: str | None) -> None:
    apphud, limiter = Apphud(ACTIVE), Limiter(allow=False)
    found = entitlements(apphud, limiter=limiter)

    with pytest.raises(ApiError) as refused:
        found.active(APP, "u1", source)

    assert (refused.value.status, refused.value.code) == (503, OVERLOADED) and apphud.calls == 0
    assert limiter.taken[0][0] == (f"apphud#source#{source}" if source else f"apphud#app#{APP.bundle_id}")
    assert refused.value.message == ("too many subscription checks from this address; try again later" if source
                                     else "too many subscription checks; try again later")


def test_require_passes_the_user_and_source_on() -> None:
    apphud, limiter = Apphud(ACTIVE), Limiter()
    entitlements(apphud, limiter=limiter).require(APP, "u1", "198.51.100.7")
    assert apphud.asked == [(f"key-of-{APP.bundle_id}", "u1")] and limiter.taken[0][0] == "apphud#source#198.51.100.7"


def test_a_subscription_of_another_environment_is_no_entitlement() -> None:
    sandbox = [ACTIVE[0] | {"environment": "sandbox"}]
    assert entitlements(Apphud(sandbox)).active(APP, "u1") is False
    sandbox_app = APP.model_copy(update={"apphud_environment": "sandbox"})
    assert entitlements(Apphud(sandbox)).active(sandbox_app, "u1") is True


def test_an_answer_is_cached_with_its_freshness_and_a_day_more_before_it_expires() -> None:
    table, clock = Table(), Clock()
    entitlements(Apphud(ACTIVE), table=table, clock=clock).active(APP, "u1")
    cached = table.items[f"ent#{APP.bundle_id}#u1"]
    assert (cached["active"], cached["fresh_until"], cached["expires_at"]) == (
        True, int(clock.now) + 300, int(clock.now) + 300 + 86400)


def test_a_lookup_counts_against_the_source_then_the_app() -> None:
    limiter = Limiter()
    entitlements(Apphud(ACTIVE), limiter=limiter).active(APP, "u1", "198.51.100.7")
    assert [key for key, _ in limiter.taken] == ["apphud#source#198.51.100.7", f"apphud#app#{APP.bundle_id}"]


def test_the_apps_key_comes_from_its_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    from reelgate.mobile import access

    monkeypatch.setenv("REELGATE_TEST_APPHUD_KEY", "from-env")
    asked: list[tuple[Any, str, str | None]] = []
    monkeypatch.setattr(access, "resolve_secret",
                        lambda explicit, secret_id, field=None: asked.append((explicit, secret_id, field)) or "secret")

    assert access.apphud_key(APP.model_copy(update={"apphud_key_ref": "env:REELGATE_TEST_APPHUD_KEY"})) == "from-env"
    assert access.apphud_key(APP.model_copy(update={"apphud_key_ref": "env:REELGATE_UNSET_KEY"})) == ""
    assert access.apphud_key(APP.model_copy(update={"apphud_key_ref": "secret:keys#com.example.app"})) == "secret"
    assert access.apphud_key(APP.model_copy(update={"apphud_key_ref": "secret:app-key"})) == "secret"
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:apphud-app-keys"
    assert access.apphud_key(APP.model_copy(update={"apphud_key_ref": f"secret:{arn}#com.example.app"})) == "secret"
    assert asked == [(None, "keys", "com.example.app"), (None, "app-key", None), (None, arn, "com.example.app")]


@pytest.mark.parametrize(("event", "expected"), [
    ({"requestContext": {"identity": {"sourceIp": "203.0.113.9"}}}, "203.0.113.9"),
    ({"requestContext": {"identity": {"sourceIp": ""}}}, None), ({"requestContext": {"identity": {}}}, None),
    ({"requestContext": {"identity": None}}, None), ({"requestContext": None}, None), ({}, None),
    ({"requestContext": {"identity": {"sourceIp": 5}}}, None),
])
def test_the_source_address_is_api_gateways(event: dict[str, Any], expected: str | None) -> None:
    from reelgate.http import source_ip

    assert source_ip(event) == expected


def test_the_lookup_budgets_come_from_the_settings(settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("REELGATE_APPHUD_LOOKUPS_PER_APP_PER_MINUTE", "7")
    settings_env.setenv("REELGATE_APPHUD_LOOKUPS_PER_SOURCE_PER_MINUTE", "3")
    settings_env.setenv("REELGATE_ENTITLEMENT_NEGATIVE_CACHE_SECONDS", "11")
    limiter, clock, table = Limiter(), Clock(), Table()
    found = Entitlements(table, Apphud(None), cache_seconds=300, key_for=lambda app: "k", clock=clock,
                         limiter=limiter)

    assert found.active(APP, "u1", "198.51.100.7") is False

    assert limiter.taken == [("apphud#source#198.51.100.7", 3), (f"apphud#app#{APP.bundle_id}", 7)]
    cached = table.items[f"ent#{APP.bundle_id}#u1"]
    assert (cached["active"], cached["fresh_until"], cached["expires_at"]) == (
        False, int(clock.now) + 11, int(clock.now) + 11 + 86400)
