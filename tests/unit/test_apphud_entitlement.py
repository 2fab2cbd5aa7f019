"""The active-entitlement rule of contracts/apphud.md §2, case by case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from reelgate.providers.apphud import Customer, Subscription, has_active_entitlement, is_active

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
FUTURE = (NOW + timedelta(days=3)).isoformat()
PAST = (NOW - timedelta(seconds=1)).isoformat()


def sub(status: str = "regular", **fields: Any) -> Subscription:
    data: dict[str, Any] = {"status": status, "expires_at": FUTURE, "environment": "production"}
    return Subscription.model_validate({**data, **fields})


def active(*subs: Subscription, environment: str | None = "production", now: datetime = NOW) -> bool:
    return has_active_entitlement(list(subs), environment=environment, now=now)


@pytest.mark.parametrize("status", ["trial", "intro", "promo", "regular", "grace"])
def test_every_active_status_with_a_future_expiry_is_active(status: str) -> None:
    assert active(sub(status))


@pytest.mark.parametrize("status", ["refunded", "expired", "paused", "", "REGULAR"])
def test_other_statuses_are_never_active_even_before_expiry(status: str) -> None:
    assert not active(sub(status))


def test_a_null_expiry_is_a_lifetime_purchase() -> None:
    assert active(sub(expires_at=None))


def test_a_past_expiry_revokes_even_an_active_status() -> None:
    assert not active(sub("regular", expires_at=PAST))


def test_expiry_exactly_now_is_no_longer_active() -> None:
    assert not active(sub(expires_at=NOW.isoformat()))


def test_a_refunded_nonrenewable_purchase_is_not_active() -> None:
    assert not active(sub(kind="nonrenewable", expires_at=None, cancelled_at=PAST))


def test_a_nonrenewable_purchase_without_cancellation_is_active() -> None:
    assert active(sub(kind="nonrenewable", expires_at=None, cancelled_at=None))


def test_a_cancelled_renewable_keeps_access_until_expiry() -> None:
    # subscription_canceled turns auto-renew off; access continues until expires_at (§3).
    assert active(sub(kind="autorenewable", cancelled_at=PAST, autorenew_enabled=False))


def test_without_kind_cancelled_at_does_not_revoke() -> None:
    assert active(sub(cancelled_at=PAST))


def test_environment_filter_rejects_other_environments() -> None:
    sandbox = sub(environment="sandbox")
    assert not active(sandbox, environment="production")
    assert active(sandbox, environment="sandbox")


def test_no_environment_filter_accepts_any_environment() -> None:
    assert active(sub(environment="sandbox"), environment=None)


def test_a_missing_environment_fails_a_filter() -> None:
    assert not active(sub(environment=None), environment="production")


def test_one_active_item_among_inactive_ones_is_enough() -> None:
    assert active(sub("expired", expires_at=PAST), sub("refunded"), sub("trial"))


def test_no_subscriptions_means_no_entitlement() -> None:
    assert not active()


def test_naive_timestamps_are_read_as_utc() -> None:
    naive_future = (NOW + timedelta(hours=1)).replace(tzinfo=None).isoformat()
    naive_now = NOW.replace(tzinfo=None)
    assert active(sub(expires_at=naive_future), now=naive_now)
    assert not active(sub(expires_at=naive_future), now=naive_now + timedelta(hours=2))


def test_apphud_timestamp_format_with_millis_and_z_parses() -> None:
    parsed = sub(expires_at="2026-06-01T12:00:00.000Z").expires_at
    assert parsed == NOW
    assert not is_active(sub(expires_at="2026-06-01T12:00:00.000Z"), environment=None, now=NOW)


def test_models_tolerate_extra_and_absent_fields() -> None:
    customer = Customer.model_validate({
        "user_id": "u1", "total_spent": 9.99, "devices": [],
        "subscriptions": [{"status": "regular", "expires_at": None, "store": "app_store", "new_field": 1}],
    })
    assert customer.subscriptions[0].kind is None
    assert customer.subscriptions[0].expires_at is None
    assert Customer.model_validate({"user_id": "u2", "subscriptions": None}).subscriptions == []
