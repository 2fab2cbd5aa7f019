"""The safe fetcher against real HTTP(S) servers on 127.0.0.1.

Public addresses are simulated: an injected resolver answers for made-up hostnames, and a fake
network (socket.create_connection patched) records every TCP connect and routes a chosen public
IP to a local server, so no test leaves the machine and every test sees what was connected to.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from reelgate import fetch
from reelgate.fetch import FetchError, UnsafeURL, fetch_all, fetch_to_file, post

PUBLIC_IP = "93.184.216.34"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4

Route = Callable[[BaseHTTPRequestHandler], None]


# --- Test servers ------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    def _dispatch(self) -> None:
        site: Site = self.server.site  # type: ignore[attr-defined]
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        site.requests.append(Seen(self.command, self.path, dict(self.headers), body))
        route = site.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up on purpose
            route(self)

    do_GET = do_POST = _dispatch

    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Site:
    tls: ssl.SSLContext | None = None
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.site = self  # type: ignore[attr-defined]
        self.server.handle_error = lambda *a: None  # type: ignore[method-assign]
        if self.tls is not None:
            self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def reply(body: bytes, content_type: str = "image/png", *, status: int = 200, length: bool = True) -> Route:
    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        if length:  # without Content-Length, HTTP/1.0 ends the body by closing the connection
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    return route


def redirect(location: str, status: int = 302) -> Route:
    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return route


def delayed(seconds: float, then: Route) -> Route:
    def route(h: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        then(h)

    return route


@pytest.fixture
def other_site() -> Iterator[Site]:
    """A second local server that is NOT allowlisted: nothing may ever reach it."""
    s = Site()
    s.routes["/"] = reply(b"internal secret", "text/plain")
    yield s
    s.stop()


@dataclass
class FakeNetwork:
    routes: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)
    dns: dict[str, str] = field(default_factory=dict)
    connects: list[tuple[str, int]] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> FakeNetwork:
    """Records connects and system DNS lookups; routes chosen public IPs to local servers."""
    net = FakeNetwork()
    real_connect, real_lookup = socket.create_connection, socket.getaddrinfo

    def connect(address: tuple[str, int], timeout: Any = None, source_address: Any = None, **kw: Any) -> Any:
        net.connects.append((address[0], address[1]))
        if address in net.routes:
            return real_connect(net.routes[address], timeout, source_address)
        host = net.dns.get(address[0], address[0])  # a name is resolved here, as the real one would
        if host != "127.0.0.1":
            raise ConnectionRefusedError(f"fake network: no route to {host}")
        return real_connect((host, address[1]), timeout, source_address)

    def lookup(host: Any, port: Any, *args: Any, **kw: Any) -> Any:
        net.lookups.append(str(host))
        target = net.dns.get(str(host), host)
        return real_lookup(target, port, *args, **kw)

    monkeypatch.setattr(socket, "create_connection", connect)
    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    return net


# --- Downloads ---------------------------------------------------------------------------------


def test_downloads_a_file(allow: Any, site: Site, tmp_path: Path) -> None:
    site.routes["/a.png"] = reply(PNG, "image/png; charset=binary")

    got = fetch_to_file(site.url("/a.png"), tmp_path / "a.png", allowed_types=("image/",))

    assert got.path.read_bytes() == PNG
    assert (got.size, got.content_type, got.final_url) == (len(PNG), "image/png", site.url("/a.png"))
    assert site.requests[0].headers["Accept-Encoding"] == "identity"


def test_refuses_a_declared_length_over_the_cap(allow: Any, site: Site, tmp_path: Path) -> None:
    site.routes["/big"] = reply(b"x" * 1000)

    with pytest.raises(FetchError, match="is 1000 bytes, over the 100-byte limit"):
        fetch_to_file(site.url("/big"), tmp_path / "big", max_bytes=100)
    assert not (tmp_path / "big").exists()


def test_refuses_a_streamed_body_over_the_cap(allow: Any, site: Site, tmp_path: Path) -> None:
    site.routes["/stream"] = reply(b"x" * 300_000, length=False)

    with pytest.raises(FetchError, match="is over the 100000-byte limit"):
        fetch_to_file(site.url("/stream"), tmp_path / "s", max_bytes=100_000)
    assert not (tmp_path / "s").exists()


def test_settings_cap_applies_by_default(allow: Any, site: Site, tmp_path: Path) -> None:
    allow.setenv("REELGATE_FETCH_MAX_BYTES", "10")
    site.routes["/big"] = reply(b"x" * 11)

    with pytest.raises(FetchError, match="over the 10-byte limit"):
        fetch_to_file(site.url("/big"), tmp_path / "big")


@pytest.mark.parametrize(
    ("content_type", "allowed", "ok"),
    [
        ("text/html; charset=utf-8", ("image/",), False),
        ("IMAGE/JPEG", ("image/",), True),
        ("video/mp4", ("image/", "video/mp4"), True),
        ("video/mp4x", ("video/mp4",), False),
        ("", ("image/",), False),
    ],
)
def test_content_type_check(
    allow: Any, site: Site, tmp_path: Path, content_type: str, allowed: tuple[str, ...], ok: bool
) -> None:
    site.routes["/f"] = reply(b"data", content_type)

    if ok:
        assert fetch_to_file(site.url("/f"), tmp_path / "f", allowed_types=allowed).size == 4
    else:
        with pytest.raises(FetchError, match="content type"):
            fetch_to_file(site.url("/f"), tmp_path / "f", allowed_types=allowed)


def test_http_error_is_a_fetch_error_with_status(allow: Any, site: Site, tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="answered HTTP 404") as caught:
        fetch_to_file(site.url("/missing?X-Amz-Signature=topsecret"), tmp_path / "m")
    assert caught.value.status == 404
    assert "topsecret" not in str(caught.value)  # presigned query strings stay out of messages


def test_times_out_on_a_silent_server(allow: Any, site: Site, tmp_path: Path) -> None:
    allow.setenv("REELGATE_FETCH_TIMEOUT_SECONDS", "0.5")
    site.routes["/slow"] = delayed(3, reply(PNG))

    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        fetch_to_file(site.url("/slow"), tmp_path / "slow")
    assert time.monotonic() - started < 2


def test_a_slow_drip_cannot_outlast_the_deadline(allow: Any, site: Site, tmp_path: Path) -> None:
    allow.setenv("REELGATE_FETCH_TIMEOUT_SECONDS", "0.6")

    def drip(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "100")
        h.end_headers()
        for _ in range(100):  # each byte arrives well inside the per-read timeout
            h.wfile.write(b"x")
            h.wfile.flush()
            time.sleep(0.05)

    site.routes["/drip"] = drip
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        fetch_to_file(site.url("/drip"), tmp_path / "drip")
    assert time.monotonic() - started < 2.5
    assert not (tmp_path / "drip").exists()


# --- Redirects ---------------------------------------------------------------------------------


def test_follows_a_safe_redirect(allow: Any, site: Site, tmp_path: Path) -> None:
    site.routes["/go"] = redirect("/a.png")
    site.routes["/a.png"] = reply(PNG)

    got = fetch_to_file(site.url("/go"), tmp_path / "a")

    assert got.final_url == site.url("/a.png")
    assert got.path.read_bytes() == PNG


def test_redirect_to_a_private_address_is_refused(allow: Any, site: Site, tmp_path: Path, network: FakeNetwork) -> None:
    site.routes["/go"] = redirect("http://10.0.0.1/x")

    with pytest.raises(UnsafeURL, match=r"10\.0\.0\.1, a private address"):
        fetch_to_file(site.url("/go"), tmp_path / "x")
    assert network.connects == [("127.0.0.1", site.port)]  # nothing toward 10.0.0.1


def test_redirect_to_a_non_allowlisted_local_port_is_refused(
    allow: Any, site: Site, other_site: Site, tmp_path: Path
) -> None:
    site.routes["/go"] = redirect(other_site.url("/"))

    with pytest.raises(UnsafeURL, match="loopback address"):
        fetch_to_file(site.url("/go"), tmp_path / "x")
    assert other_site.requests == []


def test_redirect_to_another_scheme_is_refused(allow: Any, site: Site, tmp_path: Path) -> None:
    site.routes["/go"] = redirect("file:///etc/passwd")

    with pytest.raises(UnsafeURL, match="only http and https"):
        fetch_to_file(site.url("/go"), tmp_path / "x")


def test_redirects_are_bounded(allow: Any, site: Site, tmp_path: Path) -> None:
    allow.setenv("REELGATE_FETCH_MAX_REDIRECTS", "2")
    site.routes["/loop"] = redirect("/loop")

    with pytest.raises(FetchError, match="more than 2 redirects"):
        fetch_to_file(site.url("/loop"), tmp_path / "x")
    assert len(site.requests) == 3


# --- Addresses actually connected to -----------------------------------------------------------


def test_non_allowlisted_loopback_is_refused(settings_env: Any, other_site: Site, tmp_path: Path) -> None:
    with pytest.raises(UnsafeURL, match=r"127\.0\.0\.1, a loopback address"):
        fetch_to_file(other_site.url("/"), tmp_path / "x")
    assert other_site.requests == []


def test_a_hostname_resolving_to_loopback_is_refused(settings_env: Any, other_site: Site, tmp_path: Path) -> None:
    url = other_site.url("/", host="internal.example")

    with pytest.raises(UnsafeURL, match=r"internal\.example resolves to 127\.0\.0\.1, a loopback address"):
        fetch_to_file(url, tmp_path / "x", resolver=lambda host, port: ["127.0.0.1"])
    assert other_site.requests == []


def test_any_unsafe_address_in_the_answer_refuses_the_host(settings_env: Any, tmp_path: Path) -> None:
    with pytest.raises(UnsafeURL, match=r"169\.254\.169\.254, a cloud metadata service address"):
        fetch_to_file("http://mixed.example/x", tmp_path / "x", resolver=lambda h, p: [PUBLIC_IP, "169.254.169.254"])


def test_connects_to_the_validated_ip_with_the_original_host_header(
    settings_env: Any, site: Site, network: FakeNetwork, tmp_path: Path
) -> None:
    site.routes["/a.png"] = reply(PNG)
    network.routes[(PUBLIC_IP, 80)] = ("127.0.0.1", site.port)  # PUBLIC_IP:80 "is" this server

    got = fetch_to_file("http://media.example/a.png", tmp_path / "a", resolver=lambda h, p: [PUBLIC_IP])

    assert got.path.read_bytes() == PNG
    assert got.final_url == "http://media.example/a.png"
    assert network.connects == [(PUBLIC_IP, 80)]
    assert site.requests[0].headers["Host"] == "media.example"
    assert "media.example" not in network.lookups


def test_dns_rebinding_cannot_reach_loopback(
    settings_env: Any, site: Site, other_site: Site, network: FakeNetwork, tmp_path: Path
) -> None:
    # Given a name that answers public first and loopback afterwards, where loopback:80 is internal.
    answers = iter([[PUBLIC_IP], ["127.0.0.1"], ["127.0.0.1"]])
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(answers)

    site.routes["/"] = reply(b"public content", "text/plain")
    network.routes[(PUBLIC_IP, 80)] = ("127.0.0.1", site.port)
    network.routes[("127.0.0.1", 80)] = ("127.0.0.1", other_site.port)
    network.dns["rebind.example"] = "127.0.0.1"  # any second system lookup would also rebind
    # When it is fetched
    got = fetch_to_file("http://rebind.example/", tmp_path / "r", resolver=rebinding)
    # Then the one validated answer is what was connected to; the internal server saw nothing.
    assert got.path.read_bytes() == b"public content"
    assert calls == ["rebind.example"]
    assert network.connects == [(PUBLIC_IP, 80)]
    assert other_site.requests == []
    assert "rebind.example" not in network.lookups


def test_falls_back_to_the_next_validated_address(
    settings_env: Any, site: Site, network: FakeNetwork, tmp_path: Path
) -> None:
    site.routes["/"] = reply(b"ok", "text/plain")
    network.routes[("93.184.216.35", 80)] = ("127.0.0.1", site.port)

    got = fetch_to_file("http://two.example/", tmp_path / "t", resolver=lambda h, p: [PUBLIC_IP, "93.184.216.35"])

    assert got.size == 2
    assert network.connects == [(PUBLIC_IP, 80), ("93.184.216.35", 80)]


# --- TLS: SNI and certificate checked for the hostname while connected to the IP ----------------


def _signed(
    builder: x509.CertificateBuilder, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, now: dt.datetime
) -> x509.CertificateBuilder:
    return (
        builder.issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
    )


def _certificates(tmp_path: Path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context with a cert for `name`, client context trusting only the test CA)."""
    now = dt.datetime.now(dt.UTC)
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Reelgate test CA")])
    ca = _signed(x509.CertificateBuilder().subject_name(ca_name), ca_key, ca_name, now).add_extension(
        x509.BasicConstraints(ca=True, path_length=None), critical=True
    )
    ca_cert = ca.sign(ca_key, hashes.SHA256())
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    leaf = (
        _signed(x509.CertificateBuilder().subject_name(leaf_name), leaf_key, ca_name, now)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(pem))
    (tmp_path / "leaf.key").write_bytes(
        leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp_path / "leaf.pem", tmp_path / "leaf.key")
    client = ssl.create_default_context(cadata=ca_cert.public_bytes(pem).decode())
    return server, client


