"""The fetcher's one deadline, piece by piece, on a fake clock: how much time a fetch gets, and that every
connect, TLS handshake, read and write is given only what is left of it (and none once it has passed)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import httpcore
import httpx
import pytest
from reelgate import deadline, fetch
from reelgate.fetch import FetchError

NOW = 100.0


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """The fetcher's monotonic clock, stopped at NOW until a test moves it."""
    fake = SimpleNamespace(now=NOW)
    monkeypatch.setattr(fetch, "time", SimpleNamespace(monotonic=lambda: fake.now))
    return fake


@dataclass
class Recorder:
    """A network stream and backend in one: records every call and its arguments."""

    calls: list[tuple[Any, ...]] = field(default_factory=list)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self.calls.append(("read", max_bytes, timeout))
        return b"data"

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.calls.append(("write", buffer, timeout))

    def close(self) -> None:
        self.calls.append(("close",))

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> Any:
        self.calls.append(("start_tls", ssl_context, server_hostname, timeout))
        return self.tls

    def get_extra_info(self, info: str) -> Any:
        return f"extra {info}"

    def connect_tcp(self, *args: Any) -> Any:
        self.calls.append(("connect_tcp", *args))
        return self.stream

    def sleep(self, seconds: float) -> None:
        self.calls.append(("sleep", seconds))

    @property
    def tls(self) -> Recorder:
        return self.__dict__.setdefault("_tls", Recorder())

    @property
    def stream(self) -> Recorder:
        return self.__dict__.setdefault("_stream", Recorder())


# --- How long a fetch may take -------------------------------------------------------------------


def test_a_fetch_ends_by_its_timeout_outside_an_invocation(clock: Any) -> None:
    assert fetch._ends_by(3.0) == NOW + 3.0


def test_the_invocation_end_less_a_margin_comes_first_when_sooner(clock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deadline, "remaining", lambda: 5.0)

    assert fetch._ends_by(30.0) == NOW + 4.0  # 5 s left, 1 s kept to record a failure
    assert fetch._ends_by(2.0) == NOW + 2.0


def test_a_fetch_needs_more_than_the_margin_left(clock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deadline, "remaining", lambda: 1.0)
    with pytest.raises(FetchError, match=r"^not enough time left in this invocation to fetch$"):
        fetch._ends_by(30.0)

    monkeypatch.setattr(deadline, "remaining", lambda: 1.5)
    assert fetch._ends_by(30.0) == NOW + 0.5


# --- What is left for one operation --------------------------------------------------------------


def test_an_operation_gets_what_is_left_or_its_own_timeout_if_shorter(clock: Any) -> None:
    assert fetch._left(NOW + 10, None, TimeoutError) == 10
    assert fetch._left(NOW + 10, 2.5, TimeoutError) == 2.5
    assert fetch._left(NOW + 10, 30.0, TimeoutError) == 10
    assert fetch._left(NOW + 0.5, None, TimeoutError) == 0.5


def test_no_operation_starts_once_the_deadline_has_passed(clock: Any) -> None:
    for ends in (NOW, NOW - 1):
        with pytest.raises(httpcore.ReadTimeout, match=r"^the fetch deadline has passed$"):
            fetch._left(ends, 5.0, httpcore.ReadTimeout)


# --- The streams and the backend pass the deadline on ----------------------------------------------


def test_reads_and_writes_are_bounded_by_the_deadline(clock: Any) -> None:
    inner = Recorder()
    stream = fetch._BoundedStream(inner, NOW + 10)

    assert stream.read(1024, 5.0) == b"data"
    stream.read(512, None)
    stream.write(b"hello", 30.0)
    stream.write(b"short", 2.0)
    stream.write(b"again", None)
    assert stream.get_extra_info("ssl_object") == "extra ssl_object"
    stream.close()

    assert inner.calls == [("read", 1024, 5.0), ("read", 512, 10), ("write", b"hello", 10), ("write", b"short", 2.0),
                           ("write", b"again", 10),
                           ("close",)]


def test_a_tls_handshake_is_bounded_and_so_is_the_stream_it_gives(clock: Any) -> None:
    inner, context = Recorder(), ssl.create_default_context()
    stream = fetch._BoundedStream(inner, NOW + 10)

    tls = stream.start_tls(context, "media.example", 5.0)
    tls.read(64)
    clock.now = NOW + 9
    tls.write(b"x")

    assert inner.calls == [("start_tls", context, "media.example", 5.0)]
    assert inner.tls.calls == [("read", 64, 10), ("write", b"x", 1)]
    clock.now = NOW + 10
    with pytest.raises(httpcore.ReadTimeout):
        tls.read(64)


def test_nothing_is_sent_read_or_shaken_hands_on_after_the_deadline(clock: Any) -> None:
    inner = Recorder()
    stream = fetch._BoundedStream(inner, NOW + 10)
    clock.now = NOW + 11

    with pytest.raises(httpcore.ReadTimeout):
        stream.read(1024)
    with pytest.raises(httpcore.WriteTimeout):
        stream.write(b"x")
    with pytest.raises(httpcore.ConnectTimeout):
        stream.start_tls(ssl.create_default_context(), "media.example")
    assert inner.calls == []


def test_a_connect_is_bounded_and_so_is_the_stream_it_gives(clock: Any) -> None:
    backend = fetch._BoundedBackend(NOW + 10)
    assert isinstance(backend._backend, httpcore.SyncBackend)
    inner = backend._backend = Recorder()  # type: ignore[assignment]

    stream = backend.connect_tcp("93.184.216.34", 443, 5.0, "0.0.0.0", ["option"])
    backend.connect_tcp("93.184.216.34", 80)
    stream.read(16)
    backend.sleep(0.25)

    assert inner.calls == [("connect_tcp", "93.184.216.34", 443, 5.0, "0.0.0.0", ["option"]),
                           ("connect_tcp", "93.184.216.34", 80, 10, None, None), ("sleep", 0.25)]
    assert inner.stream.calls == [("read", 16, 10)]
    clock.now = NOW + 10
    with pytest.raises(httpcore.ConnectTimeout):
        backend.connect_tcp("93.184.216.34", 443)
    assert len(inner.calls) == 3


def test_the_clients_own_timeout_is_what_is_left(clock: Any) -> None:
    with fetch._client(NOW + 10) as client:
        assert client.timeout == httpx.Timeout(10)
    with fetch._client(NOW + 0.5) as client:
        assert client.timeout == httpx.Timeout(0.5)
