"""The fetcher against servers on 127.0.0.1 that answer in one unusual way each: a status at the edge of
success, repeated or missing headers, a length right at the cap, a broken redirect, a closed port. Each
test pins what is accepted or the exact error a job would show."""

from __future__ import annotations

import re
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from reelgate import fetch
from reelgate.fetch import FetchError, UnsafeURL, fetch_all, fetch_to_file, post

from tests.integration import test_fetch
from tests.integration.test_fetch import (  # noqa: F401 (network is a fixture)
    PNG,
    PUBLIC_IP,
    FakeNetwork,
    Site,
    _certificates,
    network,
    redirect,
    reply,
)


def raw(status: int, *headers: tuple[str, str], body: bytes = b"") -> Any:
    """An answer with exactly these headers (no Content-Type unless given)."""

    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        for name, value in headers:
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(body)

    return route


# --- Status, encoding, length, type ----------------------------------------------------------------


@pytest.mark.parametrize("status", [300, 304])
def test_only_a_2xx_answer_is_stored(allow: Any, site: Site, tmp_path: Path, status: int) -> None:
    site.routes["/a.png"] = raw(status, ("Content-Length", "4"), body=b"" if status == 304 else b"page")

    with pytest.raises(FetchError, match=f"answered HTTP {status}$") as caught:
        fetch_to_file(site.url("/a.png"), tmp_path / "a")
    assert caught.value.status == status
    assert not (tmp_path / "a").exists()


def test_a_299_answer_is_a_success(allow: Any, site: Site, tmp_path: Path) -> None:
    site.routes["/a.png"] = raw(299, ("Content-Length", str(len(PNG))), body=PNG)

    assert fetch_to_file(site.url("/a.png"), tmp_path / "a").path.read_bytes() == PNG


def test_identity_sent_twice_is_still_identity(allow: Any, site: Site, tmp_path: Path) -> None:
    site.routes["/a.png"] = raw(200, ("Content-Encoding", "identity"), ("Content-Encoding", "Identity "),
                                ("Content-Length", str(len(PNG))), body=PNG)

    assert fetch_to_file(site.url("/a.png"), tmp_path / "a").path.read_bytes() == PNG


def test_a_declared_length_of_exactly_the_cap_is_accepted(allow: Any, site: Site, tmp_path: Path) -> None:
    site.routes["/a.png"] = reply(PNG[:100])

    assert fetch_to_file(site.url("/a.png"), tmp_path / "a", max_bytes=100).size == 100
    with pytest.raises(FetchError, match=rf"^{re.escape(site.url('/a.png'))} is 100 bytes, over the 99-byte limit$"):
        fetch_to_file(site.url("/a.png"), tmp_path / "a", max_bytes=99)


def test_an_answer_without_a_content_type_has_none(allow: Any, site: Site, tmp_path: Path) -> None:
    site.routes["/a"] = site.routes["/a?sig=secret"] = raw(200, ("Content-Length", "4"), body=b"data")

    assert fetch_to_file(site.url("/a"), tmp_path / "a").content_type == ""
    with pytest.raises(FetchError) as caught:
        fetch_to_file(site.url("/a?sig=secret"), tmp_path / "a", allowed_types=("image/", "video/mp4"))
    assert str(caught.value) == f"{site.url('/a')} has content type 'none', expected image/, video/mp4"


# --- Requests and failures ------------------------------------------------------------------------


def test_only_a_redirect_status_with_a_location_is_followed(allow: Any, site: Site, tmp_path: Path) -> None:
    site.routes["/moved"] = raw(302, ("Content-Length", "0"))
    site.routes["/page.png"] = raw(200, ("Location", "/elsewhere"), ("Content-Length", str(len(PNG))), body=PNG)

    with pytest.raises(FetchError, match=r"/moved answered HTTP 302$"):
        fetch_to_file(site.url("/moved"), tmp_path / "m")
    assert fetch_to_file(site.url("/page.png"), tmp_path / "p").path.read_bytes() == PNG
    assert [seen.path for seen in site.requests] == ["/moved", "/page.png"]