@pytest.mark.parametrize(("cert_name", "ok"), [("media.example", True), ("other.example", False)])
def test_tls_uses_sni_and_verifies_the_hostname(
    settings_env: Any,
    network: FakeNetwork,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    cert_name: str,
    ok: bool,
) -> None:
    server_ctx, client_ctx = _certificates(tmp_path, cert_name)
    sni: list[str | None] = []
    server_ctx.sni_callback = lambda sock, name, ctx: sni.append(name)  # type: ignore[assignment,misc]
    monkeypatch.setattr(fetch, "_ssl_context", lambda: client_ctx)
    tls_site = Site(tls=server_ctx)
    tls_site.routes["/a.png"] = reply(PNG)
    network.routes[(PUBLIC_IP, 443)] = ("127.0.0.1", tls_site.port)
    url = "https://media.example/a.png"
    try:
        if ok:
            assert fetch_to_file(url, tmp_path / "a", resolver=lambda h, p: [PUBLIC_IP]).size == len(PNG)
            assert tls_site.requests[0].headers["Host"] == "media.example"
        else:
            with pytest.raises(FetchError, match=r"CERTIFICATE_VERIFY_FAILED"):
                fetch_to_file(url, tmp_path / "a", resolver=lambda h, p: [PUBLIC_IP])
            assert tls_site.requests == []
    finally:
        tls_site.stop()
    assert sni == ["media.example"]
    assert network.connects == [(PUBLIC_IP, 443)]


