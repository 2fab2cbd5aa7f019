"""The mobile video API over HTTP on the local cloud, against the Pixverse and Apphud simulators:
every row of the three error tables, each entitlement case, ownership and a full generation."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from reelgate.media import probe

from infra.local.simulators.apphud import send_webhook
from tests.e2e.conftest import wait_for

APP = "com.example.app"
_users = itertools.count()


@pytest.fixture(scope="module")
def http(local_cloud) -> httpx.Client:
    return local_cloud.client()


@pytest.fixture(scope="module")
def sims(local_cloud) -> dict[str, str]:
    return {"pixverse": local_cloud.info["pixverse"].removesuffix("/openapi/v2"), "apphud": local_cloud.info["apphud"]}


@pytest.fixture(autouse=True)
def fresh_pixverse(sims) -> None:
    httpx.post(f"{sims['pixverse']}/_sim/reset").raise_for_status()
    scenario(sims, polls_until_done=1)


def scenario(sims: dict[str, str], **knobs: Any) -> None:
    httpx.post(f"{sims['pixverse']}/_sim/scenario", json=knobs).raise_for_status()


def subscriber(sims: dict[str, str], status: str = "regular", expires_days: int | None = 30, **extra: Any) -> str:
    """A new Apphud user with one subscription (fresh per test: limits and caches are per user)."""
    from datetime import UTC, datetime, timedelta

    user = f"e2e-user-{next(_users)}"
    expires = None if expires_days is None else (datetime.now(UTC) + timedelta(days=expires_days)).isoformat()
    sub = {"id": user, "product_id": "pro", "group": "pro", "status": status, "expires_at": expires,
           "started_at": datetime.now(UTC).isoformat(), "cancelled_at": None, "environment": "production",
           "kind": "autorenewable"} | extra
    httpx.post(f"{sims['apphud']}/_sim/users", json={"user_id": user, "subscriptions": [sub]}).raise_for_status()
    return user


def text2video(http, user: str, prompt: str = "A cat", app: str = APP) -> httpx.Response:
    return http.post("/text2video", json={"app_bundle_id": app, "apphud_user_id": user, "prompt": prompt})


def image2video(http, user: str, image: tuple[str, bytes, str] | None = None, **fields: Any) -> httpx.Response:
    data = {"app_bundle_id": APP, "apphud_user_id": user, "prompt": "A dog"} | fields
    files = {"image": image or ("dog.png", png(), "image/png")}
    return http.post("/image2video", data=data, files=files)


def png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), "navy").save(buffer, "PNG")
    return buffer.getvalue()


def status(http, user: str, video_id: Any) -> httpx.Response:
    return http.post("/get-status", json={"app_bundle_id": APP, "apphud_user_id": user, "video_id": video_id})


def assert_error(response: httpx.Response, http_status: int, code: int, submit: bool = True) -> None:
    body = response.json()
    assert (response.status_code, body["code"]) == (http_status, code), body
    assert isinstance(body["message"], str) and body["message"]
    if submit:
        assert "video_id" in body and body["video_id"] is None


def test_a_full_generation_ends_in_a_downloadable_mirrored_video(http, sims, tmp_path) -> None:
    user = subscriber(sims)
    submitted = text2video(http, user)
    assert submitted.status_code == 200 and submitted.json()["message"] is None
    video_id = submitted.json()["video_id"]
    assert status(http, user, video_id).json()["status"] in ("generating", "success")

    done = wait_for(lambda: (s := status(http, user, video_id).json())["status"] == "success" and s)

    assert set(done) == {"status", "video_url", "expires_at"} and sims["pixverse"] not in done["video_url"]
    expires = int(parse_qs(urlsplit(done["video_url"]).query)["Expires"][0])
    assert done["expires_at"] == datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = tmp_path / "video.mp4"
    out.write_bytes(httpx.get(done["video_url"], timeout=30).raise_for_status().content)
    assert probe(out).codec == "h264"


def test_image_to_video_uploads_and_generates(http, sims) -> None:
    user = subscriber(sims)
    submitted = image2video(http, user)
    assert submitted.status_code == 200, submitted.json()
    video_id = submitted.json()["video_id"]
    assert wait_for(lambda: status(http, user, video_id).json()["status"] == "success")


@pytest.mark.parametrize(("case", "http_status", "code"), [
    ("empty prompt", 422, 400011), ("invalid account (unregistered app)", 401, 400012),
    ("invalid parameter", 422, 400017), ("prompt too long", 413, 400018),
])
def test_text2video_refuses_bad_requests_itself(http, sims, case, http_status, code) -> None:
    user = subscriber(sims)
    body = {"app_bundle_id": APP, "apphud_user_id": user, "prompt": "A cat"}
    body |= {"empty prompt": {"prompt": "  "}, "invalid account (unregistered app)": {"app_bundle_id": "com.nope"},
             "invalid parameter": {"prompt": 42}, "prompt too long": {"prompt": "x" * 2049}}[case]
    assert_error(http.post("/text2video", json=body), http_status, code)


TEXT2VIDEO_UPSTREAM = [(400011, 422), (400012, 401), (400017, 422), (400018, 413), (400019, 413), (500043, 402),
                       (500090, 402), (500060, 429), (500044, 429), (500054, 403), (500063, 403), (500100, 500)]


@pytest.mark.parametrize(("code", "http_status"), TEXT2VIDEO_UPSTREAM)
@pytest.mark.parametrize("mode", ["ok", "status"])
def test_text2video_maps_every_pixverse_error(http, sims, code, http_status, mode) -> None:
    transient = code == 500100  # retried by the client: it must fail on every attempt to reach the caller
    scenario(sims, error_http_mode=mode,
             fail_next={"code": code, "times": 10 if transient else 1, "endpoint": "video/text/generate"})
    user = subscriber(sims)
    assert_error(text2video(http, user), http_status, code)
    if not transient:
        assert text2video(http, user).status_code == 200  # the refused submission took no slot or quota


IMAGE2VIDEO_UPSTREAM = [(400011, 422, "video/img/generate"), (400017, 422, "video/img/generate"),
                        (400032, 422, "video/img/generate"), (500030, 413, "image/upload"),
                        (500032, 415, "image/upload"), (500033, 422, "image/upload"), (500041, 500, "image/upload"),
                        (500043, 402, "video/img/generate"), (500090, 402, "video/img/generate"),
                        (500060, 429, "video/img/generate"), (500054, 403, "image/upload"),
                        (500063, 403, "video/img/generate")]


@pytest.mark.parametrize(("code", "http_status", "endpoint"), IMAGE2VIDEO_UPSTREAM)
def test_image2video_maps_every_pixverse_error(http, sims, code, http_status, endpoint) -> None:
    scenario(sims, fail_next={"code": code, "times": 10, "endpoint": endpoint})
    assert_error(image2video(http, subscriber(sims)), http_status, code)


def test_image2video_refuses_bad_uploads_itself(http, sims) -> None:
    user = subscriber(sims)
    assert_error(image2video(http, user, ("anim.gif", b"GIF89a....", "image/gif")), 415, 500032)
    missing = http.post("/image2video", data={"app_bundle_id": APP, "apphud_user_id": user, "prompt": "x"},
                        files={"other": ("a.txt", b"x", "text/plain")})
    assert_error(missing, 422, 400011)
    assert_error(http.post("/image2video", json={"app_bundle_id": APP}), 422, 400017)


def test_get_status_errors(http, sims) -> None:
    owner, other = subscriber(sims), subscriber(sims)
    video_id = text2video(http, owner).json()["video_id"]

    assert_error(http.post("/get-status", json={"app_bundle_id": APP, "apphud_user_id": owner}), 422, 400011,
                 submit=False)
    assert_error(status(http, owner, 12345), 422, 400017, submit=False)
    assert_error(status(http, owner, "00000000-0000-4000-8000-000000000000"), 404, 500008, submit=False)
    # another user's video answers exactly like an unknown one, so ids reveal nothing (docs/decisions.md)
    assert_error(status(http, other, video_id), 404, 500008, submit=False)
    assert status(http, owner, video_id).status_code == 200


def test_a_video_the_provider_deleted_is_404_content_deleted(http, sims) -> None:
    scenario(sims, final_status=6)
    user = subscriber(sims)
    video_id = text2video(http, user).json()["video_id"]
    wait_for(lambda: status(http, user, video_id).status_code == 404)
    assert_error(status(http, user, video_id), 404, 500064, submit=False)


def test_a_moderated_video_ends_in_error(http, sims) -> None:
    scenario(sims, final_status=7)
    user = subscriber(sims)
    video_id = text2video(http, user).json()["video_id"]
    assert wait_for(lambda: status(http, user, video_id).json()["status"] == "error")


@pytest.mark.parametrize(("subscription", "allowed"), [
    ({"status": "regular"}, True), ({"status": "trial"}, True), ({"status": "grace"}, True),
    ({"status": "expired", "expires_days": -3}, False), ({"status": "regular", "expires_days": -1}, False),
    ({"status": "refunded", "cancelled_at": "2026-01-01T00:00:00Z"}, False),
    ({"status": "regular", "expires_days": None}, True),  # lifetime
])
def test_entitlement_cases(http, sims, subscription, allowed) -> None:
    user = subscriber(sims, **subscription)
    response = text2video(http, user)
    if allowed:
        assert response.status_code == 200, response.json()
    else:
        assert_error(response, 401, 400012)


def test_an_unknown_user_has_no_entitlement(http) -> None:
    assert_error(text2video(http, "nobody-knows-me"), 401, 400012)


def test_apphud_down_is_a_clear_503_never_a_pass(http, sims) -> None:
    user = subscriber(sims)
    httpx.post(f"{sims['apphud']}/_sim/down", json={"down": True}).raise_for_status()
    try:
        assert_error(text2video(http, user), 503, 500069)
    finally:
        httpx.post(f"{sims['apphud']}/_sim/down", json={"down": False}).raise_for_status()


def test_the_per_user_concurrency_limit_is_429(http, sims) -> None:
    scenario(sims, stall=True)
    user = subscriber(sims)
    assert [text2video(http, user).status_code for _ in range(2)] == [200, 200]
    assert_error(text2video(http, user), 429, 500044)


def test_an_apphud_webhook_makes_the_next_request_ask_apphud_again(http, local_cloud, sims) -> None:
    """A webhook only forgets the cached entitlement; its payload is never trusted (Apphud is asked again)."""
    token = local_cloud.info["apphud_webhook_token"]
    user = subscriber(sims)
    refunded = {"id": "s", "product_id": "pro", "status": "refunded", "expires_at": None,
                "cancelled_at": "2026-01-01T00:00:00Z"}
    forged_active = {"user_id": user, "subscriptions": [{"id": "s", "product_id": "pro", "status": "regular",
                                                        "expires_at": "2099-01-01T00:00:00Z"}]}
    url = f"{local_cloud.api}/webhooks/apphud"
    assert text2video(http, user).status_code == 200  # entitled: cached as active

    httpx.post(f"{sims['apphud']}/_sim/users", json={"user_id": user, "subscriptions": [refunded]}).raise_for_status()
    assert send_webhook(url, "wrong-token", "subscription_refunded", forged_active).status_code == 401
    assert text2video(http, user).status_code == 200  # a refused webhook forgot nothing: still the cached answer
    answer = send_webhook(url, token, "subscription_refunded", forged_active)  # payload says active: ignored

    assert answer.status_code == 200 and answer.json()["refreshed"] is True
    assert_error(text2video(http, user), 401, 400012)  # Apphud, asked again, says refunded
