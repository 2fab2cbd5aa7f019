"""Apphud customers the simulator knows, built relative to "now" so they never go stale (apphud.md §4)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

_NS = uuid.UUID("6f1c2a52-5a4e-4c1e-9a55-8d9a7b0e2c11")  # stable ids across runs

# user_id -> subscription specs; times are days from now (None = null).
FIXTURES: dict[str, list[dict[str, Any]]] = {
    "active_user": [{"status": "regular", "expires": 30}],
    "trial_user": [{"status": "trial", "expires": 3, "trial": True}],
    "intro_user": [{"status": "intro", "expires": 7, "intro": True}],
    "promo_user": [{"status": "promo", "expires": 30}],
    "grace_user": [{"status": "grace", "expires": 2, "retry": True}],
    "canceled_user": [{"status": "regular", "expires": 10, "cancelled": -1, "autorenew": False}],
    "expired_user": [{"status": "expired", "expires": -5, "autorenew": False}],
    "lapsed_user": [{"status": "regular", "expires": -1}],  # status not yet updated, date is past
    "refunded_user": [{"status": "refunded", "expires": 20, "cancelled": -1, "autorenew": False}],
    "lifetime_user": [{"status": "regular", "expires": None, "product": "com.apphud.lifetime"}],
    "nonrenewing_user": [{"status": "regular", "expires": None, "kind": "nonrenewable",
                          "product": "com.example.pack"}],
    "nonrenewing_refunded_user": [{"status": "regular", "expires": None, "kind": "nonrenewable",
                                   "cancelled": -2, "product": "com.example.pack"}],
    "sandbox_user": [{"status": "regular", "expires": 30, "environment": "sandbox"}],
    "mixed_user": [{"status": "expired", "expires": -40}, {"status": "regular", "expires": 20}],
    "no_subscriptions_user": [],
}


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _days(now: datetime, days: float | None) -> datetime | None:
    return None if days is None else now + timedelta(days=days)


def subscription(user_id: str, index: int, spec: dict[str, Any], now: datetime) -> dict[str, Any]:
    """One `subscriptions[]` item shaped like the official Customers API sample."""
    item: dict[str, Any] = {
        "id": str(uuid.uuid5(_NS, f"{user_id}/{index}")),
        "product_id": spec.get("product", "com.example.premium.monthly"),
        "group": "premium",
        "status": spec["status"],
        "expires_at": _iso(_days(now, spec.get("expires"))),
        "started_at": _iso(now - timedelta(days=60)),
        "cancelled_at": _iso(_days(now, spec.get("cancelled"))),
        "autorenew_enabled": spec.get("autorenew", spec.get("kind") is None),
        "in_retry_billing": spec.get("retry", False),
        "introductory_activated": spec.get("intro", False),
        "intro_period": spec.get("intro", False),
        "trial_period": spec.get("trial", False),
        "environment": spec.get("environment", "production"),
        "store": "app_store",
        "original_transaction_id": str(1000000000000000 + index),
    }
    if "kind" in spec:  # like the Customers API sample, renewables carry no `kind`
        item["kind"] = spec["kind"]
    return item


def fixture_subscriptions(user_id: str, now: datetime | None = None) -> list[dict[str, Any]] | None:
    specs = FIXTURES.get(user_id)
    if specs is None:
        return None
    now = now or datetime.now(UTC)
    return [subscription(user_id, i, spec, now) for i, spec in enumerate(specs)]


def customer_payload(user_id: str, subscriptions: list[dict[str, Any]]) -> dict[str, Any]:
    """`data.results` of GET /v1/customers, with the sample's other fields filled plausibly."""
    return {
        "created_at": "2024-01-01T00:00:00.000Z", "user_id": user_id,
        "uid": str(uuid.uuid5(_NS, user_id)), "total_spent": 0.0,
        "payments_count": len(subscriptions), "paying": bool(subscriptions), "idfv": None,
        "variations": [], "country_iso_code": "US", "time_zone": "UTC", "language": "en",
        "email": None, "phone": None, "name": None, "age": None, "gender": None,
        "properties": [], "subscriptions": subscriptions, "devices": [],
    }