# --- POST --------------------------------------------------------------------------------------


def test_post_sends_the_body_and_does_not_follow_redirects(allow: Any, site: Site, other_site: Site) -> None:
    site.routes["/hook"] = reply(b'{"ok":true}', "application/json")
    site.routes["/moved"] = redirect(other_site.url("/"), status=307)

    answer = post(site.url("/hook"), content=b"{}", headers={"x-test": "1"}, timeout=5)
    moved = post(site.url("/moved"), content=b"{}", headers={}, timeout=5)

    assert (answer.status_code, answer.json()) == (200, {"ok": True})
    assert site.requests[0].body == b"{}"
    assert site.requests[0].headers["x-test"] == "1"
    assert moved.status_code == 307
    assert other_site.requests == []


def test_post_refuses_unsafe_targets(settings_env: Any, other_site: Site) -> None:
    with pytest.raises(UnsafeURL, match="loopback"):
        post(other_site.url("/"), content=b"{}", headers={}, timeout=5)
    with pytest.raises(UnsafeURL, match="private"):
        post(
            "http://hook.example/",
            content=b"{}",
            headers={},
            timeout=5,
            resolver=lambda h, p: ["192.168.1.9"],
        )
    assert other_site.requests == []


# --- Several at once ---------------------------------------------------------------------------


