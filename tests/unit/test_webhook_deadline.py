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


class Clock:
    """The deadline's clock, moved only by the sleeps: the outcome cannot depend on the machine's load."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_no_retry_starts_that_would_outlast_the_invocation(settings_env: Any, monkeypatch: Any) -> None:
    clock = Clock()
    monkeypatch.setattr(deadline, "time", clock)
    poster = Failing()

    # 2.5 s left; backoff 0.4 s then 0.8 s: the second retry (0.8 s + an attempt's 2 s) would end after it.
    with deadline.bounded(2.5):
        delivery = deliver("https://hooks.example/x", {"a": 1}, secret=new_secret(), msg_id="msg_1",
                           attempts=5, backoff=0.4, poster=poster, sleep=clock.sleep)

    assert (delivery.delivered, delivery.attempts) == (False, 2)
    assert delivery.error == "connection refused; no time left in this invocation for another attempt"
    assert len(poster.at) == 2 and clock.now == 1000.4  # one backoff slept, none past the deadline


def test_without_a_deadline_every_attempt_is_made(settings_env: Any) -> None:
    poster = Failing()
    slept: list[float] = []

    delivery = deliver("https://hooks.example/x", {"a": 1}, secret=new_secret(), msg_id="msg_2",
                       attempts=4, backoff=0.4, poster=poster, sleep=slept.append)

    assert (delivery.delivered, delivery.attempts, delivery.error) == (False, 4, "connection refused")
    assert slept == [0.4, 0.8, 1.6]
