"""The video toolkit over HTTP on the local cloud: every endpoint and every error status."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from reelgate.media import probe
from standardwebhooks import Webhook

from tests.e2e.conftest import DEV_KEY, MAX_QUEUE, wait_for
from tests.helpers import ROOT, circle_image

FFMPEG = str(ROOT / "layers" / "ffmpeg" / "bin" / "ffmpeg")
IMAGE = "/v1/image/convert/video"
CONCAT = "/v1/video/concatenate"
STATUS = "/v1/toolkit/job/status"
H = {"x-api-key": DEV_KEY}


def clip(path: Path, size: str, rate: int, audio: bool) -> None:
    cmd = [FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration=1"]
    if audio:
        cmd += ["-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac"]
    subprocess.run([*cmd, "-c:v", "libx264", "-pix_fmt", "yuv420p", "-shortest", str(path)], check=True)


@pytest.fixture(scope="module")
def media(site) -> dict[str, str]:
    circle_image(site.root / "circle.jpg", (900, 1200))
    clip(site.root / "a.mp4", "640x360", 30, True)
    clip(site.root / "b.mp4", "640x360", 30, True)
    clip(site.root / "c.mp4", "320x240", 25, False)
    return {name: f"{site.url}/{name}" for name in ("circle.jpg", "a.mp4", "b.mp4", "c.mp4")}


@pytest.fixture(scope="module")
def http(local_cloud) -> httpx.Client:
    return local_cloud.client()


def download(url: str, dest: Path) -> Path:
    dest.write_bytes(httpx.get(url, timeout=30).raise_for_status().content)
    return dest


@pytest.mark.parametrize(("method", "path"), [("POST", IMAGE), ("POST", CONCAT), ("POST", STATUS),
                                              ("POST", "/v1/toolkit/jobs/status"), ("GET", "/v1/toolkit/authenticate"),
                                              ("POST", "/paid/image/convert/video")])
@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_a_missing_or_wrong_key_is_401_before_the_body_is_read(http, method, path, key) -> None:
    response = http.request(method, path, content=b"{not json", headers={"x-api-key": key} if key else {})
    assert (response.status_code, response.json()) == (401, {"code": 401, "message": "Unauthorized"})


def test_authenticate_answers_authorized_in_the_envelope(http) -> None:
    body = http.get("/v1/toolkit/authenticate", headers=H).json()
    assert (body["code"], body["response"], body["endpoint"]) == (200, "Authorized", "/v1/toolkit/authenticate")


@pytest.mark.parametrize(("path", "body", "names"), [
    (IMAGE, {}, "'image_url' is a required property"),
    (IMAGE, {"image_url": "ftp://example.com/a.jpg"}, "image_url"),
    (IMAGE, {"image_url": "https://example.com/a.jpg", "length": 61}, "length"),
    (IMAGE, {"image_url": "https://example.com/a.jpg", "length": 0.5}, "length"),
    (IMAGE, {"image_url": "https://example.com/a.jpg", "frame_rate": 30.5}, "frame_rate"),
    (IMAGE, {"image_url": "https://example.com/a.jpg", "frame_rate": 14}, "frame_rate"),
    (IMAGE, {"image_url": "https://example.com/a.jpg", "zoom_speed": 101}, "zoom_speed"),
    (IMAGE, {"image_url": "https://example.com/a.jpg", "bypass_queue": True}, "'bypass_queue' was unexpected"),
    (CONCAT, {"video_urls": []}, "video_urls"),
    (CONCAT, {"video_urls": [{"video_url": "not a url"}]}, "video_urls.0.video_url"),
    (CONCAT, {"video_urls": [{"url": "https://example.com/a.mp4"}]}, "'video_url' is a required property"),
    (CONCAT, {"video_urls": [{"video_url": "https://example.com/a.mp4"}], "webhook_url": ""}, "webhook_url"),
])
def test_invalid_payloads_are_400_naming_the_field(http, path, body, names) -> None:
    response = http.post(path, json=body, headers=H)
    assert response.status_code == 400
    assert response.json()["code"] == 400
    assert response.json()["message"].startswith("Invalid request payload: ") and names in response.json()["message"]


def test_image_to_video_waits_and_answers_200_with_the_video(http, media, tmp_path) -> None:
    body = {"image_url": media["circle.jpg"], "length": 2, "frame_rate": 15, "zoom_speed": 10, "id": "req-42"}

    response = http.post("/paid/image/convert/video", json=body, headers=H)

    envelope = response.json()
    assert response.status_code == 200, envelope
    assert (envelope["endpoint"], envelope["id"], envelope["message"]) == (IMAGE, "req-42", "success")
    assert envelope["total_time"] >= envelope["run_time"] > 0
    info = probe(download(envelope["response"], tmp_path / "out.mp4"))
    assert (info.width, info.height, info.frame_count, info.codec, info.pix_fmt) == (1080, 1920, 30, "h264",
                                                                                   "yuv420p")
    assert abs(info.duration - 2.0) < 0.1 and info.audio is None


def test_concatenating_mismatched_clips_plays_for_the_sum_of_their_lengths(http, media, tmp_path) -> None:
    urls = [{"video_url": media[n]} for n in ("a.mp4", "c.mp4", "b.mp4")]
    response = http.post(CONCAT, json={"video_urls": urls}, headers=H)

    assert response.status_code == 200, response.json()
    out = download(response.json()["response"], tmp_path / "joined.mp4")
    info = probe(out)
    assert (info.width, info.height) == (640, 360) and info.audio is not None
    assert abs(info.duration - 3.0) <= 1 / 30 + 0.03
    decode = subprocess.run([FFMPEG, "-v", "error", "-i", str(out), "-f", "null", "-"], capture_output=True, text=True,
                            check=False)
    assert decode.returncode == 0 and decode.stderr == ""


def test_a_failed_job_is_500_with_the_envelope_and_is_refunded(http, local_cloud, site) -> None:
    _, key = new_key(local_cloud, credits=35)
    response = http.post(CONCAT, json={"video_urls": [{"video_url": f"{site.url}/nothing.mp4"}], "id": "x"},
                         headers={"x-api-key": key})

    body = response.json()
    assert response.status_code == 500 and body["code"] == 500 and body["response"] is None
    assert "404" in body["message"] and body["id"] == "x"
    assert credits(local_cloud, key) == 35


def new_key(local_cloud, credits: int) -> tuple[str, str]:
    created = local_cloud.admin("keys", "create", "e2e", "--credits", str(credits))
    return created["key_id"], created["api_key"]


def credits(local_cloud, api_key: str) -> int:
    from reelgate.toolkit.keys import key_hash

    listed = {k["key_id"]: k["credits"] for k in local_cloud.admin("keys", "list")}
    return listed[key_hash(api_key)[:16]]


def test_a_request_the_balance_cannot_pay_is_402_and_charges_nothing(http, local_cloud, media) -> None:
    key_id, key = new_key(local_cloud, credits=34)
    response = http.post(CONCAT, json={"video_urls": [{"video_url": media["a.mp4"]}]}, headers={"x-api-key": key})
    assert response.status_code == 402 and response.json()["code"] == 402
    assert credits(local_cloud, key) == 34
    local_cloud.admin("keys", "top-up", key_id, "1")
    assert http.post(CONCAT, json={"video_urls": [{"video_url": media["a.mp4"]}]},
                     headers={"x-api-key": key}).status_code == 200
    assert credits(local_cloud, key) == 0


def test_a_revoked_key_is_401(http, local_cloud) -> None:
    key_id, key = new_key(local_cloud, credits=10)
    local_cloud.admin("keys", "revoke", key_id)
    assert http.get("/v1/toolkit/authenticate", headers={"x-api-key": key}).status_code == 401


def test_job_status_reports_the_jobs_envelope_and_only_to_its_key(http, local_cloud, media) -> None:
    done = http.post(CONCAT, json={"video_urls": [{"video_url": media["a.mp4"]}], "id": "s1"}, headers=H).json()

    status = http.post("/paid/get/job/status", json={"job_id": done["job_id"]}, headers=H).json()
    assert status["endpoint"] == STATUS and status["job_id"] != done["job_id"]
    inner = status["response"]
    assert (inner["job_status"], inner["job_id"]) == ("done", done["job_id"])
    assert inner["response"]["response"].split("?")[0] == done["response"].split("?")[0]
    assert inner["response"]["id"] == "s1"

    _, other = new_key(local_cloud, credits=0)
    unknown = http.post(STATUS, json={"job_id": done["job_id"]}, headers={"x-api-key": other})
    assert (unknown.status_code, unknown.json()) == (404, {"error": "Job not found", "job_id": done["job_id"]})
    listing = http.post("/v1/toolkit/jobs/status", headers=H).json()["response"]
    assert listing[done["job_id"]] == "done"
    assert http.post("/v1/toolkit/jobs/status", headers={"x-api-key": other}).json()["response"] == {}


def test_with_a_webhook_202_comes_at_once_and_the_signed_envelope_follows_after_retries(http, local_cloud, media,
                                                                                     hooks) -> None:
    hooks.reset(fail_first=2)
    response = http.post(IMAGE, json={"image_url": media["circle.jpg"], "length": 1, "webhook_url": hooks.url,
                                      "id": "w"}, headers=H)

    accepted = response.json()
    assert response.status_code == 202, accepted
    assert (accepted["code"], accepted["message"], accepted["id"]) == (202, "processing", "w")
    wait_for(lambda: len(hooks.handler.calls) == 3)
    headers = [{k.lower(): v for k, v in h.items()} for h, _ in hooks.handler.calls]
    payload = Webhook(local_cloud.info["dev_key_webhook_secret"]).verify(hooks.handler.calls[-1][1], headers[-1])
    assert (payload["job_id"], payload["code"], payload["id"]) == (accepted["job_id"], 200, "w")
    assert payload["endpoint"] == IMAGE and payload["response"].split("?")[0].endswith(f"{accepted['job_id']}.mp4")
    assert len({h["webhook-id"] for h in headers}) == 1


def test_a_webhook_to_a_private_address_is_never_called(http, media) -> None:
    response = http.post(IMAGE, json={"image_url": media["circle.jpg"], "length": 1,
                                      "webhook_url": "http://169.254.169.254/latest/meta-data"}, headers=H)
    assert response.status_code == 202
    status = wait_for(lambda: _finished(http, response.json()["job_id"]))
    assert status["response"]["code"] == 200  # the job itself is unaffected by the refused delivery
    # the one attempt was refused by the safe fetcher before any connection, and never retried
    noted = wait_for(lambda: (_finished(http, response.json()["job_id"]) or {}).get("webhook", {}).get("attempts")
                     and _finished(http, response.json()["job_id"])["webhook"])
    assert noted["attempts"] == 1 and noted["error"].startswith("refused: ")
    assert (noted["last_status"], noted["delivered_at"], noted["next_attempt_at"]) == (None, None, None)


def _finished(http, job_id: str) -> dict[str, Any] | None:
    body = http.post(STATUS, json={"job_id": job_id}, headers=H).json()["response"]
    return body if body["job_status"] == "done" else None


def test_the_queue_limit_answers_429_with_the_envelope(http, media, site) -> None:
    site.gate.clear()  # downloads from /slow/ hang until the gate opens: jobs stay unfinished
    try:
        held = [http.post(IMAGE, json={"image_url": f"{site.url}/slow/circle.jpg", "length": 1,
                                       "webhook_url": f"{site.url}/hook"}, headers=H) for _ in range(MAX_QUEUE)]
        assert [r.status_code for r in held] == [202] * MAX_QUEUE
        refused = http.post(CONCAT, json={"video_urls": [{"video_url": media["a.mp4"]}], "id": "q"}, headers=H)
    finally:
        site.gate.set()
    body = refused.json()
    assert refused.status_code == 429
    assert (body["code"], body["message"], body["queue_length"], body["id"]) == (
        429, f"MAX_QUEUE_LENGTH ({MAX_QUEUE}) reached", MAX_QUEUE, "q")
    for r in held:
        wait_for(lambda r=r: _finished(http, r.json()["job_id"]))
    assert http.post(CONCAT, json={"video_urls": [{"video_url": media["a.mp4"]}]}, headers=H).status_code == 200


def test_a_long_image_job_renders_in_parallel_ranges_joined_into_one_exact_video(http, media, hooks, local_cloud,
                                                                                 tmp_path) -> None:
    """453 frames, over toolkit_segment_frames (450): two ranges in two render workers at once, each under
    the render role's own grants (segments/ put, get and delete), joined by stream copy. A webhook makes
    the answer 202 at once: a loaded machine must not meet the gateway's 29 s instead."""
    hooks.reset()
    body = {"image_url": media["circle.jpg"], "length": 15.1, "frame_rate": 30, "zoom_speed": 3,
            "webhook_url": hooks.url, "id": "long"}

    accepted = http.post(IMAGE, json=body, headers=H)
    assert accepted.status_code == 202, accepted.json()

    def finished() -> dict[str, Any] | None:
        inner = http.post(STATUS, json={"job_id": accepted.json()["job_id"]}, headers=H).json()["response"]
        return inner if inner["job_status"] == "done" else None

    job = wait_for(finished, timeout=900, interval=1)["response"]
    assert job["code"] == 200 and job["message"] == "success", job
    info = probe(download(job["response"], tmp_path / "long.mp4"))
    assert (info.width, info.height, info.frame_count) == (1080, 1920, 453)
    assert abs(info.duration - 15.1) < 0.02
    cloud = local_cloud.info
    s3 = boto3.client("s3", endpoint_url=cloud["aws_endpoint"], region_name="us-east-1",
                      aws_access_key_id=cloud["aws_access_key_id"],
                      aws_secret_access_key=cloud["aws_secret_access_key"])
    left = s3.list_objects_v2(Bucket=cloud["media_bucket"], Prefix=f"segments/{accepted.json()['job_id']}/")
    assert left["KeyCount"] == 0  # the render role deleted its still and parts once joined
