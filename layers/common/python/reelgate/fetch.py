"""The one safe fetcher for user-supplied URLs: media inputs and webhook deliveries.

Every hop is resolved once, every address is validated, and the connection goes to a validated IP
literal, so what was checked is what is connected to. Redirects are followed by hand, one checked
hop at a time. Public hosts are reached on ports 80 and 443 only. REELGATE_URL_ALLOWLIST exempts
exact host:port pairs (local simulators and tests).

One wall-clock deadline covers each fetch or POST, from connect through TLS, headers and body: the
sooner of its timeout and the invocation's end (reelgate.deadline) less a margin. Bodies are read
raw and only the identity Content-Encoding is accepted, so the byte cap is a cap on what is stored.
"""

from __future__ import annotations

import contextvars
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path, PurePosixPath
from typing import Any

import certifi
import httpcore
import httpx

from reelgate import deadline
from reelgate.settings import get_settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_PUBLIC_PORTS = frozenset(_DEFAULT_PORTS.values())
_MARGIN_SECONDS = 1.0  # left to the caller, once a fetch gives up, to record the failure
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_POST_BODY_LIMIT = 64 * 1024  # a webhook receiver's answer is only looked at for its status
_PARALLEL = 8
_BODY_FRAMING = frozenset({"content-encoding", "content-length", "transfer-encoding"})
_SUFFIX = re.compile(r"^\.[a-z0-9]{1,5}$")
_NOT_GLOBAL = "special-purpose address that is not globally routable"
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_V4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
_V4_COMPATIBLE = ipaddress.IPv6Network("::/96")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _blocks(*blocks: str) -> tuple[Network, ...]:
    return tuple(map(ipaddress.ip_network, blocks))  # pragma: no mutate (it only runs at import)


# First match names the reason: an `ipaddress` flag, or the blocks the address is in. An address that
# matches none is refused unless `is_global` (every other special-purpose block). The checks are data,
# read on each call, so a mutation test reaches them (a closure built at import would not be).
_CHECKS: tuple[tuple[str | tuple[Network, ...], str], ...] = (
    (_blocks("169.254.169.254", "169.254.170.2", "169.254.169.123", "fd00:ec2::254"),
     "cloud metadata service address"),
    ("is_unspecified", "unspecified address"),
    ("is_loopback", "loopback address"),
    ("is_link_local", "link-local address"),
    ("is_multicast", "multicast address"),
    ("is_site_local", "site-local IPv6 address"),
    (_blocks("255.255.255.255"), "broadcast address"),
    (_blocks("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"), "private address (RFC 1918)"),
    (_blocks("100.64.0.0/10"), "carrier-grade NAT address (RFC 6598)"),
    (_blocks("fc00::/7"), "unique-local IPv6 address (fc00::/7)"),
    (_blocks("64:ff9b:1::/48"), "local-use NAT64 address (RFC 8215)"),
    ("is_reserved", "reserved address"),
    # IANA special-purpose blocks (0/8, 192.0.0/24, TEST-NETs, benchmarking, discard, documentation), listed
    # although is_global covers them: older Python patch releases misjudge some.
    (_blocks("0.0.0.0/8", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15", "198.51.100.0/24",
             "203.0.113.0/24", "100::/64", "2001::/23", "2001:db8::/32"), _NOT_GLOBAL),
)


