"""The toolkit through its handlers, with the real flow on moto's ASL engine and real FFmpeg."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from reelgate import aws
from reelgate.dynamo import from_dynamo
from reelgate.jobs import JobStatus
from reelgate.media import probe
from reelgate.toolkit.keys import ApiKeys
from standardwebhooks import Webhook

from infra.local.lambdas import invoke
from tests.helpers import circle_image, event, reply

KEY = "rg_integration_key"


@pytest.fixture
def key(cloud):
    _, record = ApiKeys(aws.table(cloud.env["REELGATE_STATE_TABLE"])).create("it", credits=100, plaintext=KEY)
    return record


def credits_of(cloud, key_id: str) -> int:
    return ApiKeys(aws.table(cloud.env["REELGATE_STATE_TABLE"])).get(key_id).credits


def test_image_to_video_answers_the_envelope_with_a_playable_video(cloud, key, file_server, tmp_path) -> None:
    circle_image(file_server.root / "still.jpg")
    body = {"image_url": f"{file_server.base_url}/still.jpg", "length": 1, "frame_rate": 24, "id": "req-1"}

    status, envelope = reply(invoke("toolkit_image_to_video",
                                    event("toolkit_image_to_video", body, headers={"x-api-key": KEY})))

    assert status == 200, envelope
    assert list(envelope) == ["endpoint", "code", "id", "job_id", "response", "expires_at", "message", "run_time",
                              "queue_time", "total_time", "pid", "queue_id", "queue_length", "build_number"]
    assert (envelope["code"], envelope["id"], envelope["message"]) == (200, "req-1", "success")
    assert f"/outbox/{envelope['job_id']}.mp4?" in envelope["response"]
    out = tmp_path / "out.mp4"
    aws.client("s3").download_file("media", f"outbox/{envelope['job_id']}.mp4", str(out))
    info = probe(out)
    assert (info.width, info.height, info.frame_count) == (1920, 1080, 24)
    assert credits_of(cloud, key.key_id) == 100 - 10


def test_a_failed_conversion_answers_500_and_refunds(cloud, key, file_server) -> None:
    body = {"image_url": f"{file_server.base_url}/missing.jpg"}

    status, envelope = reply(invoke("toolkit_image_to_video",
                                    event("toolkit_image_to_video", body, headers={"x-api-key": KEY})))

    assert status == 500 and envelope["code"] == 500 and envelope["response"] is None
    assert "404" in envelope["message"]
    assert credits_of(cloud, key.key_id) == 100
    job = _job(cloud, envelope["job_id"])
    assert job["status"] == JobStatus.FAILED.value and "404" in job["error"]


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]]
    failures_left: int

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        failing = type(self).failures_left > 0
        type(self).failures_left -= 1
        self.send_response(503 if failing else 204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_with_a_webhook_the_job_answers_202_then_posts_a_signed_envelope(cloud, key, file_server,
                                                                       monkeypatch) -> None:
    _Receiver.received, _Receiver.failures_left = [], 1
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    receiver = f"127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("REELGATE_URL_ALLOWLIST", f"{file_server.host_port},{receiver}")
    from tests.integration.conftest import _reset_caches

    _reset_caches()
    circle_image(file_server.root / "a.png", (640, 640), "PNG")
    urls = [{"video_url": f"{file_server.base_url}/missing.mp4"}]
    body = {"video_urls": urls, "webhook_url": f"http://{receiver}/hook", "id": "req-2"}

    status, accepted = reply(invoke("toolkit_concatenate", event("toolkit_concatenate", body,
                                                                 headers={"x-api-key": KEY})))
    assert status == 202 and accepted["message"] == "processing"
    job = _wait(cloud, accepted["job_id"], lambda j: (j.get("notification") or {}).get("delivered"))
    server.shutdown()

    assert job["notification"]["delivered"] is True and job["notification"]["attempts"] == 2
    headers, raw = _Receiver.received[-1]
    payload = Webhook(key.webhook_secret).verify(raw, {k.lower(): v for k, v in headers.items()})
    assert payload["job_id"] == accepted["job_id"] and payload["code"] == 500
    # The caller reads Reelgate's own sentence, not the fetcher's (no URL, path or exception text).
    assert payload["message"] == "an input could not be downloaded (HTTP 404)"
    assert _Receiver.received[0][0]["webhook-id"] == headers["webhook-id"]


def _job(cloud, job_id: str) -> dict[str, Any]:
    return aws.table(cloud.env["REELGATE_JOBS_TABLE"]).get_item(Key={"job_id": job_id})["Item"]


def _wait(cloud, job_id: str, done, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = _job(cloud, job_id)
        if done(job):
            return from_dynamo(job)
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not get there: {_job(cloud, job_id)}")


def test_a_flow_that_cannot_start_fails_the_job_and_refunds_it(cloud, key, monkeypatch) -> None:
    from reelgate.toolkit.ledger import QUEUE_PK

    from tests.integration.conftest import _reset_caches

    monkeypatch.setenv("REELGATE_TOOLKIT_FLOW_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:missing")
    _reset_caches()
    body = {"video_urls": [{"video_url": "https://example.com/a.mp4"}]}

    status, answer = reply(invoke("toolkit_concatenate", event("toolkit_concatenate", body,
                                                               headers={"x-api-key": KEY})))

    assert status == 500 and answer["message"].startswith("An error occurred during video concatenation")
    assert credits_of(cloud, key.key_id) == 100
    jobs = aws.table(cloud.env["REELGATE_JOBS_TABLE"]).scan()["Items"]
    assert [(j["status"], j["error"]) for j in jobs] == [("failed", "could not start the job")]
    assert "arn:" not in answer["message"]  # the Step Functions error (with the flow's ARN) goes to the logs only
    # With no queue limit (the default) no admission or settle writes the shared queue counter.
    assert "Item" not in aws.table(cloud.env["REELGATE_STATE_TABLE"]).get_item(Key={"pk": QUEUE_PK})
    assert ApiKeys(aws.table(cloud.env["REELGATE_STATE_TABLE"])).get(key.key_id).active == 0
