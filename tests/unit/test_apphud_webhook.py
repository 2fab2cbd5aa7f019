"""S2S webhook routing (contracts/apphud.md §3) and the constant-time token check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from reelgate.providers.apphud import WebhookError, has_active_entitlement, parse_webhook, token_matches

FUTURE = (datetime.now(UTC) + timedelta(days=5)).isoformat()


def body(app: dict[str, Any], subscriptions: Any = None, event: str = "subscription_started") -> dict[str, Any]:
    subs = [{"status": "regular", "expires_at": FUTURE, "product_id": "p"}] if subscriptions is None else subscriptions
    return {
        "app": app,
        "event": {"id": "e1", "name": event, "properties": {"product_id": "p"}},
        "user": {"user_id": "user123", "uid": "x", "subscriptions": subs, "devices": []},
    }


def test_ios_webhook_routes_by_bundle_id() -> None:
    parsed = parse_webhook(body({"uid": "a", "bundle_id": "com.example.app", "package_name": None}))
    routed = (parsed.bundle_id, parsed.user_id, parsed.event_name)
    assert routed == ("com.example.app", "user123", "subscription_started")
    assert has_active_entitlement(parsed.subscriptions, environment=None, now=datetime.now(UTC))


def test_android_webhook_routes_by_package_name() -> None:
    parsed = parse_webhook(body({"uid": "a", "bundle_id": None, "package_name": "com.example.android"}))
    assert parsed.bundle_id == "com.example.android"


def test_refund_event_payload_carries_the_revoked_list() -> None:
    refunded = [{"status": "refunded", "expires_at": FUTURE, "cancelled_at": FUTURE}]
    parsed = parse_webhook(body({"bundle_id": "b"}, refunded, "subscription_refunded"))
    assert not has_active_entitlement(parsed.subscriptions, environment=None, now=datetime.now(UTC))


def test_null_subscriptions_parse_as_empty() -> None:
    data = body({"bundle_id": "b"})
    data["user"]["subscriptions"] = None
    assert parse_webhook(data).subscriptions == []


@pytest.mark.parametrize("broken", [
    {"app": {}, "user": {"user_id": "u"}},
    {"app": {"bundle_id": "b"}, "user": {}},
    {"app": "nope", "user": {"user_id": "u"}},
    {},
])
def test_bodies_without_routing_fields_are_rejected(broken: dict[str, Any]) -> None:
    with pytest.raises(WebhookError):
        parse_webhook(broken)


def test_malformed_subscriptions_are_rejected() -> None:
    with pytest.raises(WebhookError):
        parse_webhook(body({"bundle_id": "b"}, [{"expires_at": "not a date"}]))


@pytest.mark.parametrize(("given", "expected", "ok"), [
    ("s3cret", "s3cret", True),
    ("s3cret ", "s3cret", False),
    ("S3CRET", "s3cret", False),
    (None, "s3cret", False),
    ("", "s3cret", False),
    ("", "", False),
    ("anything", "", False),
    ("ключ", "ключ", True),
])
def test_token_matches(given: str | None, expected: str, ok: bool) -> None:
    assert token_matches(given, expected) is ok
