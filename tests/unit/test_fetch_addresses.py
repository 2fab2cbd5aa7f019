"""The fetcher's address classifier and URL checks; no sockets (any attempt fails the test)."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from typing import Any

import pytest
from reelgate.fetch import FetchError, UnsafeURL, fetch_to_file, post, unsafe_reason

PUBLIC = ["8.8.8.8", "93.184.216.34", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111"]
PUBLIC += ["64:ff9b::808:808", "2002:808:808::1"]  # NAT64 and 6to4 forms of a public IPv4


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a unit test touched the network")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private address (RFC 1918)"),
        ("172.16.0.1", "private address (RFC 1918)"),
        ("172.31.255.255", "private address (RFC 1918)"),
        ("192.168.0.1", "private address (RFC 1918)"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("fc00::1", "unique-local"),
        ("fd12:3456::1", "unique-local"),
        ("169.254.169.254", "cloud metadata"),
        ("169.254.170.2", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("255.255.255.255", "broadcast"),
        ("240.0.0.1", "reserved"),
        ("fec0::1", "site-local"),
        ("0.1.2.3", "not globally routable"),
        ("192.0.0.8", "not globally routable"),
        ("192.0.2.1", "not globally routable"),
        ("198.18.0.1", "not globally routable"),
        ("2001:db8::1", "not globally routable"),
        ("::ffff:127.0.0.1", "IPv4-mapped"),
        ("::ffff:10.0.0.1", "IPv4-mapped"),
        ("::ffff:8.8.8.8", "IPv4-mapped"),  # never a legitimate DNS answer, refused whatever it embeds
        ("::ffff:0:7f00:1", "IPv4-translated"),
        ("::127.0.0.1", "IPv4-compatible"),
        ("::a00:1", "IPv4-compatible"),
        ("64:ff9b::7f00:1", "NAT64 address embedding a loopback"),
        ("64:ff9b::a9fe:a9fe", "NAT64 address embedding a cloud metadata"),
        ("64:ff9b:1::a00:1", "local-use NAT64"),
        ("2002:7f00:1::1", "6to4 address embedding a loopback"),
        ("2002:a00:1::1", "6to4 address embedding a private"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
        ("localhost", "not an IP address"),
    ],
)
def test_unsafe_addresses_are_named(address: str, reason: str) -> None:
    found = unsafe_reason(address)

    assert found is not None
    assert reason in found


@pytest.mark.parametrize(
    "address",
    PUBLIC,
)
def test_public_addresses_pass(address: str) -> None:
    assert unsafe_reason(address) is None
    assert unsafe_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/a.png", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("/relative/path.png", "^only http and https URLs are allowed, not 'a relative URL'$"),
        ("http:///nohost", "^URL has no host$"),
        ("http://a\x00b/", r"^invalid URL: Invalid non-printable ASCII character in URL, '\\x00' at position 8\.$"),
        ("http://example.com:99999/", "invalid URL"),
    ],
)
def test_malformed_or_non_http_urls_are_refused(settings_env: Any, tmp_path: Path, url: str, message: str) -> None:
    with pytest.raises(UnsafeURL, match=message):
        fetch_to_file(url, tmp_path / "x")


@pytest.mark.parametrize("answer", [["10.0.0.7"], ["8.8.8.8", "::1"], ["::ffff:169.254.169.254"]])
def test_a_host_is_refused_before_any_connection(settings_env: Any, tmp_path: Path, answer: list[str]) -> None:
    with pytest.raises(UnsafeURL, match=r"cdn\.example resolves to"):
        fetch_to_file("https://cdn.example/a.png", tmp_path / "a", resolver=lambda host, port: answer)
    with pytest.raises(UnsafeURL, match=r"cdn\.example resolves to"):
        post("https://cdn.example/hook", content=b"{}", headers={}, timeout=1, resolver=lambda h, p: answer)
    assert not (tmp_path / "a").exists()


def test_the_resolver_gets_the_ascii_host_and_effective_port(settings_env: Any, tmp_path: Path) -> None:
    asked: list[tuple[str, int]] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return ["127.0.0.1"]

    for url in ("https://Bücher.example/x", "http://cdn.example/x", "http://cdn.example:8080/x"):
        with pytest.raises(UnsafeURL):
            fetch_to_file(url, tmp_path / "x", resolver=resolver)

    assert asked == [("xn--bcher-kva.example", 443), ("cdn.example", 80), ("cdn.example", 8080)]


def test_an_unresolvable_host_is_a_fetch_error(settings_env: Any, tmp_path: Path) -> None:
    def no_such_host(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(FetchError, match=r"cannot resolve nowhere\.example") as caught:
        fetch_to_file("http://nowhere.example/x", tmp_path / "x", resolver=no_such_host)
    assert not isinstance(caught.value, UnsafeURL)


def test_allowlist_is_exact_host_and_port(settings_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings_env.setenv("REELGATE_URL_ALLOWLIST", "127.0.0.1:9999, sim.local:4010")

    with pytest.raises(UnsafeURL, match="loopback"):  # same host, other port: still checked
        fetch_to_file("http://127.0.0.1:9998/x", tmp_path / "x", resolver=lambda h, p: ["127.0.0.1"])
    with pytest.raises(UnsafeURL, match="loopback"):  # same port, other host: still checked
        fetch_to_file("http://sim.other:4010/x", tmp_path / "x", resolver=lambda h, p: ["127.0.0.1"])


def test_ipv4_embedding_forms_are_named_by_what_they_embed() -> None:
    assert unsafe_reason("::2") == "IPv4-compatible IPv6 address (embeds 0.0.0.2)"
    assert unsafe_reason("2001:0:4136:e378:8000:63bf:3fff:fdd2") == "Teredo tunnel address"
