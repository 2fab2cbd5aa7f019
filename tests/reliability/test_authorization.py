"""Authorization matrix: every route of the registry x {no credentials, wrong key, revoked key, another
tenant, the right owner} -> the documented answer; nothing of one tenant is readable or billable by another.

Toolkit tenants are API keys (`infra.admin keys create`); mobile callers are an app bundle plus an Apphud
user of the simulator (`active_user`, `trial_user`; `refunded_user` is the revoked one). The matrix's toolkit
jobs are real and succeed (a small still, a one-second clip), so no refund moves a balance while it runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from infra.local.simulators.apphud import send_webhook
from infra.registry import routes
from tests.e2e.conftest import LocalCloud, Site, wait_for
from tests.e2e.test_mobile import png
from tests.e2e.test_toolkit import clip
from tests.e2e.test_topview import SIM_UID
from tests.helpers import circle_image
from tests.reliability.books import balances
from tests.reliability.tally import Cases

APP = "com.example.app"
UNAUTHORIZED = (401, {"code": 401, "message": "Unauthorized"})
IDENTITIES = ("none", "wrong", "revoked", "other", "owner")
PRICES = {"image": 10, "concatenate": 35}


@dataclass
class Tenant:
    key_id: str
    api_key: str


@dataclass
class World:
    http: httpx.Client
    cloud: LocalCloud
    site: Site
    a: Tenant  # the owner of the resources below
    b: Tenant  # another tenant
    revoked: str
    job_id: str  # a job of A

    def credits(self) -> dict[str, int]:
        return balances(self.cloud)


@pytest.fixture(scope="module")
def world(cloud: LocalCloud, site: Site) -> Iterator[World]:
    def tenant(name: str) -> Tenant:
        made = cloud.admin("keys", "create", name, "--credits", "1000")
        return Tenant(made["key_id"], made["api_key"])

    circle_image(site.root / "matrix.jpg", (320, 240))
    clip(site.root / "matrix.mp4", "320x240", 15, False)
    a, b, gone = tenant("matrix-a"), tenant("matrix-b"), tenant("matrix-revoked")
    cloud.admin("keys", "revoke", gone.key_id)
    http = cloud.client()
    first = http.post("/v1/image/convert/video", headers={"x-api-key": a.api_key},
                      json={"image_url": f"{site.url}/matrix.jpg", "length": 1, "frame_rate": 15})
    assert first.status_code == 202, first.text
    yield World(http, cloud, site, a, b, gone.api_key, first.json()["job_id"])
    http.close()


def _toolkit_headers(world: World, who: str) -> dict[str, str]:
    return {"none": {}, "wrong": {"x-api-key": "rg_not_a_key_" + "x" * 20}, "revoked": {"x-api-key": world.revoked},
            "other": {"x-api-key": world.b.api_key}, "owner": {"x-api-key": world.a.api_key}}[who]


def _toolkit_body(world: World, path: str) -> dict[str, Any]:
    if "concatenate" in path:
        return {"video_urls": [{"video_url": f"{world.site.url}/matrix.mp4"}]}
    if "image" in path:
        return {"image_url": f"{world.site.url}/matrix.jpg", "length": 1, "frame_rate": 15}
    if path.endswith("jobs/status"):
        return {"since_seconds": 3600}
    if "status" in path:
        return {"job_id": world.job_id}
    if path == "/v1/uploads":
        return {"kind": "image2video", "filename": "matrix.jpg", "content_type": "image/jpeg"}
    return {}


def toolkit_case(world: World, method: str, path: str, who: str) -> tuple[bool, Any]:
    """One toolkit route for one identity: (held, what was seen)."""
    before = world.credits()
    answer = world.http.request(method, path, headers=_toolkit_headers(world, who),
                                json=_toolkit_body(world, path) if method == "POST" else None)
    body = answer.json()
    moved = {k: v - before.get(k, 0) for k, v in world.credits().items() if v != before.get(k, 0)}
    seen = (answer.status_code, body, moved)
    if who in ("none", "wrong", "revoked"):
        return (answer.status_code, body) == UNAUTHORIZED and not moved, seen
    caller = world.a if who == "owner" else world.b
    if "image" in path or "concatenate" in path:  # billed to the caller, and only to it
        price = PRICES["concatenate" if "concatenate" in path else "image"]
        return answer.status_code == 202 and moved == {caller.key_id: -price}, seen
    if path.endswith("jobs/status"):  # the caller's own jobs only
        listed = body.get("response") or {}
        return answer.status_code == 200 and (world.job_id in listed) == (who == "owner") and not moved, seen
    if "status" in path:
        if who == "other":  # another tenant's job answers exactly as an unknown one
            return (answer.status_code, body) == (404, {"error": "Job not found", "job_id": world.job_id}), seen
        return answer.status_code == 200 and body["response"]["job_id"] == world.job_id and not moved, seen
    if path == "/v1/uploads":  # into the caller's own inbox
        return answer.status_code == 200 and body["upload_key"].startswith(f"inbox/{caller.key_id}/"), seen
    if path == "/v1/toolkit/authenticate":
        return answer.status_code == 200 and body["response"] == "Authorized", seen
    return False, f"no expectation for {path}"


# --- mobile ---

def _caller(who: str) -> dict[str, str]:
    return {"none": {}, "wrong": {"app_bundle_id": "com.not.registered", "apphud_user_id": "active_user"},
            "revoked": {"app_bundle_id": APP, "apphud_user_id": "refunded_user"},
            "other": {"app_bundle_id": APP, "apphud_user_id": "trial_user"},
            "owner": {"app_bundle_id": APP, "apphud_user_id": "active_user"}}[who]


IMAGE_FIELDS = {"/image2video": "image", "/topview/image2video": "image", "/topview/product-avatar": "product_image",
                "/topview/marketing-video": "files"}


def _error(answer: httpx.Response, status: int, code: int | str) -> bool:
    return answer.status_code == status and answer.json().get("code") == code


@dataclass
class Mobile:
    http: httpx.Client
    video_id: str  # a generation of the owner (active_user)
    upload_key: str  # an upload of the owner


@pytest.fixture(scope="module")
def mobile(cloud: LocalCloud) -> Mobile:
    http = cloud.client()
    started = http.post("/text2video", json=_caller("owner") | {"prompt": "A matrix cat"})
    assert started.status_code == 200, started.text
    upload = http.post("/uploads", json=_caller("owner") | {"size": 8, "content_type": "image/png"}).json()
    return Mobile(http, started.json()["video_id"], upload["upload_key"])


def mobile_case(mobile: Mobile, path: str, who: str) -> tuple[bool, Any]:
    """One route with app auth for one identity. Submits send a body that is complete but for the identity,
    except that image routes name the owner's upload by key: another user using it is 403 500020."""
    fields = _caller(who)
    if path == "/get-status":
        answer = mobile.http.post(path, json=fields | {"video_id": mobile.video_id})
        expected = {"none": (422, 400011), "wrong": (422, 400017), "revoked": (404, 500008),
                    "other": (404, 500008)}.get(who)
        held = _error(answer, *expected) if expected else answer.status_code == 200 and "status" in answer.json()
        return held, (answer.status_code, answer.text[:300])
    if path == "/uploads":
        answer = mobile.http.post(path, json=fields | {"size": 8, "content_type": "image/png"})
        if who == "owner" or who == "other":  # each caller's upload lands under its own prefix only
            user = fields["apphud_user_id"]
            return answer.status_code == 200 and f"/{APP}/{user}/" in answer.json()["upload_key"], answer.text[:300]
        expected = {"none": (422, 400011), "wrong": (401, 400012), "revoked": (401, 400012)}[who]
        return _error(answer, *expected), (answer.status_code, answer.text[:300])
    if path == "/topview/marketing-video/export":
        # nothing to export yet: every identity is refused, the owner's video included (not a preview)
        answer = mobile.http.post(path, json=fields | {"video_id": mobile.video_id})
        expected = (422, 400011) if who == "none" else (404, 500008)
        return _error(answer, *expected), (answer.status_code, answer.text[:300])
    form = fields | {"prompt": "A matrix dog", "text": "Hello", "avatar_id": "matrix-avatar",
                     "voice_id": "matrix-voice", "product_name": "Matrix", "product_description": "A matrix product"}
    if who in ("owner", "other"):  # the owner's upload, by key: another user using it is 403 500020
        form |= {"image_key": mobile.upload_key, "product_image_key": mobile.upload_key,
                 "files_keys": mobile.upload_key}
    multipart = path in IMAGE_FIELDS
    files: dict[str, Any] = {k: (None, v) for k, v in form.items()}
    if who == "owner":  # the owner's own submit is not refused for its identity (slots and quotas aside)
        answer = mobile.http.post(path, files=files) if multipart else mobile.http.post(path, json=form)
        return answer.status_code < 500 and answer.status_code not in (401, 403), (answer.status_code,
                                                                                   answer.text[:300])
    if multipart and who in ("none", "wrong", "revoked"):  # an image of their own, sent along
        files[IMAGE_FIELDS[path]] = ("matrix.png", png(), "image/png")
    answer = mobile.http.post(path, files=files) if multipart else mobile.http.post(path, json=form)
    expected = {"none": (422, 400011), "wrong": (401, 400012), "revoked": (401, 400012)}.get(who)
    if who == "other":
        # another user naming the owner's upload is refused; routes without images have nothing of the owner's
        expected = (403, 500020) if multipart else None
        if expected is None:
            return answer.status_code < 500 and answer.status_code not in (401,), (answer.status_code,
                                                                                  answer.text[:300])
    assert expected is not None
    return _error(answer, *expected), (answer.status_code, answer.text[:300])


