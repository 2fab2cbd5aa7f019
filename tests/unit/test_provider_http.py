"""Provider clients share one TLS context: each new context loads the CA bundle again (cold-start CPU)."""

from __future__ import annotations

import ssl

from reelgate.providers.apphud import ApphudClient
from reelgate.providers.pixverse import PixverseClient
from reelgate.providers.topview import TopViewClient


def _tls(client: object) -> ssl.SSLContext:
    context = client._http._transport._pool._ssl_context  # type: ignore[attr-defined]
    assert isinstance(context, ssl.SSLContext)
    return context


def test_every_provider_client_uses_one_verifying_tls_context() -> None:
    apphud = ApphudClient("https://api.apphud.com", timeout=3)
    pixverse = PixverseClient("https://app-api.pixverse.ai", "key", timeout=7)
    topview = TopViewClient("https://api.topview.ai", "uid", "key", timeout=9)

    context = _tls(apphud)
    assert _tls(pixverse) is context and _tls(topview) is context
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname  # httpx's default, verified
    assert [c._http.timeout.read for c in (apphud, pixverse, topview)] == [3, 7, 9]
