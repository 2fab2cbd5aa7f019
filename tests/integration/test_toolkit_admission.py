"""Toolkit admission on moto through the composition root, its flow recorded but not run (jobs stay
unfinished): the queue limit's 429, the 202 after the wait budget, throttling as 503, output links
(CloudFront or presigned), and a revoked key in uploads and inboxes."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from reelgate import aws
from reelgate.jobs import JobStatus
from reelgate.links import iso
from reelgate.toolkit import api
from reelgate.toolkit.ingest import ingest
from reelgate.toolkit.keys import ApiKeys
from reelgate.toolkit.schemas import CONCATENATE_OP

from infra.cdn_keys import new_key_pair
from infra.local.lambdas import invoke
from tests.helpers import event, reply
from tests.integration.conftest import _reset_caches
from tests.integration.test_inbox import BUCKET, Flows, put

KEY = "rg_admission_key"
CLIP = {"video_urls": [{"video_url": "https://example.com/a.mp4"}]}


@pytest.fixture
def key(cloud):
    return ApiKeys(aws.table(cloud.env["REELGATE_STATE_TABLE"])).create("tenant", credits=1000, plaintext=KEY)[1]


def toolkit(monkeypatch: pytest.MonkeyPatch, **env: str) -> Any:
    """The deployed wiring with these settings and a flow that never runs."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    _reset_caches()
    found = api.toolkit()
    monkeypatch.setattr(found, "_sfn", Flows())
    return found


def test_a_full_queue_answers_429_in_ncas_shape_and_charges_nothing(cloud, key, monkeypatch) -> None:
    books = toolkit(monkeypatch, MAX_QUEUE_LENGTH="2")
    held = [books.submit(key, CONCATENATE_OP, CLIP | {"webhook_url": "https://example.com/hook"}) for _ in range(2)]
    assert [answer.status for answer in held] == [202, 202]
    assert held[1].body["max_queue_length"] == 2 and held[1].body["queue_length"] == 2

    refused = books.submit(key, CONCATENATE_OP, CLIP | {"webhook_url": "https://example.com/hook", "id": "q"})

    assert refused.status == 429
    assert (refused.body["code"], refused.body["message"], refused.body["queue_length"], refused.body["id"]) == (
        429, "MAX_QUEUE_LENGTH (2) reached", 2, "q")
    assert books.keys.get(key.key_id).credits == 1000 - 2 * books.price(CONCATENATE_OP)
    assert books.jobs.get(refused.body["job_id"]) is None

    first = books.jobs.get(held[0].body["job_id"])
    books.ledger.settle(first, JobStatus.SUCCEEDED, output={"output_key": "outbox/x.mp4"})  # frees one place
    assert books.submit(key, CONCATENATE_OP, CLIP | {"webhook_url": "https://example.com/hook"}).status == 202
    assert books.ledger.queue_length() == 2


def test_a_job_unfinished_after_the_wait_budget_answers_202_processing(cloud, key, monkeypatch) -> None:
    books = toolkit(monkeypatch, REELGATE_API_WAIT_SECONDS="0.3")

    answer = books.submit(key, CONCATENATE_OP, CLIP | {"id": "slow"})

    assert answer.status == 202
    assert (answer.body["code"], answer.body["message"], answer.body["id"]) == (202, "processing", "slow")
    assert answer.body["max_queue_length"] == "unlimited"
    assert books.jobs.get(answer.body["job_id"]).status is JobStatus.QUEUED


def test_with_a_cdn_a_finished_job_is_answered_with_a_signed_cloudfront_url(cloud, key, monkeypatch) -> None:
    pair = new_key_pair()
    secret = aws.client("secretsmanager").create_secret(Name="reelgate/test/cdn-private-key",
                                                        SecretString=pair.private_pem)["ARN"]
    books = toolkit(monkeypatch, REELGATE_CDN_URL="https://d1.cloudfront.net", REELGATE_CDN_KEY_PAIR_ID="KTEST",
                    REELGATE_CDN_PRIVATE_KEY_SECRET=secret, REELGATE_CDN_URL_SECONDS="86400")
    answer = books.submit(key, CONCATENATE_OP, CLIP | {"webhook_url": "https://example.com/hook"})
    job = books.jobs.get(answer.body["job_id"])
    books.ledger.settle(job, JobStatus.SUCCEEDED, output={"output_key": "outbox/k/a b.mp4"})

    before = int(time.time())
    envelope = books.job_envelope(books.jobs.get(job.job_id))

    url, query = envelope["response"], parse_qs(urlsplit(envelope["response"]).query)
    assert url.startswith("https://d1.cloudfront.net/outbox/k/a%20b.mp4?Expires=") and query["Key-Pair-Id"] == ["KTEST"]
    expires = int(query["Expires"][0])
    assert before + 86400 <= expires <= int(time.time()) + 86400
    assert envelope["expires_at"] == iso(datetime.fromtimestamp(expires, UTC))


