"""Mobile uploads over HTTP on the local cloud: an image too large for a request goes through POST /uploads
(a presigned PUT under the caller's own prefix) and is then named by key on /image2video and TopView."""

from __future__ import annotations

import io
import os
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.e2e.conftest import wait_for
from tests.e2e.test_mobile import APP, assert_error, scenario, sims, status, subscriber  # noqa: F401 - fixture
from tests.e2e.test_topview import accepted, cloud, finish_when_waiting, finished, fresh_topview  # noqa: F401
from tests.e2e.test_topview import subscriber as topview_subscriber

MB = 1024 * 1024


@pytest.fixture(scope="module")
def http(local_cloud) -> httpx.Client:
    return local_cloud.client()


@pytest.fixture(autouse=True)
def fresh_pixverse(sims) -> None:  # noqa: F811
    httpx.post(f"{sims['pixverse']}/_sim/reset").raise_for_status()
    scenario(sims, polls_until_done=1)


def noise_png(min_bytes: int) -> bytes:
    """A PNG of random pixels (they do not compress) of at least `min_bytes`."""
    side = int((min_bytes / 3) ** 0.5) + 16
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buffer, "PNG", compress_level=0)
    return buffer.getvalue()


def upload(http: httpx.Client, user: str, data: bytes, content_type: str = "image/png",
           app: str = APP) -> dict[str, Any]:
    """POST /uploads, then the PUT with exactly the headers it lists; the upload's answer."""
    answer = http.post("/uploads", json={"app_bundle_id": app, "apphud_user_id": user,
                                         "content_type": content_type, "size": len(data)})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"upload_url", "upload_key", "expires_in", "max_bytes", "headers"}
    put = httpx.put(body["upload_url"], content=data, headers=body["headers"], timeout=60)
    assert put.status_code == 200, put.text
    return dict(body)


def image2video_by_key(http: httpx.Client, user: str, key: str) -> httpx.Response:
    fields = {"app_bundle_id": APP, "apphud_user_id": user, "prompt": "A dog", "image_key": key}
    return http.post("/image2video", files={name: (None, value) for name, value in fields.items()})


def test_a_12_mb_image_goes_through_uploads_and_image2video_by_key(http, sims) -> None:  # noqa: F811
    user = subscriber(sims)
    picture = noise_png(12 * MB)
    assert len(picture) >= 12 * MB

    uploaded = upload(http, user, picture)

    assert uploaded["upload_key"].startswith(f"inbox/mobile/{APP}/{user}/") and uploaded["max_bytes"] == 20 * MB
    assert uploaded["headers"] == {"Content-Type": "image/png", "Content-Length": str(len(picture))}
    submitted = image2video_by_key(http, user, uploaded["upload_key"])
    assert submitted.status_code == 200, submitted.text
    video_id = submitted.json()["video_id"]
    assert wait_for(lambda: status(http, user, video_id).json()["status"] == "success")
    [sent] = httpx.get(f"{sims['pixverse']}/_sim/state").json()["images"]
    assert httpx.get(f"{sims['pixverse']}/images/{sent['id']}", timeout=30).content == picture  # the very bytes


def test_a_key_is_its_callers_only_and_must_name_a_real_image(http, sims) -> None:  # noqa: F811
    owner, stranger = subscriber(sims), subscriber(sims)
    key = upload(http, owner, noise_png(64 * 1024))["upload_key"]
    assert_error(image2video_by_key(http, stranger, key), 403, 500020)
    assert_error(image2video_by_key(http, owner, key.rsplit("/", 1)[0] + "/never-uploaded.png"), 422, 400032)

    declared_png = http.post("/uploads", json={"app_bundle_id": APP, "apphud_user_id": owner,
                                               "content_type": "image/png", "size": 9}).json()
    put = httpx.put(declared_png["upload_url"], content=b"not a png", headers=declared_png["headers"])
    assert put.status_code == 200
    assert_error(image2video_by_key(http, owner, declared_png["upload_key"]), 415, 500032)