class FetchError(Exception):
    """A fetch or delivery failed: HTTP error, timeout, size or type refusal, unreachable host."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class UnsafeURL(FetchError, ValueError):
    """The URL (or a hop of it) is not http(s) or leads to an address that is not public."""


@dataclass(frozen=True)
class Fetched:
    path: Path
    content_type: str
    size: int
    final_url: str


# --- Address classification -------------------------------------------------------------------


def unsafe_reason(address: str | IPAddress) -> str | None:
    """Why connecting to this address could reach something internal; None when it is public."""
    try:
        ip = ipaddress.ip_address(address)  # an address object is taken as it is
    except ValueError:
        return f"not an IP address ({address!r})"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return embedded or None
    return _class_reason(ip)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> str | None:
    """Judge IPv6 forms that carry an IPv4 address by that address; '' means safe."""
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:
        return f"IPv4-mapped IPv6 address (embeds {ip.ipv4_mapped})"
    if ip in _V4_TRANSLATED:
        return f"IPv4-translated IPv6 address (embeds {low32})"
    if ip in _V4_COMPATIBLE and int(ip) > 1:
        return f"IPv4-compatible IPv6 address (embeds {low32})"
    if ip.teredo is not None:
        return "Teredo tunnel address"
    inner = low32 if ip in _NAT64 else ip.sixtofour
    if inner is None:
        return None
    reason = _class_reason(inner)  # a public IPv4 behind NAT64 or 6to4 is as good as the IPv4 itself
    return f"{'NAT64' if ip in _NAT64 else '6to4'} address embedding a {reason} ({inner})" if reason else ""


def _class_reason(ip: IPAddress) -> str | None:
    for check, reason in _CHECKS:
        if bool(getattr(ip, check, False)) if isinstance(check, str) else any(ip in block for block in check):
            return reason  # getattr's default: is_site_local exists on IPv6 only
    return None if ip.is_global else _NOT_GLOBAL


# --- URL checks and pinned connections ---------------------------------------------------------


def system_resolver(host: str, port: int) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def _parse(url: str | httpx.URL) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise UnsafeURL(f"invalid URL: {exc}") from exc
    if parsed.scheme not in _DEFAULT_PORTS:
        raise UnsafeURL(f"only http and https URLs are allowed, not {parsed.scheme or 'a relative URL'!r}")
    if not parsed.raw_host:
        raise UnsafeURL("URL has no host")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise UnsafeURL(f"invalid URL: port {parsed.port} is out of range")
    return parsed


def _shown(url: httpx.URL) -> str:
    """The URL without query or credentials, for messages (presigned URLs carry secrets)."""
    return str(url.copy_with(query=None, fragment=None, username=None, password=None))


def _validated_addresses(url: httpx.URL, resolver: Resolver) -> tuple[str, ...]:
    """Resolve once and check every address; () means allowlisted (connect by name, unchecked)."""
    host = url.raw_host.decode("ascii")
    port = url.port or _DEFAULT_PORTS[url.scheme]
    if (f"[{host}]:{port}" if ":" in host else f"{host}:{port}").lower() in get_settings().allowlisted():
        return ()
    try:
        addresses = list(dict.fromkeys(resolver(host, port)))
    except (OSError, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {host}: {exc}") from exc
    if not addresses:
        raise FetchError(f"cannot resolve {host}: no addresses")
    for address in addresses:
        reason = unsafe_reason(address)
        if reason:
            raise UnsafeURL(f"refusing {_shown(url)}: {host} resolves to {address}, a {reason}")
    if port not in _PUBLIC_PORTS:  # checked after the addresses, whose refusal says more
        raise UnsafeURL(f"refusing {_shown(url)}: port {port} is not allowed on public hosts (only 80 and 443)")
    return tuple(sorted(addresses, key=lambda a: ":" in a))  # IPv4 first: Lambda has no IPv6 egress


@cache
def _ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certifi.where())


# --- One deadline for every socket operation ---------------------------------------------------
# httpx's timeouts bound each socket operation, not the request (encode/httpx#1450): a server that
# sends one header byte per second never trips them. So every connect, TLS handshake, read and write
# gets the time left until the deadline as its timeout, and none may start once the deadline passed.


def _ends_by(timeout: float) -> float:
    """The monotonic time by which a fetch must be over: its timeout or the invocation's end, sooner."""
    budget = min(timeout, deadline.remaining() - _MARGIN_SECONDS)
    if budget <= 0:
        raise FetchError("not enough time left in this invocation to fetch")
    return time.monotonic() + budget


def _left(ends: float, timeout: float | None, error: type[Exception]) -> float:
    left = ends - time.monotonic()
    if left <= 0:
        raise error("the fetch deadline has passed")
    return left if timeout is None else min(timeout, left)