def provider_case(http: httpx.Client, cloud: LocalCloud, path: str, who: str) -> tuple[bool, Any]:
    """Routes whose callers are the providers: Apphud's token, TopView's uid, PixVerse's signature."""
    if path == "/webhooks/apphud":
        token = {"none": None, "wrong": "not-the-token", "revoked": "dev-apphud-token-old",
                 "other": "x" + cloud.info["apphud_webhook_token"], "owner": cloud.info["apphud_webhook_token"]}[who]
        answer = send_webhook(f"{cloud.api}{path}", token, "subscription_renewed", "active_user")
        return answer.status_code == (200 if who == "owner" else 401), (answer.status_code, answer.text[:200])
    if path == "/callbacks/topview":
        uid = {"none": None, "wrong": "someone-else", "revoked": "", "other": "uid-of-another-account",
               "owner": None}[who]
        headers = {"Content-Type": "application/json"} | ({"Topview-Uid": uid} if uid is not None else {})
        if who == "owner":
            headers["Topview-Uid"] = SIM_UID
        claim = {"uuid": "matrix", "bizType": "COMMON_TASK_TEXT2VIDEO", "taskId": "0" * 32, "status": "success",
                 "errorMsg": None, "result": {"taskId": "0" * 32, "status": "success"}}
        answer = http.post(path, content=json.dumps(claim), headers=headers)
        return answer.status_code == (404 if who == "owner" else 403), (answer.status_code, answer.text[:200])
    if path == "/callbacks/pixverse":
        headers = {"none": {}, "wrong": {"Webhook-Timestamp": "1", "Webhook-Nonce": "n", "Webhook-Signature": "x"}}
        answer = http.post(path, content=b'{"video_id": 1}', headers=headers.get(who, headers["wrong"]))
        return answer.status_code == 401, (answer.status_code, answer.text[:200])
    return False, f"no expectation for {path}"


