"""PixVerse's signed webhooks: the product's verification against the simulator's independent signer."""

from __future__ import annotations

import json

import pytest
from reelgate.providers.pixverse_webhooks import WebhookRefused, canonical_payload, verify

from infra.local.simulators.pixverse_webhooks import signed_headers

SECRET, NOW = "whsk-test", 1_800_000_000
BODY = {"id": "1152921504606846977", "status": 1, "url": "https://cdn.example/v.mp4?a=1&b=2", "size": 10.5,
        "has_audio": True, "credits": 100}


def _check(body: dict, headers: dict, *, order: str = "body", now: float = NOW, secret: str = SECRET,
           raw: bytes | None = None):
    return verify(raw if raw is not None else json.dumps(body).encode(), headers, secret=secret, now=now,
                  window_seconds=300, order=order)  # type: ignore[arg-type]


@pytest.mark.parametrize("order", ["body", "sorted"])
def test_a_notice_signed_by_pixverse_is_accepted_in_either_configured_order(order: str) -> None:
    notice = _check(BODY, signed_headers(BODY, SECRET, order, timestamp=NOW), order=order)

    assert (notice.video_id, notice.status, notice.timestamp) == ("1152921504606846977", 1, NOW)


def test_the_pair_order_is_part_of_the_signature() -> None:
    with pytest.raises(WebhookRefused, match="signature"):
        _check(BODY, signed_headers(BODY, SECRET, "sorted", timestamp=NOW), order="body")


def test_a_changed_body_another_secret_or_a_stale_timestamp_is_refused() -> None:
    headers = signed_headers(BODY, SECRET, "body", timestamp=NOW)
    with pytest.raises(WebhookRefused, match="signature"):
        _check(BODY | {"status": 8}, headers)
    with pytest.raises(WebhookRefused, match="signature"):
        _check(BODY, headers, secret="another")
    with pytest.raises(WebhookRefused, match="window"):
        _check(BODY, headers, now=NOW + 301)
    assert _check(BODY, headers, now=NOW + 300).video_id == BODY["id"]


def test_missing_headers_and_bodies_that_are_not_notices_are_refused() -> None:
    with pytest.raises(WebhookRefused, match="required"):
        _check(BODY, {})
    with pytest.raises(WebhookRefused, match="JSON"):
        _check(BODY, signed_headers(BODY, SECRET, "body", timestamp=NOW), raw=b"not json")
    no_id = {"status": 1}
    with pytest.raises(WebhookRefused, match="video id"):
        _check(no_id, signed_headers(no_id, SECRET, "body", timestamp=NOW))


def test_the_signed_payload_writes_booleans_and_numbers_as_json_and_escapes_values() -> None:
    assert canonical_payload({"b": True, "a": 10.5, "u": "x&y=z"}, "body") == "b=true&a=10.5&u=x%26y%3Dz"
    assert canonical_payload({"b": True, "a": 10.5}, "sorted") == "a=10.5&b=true"