def test_a_fetch_says_who_it_is(allow: Any, site: Site, tmp_path: Path) -> None:
    site.routes["/a.png"] = reply(PNG)

    fetch_to_file(site.url("/a.png"), tmp_path / "a")

    assert site.requests[0].headers["User-Agent"] == "Reelgate-Fetch/1"


def test_a_redirect_to_an_unparsable_location_is_refused(allow: Any, site: Site, tmp_path: Path) -> None:
    site.routes["/go?sig=secret"] = raw(302, ("Location", "//[::1/x"), ("Content-Length", "0"))

    with pytest.raises(FetchError) as caught:
        fetch_to_file(site.url("/go?sig=secret"), tmp_path / "a")
    assert str(caught.value) == (f"fetching {site.url('/go')} failed: RemoteProtocolError: "
                                 "Invalid URL in location header: Invalid port: ':1'.")
    assert len(site.requests) == 1 and not (tmp_path / "a").exists()


def test_a_closed_port_names_the_url_and_the_failure(settings_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with socket.socket() as spare:  # a port nothing listens on once closed
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]
    settings_env.setenv("REELGATE_URL_ALLOWLIST", f"127.0.0.1:{port}")

    with pytest.raises(FetchError) as caught:
        fetch_to_file(f"http://127.0.0.1:{port}/a.png?sig=secret", tmp_path / "a")
    assert str(caught.value).startswith(f"fetching http://127.0.0.1:{port}/a.png failed: ConnectError: ")
    with pytest.raises(FetchError, match=rf"^fetching http://127\.0\.0\.1:{port}/hook failed: ConnectError: "):
        post(f"http://127.0.0.1:{port}/hook", content=b"{}", headers={}, timeout=5)


def test_a_webhook_goes_to_the_validated_address_as_its_host(
    settings_env: Any, site: Site, network: FakeNetwork  # noqa: F811
) -> None:
    site.routes["/hook"] = reply(b"{}", "application/json")
    network.routes[(PUBLIC_IP, 80)] = ("127.0.0.1", site.port)

    answer = post("http://hooks.example/hook", content=b'{"event": 1}', headers={}, timeout=5,
                  resolver=lambda h, p: [PUBLIC_IP])

    assert answer.status_code == 200
    assert site.requests[0].body == b'{"event": 1}'
    answer.raise_for_status()  # the answer keeps its request (the pinned one, to the IP)
    assert (answer.request.method, answer.request.url) == ("POST", f"http://{PUBLIC_IP}/hook")
    assert network.connects == [(PUBLIC_IP, 80)]
    assert site.requests[0].headers["Host"] == "hooks.example"
    assert "hooks.example" not in network.lookups


def test_the_first_reachable_address_serves_the_whole_fetch(
    settings_env: Any, site: Site, network: FakeNetwork, tmp_path: Path  # noqa: F811
) -> None:
    site.routes["/a.png"] = reply(PNG)
    network.routes[(PUBLIC_IP, 80)] = ("127.0.0.1", site.port)

    got = fetch_to_file("http://two.example/a.png", tmp_path / "a", resolver=lambda h, p: [PUBLIC_IP, "93.184.216.35"])

    assert got.path.read_bytes() == PNG
    assert network.connects == [(PUBLIC_IP, 80)]


def test_every_validated_address_is_tried_in_turn(
    settings_env: Any, site: Site, network: FakeNetwork, tmp_path: Path  # noqa: F811
) -> None:
    site.routes["/a.png"] = reply(PNG)
    addresses = [PUBLIC_IP, "93.184.216.35", "93.184.216.36"]
    network.routes[(addresses[-1], 80)] = ("127.0.0.1", site.port)

    assert fetch_to_file("http://three.example/a.png", tmp_path / "a", resolver=lambda h, p: addresses).size == len(PNG)
    assert network.connects == [(address, 80) for address in addresses]


def test_credentials_and_fragments_stay_out_of_messages(allow: Any, site: Site, tmp_path: Path) -> None:
    url = site.url("/missing").replace("http://", "http://user:hunter2@") + "#part"

    with pytest.raises(FetchError) as caught:
        fetch_to_file(url, tmp_path / "m")
    assert str(caught.value) == f"{site.url('/missing')} answered HTTP 404"


