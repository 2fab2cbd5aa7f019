"""Faults: AWS errors and killed tasks (the local cloud's fault injection, POST <aws>/_reelgate/faults) and
provider failures (the PixVerse simulator's /_sim/scenario): every job reaches a terminal state before its
deadline, and credits, queue slots and per-user slots settle exactly."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.e2e import soak
from tests.e2e.conftest import LocalCloud, Site, wait_for
from tests.e2e.test_mobile import subscriber
from tests.helpers import ROOT, circle_image
from tests.reliability.books import balances, jobs, queue_count
from tests.reliability.conftest import PROFILE
from tests.reliability.tally import Cases

APP = "com.example.app"
DOCUMENTED = {int(s) for s in json.loads((ROOT / "docs" / "openapi.json").read_text())
              ["paths"]["/text2video"]["post"]["responses"] if s.isdigit()}


def _faults(cloud: LocalCloud, rules: list[dict[str, Any]]) -> None:
    httpx.post(f"{cloud.info['aws_endpoint']}/_reelgate/faults", json={"rules": rules}, timeout=10).raise_for_status()


def _fired(cloud: LocalCloud) -> int:
    rules = httpx.get(f"{cloud.info['aws_endpoint']}/_reelgate/faults", timeout=10).json()["rules"]
    return sum(int(r["fired"]) for r in rules)


def test_toolkit_jobs_under_conflicts_and_killed_renders_settle_exactly(cloud: LocalCloud, cases: Cases) -> None:
    """tests/e2e/soak.py's driver: DynamoDB transaction conflicts, and renders killed at their timeout."""
    wait_for(lambda: queue_count(cloud) == 0, timeout=300)
    total = max(10, PROFILE.load_submissions // 5)
    key = cloud.admin("keys", "create", "faults", "--credits", str(soak.PRICE * total))["api_key"]
    report = soak.run(cloud.info, key, total=total, concurrency=max(2, PROFILE.load_concurrency // 2),
                      conflicts=0.2, render_timeouts=0.1)
    for problem in report.problems():
        cases.check("books", False, problem)
    cases.check("every job terminal", report.succeeded + report.failed == total, report.table())
    cases.check("conflicts were injected", report.faults_fired.get("conflicts", 0) > 0, report.faults_fired)
    cases.verify()


AWS_FAULTS = {
    "S3 PutObject errors in the render": {"function": "toolkit_render", "service": "s3", "operation": "PutObject",
                                          "error": "InternalError", "count": 2},
    "S3 slow-downs on every call of the render": {"function": "toolkit_render", "service": "s3", "operation": "*",
                                                  "error": "SlowDown", "count": 3},
    "DynamoDB throttling in the settle": {"function": "toolkit_settle", "service": "dynamodb",
                                          "operation": "TransactWriteItems",
                                          "error": "ProvisionedThroughputExceededException", "count": 2},
    "DynamoDB errors in the render": {"function": "toolkit_render", "service": "dynamodb", "operation": "*",
                                      "error": "InternalServerError", "count": 2},
    "the render killed at its timeout": {"function": "toolkit_render", "service": "s3", "operation": "PutObject",
                                         "timeout": True, "count": 1},
}


@pytest.mark.parametrize("fault", list(AWS_FAULTS))
def test_a_toolkit_job_under_an_aws_fault_ends_and_its_books_balance(cloud: LocalCloud, site: Site, fault: str,
                                                                    cases: Cases) -> None:
    wait_for(lambda: queue_count(cloud) == 0, timeout=300)
    made = cloud.admin("keys", "create", "aws-fault", "--credits", "100")
    _faults(cloud, [AWS_FAULTS[fault]])
    try:
        circle_image(site.root / "fault.jpg", (160, 120))
        good = f"{site.url}/fault.jpg"
        with cloud.client() as http:
            answer = http.post("/v1/image/convert/video", headers={"x-api-key": made["api_key"]},
                               json={"image_url": good, "length": 1, "frame_rate": 15})
            cases.check("accepted", answer.status_code == 202, answer.text[:200])
            job_id = answer.json()["job_id"]
            done = wait_for(lambda: (s := http.post("/v1/toolkit/job/status", headers={"x-api-key": made["api_key"]},
                                                    json={"job_id": job_id}).json()["response"])["job_status"]
                            == "done" and s, timeout=240)
        fired = _fired(cloud)
    finally:
        _faults(cloud, [])
    succeeded = done["response"]["code"] == 200
    cases.check("the fault fired", fired > 0, fired)
    balance = balances(cloud)[made["key_id"]]
    cases.check("credits: charged if it succeeded, refunded if not", balance == (90 if succeeded else 100),
                (succeeded, balance))
    cases.check("the queue slot was released", wait_for(lambda: queue_count(cloud) == 0, timeout=60), None)
    cases.verify()


PROVIDER_FAULTS = {
    "5xx on generate": {"fail_next": {"code": 500100, "http_status": 500, "endpoint": "video/text/generate"}},
    "429 with Retry-After on generate": {"rate_limit_next": {"retry_after": 1, "endpoint": "video/text/generate"}},
    "malformed JSON on generate": {"fail_next": {"code": 500100, "raw": "{not json",
                                                 "endpoint": "video/text/generate"}},
    "5xx on the result polls": {"fail_next": {"code": 500100, "http_status": 502, "endpoint": "video/result",
                                              "times": 3}},
    "malformed JSON on a result poll": {"fail_next": {"code": 500100, "raw": "<html>", "endpoint": "video/result"}},
    "a slow result poll (timeout)": {"delay_next": {"seconds": 20, "endpoint": "video/result"}},
    "the video download fails": {"download_next": {"http_status": 503, "times": 2}},
}


@pytest.mark.parametrize("fault", list(PROVIDER_FAULTS))
def test_a_generation_under_a_provider_fault_ends_and_frees_the_users_slot(cloud: LocalCloud, fault: str,
                                                                          cases: Cases) -> None:
    sim = str(cloud.info["pixverse"]).removesuffix("/openapi/v2")
    httpx.post(f"{sim}/_sim/reset", timeout=10).raise_for_status()
    httpx.post(f"{sim}/_sim/scenario", json={"polls_until_done": 1} | PROVIDER_FAULTS[fault],
               timeout=10).raise_for_status()
    user = subscriber({"apphud": cloud.info["apphud"]})
    caller = {"app_bundle_id": APP, "apphud_user_id": user}
    with cloud.client() as http:
        first = http.post("/text2video", json=caller | {"prompt": "A faulty cat"})
        cases.check("a documented answer", first.status_code in DOCUMENTED and first.status_code != 500,
                    (first.status_code, first.text[:200]))
        video_id = first.json().get("video_id")
        if video_id:
            final = wait_for(lambda: (s := http.post("/get-status", json=caller | {"video_id": video_id}).json())
                             ["status"] in ("success", "error") and s, timeout=240)
            cases.check("the generation ended", final["status"] in ("success", "error"), final)
        httpx.post(f"{sim}/_sim/reset", timeout=10).raise_for_status()
        httpx.post(f"{sim}/_sim/scenario", json={"polls_until_done": 1}, timeout=10).raise_for_status()
        again = http.post("/text2video", json=caller | {"prompt": "A second cat"})
        cases.check("the user's slot is free again", again.status_code == 200, (again.status_code, again.text[:200]))
        if again.status_code == 200:
            wait_for(lambda: http.post("/get-status", json=caller | {"video_id": again.json()["video_id"]})
                     .json()["status"] == "success", timeout=240)
    stuck = [j["job_id"] for j in jobs(cloud) if j.get("owner", "").endswith(user) and
             j.get("status") not in ("succeeded", "failed")]
    cases.check("nothing of this user left unfinished", not stuck, stuck)
    cases.verify()
