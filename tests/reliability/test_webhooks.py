"""Webhook delivery: a receiver down for the first 3 attempts gets the webhook later with the same
`webhook-id`, every attempt verifiable with the `standardwebhooks` library; the job's status shows the
delivery state (`response.webhook`); a receiver that never comes back ends as an undelivered state."""

from __future__ import annotations

from typing import Any

import httpx
from standardwebhooks import Webhook

from tests.e2e.conftest import DEV_KEY, Hooks, LocalCloud, Site, wait_for
from tests.helpers import circle_image
from tests.reliability.tally import Cases

H = {"x-api-key": DEV_KEY}
ATTEMPTS = 8  # REELGATE_WEBHOOK_SCHEDULE of the reliability cloud has eight entries


def _submit(http: httpx.Client, site: Site, hooks: Hooks, request_id: str) -> str:
    circle_image(site.root / "hook.jpg", (160, 120))
    answer = http.post("/v1/image/convert/video", headers=H, json={
        "image_url": f"{site.url}/hook.jpg", "length": 1, "frame_rate": 15, "webhook_url": hooks.url,
        "id": request_id})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["job_id"])


def _webhook_state(http: httpx.Client, job_id: str) -> dict[str, Any]:
    return dict(http.post("/v1/toolkit/job/status", headers=H, json={"job_id": job_id}).json()["response"]
                .get("webhook") or {})


def test_a_receiver_down_three_times_gets_the_same_signed_webhook_later(cloud: LocalCloud, site: Site, hooks: Hooks,
                                                                       cases: Cases) -> None:
    hooks.reset(fail_first=3)
    with cloud.client() as http:
        job_id = _submit(http, site, hooks, "hook-late")
        state = wait_for(lambda: (s := _webhook_state(http, job_id)).get("delivered_at") and s, timeout=120)
    calls = list(hooks.handler.calls)
    headers = [{k.lower(): v for k, v in h.items()} for h, _ in calls]
    webhook = Webhook(cloud.info["dev_key_webhook_secret"])
    cases.check("four attempts reached the receiver", len(calls) == 4, len(calls))
    cases.check("one webhook-id for every attempt", len({h.get("webhook-id") for h in headers}) == 1, headers)
    for n, (_, body) in enumerate(calls):
        try:
            payload = webhook.verify(body, headers[n])
        except Exception as exc:  # any verification error is the case not holding
            cases.check(f"attempt {n + 1} verifies", False, repr(exc))
            continue
        cases.check(f"attempt {n + 1} verifies and names the job", payload["job_id"] == job_id and
                    payload["id"] == "hook-late", payload)
    cases.check("the status shows the delivery", state["attempts"] == 4 and state["last_status"] == 200, state)
    cases.verify()


def test_a_receiver_that_never_answers_ends_in_an_undelivered_state(cloud: LocalCloud, site: Site, hooks: Hooks,
                                                                   cases: Cases) -> None:
    hooks.reset(fail_first=1000)
    with cloud.client() as http:
        job_id = _submit(http, site, hooks, "hook-never")
        state = wait_for(lambda: (s := _webhook_state(http, job_id)).get("attempts") == ATTEMPTS
                         and s.get("next_attempt_at") is None and s, timeout=180)
    cases.check("every scheduled attempt was made", len(hooks.handler.calls) == ATTEMPTS, len(hooks.handler.calls))
    cases.check("the status says undelivered, with the last status", state["delivered_at"] is None and
                state["last_status"] == 500 and bool(state["error"]), state)
    cases.verify()
