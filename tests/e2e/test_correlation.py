"""One correlation id, the job's id, follows a job through every function's log: from the request that
creates it, through its flow's tasks, to the webhook (the caller's for a toolkit job, PixVerse's for a
generation). Read from the local cloud's function logs, one file per function, as CloudWatch has them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.conftest import DEV_KEY, wait_for
from tests.helpers import circle_image


def trail(cloud: Any, job_id: str) -> dict[str, set[str]]:
    """Per function: the correlation ids of its log records that concern `job_id`."""
    found: dict[str, set[str]] = {}
    for log in Path(cloud.info["function_logs"]).glob("*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if job_id in line and line.startswith("{"):
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                found.setdefault(log.stem, set()).add(str(record.get("correlation_id")))
    return found


def test_a_toolkit_jobs_logs_share_its_id_from_the_request_to_the_webhook(local_cloud, site, hooks) -> None:
    circle_image(site.root / "trail.jpg", (640, 480))
    hooks.reset()
    answer = local_cloud.client().post("/v1/image/convert/video", headers={"x-api-key": DEV_KEY}, json={
        "image_url": f"{site.url}/trail.jpg", "length": 1, "webhook_url": hooks.url}).json()
    job_id = answer["job_id"]
    wait_for(lambda: any(job_id.encode() in body for _, body in hooks.handler.calls))

    found = wait_for(lambda: (t := trail(local_cloud, job_id)) and "toolkit_notify" in t and t, timeout=30)
    assert {"toolkit_image_to_video", "toolkit_render", "toolkit_settle", "toolkit_notify"} <= set(found), found
    assert all(ids == {job_id} for ids in found.values()), found


def test_a_generations_logs_share_its_id_from_the_request_to_pixverses_webhook(local_cloud) -> None:
    ask = {"app_bundle_id": "com.example.app", "apphud_user_id": "active_user"}
    http = local_cloud.client()
    job_id = http.post("/text2video", json=ask | {"prompt": "A trail"}).json()["video_id"]
    wait_for(lambda: http.post("/get-status", json=ask | {"video_id": job_id}).json()["status"] == "success")

    found = wait_for(lambda: (t := trail(local_cloud, job_id)) and "pixverse_callback" in t and t, timeout=30)
    assert {"text_to_video", "pixverse_await", "pixverse_poll", "pixverse_callback"} <= set(found), found
    assert all(ids == {job_id} for ids in found.values()), found
