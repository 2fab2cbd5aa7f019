"""Secrets: API keys, provider keys, webhook secrets and Apphud tokens never appear in logs (every
function's log and the cloud's own), answers (bodies and headers), job records or events (the events tap).

A full set of jobs runs first (toolkit image and concatenation with signed webhooks, a failing one, a
Pixverse generation that ends by PixVerse's signed webhook, a TopView submission, an Apphud webhook,
refused keys); then everything is captured and searched for each secret value. The suite runs after the
others in the same cloud, so their traffic is searched too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from infra.local.simulators.apphud import send_webhook
from tests.e2e.conftest import DEV_KEY, Hooks, LocalCloud, Site, wait_for
from tests.e2e.test_toolkit import clip
from tests.helpers import circle_image
from tests.reliability.books import aws, jobs
from tests.reliability.tally import Cases

APP = "com.example.app"


def provider_secrets(cloud: LocalCloud) -> dict[str, str]:
    """Every value held in the emulated Secrets Manager (JSON secrets: each string inside), by name."""
    sm = aws(cloud, "client", "secretsmanager")
    found: dict[str, str] = {}
    for entry in sm.list_secrets()["SecretList"]:
        value = sm.get_secret_value(SecretId=entry["ARN"])["SecretString"]
        try:
            inner = json.loads(value)
        except ValueError:
            inner = None
        if isinstance(inner, dict):
            found |= {f"{entry['Name']}[{k}]": v for k, v in inner.items() if isinstance(v, str)}
        else:
            found[entry["Name"]] = value
    return {name: value for name, value in found.items() if value}


def _drain_events(cloud: LocalCloud) -> list[str]:
    sqs, url, bodies = aws(cloud, "client", "sqs"), cloud.info["events_tap"], []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            return bodies
        bodies += [m["Body"] for m in got]
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                       for i, m in enumerate(got)])


def _full_run(cloud: LocalCloud, site: Site, hooks: Hooks, key: str, answers: list[str]) -> None:
    def keep(response: httpx.Response) -> None:
        response.read()
        answers.append(json.dumps(dict(response.headers)) + "\n" + response.text)

    circle_image(site.root / "secret.jpg", (160, 120))
    clip(site.root / "secret.mp4", "320x240", 15, True)
    hooks.reset(fail_first=1)
    with httpx.Client(base_url=cloud.api, timeout=60, event_hooks={"response": [keep]}) as http:
        toolkit = {"x-api-key": key}
        started = [
            http.post("/v1/image/convert/video", headers=toolkit, json={
                "image_url": f"{site.url}/secret.jpg", "length": 1, "frame_rate": 15, "webhook_url": hooks.url}),
            http.post("/v1/video/concatenate", headers=toolkit, json={
                "video_urls": [{"video_url": f"{site.url}/secret.mp4"}] * 2, "webhook_url": hooks.url}),
            http.post("/v1/video/concatenate", headers=toolkit, json={
                "video_urls": [{"video_url": f"{site.url}/missing.mp4"}]}),
        ]
        toolkit_jobs = [a.json()["job_id"] for a in started]
        for bad in ("rg_wrong", key[:-1], key + "x"):
            http.get("/v1/toolkit/authenticate", headers={"x-api-key": bad})
        caller = {"app_bundle_id": APP, "apphud_user_id": "active_user"}
        video = http.post("/text2video", json=caller | {"prompt": "A secret cat"}).json()["video_id"]
        http.post("/topview/text2video", json=caller | {"prompt": "A secret dog"})
        send_webhook(f"{cloud.api}/webhooks/apphud", cloud.info["apphud_webhook_token"], "subscription_renewed",
                     "active_user")
        send_webhook(f"{cloud.api}/webhooks/apphud", "wrong-token", "subscription_renewed", "active_user")
        for job_id in toolkit_jobs:
            wait_for(lambda j=job_id: http.post("/v1/toolkit/job/status", headers=toolkit, json={"job_id": j})
                     .json()["response"]["job_status"] == "done", timeout=180)
        wait_for(lambda: http.post("/get-status", json=caller | {"video_id": video}).json().get("status")
                 == "success", timeout=180)  # a busy cloud may answer 503 500069 meanwhile
        wait_for(lambda: len(hooks.handler.calls) >= 3, timeout=60)  # two webhooks, one retried
        http.post("/v1/toolkit/jobs/status", headers=toolkit, json={"since_seconds": 3600})


def test_no_secret_value_appears_in_logs_answers_job_records_or_events(cloud: LocalCloud, site: Site, hooks: Hooks,
                                                                      cases: Cases) -> None:
    made = cloud.admin("keys", "create", "secrets", "--credits", "1000")
    answers: list[str] = []
    _full_run(cloud, site, hooks, made["api_key"], answers)

    secrets = {"toolkit API key": made["api_key"], "development API key": DEV_KEY,
               "key webhook secret": made["webhook_secret"],
               "key webhook secret (bytes)": made["webhook_secret"].removeprefix("whsec_"),
               "development webhook secret": cloud.info["dev_key_webhook_secret"].removeprefix("whsec_"),
               "Apphud webhook token": cloud.info["apphud_webhook_token"]} | provider_secrets(cloud)
    logs = Path(cloud.info["function_logs"])
    sinks: dict[str, str] = {f"log {p.name}": p.read_text(errors="replace") for p in sorted(logs.glob("*"))}
    sinks["cloud log"] = Path(cloud.info["cloud_log"]).read_text(errors="replace")
    sinks["answers"] = "\n".join(answers)
    sinks["job records"] = json.dumps(jobs(cloud))
    sinks["events"] = "\n".join(_drain_events(cloud))
    cases.check("the run left something to search", all(sinks[s] for s in ("answers", "job records", "events"))
                and len(logs.glob("*").__next__().read_text()) > 0, {k: len(v) for k, v in sinks.items()})
    for name, value in secrets.items():
        for sink, text in sinks.items():
            cases.check(f"{name} not in {sink}", value not in text, _around(text, value))
    cases.verify()


def _around(text: str, value: str) -> Any:
    at = text.find(value)
    return "" if at < 0 else text[max(0, at - 120):at + len(value) + 40]