class _BoundedStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, ends: float) -> None:
        self._stream, self._ends = stream, ends

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _left(self._ends, timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(self._ends, timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        wait = _left(self._ends, timeout, httpcore.ConnectTimeout)
        return _BoundedStream(self._stream.start_tls(ssl_context, server_hostname, wait), self._ends)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _BoundedBackend(httpcore.NetworkBackend):
    def __init__(self, ends: float) -> None:
        self._backend, self._ends = httpcore.SyncBackend(), ends

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        wait = _left(self._ends, timeout, httpcore.ConnectTimeout)
        return _BoundedStream(self._backend.connect_tcp(host, port, wait, local_address, socket_options), self._ends)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _Transport(httpx.HTTPTransport):
    """httpx's own transport (its error mapping and streaming) over a pool on the bounded backend."""

    def __init__(self, ends: float) -> None:
        super().__init__(verify=_ssl_context(), trust_env=False)
        # httpx 0.28 takes no network backend, so its pool is replaced (test_fetch_deadline.py fails if a
        # later httpx stops using `_pool`). No keep-alive: the pool is keyed by IP, so a TLS session verified
        # for one host must not serve another.
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(), max_keepalive_connections=0, network_backend=_BoundedBackend(ends)
        )


def _client(ends: float) -> httpx.Client:
    # trust_env=False: an environment proxy would resolve the host itself and undo the pinning.
    return httpx.Client(
        timeout=max(ends - time.monotonic(), 0.001),
        transport=_Transport(ends),
        trust_env=False,
        follow_redirects=False,
    )


def _send(
    client: httpx.Client,
    method: str,
    url: httpx.URL,
    addresses: tuple[str, ...],
    *,
    headers: dict[str, str],
    content: bytes | None = None,
) -> httpx.Response:
    """Send to each validated IP in turn (next one on connect failure), as the original host."""
    if not addresses:
        return client.send(client.build_request(method, url, headers=headers, content=content), stream=True)
    # Pinning: the URL names the IP literal, Host keeps the name, and sni_hostname makes TLS send SNI
    # and verify the certificate for the name, so no second DNS lookup can happen.
    pinned = {**headers, "Host": url.netloc.decode("ascii")}
    sni = {"sni_hostname": url.raw_host.decode("ascii")}

    def to(address: str) -> httpx.Request:
        return client.build_request(
            method, url.copy_with(host=address), headers=pinned, content=content, extensions=sni
        )

    for address in addresses[:-1]:
        try:
            return client.send(to(address), stream=True)
        except httpx.ConnectError:
            continue  # the next validated address may be reachable (dual-stack hosts)
    return client.send(to(addresses[-1]), stream=True)


def _translate(exc: httpx.HTTPError, url: str) -> FetchError:
    shown = _shown(httpx.URL(url))
    if isinstance(exc, httpx.TimeoutException):
        return FetchError(f"timed out fetching {shown}")
    return FetchError(f"fetching {shown} failed: {type(exc).__name__}: {exc}")


# --- GET to a file -----------------------------------------------------------------------------


def fetch_to_file(
    url: str,
    dest: Path,
    *,
    allowed_types: tuple[str, ...] = (),
    max_bytes: int | None = None,
    resolver: Resolver | None = None,
) -> Fetched:
    """Download url into dest, refusing unsafe hops, oversize bodies and unexpected content types.

    allowed_types entries ending in "/" match a prefix ("image/"), others the exact media type.
    """
    settings = get_settings()
    limit = max_bytes or settings.fetch_max_bytes
    ends = _ends_by(settings.fetch_timeout_seconds)
    try:
        with _client(ends) as client:
            response, final = _get(client, url, resolver or system_resolver, settings.fetch_max_redirects)
            try:
                content_type = _check_response(response, final, allowed_types, limit)
                size = _stream_to_file(response, dest, limit, final)
            finally:
                response.close()
    except httpx.HTTPError as exc:
        raise _translate(exc, url) from exc
    return Fetched(path=dest, content_type=content_type, size=size, final_url=str(final))


def _get(client: httpx.Client, url: str, resolver: Resolver, max_redirects: int) -> tuple[httpx.Response, httpx.URL]:
    current = _parse(url)
    # identity: media is already compressed; anything else is refused (_check_response).
    headers = {"Accept-Encoding": "identity", "User-Agent": "Reelgate-Fetch/1"}
    for _ in range(max_redirects + 1):
        addresses = _validated_addresses(current, resolver)
        response = _send(client, "GET", current, addresses, headers=headers)
        location = response.headers.get("location")
        if response.status_code not in _REDIRECTS or not location:
            return response, current
        response.close()
        # Every hop is parsed and checked again (httpx has already refused an unparsable Location).
        current = _parse(current.join(location))
    raise FetchError(f"more than {max_redirects} redirects fetching {_shown(_parse(url))}")


def _check_response(response: httpx.Response, url: httpx.URL, allowed_types: tuple[str, ...], limit: int) -> str:
    if not 200 <= response.status_code < 300:
        raise FetchError(f"{_shown(url)} answered HTTP {response.status_code}", status=response.status_code)
    encoding = response.headers.get("content-encoding", "")
    if any(token.strip().lower() not in ("", "identity") for token in encoding.split(",")):
        # Decoding would happen before the byte cap (a 100 KB gzip body can inflate to gigabytes).
        raise FetchError(f"{_shown(url)} is sent with Content-Encoding {encoding!r}; only identity is accepted")
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise FetchError(f"{_shown(url)} is {length} bytes, over the {limit}-byte limit")
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if allowed_types and not any(_type_matches(media_type, allowed) for allowed in allowed_types):
        raise FetchError(
            f"{_shown(url)} has content type {media_type or 'none'!r}, expected {', '.join(allowed_types)}"
        )
    return media_type


def _type_matches(media_type: str, allowed: str) -> bool:
    allowed = allowed.lower()
    return media_type.startswith(allowed) if allowed.endswith("/") else media_type == allowed


def _stream_to_file(response: httpx.Response, dest: Path, limit: int, url: httpx.URL) -> int:
    size = 0
    try:
        with dest.open("wb") as out:
            for chunk in response.iter_raw():  # bytes as sent: nothing is decoded past the cap
                size += len(chunk)
                if size > limit:
                    raise FetchError(f"{_shown(url)} is over the {limit}-byte limit")
                out.write(chunk)
    except BaseException:
        dest.unlink(missing_ok=True)  # never leave a partial file that looks like an input
        raise
    return size


# --- POST (webhooks) ---------------------------------------------------------------------------


def post(
    url: str,
    *,
    content: bytes,
    headers: dict[str, str],
    timeout: float,
    resolver: Resolver | None = None,
) -> httpx.Response:
    """POST content to url with the same address checks and deadline; redirects are not followed.

    The answer's body is kept raw (at most 64 KB, never decoded): only its status matters.
    """
    target = _parse(url)
    addresses = _validated_addresses(target, resolver or system_resolver)
    ends = _ends_by(timeout)
    try:
        with _client(ends) as client:
            response = _send(client, "POST", target, addresses, headers=headers, content=content)
            try:
                body = b"".join(_capped(response.iter_raw(), _POST_BODY_LIMIT))
            finally:
                response.close()
    except httpx.HTTPError as exc:
        raise _translate(exc, url) from exc
    # A fresh, fully read Response; framing headers are dropped because they describe the full raw body.
    kept = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _BODY_FRAMING]
    return httpx.Response(response.status_code, headers=kept, content=body, request=response.request)


