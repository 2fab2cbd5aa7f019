"""A real browser against the local cloud: Debian's headless Chromium, driven by Playwright (no browser download).

The page is served from the e2e file server (`site`, an allowed origin) and from a second server (another
origin, not allowed); the cloud is started as `make dev` starts it, with REELGATE_CORS_ORIGINS set to the
first origin only.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, sync_playwright

from tests.e2e.conftest import DEV_KEY, Site, running_cloud, site
from tests.e2e.test_toolkit import clip
from tests.helpers import circle_image

__all__ = ["site"]  # the e2e file server, shared as a fixture

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package (make browser installs it)
# A fresh profile and no background traffic: the closed network would otherwise flood refusals.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAGE = Path(__file__).with_name("page.html")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class Browsing:
    api: str
    allowed: str  # the origin REELGATE_CORS_ORIGINS names
    other: str  # an origin it does not
    media: dict[str, str]
    key: str


@pytest.fixture(scope="session")
def other_origin(site: Site) -> Iterator[str]:
    """The same files from another port: another origin."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(site.root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="session")
def browsing(site: Site, other_origin: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browsing]:
    shutil.copy(PAGE, site.root / "page.html")
    circle_image(site.root / "circle.jpg", (1200, 900))
    clip(site.root / "a.mp4", "640x360", 30, True)
    clip(site.root / "b.mp4", "640x360", 30, True)
    media = {name: f"{site.url}/{name}" for name in ("circle.jpg", "a.mp4", "b.mp4")}
    with running_cloud(tmp_path_factory.mktemp("cloud"), REELGATE_DEV_API_KEY=DEV_KEY,
                       REELGATE_URL_ALLOWLIST=site.host_port, REELGATE_CORS_ORIGINS=site.url) as (info, _):
        yield Browsing(info["api"], site.url, other_origin, media, DEV_KEY)


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    assert CHROMIUM.exists(), "Chromium is missing: `make browser` installs Debian's package"
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("profile")), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1100, "height": 540},
        )
        yield context
        context.close()