def test_a_connection_verified_for_one_host_never_serves_another(
    settings_env: Any, network: FakeNetwork, monkeypatch: pytest.MonkeyPatch, tmp_path: Path  # noqa: F811
) -> None:
    # (No keep-alive at all, and redirect answers are closed unread, which also drops their connection.)
    # Given a keep-alive HTTPS server at one IP with a certificate for media.example only,
    monkeypatch.setattr(test_fetch._Handler, "protocol_version", "HTTP/1.1")
    server_ctx, client_ctx = _certificates(tmp_path, "media.example")
    monkeypatch.setattr(fetch, "_ssl_context", lambda: client_ctx)
    tls_site = Site(tls=server_ctx)
    tls_site.routes["/go"] = redirect("https://other.example/a.png")  # a name at the same IP
    tls_site.routes["/a.png"] = reply(PNG)
    network.routes[(PUBLIC_IP, 443)] = ("127.0.0.1", tls_site.port)
    try:
        # When a redirect leads to the other name, the connection opened for media.example is not reused
        with pytest.raises(FetchError, match="CERTIFICATE_VERIFY_FAILED"):
            fetch_to_file("https://media.example/go", tmp_path / "a", resolver=lambda h, p: [PUBLIC_IP])
    finally:
        tls_site.stop()
    # Then the second name got a handshake of its own, which failed, and no request
    assert [seen.path for seen in tls_site.requests] == ["/go"]
    assert network.connects == [(PUBLIC_IP, 443), (PUBLIC_IP, 443)]


def test_proxy_settings_in_the_environment_are_ignored(allow: Any, site: Site, tmp_path: Path) -> None:
    proxy = Site()  # a proxy would resolve the name itself, undoing the pinning
    try:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
            allow.setenv(name, f"http://127.0.0.1:{proxy.port}")
        for name in ("NO_PROXY", "no_proxy"):
            allow.delenv(name, raising=False)
        site.routes["/a.png"] = reply(PNG)

        assert fetch_to_file(site.url("/a.png"), tmp_path / "a").path.read_bytes() == PNG
        assert post(site.url("/a.png"), content=b"{}", headers={}, timeout=5).status_code == 200
    finally:
        proxy.stop()
    assert proxy.requests == []


def test_a_chunked_webhook_answer_is_kept_as_sent(allow: Any, site: Site) -> None:
    def chunked(h: BaseHTTPRequestHandler) -> None:
        h.protocol_version = "HTTP/1.1"
        h.send_response(200)
        h.send_header("Transfer-Encoding", "chunked")
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(b"3\r\none\r\n3\r\ntwo\r\n5\r\nthree\r\n0\r\n\r\n")

    site.routes["/hook"] = chunked

    assert post(site.url("/hook"), content=b"{}", headers={}, timeout=5).content == b"onetwothree"


# --- Several at once ------------------------------------------------------------------------------


def test_after_a_failure_no_queued_fetch_starts(
    allow: Any, site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 8 workers busy on answers held until fetch_all has given up, and 3 more fetches queued
    gate = threading.Event()

    class HeldUntilExit(ThreadPoolExecutor):  # lets the held answers go once fetch_all leaves its pool
        def __exit__(self, *exc: Any) -> Any:
            gate.set()
            return super().__exit__(*exc)

    def held(h: BaseHTTPRequestHandler) -> None:
        gate.wait(timeout=5)
        reply(b"clip", "video/mp4")(h)

    monkeypatch.setattr(fetch, "ThreadPoolExecutor", HeldUntilExit)
    urls = [site.url(f"/{index}.mp4") for index in range(10)]
    urls.insert(1, "http://10.0.0.1/refused.mp4")  # not first: fetch_all must not wait for the one before it
    for index in range(10):
        site.routes[f"/{index}.mp4"] = held
    # When the second fails at once
    with pytest.raises(UnsafeURL, match="private address"):
        fetch_all(urls, tmp_path / "clips")
    # Then the 7 running fetches end, the worker freed by the failure may have taken one more, and no other starts
    assert 7 <= len(site.requests) <= 8