def test_uploads_refuses_what_it_could_never_accept(http, sims) -> None:  # noqa: F811
    user = subscriber(sims)
    ask = {"app_bundle_id": APP, "apphud_user_id": user, "content_type": "image/png"}
    assert_error(http.post("/uploads", json=ask | {"size": 20 * MB + 1}), 413, 500030, submit=False)
    assert_error(http.post("/uploads", json=ask | {"size": 10, "content_type": "image/gif"}), 415, 500032,
                 submit=False)
    assert_error(http.post("/uploads", json=ask | {"size": 10, "apphud_user_id": "nobody-subscribed"}), 401, 400012,
                 submit=False)


def test_a_direct_image_over_the_direct_limit_points_at_uploads(http, sims) -> None:  # noqa: F811
    user = subscriber(sims)
    fields = {"app_bundle_id": APP, "apphud_user_id": user, "prompt": "A dog"}
    over = noise_png(4 * MB + 64 * 1024)  # over the function's direct limit, under what reaches it
    answer = http.post("/image2video", data=fields, files={"image": ("big.png", over, "image/png")})
    assert_error(answer, 413, 500030)
    assert "POST /uploads" in answer.json()["message"] and "image_key" in answer.json()["message"]


def test_a_direct_5_mb_image_is_refused_before_any_function_runs(http, sims) -> None:  # noqa: F811
    """5 MB of multipart is ~6.7 MB once base64-encoded: over Lambda's 6 MB invoke payload, so API Gateway
    answers 413 itself, as on AWS (docs/decisions.md, "Mobile uploads")."""
    user = subscriber(sims)
    fields = {"app_bundle_id": APP, "apphud_user_id": user, "prompt": "A dog"}
    answer = http.post("/image2video", data=fields, files={"image": ("big.png", noise_png(5 * MB), "image/png")})
    assert answer.status_code == 413


def test_a_topview_image_endpoint_takes_a_key(http, cloud) -> None:  # noqa: F811
    user = topview_subscriber(cloud)
    picture = noise_png(6 * MB)  # too large to send in the request
    key = upload(http, user, picture)["upload_key"]
    fields = {"app_bundle_id": APP, "apphud_user_id": user, "prompt": "A dog", "image_key": key}
    video_id = accepted(http.post("/topview/image2video", files={k: (None, v) for k, v in fields.items()}))
    finish_when_waiting(cloud, video_id)

    assert finished(http, user, video_id)["status"] == "success"
    [sent] = cloud.state()["uploads"]
    assert (sent["format"], sent["size"], sent["uploaded"]) == ("png", len(picture), True)


def test_topview_product_avatar_and_marketing_video_take_keys(http, cloud) -> None:  # noqa: F811
    user = topview_subscriber(cloud)
    product, extra = noise_png(5 * MB), noise_png(256 * 1024)
    product_key, extra_key = upload(http, user, product)["upload_key"], upload(http, user, extra)["upload_key"]

    fields = {"app_bundle_id": APP, "apphud_user_id": user, "prompt": "Holds it", "avatar_id": "av-1",
              "product_image_key": product_key}
    accepted(http.post("/topview/product-avatar", files={k: (None, v) for k, v in fields.items()}))
    fields = {"app_bundle_id": APP, "apphud_user_id": user, "product_name": "Mug", "product_description": "A mug",
              "files_keys": f"{product_key},{extra_key}"}
    accepted(http.post("/topview/marketing-video", files={k: (None, v) for k, v in fields.items()}))

    assert [(u["format"], u["size"]) for u in cloud.state()["uploads"]] == [("png", len(product)),
                                                                           ("png", len(product)), ("png", len(extra))]
    other = topview_subscriber(cloud)
    fields = {"app_bundle_id": APP, "apphud_user_id": other, "product_name": "Mug", "product_description": "A mug",
              "files_keys": product_key}
    assert_error(http.post("/topview/marketing-video", files={k: (None, v) for k, v in fields.items()}), 403, 500020)
