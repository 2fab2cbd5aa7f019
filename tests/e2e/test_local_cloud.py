"""The local cloud as a new user gets it: `make dev` from a clean shell, as strict as AWS.

This cloud is started with nothing but its ports: no allowlist, no test settings. Inputs come from
the emulated S3 (presigned URLs), the way they would come from any bucket.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from PIL import Image

from infra.local.functions import identity
from tests.e2e.conftest import admin_environment, running_cloud, wait_for
from tests.helpers import ROOT

FFPROBE = ROOT / "layers" / "ffmpeg" / "bin" / "ffprobe"
DEV_KEY = "rg_clean_shell_key"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with running_cloud(tmp_path_factory.mktemp("clean"), REELGATE_DEV_API_KEY=DEV_KEY) as (info, env):
        assert not any(k.startswith(("REELGATE_FFMPEG", "AWS_")) for k in env)
        yield info | {"admin_env": admin_environment(env, info)}


@pytest.fixture(scope="module")
def busy_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Answers 202 right after admission (REELGATE_API_WAIT_SECONDS=0): 50 callers don't hold 50 requests open
    while the single-threaded emulator works through their jobs (that would be API Gateway's 504)."""
    with running_cloud(tmp_path_factory.mktemp("busy"), REELGATE_DEV_API_KEY=DEV_KEY,
                       REELGATE_API_WAIT_SECONDS="0") as (info, env):
        yield info | {"admin_env": admin_environment(env, info)}


@pytest.fixture(scope="module")
def tenants(busy_cloud: dict[str, Any]) -> list[str]:
    """Five toolkit keys made with the operator command (each key may hold 20 unfinished jobs)."""
    keys = []
    for i in range(5):
        out = subprocess.run([sys.executable, "-m", "infra.admin", "keys", "create", f"tenant-{i}", "--credits",
                              "100000"], cwd=ROOT, env=busy_cloud["admin_env"], capture_output=True, text=True,
                             check=True, timeout=60)
        keys.append(json.loads(out.stdout)["api_key"])
    return keys


def aws(info: dict[str, Any], service: str, who: str | None = None) -> Any:
    """A boto3 client on the local cloud: the operator's credentials, or those of function `who`."""
    keys = (info["aws_access_key_id"], info["aws_secret_access_key"])
    if who:
        keys = (identity(who).access_key_id, identity(who).secret_access_key)
    return boto3.client(service, endpoint_url=info["aws_endpoint"], region_name="us-east-1",
                        aws_access_key_id=keys[0], aws_secret_access_key=keys[1])


