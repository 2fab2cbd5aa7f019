"""Webhooks that outlive an outage: one attempt per notify invocation, the schedule waited out by the flow."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from reelgate import aws
from reelgate.dynamo import from_dynamo
from reelgate.toolkit.keys import ApiKeys
from standardwebhooks import Webhook

from infra.local.lambdas import invoke
from tests.helpers import event, reply
from tests.integration.conftest import _reset_caches

KEY = "rg_outage_key"
OUTAGE_ATTEMPTS = 3


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[float, dict[str, str], bytes]] = []
    down_for = 0  # answers 503 to this many requests, then 204

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((time.monotonic(), {k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(503 if len(type(self).received) <= type(self).down_for else 204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver(cloud, file_server, monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("REELGATE_URL_ALLOWLIST", f"{file_server.host_port},{host}")
    _reset_caches()
    _Receiver.received = []
    yield f"http://{host}/hook"
    server.shutdown()


def _job(cloud, job_id: str) -> dict[str, Any]:
    return from_dynamo(aws.table(cloud.env["REELGATE_JOBS_TABLE"]).get_item(Key={"job_id": job_id})["Item"])


def _history(cloud, job_id: str) -> list[dict[str, Any]]:
    arn = cloud.env["REELGATE_TOOLKIT_FLOW_ARN"].replace(":stateMachine:", ":execution:") + f":{job_id}"
    return aws.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]


def test_a_receiver_down_longer_than_one_invocation_still_gets_the_signed_webhook(cloud, file_server,
                                                                                 receiver) -> None:
    # Given a receiver down for three attempts (each one a notify invocation), and 1 s waits between attempts
    key = ApiKeys(aws.table(cloud.env["REELGATE_STATE_TABLE"])).create("out", credits=100, plaintext=KEY)[1]
    _Receiver.down_for = OUTAGE_ATTEMPTS
    body = {"video_urls": [{"video_url": f"{file_server.base_url}/missing.mp4"}], "webhook_url": receiver}

    # When a job with a webhook ends
    status, accepted = reply(invoke("toolkit_concatenate", event("toolkit_concatenate", body,
                                                                 headers={"x-api-key": KEY})))
    assert status == 202
    ends = time.monotonic() + 30
    while not (_job(cloud, accepted["job_id"]).get("notification") or {}).get("delivered"):
        assert time.monotonic() < ends, _job(cloud, accepted["job_id"]).get("notification")
        time.sleep(0.2)

    # Then every attempt was its own notify invocation, the flow waiting between them
    attempts = len(_Receiver.received)
    assert attempts == OUTAGE_ATTEMPTS + 1
    assert _Receiver.received[-1][0] - _Receiver.received[0][0] >= OUTAGE_ATTEMPTS - 0.5  # the flow's 1 s waits
    history = _history(cloud, accepted["job_id"])
    waits = [e for e in history if e["type"] == "WaitStateEntered"]
    notifies = [e for e in history
                if e["type"] == "TaskStateEntered" and e["stateEnteredEventDetails"]["name"] == "Notify"]
    assert len(notifies) == attempts and len(waits) == attempts - 1
    # the same webhook-id on every attempt, each one signed afresh and verifiable
    ids = {headers["webhook-id"] for _, headers, _ in _Receiver.received}
    assert ids == {f"msg_{accepted['job_id']}"}
    _, headers, raw = _Receiver.received[-1]
    assert Webhook(key.webhook_secret).verify(raw, headers)["job_id"] == accepted["job_id"]
    # and the status answer shows the delivery
    status, answer = reply(invoke("toolkit_job_status", event("toolkit_job_status", {"job_id": accepted["job_id"]},
                                                              headers={"x-api-key": KEY})))
    webhook = answer["response"]["webhook"]
    assert status == 200 and webhook["attempts"] == attempts and webhook["last_status"] == 204
    assert webhook["delivered_at"] is not None and webhook["next_attempt_at"] is None


def test_while_retrying_the_status_answer_names_the_next_attempt(cloud, file_server, receiver, monkeypatch) -> None:
    monkeypatch.setenv("REELGATE_WEBHOOK_SCHEDULE", "0,30")
    _reset_caches()
    ApiKeys(aws.table(cloud.env["REELGATE_STATE_TABLE"])).create("out", credits=100, plaintext=KEY)
    _Receiver.down_for = 1000
    body = {"video_urls": [{"video_url": f"{file_server.base_url}/missing.mp4"}], "webhook_url": receiver}
    _, accepted = reply(invoke("toolkit_concatenate", event("toolkit_concatenate", body, headers={"x-api-key": KEY})))
    ends = time.monotonic() + 30
    while not (_job(cloud, accepted["job_id"]).get("notification")):
        assert time.monotonic() < ends
        time.sleep(0.2)

    _, answer = reply(invoke("toolkit_job_status", event("toolkit_job_status", {"job_id": accepted["job_id"]},
                                                         headers={"x-api-key": KEY})))

    webhook = answer["response"]["webhook"]
    assert webhook["attempts"] == 1 and webhook["last_status"] == 503 and webhook["delivered_at"] is None
    assert webhook["next_attempt_at"] is not None and webhook["error"] == "receiver answered HTTP 503"
