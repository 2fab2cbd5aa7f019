"""Signed webhook delivery against real receivers on 127.0.0.1 that verify Standard Webhooks signatures."""

from __future__ import annotations

import base64
import contextlib
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any

import pytest
from reelgate.webhooks import Delivery, backoff_delay, deliver, new_secret, serialize
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

SECRET = "whsec_" + base64.b64encode(b"reelgate-test-secret-0123456789ab").decode()


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: Any


@dataclass
class Receiver:
    """Verifies every request with the receiver's secret; answers from `statuses`, then 200."""

    secret: str = SECRET
    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                time.sleep(receiver.delay)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(receiver.answer(dict(self.headers), body))
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        try:
            verified = Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError:
            verified = None
        self.received.append(Received(headers, body, verified))
        if verified is None:
            return 400
        return self.statuses.pop(0) if self.statuses else 200

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings_env: pytest.MonkeyPatch) -> Iterator[Receiver]:
    r = Receiver()
    settings_env.setenv("REELGATE_URL_ALLOWLIST", f"127.0.0.1:{r.server.server_address[1]}")
    yield r
    r.stop()


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


PAYLOAD = {"code": 200, "id": "req-1", "job_id": "j-1", "response": "https://cdn.example/j-1.mp4", "é": "ü"}


def test_delivers_a_signed_compact_payload(receiver: Receiver) -> None:
    sleeps = Sleeps()

    got = deliver(receiver.url, PAYLOAD, secret=SECRET, msg_id="msg_j-1", sleep=sleeps)

    assert got == Delivery(delivered=True, attempts=1, status=200, error=None)
    [seen] = receiver.received
    assert seen.verified == PAYLOAD
    assert seen.body == (
        b'{"code":200,"id":"req-1","job_id":"j-1","response":"https://cdn.example/j-1.mp4","\\u00e9":"\\u00fc"}'
    )
    assert seen.headers["webhook-id"] == "msg_j-1"
    assert seen.headers["content-type"] == "application/json"
    assert abs(int(seen.headers["webhook-timestamp"]) - time.time()) < 5
    assert sleeps == []


def test_a_receiver_with_another_secret_rejects_the_signature(receiver: Receiver) -> None:
    receiver.secret = new_secret()

    got = deliver(receiver.url, PAYLOAD, secret=SECRET, msg_id="msg_x", attempts=2, sleep=Sleeps())

    assert (got.delivered, got.status, got.attempts) == (False, 400, 2)
    assert [r.verified for r in receiver.received] == [None, None]


def test_retries_until_the_receiver_recovers_with_the_same_id(receiver: Receiver) -> None:
    receiver.statuses = [500, 500]
    sleeps = Sleeps()

    got = deliver(receiver.url, PAYLOAD, secret=SECRET, msg_id="msg_j-2", attempts=5, backoff=1.0, sleep=sleeps)

    assert got == Delivery(delivered=True, attempts=3, status=200, error=None)
    assert [r.headers["webhook-id"] for r in receiver.received] == ["msg_j-2"] * 3
    assert all(r.verified == PAYLOAD for r in receiver.received)  # each attempt signed afresh and valid
    assert sleeps == [1.0, 2.0]


def test_a_receiver_that_always_fails_gets_exactly_the_allowed_attempts(receiver: Receiver) -> None:
    receiver.statuses = [500] * 10
    sleeps = Sleeps()

    got = deliver(receiver.url, PAYLOAD, secret=SECRET, msg_id="msg_j-3", attempts=4, backoff=0.5, sleep=sleeps)

    assert got == Delivery(delivered=False, attempts=4, status=500, error="receiver answered HTTP 500")
    assert len(receiver.received) == 4
    assert sleeps == [0.5, 1.0, 2.0]


def test_backoff_doubles_and_is_capped(receiver: Receiver) -> None:
    receiver.statuses = [503] * 10
    sleeps = Sleeps()

    deliver(receiver.url, PAYLOAD, secret=SECRET, msg_id="msg_j-4", attempts=6, backoff=20, sleep=sleeps)

    assert sleeps == [20, 40, 60, 60, 60]
    assert [backoff_delay(0.25, n) for n in range(4)] == [0.25, 0.5, 1.0, 2.0]


def test_settings_give_the_defaults(receiver: Receiver, settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("REELGATE_WEBHOOK_ATTEMPTS", "3")
    settings_env.setenv("REELGATE_WEBHOOK_BACKOFF_SECONDS", "0.25")
    receiver.statuses = [502] * 10
    sleeps = Sleeps()

    got = deliver(receiver.url, PAYLOAD, secret=SECRET, msg_id="msg_j-5", sleep=sleeps)

    assert (got.delivered, got.attempts) == (False, 3)
    assert sleeps == [0.25, 0.5]


def test_a_slow_receiver_times_out_and_is_retried(receiver: Receiver, settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("REELGATE_WEBHOOK_TIMEOUT_SECONDS", "0.3")
    receiver.delay = 1.0

    got = deliver(receiver.url, PAYLOAD, secret=SECRET, msg_id="msg_j-6", attempts=2, sleep=Sleeps())

    assert (got.delivered, got.attempts, got.status) == (False, 2, None)
    assert got.error is not None
    assert "timed out" in got.error


def test_an_unreachable_receiver_is_retried_and_reported(settings_env: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings_env.setenv("REELGATE_URL_ALLOWLIST", f"127.0.0.1:{port}")
    sleeps = Sleeps()

    got = deliver(f"http://127.0.0.1:{port}/hook", PAYLOAD, secret=SECRET, msg_id="m", attempts=3, sleep=sleeps)

    assert (got.delivered, got.attempts, got.status) == (False, 3, None)
    assert got.error is not None
    assert "ConnectError" in got.error
    assert len(sleeps) == 2


def test_an_unsafe_url_is_refused_without_retries(settings_env: pytest.MonkeyPatch) -> None:
    outsider = Receiver()  # listening, but not allowlisted
    sleeps = Sleeps()
    try:
        got = deliver(outsider.url, PAYLOAD, secret=SECRET, msg_id="m", attempts=5, sleep=sleeps)
        metadata = deliver("http://169.254.169.254/latest", PAYLOAD, secret=SECRET, msg_id="m", sleep=sleeps)
        ftp = deliver("ftp://example.com/hook", PAYLOAD, secret=SECRET, msg_id="m", sleep=sleeps)
    finally:
        outsider.stop()

    assert (got.delivered, got.attempts, got.status) == (False, 1, None)
    assert got.error is not None
    assert "loopback" in got.error
    assert metadata.error is not None
    assert "cloud metadata" in metadata.error
    assert ftp.error is not None
    assert "only http and https" in ftp.error
    assert outsider.received == []
    assert sleeps == []


def test_an_invalid_secret_is_reported_not_raised(receiver: Receiver) -> None:
    got = deliver(receiver.url, PAYLOAD, secret="whsec_", msg_id="m", sleep=Sleeps())

    assert (got.delivered, got.attempts) == (False, 0)
    assert got.error is not None
    assert "invalid webhook secret" in got.error
    assert receiver.received == []


def test_new_secrets_are_random_32_byte_whsec_keys(receiver: Receiver) -> None:
    first, second = new_secret(), new_secret()

    assert first != second
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32
    receiver.secret = first
    assert deliver(receiver.url, PAYLOAD, secret=first, msg_id="m", sleep=Sleeps()).delivered


def test_serialize_handles_dynamodb_numbers() -> None:
    assert serialize({"b": Decimal("2"), "a": Decimal("2.5")}) == '{"b":2,"a":2.5}'
    with pytest.raises(TypeError):
        serialize({"x": object()})