def test_without_a_cdn_outputs_are_presigned_for_an_hour(cloud, key, monkeypatch) -> None:
    books = toolkit(monkeypatch)
    link = books.media.link("outbox/k/a.mp4")
    assert "/outbox/k/a.mp4?" in link.url and "X-Amz-Signature=" in link.url and "X-Amz-Expires=3600" in link.url
    assert abs(link.expires_at.timestamp() - (time.time() + 3600)) < 60


def test_throttled_admission_answers_503_over_http_with_nothing_charged(cloud, key, monkeypatch) -> None:
    toolkit(monkeypatch)
    client = aws.client("dynamodb")

    def throttled(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "TransactWriteItems")

    client.meta.events.register("before-call.dynamodb.TransactWriteItems", throttled)
    try:
        status, body = reply(invoke("toolkit_concatenate", event("toolkit_concatenate", CLIP,
                                                                 headers={"x-api-key": KEY})))
    finally:
        client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", throttled)

    assert status == 503 and body["code"] == 503
    assert "Throttling" not in body["message"] and "Rate exceeded" not in body["message"]
    assert api.toolkit().keys.get(key.key_id).credits == 1000


def test_a_revoked_key_gets_no_upload_and_its_inbox_starts_nothing(cloud, key, monkeypatch) -> None:
    books = toolkit(monkeypatch)
    cloud.client("s3").create_bucket(Bucket=BUCKET)
    upload = {"kind": "image2video", "filename": "a.png", "content_type": "image/png", "metadata": {"length": 2}}
    assert reply(invoke("toolkit_upload", event("toolkit_upload", upload, headers={"x-api-key": KEY})))[0] == 200
    books.keys.revoke(key.key_id)

    status, body = reply(invoke("toolkit_upload", event("toolkit_upload", upload, headers={"x-api-key": KEY})))
    record = put(cloud, f"inbox/{key.key_id}/image2video/a.png", "07", length="2")  # uploaded before the revocation

    assert (status, body) == (401, {"code": 401, "message": "Unauthorized"})
    assert ingest(books, aws.client("s3"), {"Records": [record]}) == []
    assert books._sfn.started == [] and books.keys.get(key.key_id).credits == 1000
    assert aws.table(cloud.env["REELGATE_JOBS_TABLE"]).scan()["Items"] == []


@pytest.mark.parametrize(("limit", "reads"), [("0", ["job"]), ("5", ["job", "queue#toolkit"])])
def test_a_status_reads_the_job_and_the_queue_counter_at_most_once(cloud, key, monkeypatch, limit, reads) -> None:
    books = toolkit(monkeypatch, MAX_QUEUE_LENGTH=limit)
    job_id = books.submit(key, CONCATENATE_OP, CLIP | {"webhook_url": "https://example.com/hook"}).body["job_id"]
    books.ledger.settle(books.jobs.get(job_id), JobStatus.SUCCEEDED, output={"output_key": "outbox/x.mp4"})
    books.submit(key, CONCATENATE_OP, CLIP | {"webhook_url": "https://example.com/hook"})  # one still queued
    seen: list[str] = []
    original = BaseClient._make_api_call

    def counted(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if operation == "GetItem":
            seen.append("job" if "job_id" in params["Key"] else str(params["Key"]["pk"]["S"]))
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counted)
    answer = books.status(key, job_id)

    assert seen == reads  # unlimited: no queue counter is kept, so none is read; limited: read once for both
    expected = 1 if limit != "0" else 0
    assert answer.body["queue_length"] == answer.body["response"]["response"]["queue_length"] == expected
    assert answer.body["response"]["job_status"] == "done"