def test_every_route_and_identity_gets_the_documented_answer(cloud: LocalCloud, world: World, mobile: Mobile,
                                                             cases: Cases) -> None:
    checks: dict[str, Callable[[str, str, str], tuple[bool, Any]]] = {
        "none": lambda m, p, w: ((a := world.http.request(m, p)).status_code == 200, a.status_code),
        "api_key": lambda m, p, w: toolkit_case(world, m, p, w),
        "app": lambda m, p, w: mobile_case(mobile, p, w),
        "apphud_token": lambda m, p, w: provider_case(world.http, cloud, p, w),
        "topview_uid": lambda m, p, w: provider_case(world.http, cloud, p, w),
        "pixverse_signature": lambda m, p, w: provider_case(world.http, cloud, p, w),
    }
    for route, fn in routes():
        for who in IDENTITIES:
            if fn.auth == "pixverse_signature" and who == "owner":
                continue  # a correctly signed callback: tests/e2e/test_mobile.py (the simulator's own webhooks)
            held, seen = checks[fn.auth](route.method, route.path, who)
            cases.check(f"{route.method} {route.path} as {who}", held, seen)
    cases.verify()


def test_a_tenant_cannot_read_or_spend_what_is_not_its_own(world: World, cases: Cases) -> None:
    """B asks for A's job by id on both status routes and lists its own window: A's job never shows."""
    for path in ("/v1/toolkit/job/status", "/paid/get/job/status"):
        answer = world.http.post(path, headers={"x-api-key": world.b.api_key}, json={"job_id": world.job_id})
        cases.check(f"{path}: B reads A's job", answer.status_code == 404 and world.a.key_id not in answer.text,
                    answer.text[:200])
    listed = world.http.post("/v1/toolkit/jobs/status", headers={"x-api-key": world.b.api_key},
                             json={"since_seconds": 3600}).json()["response"]
    cases.check("B's job list holds none of A's jobs", world.job_id not in listed, listed)
    owned = wait_for(lambda: world.http.post("/v1/toolkit/job/status", headers={"x-api-key": world.a.api_key},
                                             json={"job_id": world.job_id}).json())
    cases.check("A reads its own job", owned["code"] == 200, owned)
    cases.verify()
