"""The toolkit from a page of another origin, in headless Chromium: `fetch(..., {mode: "cors", credentials:
"include"})` reaches success through the preflight, reads a 401, and is refused for an origin not allowed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page

from tests.browser.conftest import Browsing

OUTPUT = "http://127.0.0.1:"  # the local cloud's outputs: presigned URLs on its emulated S3
TIMEOUT_MS = 240_000  # renders run on a shared, loaded machine; the page polls job status past the API's wait


def open_page(chromium: BrowserContext, origin: str, api: str) -> tuple[Page, list[str]]:
    page = chromium.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(f"{origin}/page.html?api={api}")
    return page, console


def run(page: Page, slot: str, method: str, path: str, key: str, body: Any = None) -> str:
    text: str = page.evaluate("([slot, method, path, key, body]) => run(slot, method, path, key, body ?? undefined)",
                              [slot, method, path, key, body])
    return text


@pytest.fixture(scope="module")
def allowed_page(chromium: BrowserContext, browsing: Browsing) -> tuple[Page, list[str]]:
    page, console = open_page(chromium, browsing.allowed, browsing.api)
    page.set_default_timeout(TIMEOUT_MS)
    return page, console


def assert_video(url: str) -> None:
    head = httpx.get(url, timeout=60).raise_for_status().content[:12]
    assert head[4:8] == b"ftyp", head


def test_an_image_becomes_a_video_through_the_transform_alias(allowed_page, browsing: Browsing) -> None:
    page, _ = allowed_page
    text = run(page, "image", "POST", "/v1/image/transform/video", browsing.key,
               {"image_url": browsing.media["circle.jpg"], "length": 1, "frame_rate": 15})

    first, url = text.split("\n")
    assert first == "success: /v1/image/convert/video"  # NCA's alias reports the main endpoint
    assert url.startswith(OUTPUT) and url == page.inner_text("#image").split("\n")[1]
    assert_video(url)


def test_videos_are_concatenated(allowed_page, browsing: Browsing) -> None:
    page, _ = allowed_page
    body = {"video_urls": [{"video_url": browsing.media["a.mp4"]}, {"video_url": browsing.media["b.mp4"]}]}

    first, url = run(page, "concat", "POST", "/v1/video/concatenate", browsing.key, body).split("\n")

    assert first == "success: /v1/video/concatenate"
    assert url.startswith(OUTPUT)
    assert_video(url)


def test_an_invalid_key_shows_the_401_message(allowed_page) -> None:
    page, _ = allowed_page

    assert run(page, "badkey", "GET", "/v1/toolkit/authenticate", "not-a-key") == "401 Unauthorized"


def test_the_page_is_captured(allowed_page, tmp_path: Path) -> None:
    """A screenshot of the page after the calls above (REELGATE_BROWSER_SCREENSHOT: also copied there)."""
    page, console = allowed_page
    assert page.inner_text("#badkey") == "401 Unauthorized", "run the suite in order: the page shows its calls"
    assert not [line for line in console if "CORS" in line], console
    shot = tmp_path / "browser.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if target := os.environ.get("REELGATE_BROWSER_SCREENSHOT"):
        shutil.copy(shot, target)


def test_an_origin_not_allowed_is_refused_by_the_browser(chromium: BrowserContext, browsing: Browsing) -> None:
    page, console = open_page(chromium, browsing.other, browsing.api)

    text = run(page, "image", "POST", "/v1/image/transform/video", browsing.key,
               {"image_url": browsing.media["circle.jpg"]})

    assert text.startswith("refused by the browser: TypeError"), text
    assert any("blocked by CORS policy" in line for line in console), console
    page.close()


def test_the_refused_origins_call_never_started_a_job(browsing: Browsing) -> None:
    """The preflight failed, so the POST itself was never sent: no job but the two of the allowed page."""
    with httpx.Client(base_url=browsing.api, timeout=30) as client:
        jobs = client.post("/v1/toolkit/jobs/status", json={"since_seconds": 3600},
                           headers={"x-api-key": browsing.key}).json()["response"]
    assert len(jobs) == 2, jobs
