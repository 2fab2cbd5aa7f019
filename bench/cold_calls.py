"""The first call each function gets in the cold-start bench: the event Lambda would give it, on a local cloud.

API functions get the proxy event the local gateway makes of a real request (`infra.local.gateway.to_event`),
authenticated as a caller of the seeded development data (the toolkit key, the development app with a new
Apphud subscriber of the simulator). Flow tasks get their state machine's task input (the sample events
in `events/`) naming a job made for this call through the local cloud's own API, so a task acts on a real
job in the state its flow would find it (its flow is not run: the cloud's Step Functions only record
executions here). Every call gets state of its own, since a first call may change it (a settle, a poll).
"""

from __future__ import annotations

import copy
import io
import itertools
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from reelgate.mobile.apps import DEV_BUNDLE_ID
from reelgate.providers.pixverse_webhooks import canonical_payload, signature
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from infra import registry
from infra.local.cloud import LocalCloud
from infra.local.gateway import to_event
from tests.helpers import _sample

WEBHOOK = "https://hooks.example/reelgate"
_users = itertools.count()


def png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (320, 240), "teal").save(out, "PNG")
    return out.getvalue()


class FirstCalls:
    """`event(name)`: the first event of function `name`, with the state it needs made just before."""

    def __init__(self, cloud: LocalCloud) -> None:
        self.cloud, self.info = cloud, cloud.info
        self.http = httpx.Client(base_url=self.info["api"], timeout=60)
        self.key = self.info["dev_api_key"]
        # Every call makes a generation that never finishes here: the simulated accounts must not run dry.
        for sim in ("pixverse", "topview"):
            knobs = {"balance": 10**9} | ({"concurrency_limit": 10**6} if sim == "pixverse" else {})
            control = httpx.URL(self.info[sim]).copy_with(path="/_sim/scenario")
            httpx.post(control, json=knobs, timeout=30).raise_for_status()
        s3 = self.cloud_client("s3")
        s3.put_object(Bucket=self.info["media_bucket"], Key="bench/still.png", Body=png(), ContentType="image/png")
        self.still = s3.generate_presigned_url("get_object", ExpiresIn=86400,
                                               Params={"Bucket": self.info["media_bucket"], "Key": "bench/still.png"})

    # --- state, made through the API as a client would --------------------------------------------

    def subscriber(self) -> str:
        user = f"bench-user-{next(_users)}-{uuid.uuid4().hex[:6]}"
        now = datetime.now(UTC)
        sub = {"id": user, "product_id": "pro", "group": "pro", "status": "regular",
               "expires_at": (now + timedelta(days=30)).isoformat(), "started_at": now.isoformat(),
               "cancelled_at": None, "environment": "production", "kind": "autorenewable"}
        httpx.post(f"{self.info['apphud']}/_sim/users", json={"user_id": user, "subscriptions": [sub]},
                   timeout=30).raise_for_status()
        return user

    def toolkit_job(self) -> str:
        body = {"image_url": self.still, "length": 1, "frame_rate": 15,
                "webhook_url": WEBHOOK}
        answer = self.http.post("/v1/image/convert/video", json=body, headers={"x-api-key": self.key})
        assert answer.status_code == 202, answer.text
        return str(answer.json()["job_id"])

    def mobile_job(self, user: str) -> str:
        answer = self.http.post("/text2video", json={"app_bundle_id": DEV_BUNDLE_ID, "apphud_user_id": user,
                                                     "prompt": "A cat"})
        assert answer.status_code == 200, answer.text
        return str(answer.json()["video_id"])

    def topview_job(self, user: str) -> str:
        answer = self.http.post("/topview/text2video", json={"app_bundle_id": DEV_BUNDLE_ID, "apphud_user_id": user,
                                                             "prompt": "A cat surfing", "duration": 5,
                                                             "aspect_ratio": "9:16"})
        assert answer.status_code == 200, answer.text
        return str(answer.json()["video_id"])

    # --- events -----------------------------------------------------------------------------------

    def api(self, name: str, *, json_body: Any = None, form: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None, raw: bytes | None = None) -> dict[str, Any]:
        route = registry.function(name).routes[0]
        builder = EnvironBuilder(path=route.path, method=route.method, json=json_body, headers=headers or {},
                                 data=form if raw is None else raw, base_url=self.info["api"])
        if raw is not None:
            builder.content_type = "application/json"
        return to_event(Request(builder.get_environ()), route.path)

    def mobile(self, name: str, user: str | None = None, form: bool = False, **fields: Any) -> dict[str, Any]:
        body = {"app_bundle_id": DEV_BUNDLE_ID, "apphud_user_id": user or self.subscriber()} | fields
        if form:
            data = {k: v if isinstance(v, tuple) else str(v) for k, v in body.items()}
            return self.api(name, form={k: (io.BytesIO(v[1]), v[0], v[2]) if isinstance(v, tuple) else v
                                        for k, v in data.items()})
        return self.api(name, json_body=body)

    def task(self, name: str, **fields: Any) -> dict[str, Any]:
        return copy.deepcopy(_sample(name)) | fields

    def event(self, name: str) -> dict[str, Any]:
        key = {"x-api-key": self.key}
        sample_body = lambda: json.loads(_sample(name).get("body") or "{}")  # noqa: E731
        if name == "health":
            return self.api(name)
        if name == "toolkit_image_to_video":
            return self.api(name, json_body=sample_body() | {"webhook_url": WEBHOOK}, headers=key)
        if name in ("toolkit_concatenate", "toolkit_jobs_status", "toolkit_upload"):
            return self.api(name, json_body=sample_body(), headers=key)
        if name == "toolkit_authenticate":
            return self.api(name, headers=key)
        if name == "toolkit_job_status":
            return self.api(name, json_body={"job_id": self.toolkit_job()}, headers=key)
        if name in ("toolkit_render", "toolkit_notify"):
            return self.task(name, job_id=self.toolkit_job())
        if name == "toolkit_settle":
            job = self.toolkit_job()
            return self.task(name, job_id=job, output_key=f"outbox/{job}.mp4")
        if name == "s3_ingest":
            return self.inbox_record()
        if name == "text_to_video":
            return self.mobile(name, prompt="A cat")
        if name == "image_to_video":
            return self.mobile(name, form=True, prompt="A dog", image=("dog.png", png(), "image/png"))
        if name == "mobile_upload":
            return self.mobile(name, content_type="image/jpeg", size=1_000_000)
        if name == "get_status":
            user = self.subscriber()
            return self.mobile(name, user, video_id=self.mobile_job(user))
        if name == "apphud_webhook":
            return self.apphud_webhook()
        if name in ("pixverse_poll", "pixverse_await", "pixverse_fail"):
            return self.task(name, job_id=self.mobile_job(self.subscriber()))
        if name == "pixverse_callback":
            return self.pixverse_callback()
        if name.startswith("topview_") and registry.function(name).routes and name != "topview_callback":
            return self.topview_api(name)
        if name == "topview_callback":
            return self.topview_callback()
        if name in ("topview_step", "topview_await", "topview_fail"):
            return self.task(name, job_id=self.topview_job(self.subscriber()))
        if name == "counter_drift":
            return self.task(name)
        raise KeyError(f"no first call for {name}: add one")

    def topview_api(self, name: str) -> dict[str, Any]:
        picture = ("x.png", png(), "image/png")
        if name == "topview_image_to_video":
            return self.mobile(name, form=True, image=picture, prompt="A dog", duration=10, mode="pro")
        if name == "topview_product_avatar":
            return self.mobile(name, form=True, product_image=picture, product_mask=picture, template_image=picture,
                               template_mask=picture, prompt="Put the mug in her hand", mode="pro", product_size="3")
        if name == "topview_marketing_video":
            return self.mobile(name, product_link="https://shop.example/mug", aspect_ratio="9:16", language="en",
                               video_length_type=2)
        body = json.loads(_sample(name)["body"])
        user = self.subscriber()
        if name == "topview_marketing_export":  # of a preview still being made (its flow does not run here)
            body["video_id"] = self.topview_job(user)
        fields = {k: v for k, v in body.items() if k not in ("app_bundle_id", "apphud_user_id")}
        return self.mobile(name, user, **fields)

    def topview_callback(self) -> dict[str, Any]:
        """TopView's notice of the task a job just submitted (no flow waits on it here: it is told nothing)."""
        job = self.topview_job(self.subscriber())
        item = self.cloud_client("dynamodb").get_item(TableName=self.info["jobs_table"], Key={"job_id": {"S": job}})
        body = json.loads(_sample("topview_callback")["body"])
        body["taskId"] = item["Item"]["provider"]["M"]["task_id"]["S"]
        return self.api("topview_callback", json_body=body, headers={"Topview-Uid": "sim-uid"})

    def inbox_record(self) -> dict[str, Any]:
        s3 = self.cloud_client("s3")
        key_id = self.http.get("/v1/toolkit/authenticate", headers={"x-api-key": self.key})  # warms nothing here
        assert key_id.status_code == 200
        from reelgate.toolkit.keys import key_hash

        object_key = f"inbox/{key_hash(self.key)[:16]}/image2video/bench/{uuid.uuid4().hex}.png"
        s3.put_object(Bucket=self.info["media_bucket"], Key=object_key, Body=png(), Metadata={"length": "1"})
        event = self.task("s3_ingest")
        record = event["Records"][0]
        record["s3"]["bucket"] = {"name": self.info["media_bucket"], "arn": f"arn:aws:s3:::{self.info['media_bucket']}"}
        record["s3"]["object"] |= {"key": object_key}
        return event

    def apphud_webhook(self) -> dict[str, Any]:
        user = self.subscriber()
        body = {"app": {"uid": str(uuid.uuid5(uuid.NAMESPACE_DNS, DEV_BUNDLE_ID)), "bundle_id": DEV_BUNDLE_ID,
                        "package_name": None},
                "event": {"id": str(uuid.uuid4()), "created_at": datetime.now(UTC).isoformat(),
                          "name": "subscription_renewed", "properties": {"product_id": "pro"}, "receipt": None,
                          "store": "app_store"},
                "user": {"user_id": user, "subscriptions": []}}
        return self.api("apphud_webhook", json_body=body, headers={"X-Apphud-Token": self.cloud.apphud_webhook_token})

    def pixverse_callback(self) -> dict[str, Any]:
        payload = json.loads(_sample("pixverse_callback")["body"])
        stamp, nonce = str(int(time.time())), uuid.uuid4().hex
        sign = signature(self.cloud._pixverse_webhook_key, stamp, nonce, canonical_payload(payload, "body"))
        return self.api("pixverse_callback", raw=json.dumps(payload).encode(), headers={
            "Webhook-Timestamp": stamp, "Webhook-Nonce": nonce, "Webhook-Signature": sign})

    def cloud_client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.info["aws_endpoint"], region_name="us-east-1",
                            aws_access_key_id=self.info["aws_access_key_id"],
                            aws_secret_access_key=self.info["aws_secret_access_key"])
