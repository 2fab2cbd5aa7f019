"""Webhook retries stop before the invocation's deadline instead of sleeping past it (no sockets)."""

from __future__ import annotations

import time
from typing import Any

import httpx
from reelgate import deadline
from reelgate.fetch import FetchError
from reelgate.webhooks import deliver, new_secret


class Failing:
    """A poster that fails every attempt at once, recording when each was made."""

    def __init__(self) -> None:
        self.at: list[float] = []

    def __call__(self, url: str, **kw: Any) -> httpx.Response:
        self.at.append(time.monotonic())
        raise FetchError("connection refused")


def test_no_retry_starts_that_would_outlast_the_invocation(settings_env: Any) -> None:
    poster = Failing()
    started = time.monotonic()

    # 2.5 s left; backoff 0.4 s then 0.8 s: the second retry would end after the deadline.
    with deadline.bounded(2.5):
        delivery = deliver("https://hooks.example/x", {"a": 1}, secret=new_secret(), msg_id="msg_1",
                           attempts=5, backoff=0.4, poster=poster)

    took = time.monotonic() - started
    assert (delivery.delivered, delivery.attempts) == (False, 2)
    assert delivery.error is not None
    assert "no time left in this invocation" in delivery.error
    assert len(poster.at) == 2
    assert took < 2.5


def test_without_a_deadline_every_attempt_is_made(settings_env: Any) -> None:
    poster = Failing()
    slept: list[float] = []

    delivery = deliver("https://hooks.example/x", {"a": 1}, secret=new_secret(), msg_id="msg_2",
                       attempts=4, backoff=0.4, poster=poster, sleep=slept.append)

    assert (delivery.delivered, delivery.attempts, delivery.error) == (False, 4, "connection refused")
    assert slept == [0.4, 0.8, 1.6]
