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

APP = App(bundle_id="com.example.app", apphud_key_ref="env:NONE")
ACTIVE = [{"status": "regular", "environment": "production",
           "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat()}]


class Table:
    """The three calls Entitlements makes on its DynamoDB table, kept in a dict."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def get_item(self, Key: dict[str, str]) -> dict[str, Any]:
        item = self.items.get(Key["pk"])
        return {"Item": dict(item)} if item else {}

    def put_item(self, Item: dict[str, Any]) -> None:
        self.items[Item["pk"]] = dict(Item)

    def delete_item(self, Key: dict[str, str]) -> None:
        self.items.pop(Key["pk"], None)


class Apphud:
    """Answers from a queue: a list of subscriptions (a customer), None (unknown user) or an exception."""

    def __init__(self, *answers: Any) -> None:
        self.answers, self.calls = list(answers), 0

    def customer(self, api_key: str, user_id: str) -> Customer | None:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return None if answer is None else Customer.model_validate({"user_id": user_id, "subscriptions": answer})


class Limiter:
    def __init__(self, allow: bool = True) -> None:
        self.allow, self.taken = allow, []

    def take(self, key: str, limit: int, window: int) -> bool:
        self.taken.append((key, limit))
        return self.allow


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def entitlements(apphud: Apphud, *, table: Table | None = None, clock: Clock | None = None,
                 limiter: Limiter | None = None) -> Entitlements:
    return Entitlements(table or Table(), apphud, cache_seconds=300, negative_cache_seconds=30,
                        key_for=lambda app: "app-key", clock=clock or Clock(), limiter=limiter or Limiter())


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
    assert table.items == {}  # nothing cached: the next request asks Apphud again
    assert found.active(APP, "u1") is True


def test_an_unknown_user_and_an_inactive_one_are_refused_as_invalid_accounts() -> None:
    found = entitlements(Apphud(None, [{"status": "expired", "environment": "production"}]))
    for user in ("nobody", "lapsed"):
        with pytest.raises(ApiError) as refused:
            found.require(APP, user)
        assert (refused.value.status, refused.value.code) == (401, INVALID_ACCOUNT)


def test_an_active_answer_is_cached_for_exactly_its_seconds_then_asked_again() -> None:
    clock = Clock()
    apphud = Apphud(ACTIVE, None)  # the second lookup: the subscription is gone
    found = entitlements(apphud, clock=clock)

    assert found.active(APP, "u1") is True
    clock.now += 299
    assert found.active(APP, "u1") is True and apphud.calls == 1
    clock.now += 1  # 300 s: the cached answer is no longer fresh
    assert found.active(APP, "u1") is False and apphud.calls == 2


def test_a_negative_answer_is_cached_for_its_shorter_time() -> None:
    clock = Clock()
    apphud = Apphud(None, ACTIVE)
    found = entitlements(apphud, clock=clock)

    assert found.active(APP, "u1") is False
    clock.now += 29
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


def test_a_lookup_counts_against_the_source_then_the_app() -> None:
    limiter = Limiter()
    entitlements(Apphud(ACTIVE), limiter=limiter).active(APP, "u1", "198.51.100.7")
    assert [key for key, _ in limiter.taken] == ["apphud#source#198.51.100.7", f"apphud#app#{APP.bundle_id}"]