def test_fetch_all_runs_in_parallel_and_keeps_order(allow: Any, site: Site, tmp_path: Path) -> None:
    delays = [0.9, 0.6, 0.3, 0.0]  # the first finishes last
    for index, delay in enumerate(delays):
        site.routes[f"/{index}.mp4"] = delayed(delay, reply(f"clip {index}".encode(), "video/mp4"))
    urls = [site.url(f"/{index}.mp4") for index in range(len(delays))]

    started = time.monotonic()
    got = fetch_all(urls, tmp_path / "clips", allowed_types=("video/",))

    assert time.monotonic() - started < sum(delays) - 0.3
    assert [f.final_url for f in got] == urls
    assert [f.path.name for f in got] == ["000.mp4", "001.mp4", "002.mp4", "003.mp4"]
    assert [f.path.read_bytes() for f in got] == [f"clip {i}".encode() for i in range(len(delays))]


def test_fetch_all_raises_the_first_failure(allow: Any, site: Site, other_site: Site, tmp_path: Path) -> None:
    site.routes["/ok.mp4"] = reply(b"clip", "video/mp4")

    with pytest.raises(UnsafeURL, match="loopback"):
        fetch_all([site.url("/ok.mp4"), other_site.url("/")], tmp_path / "clips")
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch_all([site.url("/missing.mp4"), site.url("/ok.mp4")], tmp_path / "clips")
    assert other_site.requests == []
    assert fetch_all([], tmp_path / "none") == []


