"""Output links over HTTP: the local cloud serves outputs as the stage's CloudFront distribution does
(signed URLs, on a port of its own), and every answer says when its link stops working."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from reelgate.media import probe

from tests.e2e.conftest import DEV_KEY, wait_for
from tests.helpers import circle_image

H = {"x-api-key": DEV_KEY}


@pytest.fixture(scope="module")
def finished(local_cloud, site, hooks) -> dict:
    """A finished image -> video job's webhook payload (its envelope); the submit answers 202 at once."""
    circle_image(site.root / "links.jpg", (600, 800))
    hooks.reset()
    body = {"image_url": f"{site.url}/links.jpg", "length": 1, "frame_rate": 15, "zoom_speed": 10,
            "webhook_url": hooks.url}
    with local_cloud.client() as http:
        for _ in range(3):  # a cold start on a loaded machine may pass the gateway's 29 s: the repeat is idempotent
            response = http.post("/v1/image/convert/video", json=body, headers=H | {"Idempotency-Key": "links-e2e"})
            if response.status_code != 504:
                break
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    calls = wait_for(lambda: [json.loads(body) for _, body in hooks.handler.calls
                              if json.loads(body).get("job_id") == job_id], timeout=300, interval=1)
    envelope = calls[0]
    assert envelope["code"] == 200, envelope
    return dict(envelope)


def test_the_output_url_is_a_signed_cdn_url_that_downloads_the_video(finished, local_cloud, tmp_path) -> None:
    url = finished["response"]
    assert url.startswith(f"{local_cloud.info['cdn']}/outbox/{finished['job_id']}.mp4?Expires=")
    answer = httpx.get(url, timeout=30)
    assert answer.status_code == 200 and answer.headers["content-type"] == "video/mp4"
    out = tmp_path / "out.mp4"
    out.write_bytes(answer.content)
    info = probe(out)
    assert (info.codec, info.width, info.height) == ("h264", 1080, 1920)


def test_the_webhooks_expires_at_is_the_urls_own_expires(finished) -> None:
    expires = int(parse_qs(urlsplit(finished["response"]).query)["Expires"][0])
    assert finished["expires_at"] == datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    lifetime = expires - datetime.now(UTC).timestamp()
    assert 7 * 24 * 3600 - 600 < lifetime <= 7 * 24 * 3600  # cdn_url_seconds' default: seven days


def test_the_status_answer_states_the_same_lifetime(finished, local_cloud) -> None:
    with local_cloud.client() as http:
        status = http.post("/v1/toolkit/job/status", json={"job_id": finished["job_id"]}, headers=H).json()
    inner = status["response"]["response"]
    expires = int(parse_qs(urlsplit(inner["response"]).query)["Expires"][0])
    assert inner["expires_at"] == datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert httpx.get(inner["response"], timeout=30).status_code == 200


def test_a_tampered_url_is_403(finished) -> None:
    url = finished["response"]
    query = parse_qs(urlsplit(url).query)
    base = url.split("?")[0]
    expires, signature, pair = query["Expires"][0], query["Signature"][0], query["Key-Pair-Id"][0]
    tampered = {
        "later expiry": f"{base}?Expires={int(expires) + 1}&Signature={signature}&Key-Pair-Id={pair}",
        "another object": f"{base.replace('.mp4', '.mp5')}?Expires={expires}&Signature={signature}&Key-Pair-Id={pair}",
        "another key pair": f"{base}?Expires={expires}&Signature={signature}&Key-Pair-Id=KOTHER",
        "no signature": base,
    }
    for what, bad in tampered.items():
        answer = httpx.get(bad, timeout=30)
        assert answer.status_code == 403, what
        assert b"<Error>" in answer.content and b"outbox" not in answer.content, what