def _capped(chunks: Iterator[bytes], limit: int) -> Iterator[bytes]:
    taken = 0
    for chunk in chunks:
        yield chunk[: limit - taken]
        taken += len(chunk)
        if taken >= limit:
            return


# --- Several at once ---------------------------------------------------------------------------


def fetch_all(urls: list[str], dest_dir: Path, **kw: Any) -> list[Fetched]:
    """Fetch urls in parallel into dest_dir as 000.ext, 001.ext…; order kept, first failure raises."""
    if not urls:
        return []
    dest_dir.mkdir(parents=True, exist_ok=True)
    # Leaving the with-block waits for downloads already running, so no thread writes after we return.
    with ThreadPoolExecutor(max_workers=min(len(urls), _PARALLEL)) as pool:
        # Each thread runs in a copy of this context, so the invocation's deadline applies there too.
        futures = [
            pool.submit(contextvars.copy_context().run,
                        partial(fetch_to_file, url, dest_dir / f"{index:03d}{_suffix(url)}", **kw))
            for index, url in enumerate(urls)
        ]
        wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:
            error = future.exception() if future.done() else None
            if error is not None:
                for other in futures:
                    other.cancel()
                raise error
        return [future.result() for future in futures]


def _suffix(url: str) -> str:
    try:
        suffix = PurePosixPath(httpx.URL(url).path).suffix.lower()
    except httpx.InvalidURL:
        return ""
    return suffix if _SUFFIX.match(suffix) else ""
