"""The fetcher's hardening against hostile servers on 127.0.0.1: encoded bodies, and one wall-clock
deadline over connect, headers and body (fetches, parallel fetches and webhook POSTs)."""

from __future__ import annotations

import contextlib
import gzip
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from reelgate import deadline
from reelgate.fetch import FetchError, fetch_all, fetch_to_file, post

from tests.integration.test_fetch import PNG, Route, Site, reply

SLACK = 1.0  # scheduling and teardown on a shared 2-core machine; the bounds are what is asserted
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 4\r\n\r\n"


def encoded(body: bytes, encoding: str) -> Route:
    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "image/png")
        h.send_header("Content-Encoding", encoding)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    return route


def trickle(every: float = 0.5) -> Route:
    """Sends a valid answer one byte per `every` seconds: each read succeeds well inside any per-read timeout."""

    def route(h: BaseHTTPRequestHandler) -> None:
        h.close_connection = True
        with contextlib.suppress(OSError):  # the client hangs up, which is the point
            for byte in HEAD + b"data":
                h.wfile.write(bytes([byte]))
                h.wfile.flush()
                time.sleep(every)

    return route


def elapsed_of(call: Any) -> tuple[float, BaseException]:
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        call()
    return time.monotonic() - started, caught.value


# --- Content-Encoding ----------------------------------------------------------------------------


def test_a_gzip_bomb_is_refused_before_anything_is_inflated(allow: Any, site: Site, tmp_path: Path) -> None:
    bomb = gzip.compress(b"\0" * 50_000_000)  # ~50 KB on the wire, 50 MB once decoded
    site.routes["/bomb.png"] = encoded(bomb, "gzip")

    with pytest.raises(FetchError, match="Content-Encoding 'gzip'; only identity is accepted"):
        fetch_to_file(site.url("/bomb.png"), tmp_path / "bomb", max_bytes=1_000_000)
    assert len(bomb) < 1_000_000
    assert not (tmp_path / "bomb").exists()


@pytest.mark.parametrize("encoding", ["br", "deflate", "identity, gzip", "zstd"])
def test_every_encoding_but_identity_is_refused(allow: Any, site: Site, tmp_path: Path, encoding: str) -> None:
    site.routes["/x.png"] = encoded(PNG, encoding)

    with pytest.raises(FetchError, match="only identity is accepted"):
        fetch_to_file(site.url("/x.png"), tmp_path / "x")


def test_identity_is_stored_byte_for_byte(allow: Any, site: Site, tmp_path: Path) -> None:
    site.routes["/x.png"] = encoded(PNG, "Identity")

    assert fetch_to_file(site.url("/x.png"), tmp_path / "x").path.read_bytes() == PNG


def test_a_webhook_answer_is_not_decoded(allow: Any, site: Site) -> None:
    bomb = gzip.compress(b"\0" * 50_000_000)
    site.routes["/hook"] = encoded(bomb, "gzip")

    answer = post(site.url("/hook"), content=b"{}", headers={}, timeout=5)

    assert answer.status_code == 200
    assert answer.content == bomb[: 64 * 1024]  # raw and capped, never inflated


# --- One deadline ---------------------------------------------------------------------------------


def test_trickled_headers_end_at_the_fetch_timeout(allow: Any, site: Site, tmp_path: Path) -> None:
    allow.setenv("REELGATE_FETCH_TIMEOUT_SECONDS", "1.5")
    site.routes["/slow.png"] = trickle()

    took, error = elapsed_of(lambda: fetch_to_file(site.url("/slow.png"), tmp_path / "slow"))

    assert "timed out" in str(error)
    assert took < 1.5 + SLACK
    assert not (tmp_path / "slow").exists()


def test_the_invocation_deadline_bounds_a_fetch_with_a_longer_timeout(
    allow: Any, site: Site, tmp_path: Path
) -> None:
    allow.setenv("REELGATE_FETCH_TIMEOUT_SECONDS", "30")
    site.routes["/slow.png"] = trickle()

    with deadline.bounded(2.5):  # 2.5 s left in the invocation, less the 1 s margin
        took, error = elapsed_of(lambda: fetch_to_file(site.url("/slow.png"), tmp_path / "slow"))

    assert "timed out" in str(error)
    assert took < 1.5 + SLACK


def test_parallel_fetches_keep_the_invocation_deadline(allow: Any, site: Site, tmp_path: Path) -> None:
    allow.setenv("REELGATE_FETCH_TIMEOUT_SECONDS", "30")
    site.routes["/slow.mp4"] = trickle()

    with deadline.bounded(2.5):  # fetch_all runs in worker threads: the deadline must reach them
        took, error = elapsed_of(lambda: fetch_all([site.url("/slow.mp4")] * 2, tmp_path / "clips"))

    assert "timed out" in str(error)
    assert took < 1.5 + SLACK


def test_no_fetch_starts_without_time_for_it(allow: Any, site: Site, tmp_path: Path) -> None:
    site.routes["/a.png"] = reply(PNG)

    with deadline.bounded(0.5), pytest.raises(FetchError, match="not enough time left"):
        fetch_to_file(site.url("/a.png"), tmp_path / "a")
    assert site.requests == []


def test_a_webhook_post_to_a_trickling_receiver_ends_at_its_timeout(allow: Any, site: Site) -> None:
    site.routes["/hook"] = trickle()

    took, error = elapsed_of(lambda: post(site.url("/hook"), content=b"{}", headers={}, timeout=1.5))

    assert "timed out" in str(error)
    assert took < 1.5 + SLACK
