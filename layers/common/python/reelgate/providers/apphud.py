"""Apphud Customers API client, the active-entitlement rule and S2S webhook parsing (contracts/apphud.md)."""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from reelgate.providers import http_client
from reelgate.settings import Settings

# §2: the SDKs' "active" statuses; refunded and expired are never active.
ACTIVE_STATUSES = frozenset({"trial", "intro", "promo", "regular", "grace"})
NONRENEWABLE = "nonrenewable"


class ApphudError(Exception):
    """Apphud gave no usable answer; callers must fail closed (no entitlement proven)."""


class ApphudUnavailable(ApphudError):
    """Network error, timeout, HTTP 429 or 5xx: the answer may differ on a later try."""


class ApphudAuthError(ApphudError):
    """The app's Apphud api_key was rejected (a configuration problem, not the user's)."""


class WebhookError(ValueError):
    """An S2S webhook body without the fields routing needs (§3)."""


def _as_utc(value: datetime) -> datetime:
    # Apphud sends UTC; a timestamp without an offset is read as UTC so comparisons never raise.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class Subscription(BaseModel):
    """One `subscriptions[]` item (§1). Only `status` is required; extra fields are ignored."""

    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    product_id: str | None = None
    group: str | None = None
    status: str
    kind: str | None = None  # absent from the Customers API sample, present in the SDK payload
    environment: str | None = None
    store: str | None = None
    expires_at: datetime | None = None
    started_at: datetime | None = None
    cancelled_at: datetime | None = None
    autorenew_enabled: bool | None = None
    in_retry_billing: bool | None = None

    @field_validator("expires_at", "started_at", "cancelled_at")
    @classmethod
    def _utc_if_naive(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _as_utc(value)


class Customer(BaseModel):
    """`data.results` of GET /v1/customers (§1); only what entitlement needs is typed."""

    model_config = ConfigDict(extra="ignore")

    user_id: str | None = None
    uid: str | None = None
    paying: bool | None = None
    subscriptions: list[Subscription] = Field(default_factory=list)

    @field_validator("subscriptions", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value


class WebhookUser(BaseModel):
    """What an S2S webhook tells us: which app, which user, and the user's full subscription list."""

    bundle_id: str
    user_id: str
    subscriptions: list[Subscription]
    event_name: str | None = None


def is_active(sub: Subscription, *, environment: str | None, now: datetime) -> bool:
    """The §2 rule for one subscription item."""
    if environment is not None and sub.environment != environment:
        return False
    if sub.status not in ACTIVE_STATUSES:
        return False
    if sub.expires_at is not None and sub.expires_at <= _as_utc(now):
        return False
    # Non-renewing purchases are revoked by cancelled_at (a refund); renewables keep access to expiry.
    return not (sub.kind == NONRENEWABLE and sub.cancelled_at is not None)


def has_active_entitlement(
    subscriptions: Iterable[Subscription], *, environment: str | None, now: datetime
) -> bool:
    """Premium iff any subscription passes `is_active` (contracts/apphud.md §2)."""
    return any(is_active(sub, environment=environment, now=now) for sub in subscriptions)


def token_matches(given: str | None, expected: str) -> bool:
    """Constant-time check of the X-Apphud-Token header; an unset expected token matches nothing."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def _object(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    return value if isinstance(value, dict) else {}


def parse_webhook(body: dict[str, Any]) -> WebhookUser:
    """Route an S2S webhook: app.bundle_id (iOS) or app.package_name (Android), user.user_id (§3)."""
    app, user, event = (_object(body, key) for key in ("app", "user", "event"))
    bundle_id = app.get("bundle_id") or app.get("package_name")
    user_id = user.get("user_id")
    if not isinstance(bundle_id, str) or not isinstance(user_id, str) or not user_id:
        raise WebhookError("webhook body lacks app.bundle_id/app.package_name or user.user_id")
    try:
        subscriptions = Customer.model_validate({"subscriptions": user.get("subscriptions")}).subscriptions
    except ValidationError as exc:
        raise WebhookError(f"malformed user.subscriptions: {exc.error_count()} errors") from exc
    name = event.get("name")
    return WebhookUser(
        bundle_id=bundle_id, user_id=user_id, subscriptions=subscriptions,
        event_name=name if isinstance(name, str) else None,
    )


class ApphudClient:
    """Reads one user's purchases with an app's api_key; the key is per app (§1)."""

    def __init__(self, base_url: str, *, http: httpx.Client | None = None, timeout: float = 10.0) -> None:
        self._base = base_url.rstrip("/")
        self._owns_http = http is None
        self._http = http or http_client(timeout)
        self._timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings, *, http: httpx.Client | None = None) -> ApphudClient:
        return cls(settings.apphud_base_url, http=http, timeout=settings.apphud_timeout_seconds)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def customer(self, api_key: str, user_id: str) -> Customer | None:
        """The customer, or None when Apphud knows no such user (`results: null`)."""
        params = {"api_key": api_key, "user_id": user_id}
        try:
            response = self._http.get(f"{self._base}/v1/customers", params=params, timeout=self._timeout)
        except httpx.TransportError as exc:
            # Only the class name: httpx messages may echo the URL, whose query holds the api_key.
            raise ApphudUnavailable(f"Apphud unreachable: {type(exc).__name__}") from None
        return _parse_customer(response)


def _parse_customer(response: httpx.Response) -> Customer | None:
    status = response.status_code
    if status in (401, 403):
        raise ApphudAuthError(f"Apphud rejected the api_key (HTTP {status})")
    if status == 429 or status >= 500:
        raise ApphudUnavailable(f"Apphud answered HTTP {status}")
    if status != 200:
        raise ApphudError(f"Apphud answered HTTP {status}")
    try:
        body = response.json()
    except ValueError:
        raise ApphudUnavailable("Apphud answered a non-JSON body") from None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or "results" not in data:
        raise ApphudUnavailable(f"unexpected Apphud body; errors={_errors(body)!r}")
    if data["results"] is None:
        return None
    try:
        return Customer.model_validate(data["results"])
    except ValidationError as exc:
        raise ApphudUnavailable(f"malformed Apphud customer: {exc.error_count()} errors") from None


def _errors(body: Any) -> Any:
    return body.get("errors") if isinstance(body, dict) else None
