"""Upstream provider clients (Pixverse, Apphud, TopView): typed, injected httpx clients, no AWS calls."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl

    import httpx


def http_client(timeout: float) -> httpx.Client:
    """A provider's default httpx client. Every one shares the process's TLS context (httpx's own default:
    certifi's CAs, or SSL_CERT_FILE / SSL_CERT_DIR): each new context loads the CA bundle again, ~20 ms of
    CPU on a cold start whose request talks to two providers (Apphud, then Pixverse or TopView)."""
    import httpx

    return httpx.Client(timeout=timeout, verify=_tls())


@cache
def _tls() -> ssl.SSLContext:
    import httpx

    return httpx.create_ssl_context()
