"""deliver()'s outcomes without sockets: what is retried, what is reported, what a 2xx is."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from reelgate import deadline
from reelgate.fetch import UnsafeURL
from reelgate.webhooks import deliver, new_secret, serialize

from tests.unit.test_webhook_deadline import Clock


class Answering:
    """A poster answering the given HTTP statuses in turn, or raising an exception given instead."""

    def __init__(self, *answers: Any) -> None:
        self.answers, self.headers = list(answers), []

    def __call__(self, url: str, **kw: Any) -> httpx.Response:
        self.headers.append(kw["headers"])
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer)


def send(poster: Answering, attempts: int = 3, secret: str | None = None) -> Any:
    return deliver("https://hooks.example/x", {"a": 1}, secret=secret or new_secret(), msg_id="msg_1",
                   attempts=attempts, backoff=0.01, poster=poster, sleep=lambda _: None)


@pytest.mark.parametrize(("status", "delivered"), [(200, True), (204, True), (299, True), (300, False),
                                                  (199, False)])
def test_only_a_2xx_is_a_delivery(status: int, delivered: bool) -> None:
    result = send(Answering(status), attempts=1)
    assert (result.delivered, result.status, result.attempts) == (delivered, status, 1)
    assert result.retryable is True or delivered


def test_a_refused_url_is_reported_as_not_worth_retrying() -> None:
    result = send(Answering(UnsafeURL("a private address"), 200))
    assert (result.delivered, result.attempts, result.status, result.retryable) == (False, 1, None, False)
    assert result.error == "refused: a private address"


def test_an_invalid_secret_is_not_worth_retrying() -> None:
    result = send(Answering(200), secret="whsec_not base64!")
    assert (result.delivered, result.attempts, result.retryable) == (False, 0, False)
    assert result.error is not None and result.error.startswith("invalid webhook secret: ")


def test_the_last_status_is_reported_and_at_least_one_attempt_is_made() -> None:
    result = send(Answering(503, 502), attempts=0)
    assert (result.delivered, result.attempts, result.status, result.retryable) == (False, 1, 503, True)
    assert result.error == "receiver answered HTTP 503"


def test_every_attempt_says_who_sends_it() -> None:
    poster = Answering(500, 200)
    assert send(poster).delivered
    assert [h["user-agent"] for h in poster.headers] == ["Reelgate-Webhooks/1"] * 2
    assert {h["webhook-id"] for h in poster.headers} == {"msg_1"}


def test_a_retry_that_fits_exactly_is_made_and_the_deadline_stop_keeps_the_last_status(monkeypatch: Any) -> None:
    clock = Clock()
    clock.now = 0.0
    monkeypatch.setattr(deadline, "time", clock)
    poster = Answering(503, 503, 503)
    with deadline.bounded(2.4):  # exactly the first backoff (0.4 s) and one attempt's 2 s
        result = deliver("https://hooks.example/x", {"a": 1}, secret=new_secret(), msg_id="msg_1", attempts=5,
                         backoff=0.4, poster=poster, sleep=clock.sleep)
    assert (result.delivered, result.attempts, result.status) == (False, 2, 503)


def test_serialize_names_what_it_cannot_write() -> None:
    with pytest.raises(TypeError, match=r"^object is not JSON serializable$"):
        serialize({"a": object()})
