"""Signed webhook delivery (Standard Webhooks): retried with backoff, never failing the job.

Every attempt carries the same webhook-id (receivers deduplicate on it) with a fresh timestamp and
signature, and goes through the safe fetcher, so a webhook URL cannot reach internal addresses.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from standardwebhooks import Webhook
from standardwebhooks.webhooks import EmptyWebhookSecretError

from reelgate import deadline, fetch
from reelgate.settings import get_settings

logger = logging.getLogger(__name__)

_SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks format prefix, not a secret
_MAX_BACKOFF_SECONDS = 60.0
_ATTEMPT_SECONDS = 2.0  # least time worth an attempt: the fetcher's 1 s margin and a second to be answered
Poster = Callable[..., httpx.Response]


@dataclass(frozen=True)
class Delivery:
    delivered: bool
    attempts: int
    status: int | None
    error: str | None
    retryable: bool = True  # False: another attempt would fail the same way (refused URL, bad secret)


def schedule(text: str) -> list[int]:
    """Seconds to wait before each attempt ("0,5,300,..."): the first entry is the first attempt's."""
    return [int(part) for part in text.split(",")]


def new_secret() -> str:
    """A fresh signing secret in the Standard Webhooks form whsec_<base64 of 32 random bytes>."""
    return _SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def serialize(payload: dict[str, Any]) -> str:
    """Compact JSON, keys in insertion order; the exact text that is signed and sent."""
    return json.dumps(payload, separators=(",", ":"), default=_json_default)


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):  # DynamoDB numbers
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def signed_headers(signer: Webhook, msg_id: str, body: str, now: datetime) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": "Reelgate-Webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signer.sign(msg_id, now, body),
    }


def backoff_delay(backoff: float, retry: int) -> float:
    """Seconds to wait before retry number `retry` (0-based): backoff * 2^retry, capped."""
    return min(backoff * 2**retry, _MAX_BACKOFF_SECONDS)


def deliver(
    url: str,
    payload: dict[str, Any],
    *,
    secret: str,
    msg_id: str,
    attempts: int | None = None,
    backoff: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    poster: Poster = fetch.post,
) -> Delivery:
    """POST the signed payload until a 2xx answer or `attempts` tries; never raises for delivery.

    Each POST ends by the invocation's deadline (the fetcher's), and no retry starts that its backoff
    and one attempt would carry past it: the delivery is then reported as not delivered.
    """
    settings = get_settings()
    total = settings.webhook_attempts if attempts is None else max(attempts, 1)
    base = settings.webhook_backoff_seconds if backoff is None else backoff
    body = serialize(payload)
    try:
        signer = Webhook(secret)
    except (EmptyWebhookSecretError, binascii.Error, ValueError) as exc:
        return _failed(url, msg_id, Delivery(False, 0, None, f"invalid webhook secret: {exc}", retryable=False))
    status: int | None = None
    error: str | None = None
    for attempt in range(1, total + 1):
        if attempt > 1:
            delay = backoff_delay(base, attempt - 2)
            if deadline.remaining() < delay + _ATTEMPT_SECONDS:
                late = f"{error}; no time left in this invocation for another attempt"
                return _failed(url, msg_id, Delivery(False, attempt - 1, status, late))
            sleep(delay)
        headers = signed_headers(signer, msg_id, body, datetime.now(UTC))
        status, error, retry = _attempt(poster, url, body, headers, settings.webhook_timeout_seconds)
        if error is None:
            return Delivery(True, attempt, status, None)
        logger.warning("webhook %s attempt %d failed: %s", msg_id, attempt, error)
        if not retry:
            return _failed(url, msg_id, Delivery(False, attempt, status, error, retryable=False))
    return _failed(url, msg_id, Delivery(False, total, status, error))


def _attempt(
    poster: Poster, url: str, body: str, headers: dict[str, str], timeout: float
) -> tuple[int | None, str | None, bool]:
    """One POST: (status, error or None, worth retrying)."""
    try:
        response = poster(url, content=body.encode("utf-8"), headers=headers, timeout=timeout)
    except fetch.UnsafeURL as exc:
        return None, f"refused: {exc}", False  # the same URL will be refused again
    except (fetch.FetchError, httpx.HTTPError) as exc:
        return None, str(exc), True
    if 200 <= response.status_code < 300:
        return response.status_code, None, False
    return response.status_code, f"receiver answered HTTP {response.status_code}", True


def _failed(url: str, msg_id: str, delivery: Delivery) -> Delivery:
    # Undelivered webhooks are logged as errors so they are never lost silently (alarmable).
    logger.error(
        "webhook %s to %s not delivered after %d attempt(s): %s",
        msg_id,
        _host(url),
        delivery.attempts,
        delivery.error,
    )
    return delivery


def _host(url: str) -> str:
    try:
        return httpx.URL(url).host
    except httpx.InvalidURL:
        return "?"
