"""PixVerse's signed webhooks (contracts/pixverse.md §8): verify the signature and the timestamp window,
and read which video the notice is about.

PixVerse signs `"{timestamp}\\n{nonce}\\n{payload}"` with HMAC-SHA256 and the account's secret key, the
payload being the JSON body written as a URL query string. The order of the pairs and how booleans and
numbers are written are not documented [UNVERIFIED]: `canonical_payload` is the one place that decides,
switched by the `pixverse_webhook_canonical` setting ("body": the body's own order, "sorted": by key).
A notice is only a signal: the flow confirms the video's state with one `/video/result` call.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

Canonical = Literal["body", "sorted"]
REPLY = "ok"  # PixVerse retries anything but HTTP 200 with exactly this body


class WebhookRefused(Exception):
    """Not a genuine, fresh PixVerse notice; the message says why (never the expected signature)."""


@dataclass(frozen=True)
class Notice:
    video_id: str
    status: int
    nonce: str
    timestamp: int


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def canonical_payload(body: Mapping[str, Any], order: Canonical) -> str:
    keys = sorted(body) if order == "sorted" else list(body)
    return urlencode([(key, _text(body[key])) for key in keys])


def signature(secret: str, timestamp: str, nonce: str, payload: str) -> str:
    message = f"{timestamp}\n{nonce}\n{payload}".encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def verify(raw: bytes, headers: Mapping[str, str], *, secret: str, now: float, window_seconds: int,
           order: Canonical) -> Notice:
    """The notice in `raw` if its signature is PixVerse's and its timestamp within the window."""
    h = {k.lower(): v for k, v in headers.items()}
    timestamp, nonce, given = h.get("webhook-timestamp", ""), h.get("webhook-nonce", ""), h.get("webhook-signature")
    if not (timestamp.isdigit() and nonce and given):
        raise WebhookRefused("the Webhook-Timestamp, Webhook-Nonce and Webhook-Signature headers are required")
    if abs(now - int(timestamp)) > window_seconds:
        raise WebhookRefused("the timestamp is outside the accepted window")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookRefused("the body is not JSON") from exc
    if not isinstance(body, dict):
        raise WebhookRefused("the body is not a JSON object")
    expected = signature(secret, timestamp, nonce, canonical_payload(body, order))
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise WebhookRefused("the signature does not match")
    video_id, status = body.get("id"), body.get("status")
    if not (isinstance(video_id, (str, int)) and str(video_id).isdigit()) or not isinstance(status, int):
        raise WebhookRefused("the notice names no video id and status")
    return Notice(str(int(video_id)), status, nonce, int(timestamp))
