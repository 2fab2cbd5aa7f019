"""Idempotency-Key through the local cloud's gateway and Lambda workers: a multipart TopView submit
repeated (also concurrently, each with its own multipart boundary) makes one job and one TopView call."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.e2e.test_topview import (  # noqa: F401 (fixtures)
    APP,
    cloud,
    fresh_topview,
    http,
    image,
    subscriber,
)


def submit(client: httpx.Client, user: str, key: str, prompt: str = "A dog") -> httpx.Response:
    data = {"app_bundle_id": APP, "apphud_user_id": user, "prompt": prompt, "duration": "10", "mode": "pro"}
    return client.post("/topview/image2video", data=data, files={"image": ("x.png", image(), "image/png")},
                     headers={"Idempotency-Key": key})


def test_repeated_multipart_submits_make_one_job_and_one_topview_call(http, cloud) -> None:  # noqa: F811
    user = subscriber(cloud)
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: submit(http, user, f"idem-{user}"), range(3)))
    again = submit(http, user, f"idem-{user}")

    assert [a.status_code for a in [*answers, again]] == [200] * 4, [a.text for a in answers]
    assert len({a.json()["video_id"] for a in [*answers, again]}) == 1
    assert again.headers.get("idempotent-replayed") == "true"
    calls = [c for c in cloud.state()["calls"] if c["endpoint"] == "common_task/image2video/submit"]
    assert len(calls) == 1


def test_the_same_key_with_another_prompt_answers_422(http, cloud) -> None:  # noqa: F811
    user = subscriber(cloud)
    assert submit(http, user, f"idem2-{user}").status_code == 200

    refused = submit(http, user, f"idem2-{user}", prompt="A cat")

    assert refused.status_code == 422
    assert refused.json() == {"code": 400017, "video_id": None, "message": (
        "this Idempotency-Key was already used with a different request body; use a new key for a different request")}