def test_a_post_answer_is_kept_to_its_first_64_kb_with_its_own_headers(allow: Any, site: Site) -> None:
    big = bytes(range(256)) * 800  # 200 KB, read in several chunks

    def answer(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("X-Answer", "yes")
        h.end_headers()  # no Content-Length: the body ends with the connection
        for start in range(0, len(big), 16 * 1024):
            h.wfile.write(big[start:start + 16 * 1024])
            h.wfile.flush()

    site.routes["/hook"] = answer
    got = post(site.url("/hook"), content=b"{}", headers={}, timeout=5)

    assert site.requests[0].method == "POST"
    assert got.content == big[:64 * 1024]
    assert got.headers["x-answer"] == "yes" and got.headers["content-length"] == str(64 * 1024)


def test_a_streamed_body_of_exactly_the_cap_is_accepted(allow: Any, site: Site, tmp_path: Path) -> None:
    site.routes["/exact.png"] = reply(PNG[:100], length=False)
    got = fetch_to_file(site.url("/exact.png"), tmp_path / "exact.png", max_bytes=100)
    assert got.size == 100 and got.path.read_bytes() == PNG[:100]


def test_fetch_all_makes_its_folders_and_passes_the_limits_on(allow: Any, site: Site, tmp_path: Path) -> None:
    site.routes["/a.png"] = reply(PNG)
    got = fetch_all([site.url("/a.png")], tmp_path / "new" / "clips")
    assert got[0].path == tmp_path / "new" / "clips" / "000.png" and got[0].path.read_bytes() == PNG
    with pytest.raises(FetchError, match="over the 10-byte limit"):
        fetch_all([site.url("/a.png")], tmp_path / "capped", max_bytes=10)


def test_the_system_resolver_lists_each_address_once() -> None:
    assert fetch.system_resolver("127.0.0.1", 80) == ["127.0.0.1"]
