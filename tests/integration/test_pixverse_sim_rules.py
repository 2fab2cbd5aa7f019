"""The Pixverse simulator's own rules (contracts/pixverse.md §10), spoken to with raw HTTP."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from infra.local.simulators.pixverse import PixverseSimulator

KEY = "sim-key"
T2V = {"prompt": "a cat", "model": "v4.5", "quality": "540p", "duration": 5, "aspect_ratio": "16:9"}


@pytest.fixture
def api(sim: PixverseSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url, headers={"API-KEY": KEY}) as client:
        client.post(sim.base_url.removesuffix("/openapi/v2") + "/_sim/reset").raise_for_status()
        yield client


def control(api: httpx.Client, action: str, body: Any = None) -> httpx.Response:
    return api.post(str(api.base_url).removesuffix("/openapi/v2/") + f"/_sim/{action}", json=body)


def code(response: httpx.Response) -> int:
    return int(response.json()["ErrCode"])


def image(fmt: str = "PNG", size: tuple[int, int] = (32, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size).save(buffer, fmt)
    return buffer.getvalue()


def upload(api: httpx.Client, data: bytes, name: str = "a.png", mime: str = "image/png") -> httpx.Response:
    return api.post("/image/upload", files={"image": (name, data, mime)})


def t2v(api: httpx.Client, trace: str | None = None, **changes: Any) -> httpx.Response:
    body = {k: v for k, v in {**T2V, **changes}.items() if v is not None}
    return api.post("/video/text/generate", json=body, headers={"Ai-trace-id": trace} if trace else {})


@pytest.mark.parametrize(("changes", "expected"), [
    ({"prompt": None}, 400011), ({"aspect_ratio": ""}, 400011), ({"quality": None}, 400011),
    ({"duration": "5"}, 400013), ({"duration": True}, 400013), ({"seed": 1.5}, 400013),
    ({"prompt": "x" * 2049}, 400018), ({"negative_prompt": "x" * 2049}, 400018),
    ({"model": "v9"}, 400017), ({"quality": "4k"}, 400017), ({"duration": 6}, 400017),
    ({"aspect_ratio": "2:1"}, 400017), ({"aspect_ratio": "21:9"}, 400017),
    ({"seed": 2147483648}, 400017), ({"motion_mode": "slow"}, 400017),
    ({"motion_mode": "fast", "duration": 8}, 400017), ({"motion_mode": "fast", "quality": "1080p"}, 400017),
    ({"quality": "1080p", "duration": 8}, 400017), ({"model": "v6", "duration": 10}, 400017),
])
def test_generate_validation(api: httpx.Client, changes: dict[str, Any], expected: int) -> None:
    response = t2v(api, **changes)
    assert response.status_code == 200 and code(response) == expected
    assert response.json()["Resp"] is None


@pytest.mark.parametrize(("changes", "credits"), [
    ({}, 45), ({"duration": 8}, 90), ({"quality": "720p"}, 60), ({"motion_mode": "fast"}, 90),
    ({"model": "v5", "quality": "1080p", "duration": 8}, 240), ({"model": "v6", "aspect_ratio": "21:9"}, 45),
])
def test_valid_combinations_are_priced_per_the_table(api: httpx.Client, changes: dict[str, Any], credits: int) -> None:
    response = t2v(api, **changes)
    assert code(response) == 0 and response.json()["Resp"]["credits"] == credits
    balance = api.get("/account/balance").json()["Resp"]
    assert balance["credit_monthly"] == 100_000 - credits


def test_long_clips_are_a_switch(api: httpx.Client) -> None:
    control(api, "scenario", {"long_clips": True})
    assert code(t2v(api, model="v6", duration=15)) == 0
    assert code(t2v(api, model="v5", duration=15)) == 400017


def test_credits_come_from_monthly_first_then_package(api: httpx.Client) -> None:
    control(api, "scenario", {"balance": 20, "credit_package": 30})
    assert code(t2v(api)) == 0
    assert api.get("/account/balance").json()["Resp"] == {"account_id": 1, "credit_monthly": 0, "credit_package": 5}


@pytest.mark.parametrize(("data", "name", "mime", "expected"), [
    (image("GIF"), "a.gif", "image/gif", 500032),
    (image("PNG"), "a.png", "text/plain", 500032),
    (image("GIF"), "a.png", "image/png", 500032),
    (b"not an image at all", "a.jpg", "image/jpeg", 500031),
    (image("PNG", (4001, 2)), "a.png", "image/png", 500030),
])
def test_upload_validation(api: httpx.Client, data: bytes, name: str, mime: str, expected: int) -> None:
    assert code(upload(api, data, name, mime)) == expected


@pytest.mark.parametrize(("fmt", "name"), [("JPEG", "a.jpg"), ("JPEG", "a.JPEG"), ("PNG", "a.png"), ("WEBP", "a.webp")])
def test_upload_accepts_the_four_formats(api: httpx.Client, fmt: str, name: str) -> None:
    response = upload(api, image(fmt), name, "")
    assert code(response) == 0 and response.json()["Resp"]["img_id"] > 2**53
    assert httpx.get(response.json()["Resp"]["img_url"]).content == image(fmt)


def test_upload_limits_are_configurable(api: httpx.Client) -> None:
    control(api, "scenario", {"max_image_side": 10000, "min_image_side": 300})
    assert code(upload(api, image("PNG", (4001, 300)))) == 0
    assert code(upload(api, image("PNG", (299, 400)))) == 500033
    control(api, "scenario", {"max_image_bytes": 100})
    assert code(upload(api, image("JPEG", (800, 800)), "a.jpg", "image/jpeg")) == 500030


def test_upload_fault_and_image_moderation(api: httpx.Client) -> None:
    control(api, "scenario", {"fail_next": {"code": 500041, "endpoint": "image/upload"}, "moderated_images": ["bad"]})
    assert code(upload(api, image())) == 500041
    assert code(upload(api, image())) == 0
    assert code(upload(api, image(), "bad.png")) == 500054


def test_image_moderation_at_submit_and_foreign_img_id(api: httpx.Client) -> None:
    control(api, "scenario", {"moderated_images": ["bad"], "image_moderation_at": "submit"})
    bad_id = upload(api, image(), "bad.png").json()["Resp"]["img_id"]
    i2v = {k: v for k, v in T2V.items() if k != "aspect_ratio"}
    assert code(api.post("/video/img/generate", json={**i2v, "img_id": bad_id})) == 500054
    assert code(api.post("/video/img/generate", json={**i2v, "img_id": 12345})) == 400032
    assert code(api.post("/video/img/generate", json={**i2v, "img_id": str(bad_id)})) == 400013


def test_templates(api: httpx.Client) -> None:
    control(api, "scenario", {"activated_templates": [7, 8], "sd_only_templates": [8], "effects_remaining": 1})
    assert code(t2v(api, template_id=9)) == 500070
    assert code(t2v(api, template_id=8, quality="720p")) == 500071
    assert code(t2v(api, template_id=7)) == 0
    assert code(t2v(api, template_id=7)) == 500060


def test_progression_by_time_and_stall(api: httpx.Client) -> None:
    control(api, "scenario", {"seconds_until_done": 0.2})
    video_id = t2v(api).json()["Resp"]["video_id"]
    assert api.get(f"/video/result/{video_id}").json()["Resp"]["status"] == 5
    time.sleep(0.25)
    assert api.get(f"/video/result/{video_id}").json()["Resp"]["status"] == 1
    control(api, "scenario", {"stall": True, "seconds_until_done": 0})
    stalled = t2v(api).json()["Resp"]["video_id"]
    assert {api.get(f"/video/result/{stalled}").json()["Resp"]["status"] for _ in range(3)} == {5}


def test_trace_reuse_with_another_body_returns_the_first_or_sticks(api: httpx.Client) -> None:
    control(api, "scenario", {"polls_until_done": 0})
    first = t2v(api, "t1").json()["Resp"]["video_id"]
    assert t2v(api, "t1", prompt="a dog").json()["Resp"]["video_id"] == first
    control(api, "scenario", {"stuck_on_reused_trace": True})
    stuck = t2v(api, "t1", prompt="a bird").json()["Resp"]["video_id"]
    assert stuck != first
    assert api.get(f"/video/result/{stuck}").json()["Resp"]["status"] == 5
    assert api.get(f"/video/result/{first}").json()["Resp"]["status"] == 1


def test_status_mode_rate_limit_and_raw_faults(api: httpx.Client) -> None:
    control(api, "scenario", {"error_http_mode": "status", "rate_limit_next": {"retry_after": 2},
                              "fail_next": [{"raw": "<h1>oops</h1>", "http_status": 503}, {"code": 500100}]})
    limited = api.get("/account/balance")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
    raw = api.get("/account/balance")
    assert raw.status_code == 503 and raw.text == "<h1>oops</h1>"
    assert api.get("/account/balance").status_code == 500
    assert api.get(f"/video/result/{2**60}").status_code == 404
    assert api.get("/account/balance", headers={"API-KEY": "x"}).status_code == 401


def test_missing_key_and_bad_scenario(api: httpx.Client) -> None:
    assert code(api.get("/account/balance", headers={"API-KEY": ""})) == 400012
    assert control(api, "scenario", {"no_such_knob": 1}).status_code == 400
    assert control(api, "scenario", {"concurrency_limit": "many"}).status_code == 400
    assert control(api, "scenario", {"fail_next": {"cod": 1}}).status_code == 400
    control(api, "scenario", {"auth_error_code": 500020, "api_keys": ["second"]})
    assert code(api.get("/account/balance", headers={"API-KEY": "nope"})) == 500020
    assert code(api.get("/account/balance", headers={"API-KEY": "second"})) == 0


def test_poll_interval_violations_are_recorded(api: httpx.Client) -> None:
    control(api, "scenario", {"min_poll_interval": 3})
    video_id = t2v(api).json()["Resp"]["video_id"]
    api.get(f"/video/result/{video_id}")
    api.get(f"/video/result/{video_id}")
    state = api.get(str(api.base_url).removesuffix("/openapi/v2/") + "/_sim/state").json()
    assert [v["video_id"] for v in state["poll_violations"]] == [video_id]


def test_mp4_supports_ranges_and_hides_unfinished_videos(api: httpx.Client) -> None:
    control(api, "scenario", {"polls_until_done": 0})
    video_id = t2v(api).json()["Resp"]["video_id"]
    root = str(api.base_url).removesuffix("/openapi/v2/")
    assert httpx.get(f"{root}/files/{video_id}.mp4").status_code == 404
    url = api.get(f"/video/result/{video_id}").json()["Resp"]["url"]
    part = httpx.get(url, headers={"Range": "bytes=4-7"})
    assert part.status_code == 206 and part.content == b"ftyp"


def test_public_base_url_is_used_for_video_urls() -> None:
    simulator = PixverseSimulator(public_base_url="https://media.example/", scenario={"polls_until_done": 0})
    base = simulator.start()
    try:
        headers = {"API-KEY": "sim-key"}
        video_id = httpx.post(f"{base}/video/text/generate", json=T2V, headers=headers).json()["Resp"]["video_id"]
        resp = httpx.get(f"{base}/video/result/{video_id}", headers=headers).json()["Resp"]
        assert resp["url"] == f"https://media.example/files/{video_id}.mp4"
    finally:
        simulator.stop()