def presigned_image(info: dict[str, Any], key: str, size: tuple[int, int] = (320, 240)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(buffer, "JPEG")
    s3 = aws(info, "s3")
    s3.put_object(Bucket=info["media_bucket"], Key=key, Body=buffer.getvalue(), ContentType="image/jpeg")
    return str(s3.generate_presigned_url("get_object", Params={"Bucket": info["media_bucket"], "Key": key}))


def probe(url: str, tmp_path: Path) -> dict[str, Any]:
    video = tmp_path / "out.mp4"
    video.write_bytes(httpx.get(url, timeout=30).content)
    out = subprocess.run([str(FFPROBE), "-v", "error", "-show_streams", "-show_format", "-of", "json", str(video)],
                         capture_output=True, text=True, check=True, timeout=30)
    return dict(json.loads(out.stdout))


def post(info: dict[str, Any], path: str, body: Any, key: str = DEV_KEY) -> httpx.Response:
    return httpx.post(info["api"] + path, json=body, headers={"x-api-key": key}, timeout=60)


def test_a_clean_shell_converts_an_image_and_concatenates_the_results(cloud: dict[str, Any], tmp_path: Path) -> None:
    image = presigned_image(cloud, "samples/still.jpg")

    first = post(cloud, "/v1/image/convert/video", {"image_url": image, "length": 2, "frame_rate": 25})
    second = post(cloud, "/v1/image/convert/video", {"image_url": image, "length": 1, "frame_rate": 25})
    assert (first.status_code, second.status_code) == (200, 200), (first.text, second.text)
    joined = post(cloud, "/v1/video/concatenate",
                  {"video_urls": [{"video_url": first.json()["response"]}, {"video_url": second.json()["response"]}]})

    assert joined.status_code == 200, joined.text
    streams = probe(joined.json()["response"], tmp_path)
    video = next(s for s in streams["streams"] if s["codec_type"] == "video")
    assert video["codec_name"] == "h264"
    assert abs(float(streams["format"]["duration"]) - 3.0) <= 0.08


def test_a_clean_shell_generation_ends_on_pixverses_signed_webhook(cloud: dict[str, Any]) -> None:
    # As `make dev` runs: simulated videos finish after a few seconds and PixVerse's webhook announces
    # them; the flow's wait for it lasts 120 s, so finishing well before that is the webhook's doing.
    ask = {"app_bundle_id": cloud["dev_app"], "apphud_user_id": "active_user"}
    submitted = httpx.post(cloud["api"] + "/text2video", json=ask | {"prompt": "A lighthouse"}, timeout=60)
    assert submitted.status_code == 200, submitted.text
    video_id = submitted.json()["video_id"]

    def finished() -> dict[str, Any] | None:
        answer = httpx.post(cloud["api"] + "/get-status", json=ask | {"video_id": video_id}, timeout=30).json()
        return answer if answer["status"] != "generating" else None

    answer = wait_for(finished, timeout=60, interval=0.5)
    assert answer["status"] == "success" and answer["video_url"], answer
    simulator = cloud["pixverse"].removesuffix("/openapi/v2")
    deliveries = httpx.get(simulator + "/_sim/state", timeout=10).json()["webhooks"]
    assert deliveries and {(d["http_status"], d["reply"]) for d in deliveries} == {(200, "ok")}


def test_a_5_mb_multipart_image_gets_api_gateways_413_and_a_4_mb_one_reaches_the_function(
        cloud: dict[str, Any]) -> None:
    def form(size: int) -> httpx.Response:
        files = {"image": ("photo.jpg", os.urandom(size), "image/jpeg")}
        data = {"app_bundle_id": cloud["dev_app"], "apphud_user_id": "active_user", "prompt": "waves"}
        return httpx.post(cloud["api"] + "/image2video", data=data, files=files, timeout=60)

    over, under = form(5 * 1024 * 1024), form(4 * 1024 * 1024)

    assert (over.status_code, over.json()) == (413, {"message": "Request Too Long"})
    assert under.status_code != 413 and "message" in under.json() and under.json() != {"message": "Request Too Long"}


def test_an_aws_call_outside_a_functions_grants_is_access_denied(cloud: dict[str, Any]) -> None:
    key = {"job_id": {"S": "no-such-job"}}
    reader = aws(cloud, "dynamodb", who="get_status")  # jobs:read, state:read, media:read

    assert "Item" not in reader.get_item(TableName=cloud["jobs_table"], Key=key)  # granted: allowed
    with pytest.raises(ClientError) as denied:
        reader.put_item(TableName=cloud["jobs_table"], Item=key)
    with pytest.raises(ClientError) as no_secret:
        aws(cloud, "secretsmanager", who="toolkit_render").get_secret_value(SecretId="reelgate/local/pixverse-api-key")

    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "dynamodb:PutItem" in denied.value.response["Error"]["Message"]
    assert no_secret.value.response["Error"]["Code"] == "AccessDeniedException"


def test_an_injected_transaction_conflict_reaches_the_callers_code(cloud: dict[str, Any]) -> None:
    rule = {"function": "toolkit_settle", "service": "dynamodb", "operation": "TransactWriteItems",
            "error": "TransactionConflict", "count": 1}
    httpx.post(cloud["aws_endpoint"] + "/_reelgate/faults", json={"rules": [rule]}, timeout=10)
    settle = aws(cloud, "dynamodb", who="toolkit_settle")
    item = {"Update": {"TableName": cloud["state_table"], "Key": {"pk": {"S": "fault-probe"}},
                       "UpdateExpression": "ADD n :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}}
    try:
        with pytest.raises(ClientError) as conflict:
            settle.transact_write_items(TransactItems=[item])
        settle.transact_write_items(TransactItems=[item])  # the rule fired once: the retry goes through
    finally:
        rules = httpx.delete(cloud["aws_endpoint"] + "/_reelgate/faults", timeout=10)

    assert conflict.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in conflict.value.response["CancellationReasons"]] == ["TransactionConflict"]
    assert rules.json() == {"rules": []}


def credits(info: dict[str, Any]) -> int:
    table = boto3.resource("dynamodb", endpoint_url=info["aws_endpoint"], region_name="us-east-1",
                           aws_access_key_id=info["aws_access_key_id"],
                           aws_secret_access_key=info["aws_secret_access_key"]).Table(info["state_table"])
    keys = [item for item in table.scan()["Items"] if str(item["pk"]).startswith("apikey#")]
    return sum(int(item["credits"]) for item in keys)


@pytest.mark.parametrize("round_", range(int(os.environ.get("REELGATE_CONCURRENCY_ROUNDS", "1"))))
def test_fifty_concurrent_submissions_lose_nothing_and_credits_add_up(
        busy_cloud: dict[str, Any], tenants: list[str], round_: int) -> None:
    cloud = busy_cloud
    image = presigned_image(cloud, f"samples/tiny-{round_}.jpg", size=(64, 48))
    missing = presigned_image(cloud, "samples/missing.jpg").replace("missing.jpg", "nothing-here.jpg")
    before = credits(cloud)

    def submit(i: int) -> httpx.Response:  # one in five renders; the rest fail at download and are refunded
        body = ({"image_url": image, "length": 1, "frame_rate": 15} if i % 5 == 0 else
                {"image_url": missing, "length": 1})
        return post(cloud, "/v1/image/convert/video", body | {"id": f"r{round_}-{i}"}, key=tenants[i % 5])

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(submit, range(50)))  # in submission order: answer i is tenant i % 5's

    # a job's own answer: done (200), failed (500) or still running after the wait budget (202); never a
    # platform error (502/504) or a lost job
    assert {a.status_code for a in answers} <= {200, 202, 500}, [a.text for a in answers if
                                                                a.status_code not in (200, 202, 500)]
    jobs = {a.json()["job_id"]: tenants[i % 5] for i, a in enumerate(answers)}
    assert len(jobs) == 50

    def finished(job_id: str, key: str) -> Any:
        inner = post(cloud, "/v1/toolkit/job/status", {"job_id": job_id}, key).json()["response"]
        return inner["response"] if inner["job_status"] == "done" else None

    # every accepted job exists (for its owner) and finishes
    outcomes = [wait_for(lambda j=job_id, k=key: finished(j, k), 120)["code"] for job_id, key in jobs.items()]
    assert sorted(outcomes) == [200] * 10 + [500] * 40
    assert credits(cloud) == before - 10 * 10  # ten renders at 10 credits; every failure refunded


def test_a_function_using_a_resource_its_deployed_environment_lacks_fails_locally(
        cloud: dict[str, Any], tmp_path: Path) -> None:
    """The same handler, given the environment CDK would give it with and without the jobs grant."""
    from dataclasses import replace

    from infra import environment, registry
    from infra.local import functions
    from infra.local.runtime import Runtime

    spec = registry.function("toolkit_job_status")
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/"
    res = environment.Resources(
        account="123456789012", region="us-east-1", jobs_table=cloud["jobs_table"],
        jobs_table_arn=table + cloud["jobs_table"], state_table=cloud["state_table"],
        state_table_arn=table + cloud["state_table"], media_bucket=cloud["media_bucket"],
        media_bucket_arn=f"arn:aws:s3:::{cloud['media_bucket']}", event_bus="", event_bus_arn="", secret_arns={})

    def run(grants: frozenset[registry.Grant]) -> dict[str, Any]:
        fn = replace(spec, grants=grants)
        env = environment.function_environment(fn, res, "local", environment.stage_values({}))
        env |= functions.platform_environment(fn, "us-east-1", cloud["aws_endpoint"], tmp_path / "tmp")
        config = functions.FunctionConfig(name=fn.name, code_dir=fn.directory, handler="handler.handler",
                                          timeout=fn.timeout, memory=fn.memory, env=env, arn="arn:probe")
        runtime = Runtime({fn.name: config}, log_dir=tmp_path / "logs")
        event = json.loads((ROOT / "events" / "toolkit_job_status.json").read_text())
        event["headers"] = {"x-api-key": DEV_KEY, "Content-Type": "application/json"}
        event["body"] = json.dumps({"job_id": "no-such-job"})
        try:
            return dict(json.loads(runtime.invoke(fn.name, json.dumps(event).encode()).payload))
        finally:
            runtime.stop()

    granted = run(spec.grants)
    lacking = run(spec.grants - {"jobs:read"})

    assert granted["statusCode"] == 404  # looked the job up in the jobs table: not there
    assert lacking["statusCode"] == 500  # no REELGATE_JOBS_TABLE in its environment: no table to read


def test_every_toolkit_envelope_names_the_same_queue(cloud: dict[str, Any]) -> None:
    """queue_id once came from the flow ARN, which only the submitting functions' environments hold."""
    image = presigned_image(cloud, "samples/queue.jpg")
    submitted = post(cloud, "/v1/image/convert/video", {"image_url": image, "length": 1}).json()
    authenticated = httpx.get(cloud["api"] + "/v1/toolkit/authenticate", headers={"x-api-key": DEV_KEY}).json()
    status = post(cloud, "/v1/toolkit/job/status", {"job_id": submitted["job_id"]}).json()

    assert submitted["queue_id"] == authenticated["queue_id"] == status["queue_id"] != 0


def test_endless_transaction_conflicts_answer_503_and_change_nothing(cloud: dict[str, Any]) -> None:
    rules = [{"function": fn, "service": "dynamodb", "operation": "TransactWriteItems", "error": "TransactionConflict"}
             for fn in ("text_to_video", "toolkit_image_to_video")]
    httpx.post(cloud["aws_endpoint"] + "/_reelgate/faults", json={"rules": rules}, timeout=10)
    before = credits(cloud)
    try:
        mobile = httpx.post(cloud["api"] + "/text2video", timeout=60, json={
            "app_bundle_id": cloud["dev_app"], "apphud_user_id": "promo_user", "prompt": "A cat"})
        toolkit = post(cloud, "/v1/image/convert/video", {"image_url": presigned_image(cloud, "samples/c.jpg")})
        fired = httpx.get(cloud["aws_endpoint"] + "/_reelgate/faults", timeout=10).json()["rules"]
    finally:
        httpx.delete(cloud["aws_endpoint"] + "/_reelgate/faults", timeout=10)

    assert (mobile.status_code, mobile.json()["code"]) == (503, 500069), mobile.text
    assert toolkit.status_code == 503, toolkit.text
    assert all(rule["fired"] > 1 for rule in fired)  # retried before giving up
    assert credits(cloud) == before
