"""Public hosts are reached on ports 80 and 443 only; allowlisted host:port pairs keep working. No sockets."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from reelgate import fetch
from reelgate.fetch import UnsafeURL, fetch_to_file, post

PUBLIC_IP = "93.184.216.34"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a unit test touched the network")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def public(host: str, port: int) -> list[str]:
    return [PUBLIC_IP]


@pytest.mark.parametrize("url", ["http://cdn.example:8080/a.png", "https://cdn.example:8443/a.png",
                                 "http://cdn.example:22/", f"http://{PUBLIC_IP}:6379/"])
def test_other_ports_on_public_hosts_are_refused(settings_env: Any, tmp_path: Path, url: str) -> None:
    port = url.split(":")[2].split("/", maxsplit=1)[0]

    with pytest.raises(UnsafeURL, match=f"port {port} is not allowed on public hosts"):
        fetch_to_file(url, tmp_path / "a", resolver=public)
    with pytest.raises(UnsafeURL, match=f"port {port} is not allowed on public hosts"):
        post(url, content=b"{}", headers={}, timeout=1, resolver=public)
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize("url", ["http://cdn.example/a", "https://cdn.example/a", "https://cdn.example:443/a"])
def test_the_web_ports_pass_the_checks(settings_env: Any, url: str) -> None:
    assert fetch._validated_addresses(fetch._parse(url), public) == (PUBLIC_IP,)


def test_an_allowlisted_host_port_keeps_its_port(settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("REELGATE_URL_ALLOWLIST", "sim.local:8080")

    assert fetch._validated_addresses(fetch._parse("http://sim.local:8080/x"), public) == ()  # connect by name
    with pytest.raises(UnsafeURL, match="port 8081"):
        fetch._validated_addresses(fetch._parse("http://sim.local:8081/x"), public)


@pytest.mark.parametrize(("port", "message"), [(0, "invalid URL: port 0 is out of range"),
                                               (1, "port 1 is not allowed on public hosts"),
                                               (65535, "port 65535 is not allowed on public hosts"),
                                               (65536, "invalid URL: port 65536 is out of range")])
def test_a_port_out_of_range_is_an_invalid_url(settings_env: Any, port: int, message: str) -> None:
    with pytest.raises(UnsafeURL, match=f"^{message}$" if port in (0, 65536) else message):
        fetch._validated_addresses(fetch._parse(f"http://cdn.example:{port}/x"), public)


def test_an_ipv6_host_is_allowlisted_in_brackets(settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("REELGATE_URL_ALLOWLIST", "[::1]:8080")

    assert fetch._validated_addresses(fetch._parse("http://[::1]:8080/x"), public) == ()


def test_ipv4_addresses_are_tried_first(settings_env: Any) -> None:
    answer = ["2606:4700:4700::1111", PUBLIC_IP, "2606:4700:4700::1001", "8.8.8.8"]

    assert fetch._validated_addresses(fetch._parse("https://cdn.example/x"), lambda h, p: answer) == (
        PUBLIC_IP, "8.8.8.8", "2606:4700:4700::1111", "2606:4700:4700::1001")


def test_a_name_without_addresses_cannot_be_resolved(settings_env: Any) -> None:
    with pytest.raises(fetch.FetchError, match=r"^cannot resolve cdn\.example: no addresses$"):
        fetch._validated_addresses(fetch._parse("https://cdn.example/x"), lambda h, p: [])
