"""The TopView simulator's own rules (contracts/topview.md §17), spoken to with raw HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from infra.local.simulators.topview import TopViewSimulator

UID, KEY = "sim-uid", "sim-key"
AUTH = {"Topview-Uid": UID, "Authorization": f"Bearer {KEY}"}
T2V = "/v1/common_task/text2video/task/submit"
I2V = "/v1/common_task/image2video/submit"


@pytest.fixture
def api(topview_sim: TopViewSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=topview_sim.base_url, headers=AUTH) as client:
        client.post("/_sim/reset").raise_for_status()
        yield client


def scenario(api: httpx.Client, **knobs: Any) -> None:
    api.post("/_sim/scenario", json=knobs).raise_for_status()


def state(api: httpx.Client) -> dict[str, Any]:
    return api.get("/_sim/state").json()


def code(response: httpx.Response) -> str:
    body = response.json()
    if body["code"] != "200":
        assert body["result"] is None
    return str(body["code"])


def upload(api: httpx.Client, fmt: str = "png", put: bool = True) -> str:
    credential = api.get("/v1/upload/credential", params={"format": fmt}).json()["result"]
    if put:
        httpx.put(credential["uploadUrl"], content=b"bytes").raise_for_status()
    return str(credential["fileId"])


def submit(api: httpx.Client, path: str, body: Any) -> httpx.Response:
    return api.post(path, json=body)


def query(api: httpx.Client, path: str, task_id: str, **params: Any) -> dict[str, Any]:
    response = api.get(path, params={"taskId": task_id, **params})
    assert code(response) == "200", response.text
    return response.json()["result"]


def test_both_credentials_are_required(topview_sim: TopViewSimulator, api: httpx.Client) -> None:
    for headers in ({}, {"Topview-Uid": UID}, {"Topview-Uid": UID, "Authorization": "Bearer nope"},
                    {"Topview-Uid": "other", "Authorization": f"Bearer {KEY}"}):
        response = httpx.get(f"{topview_sim.base_url}/user/credit/detail", headers=headers)
        assert (response.status_code, code(response)) == (200, "4002")
    scenario(api, auth_http_status=401, auth_error_code="401", accounts={"uid-2": "key-2"})
    denied = httpx.get(f"{topview_sim.base_url}/user/credit/detail")
    assert (denied.status_code, code(denied)) == (401, "401")
    other = httpx.get(f"{topview_sim.base_url}/user/credit/detail",
                      headers={"Topview-Uid": "uid-2", "Authorization": "Bearer key-2"})
    assert other.json()["result"]["uid"] == "uid-2"


def test_success_envelope(api: httpx.Client) -> None:
    body = api.get("/user/credit/detail").json()
    assert body == {"code": "200", "message": "Success",
                    "result": {"uid": UID, "remainCredit": 10_000.0, "expiredTime": None, "apiKeyMap": {}}}


def test_upload_credential_put_and_check(api: httpx.Client) -> None:
    credential = api.get("/v1/upload/credential", params={"format": "mp4"}).json()["result"]
    assert set(credential) == {"fileId", "uploadUrl", "fileName", "format"} and len(credential["fileId"]) == 32
    assert "X-Amz-Signature=" in credential["uploadUrl"]
    check = {"fileId": credential["fileId"]}
    assert api.get("/v1/upload/check", params=check).json()["result"] is False
    put = httpx.put(credential["uploadUrl"], content=b"\x00" * 10)  # no TopView headers, no Content-Type
    assert put.status_code == 200 and put.headers["ETag"]
    assert api.get("/v1/upload/check", params=check).json()["result"] is True
    assert code(api.get("/v1/upload/check", params={"fileId": "f" * 32})) == "4004"


@pytest.mark.parametrize(("fmt", "expected"), [("avi", "4000"), ("gif", "4000"), ("", "4003"), ("webp", "200")])
def test_upload_formats(api: httpx.Client, fmt: str, expected: str) -> None:
    assert code(api.get("/v1/upload/credential", params={"format": fmt})) == expected


def test_avi_is_a_switch(api: httpx.Client) -> None:
    scenario(api, upload_formats=["mp4", "avi"])
    assert code(api.get("/v1/upload/credential", params={"format": "avi"})) == "200"


def test_upload_url_expiry_and_size_limit(api: httpx.Client) -> None:
    scenario(api, upload_url_ttl_seconds=0.0)
    url = api.get("/v1/upload/credential", params={"format": "png"}).json()["result"]["uploadUrl"]
    expired = httpx.put(url, content=b"x")
    assert expired.status_code == 403 and b"<Code>AccessDenied</Code>" in expired.content
    scenario(api, upload_url_ttl_seconds=60.0, max_upload_bytes=4)
    url = api.get("/v1/upload/credential", params={"format": "png"}).json()["result"]["uploadUrl"]
    assert httpx.put(url, content=b"12345").status_code == 400


def test_file_ids_must_be_uploaded(api: httpx.Client) -> None:
    body = {"imageFileId": upload(api, put=False), "duration": 5, "mode": "lite", "generatingCount": 1}
    assert code(submit(api, I2V, body)) == "4004"
    scenario(api, file_id_error_code="4000")
    assert code(submit(api, I2V, {**body, "imageFileId": "nope"})) == "4000"
    assert state(api)["tasks"] == []


@pytest.mark.parametrize(("path", "changes", "expected"), [
    (I2V, {"duration": 7}, "4000"), (I2V, {"duration": "5"}, "4001"), (I2V, {"mode": "ultra"}, "4000"),
    (I2V, {"generatingCount": 5}, "4000"), (I2V, {"generatingCount": None}, "4003"),
    (I2V, {"imageFileId": None}, "4003"),
    (T2V, {"prompt": None}, "4003"), (T2V, {"aspectRatio": "2:1"}, "4000"), (T2V, {"generatingCount": 0}, "4000"),
    ("/v1/common_task/text2image/task/submit", {"generateCount": 9}, "4000"),
    ("/v1/m2v/task/submit", {"productLink": None}, "4003"),
    ("/v1/m2v/task/submit", {"videoLengthType": 5}, "4000"),
    ("/v1/m2v/task/submit", {"aspectRatio": "2:1"}, "4000"),
    ("/v1/product_avatar/task/image_replace/submit", {"avatarId": None}, "4003"),
    ("/v1/product_avatar/task/image_replace/submit", {"productSize": "7"}, "4000"),
    ("/v1/product_avatar/task/image_replace/submit", {"imageEditPrompt": ""}, "4003"),
    ("/v1/product_avatar/task/image2Video/submit", {"mode": "ultra"}, "4000"),
    ("/v1/product_avatar/task/image2Video/submit", {}, "4004"),  # a key no replace task produced
    ("/v1/video_avatar/task/submit", {"voiceSpeed": 1.3}, "4000"),
    ("/v1/video_avatar/task/submit", {"voiceSpeed": 0.79}, "4000"),
    ("/v1/video_avatar/task/submit", {"avatarSourceFrom": "2", "voiceoverId": "v", "captionId": "c"}, "4000"),
    ("/v1/video_avatar/task/submit", {"avatarSourceFrom": 2}, "4003"),  # a custom avatar needs voiceoverId
    ("/v1/video_avatar/task/submit", {"audioSourceFrom": 0}, "4003"),  # uploaded audio needs audioFileId
    ("/v1/video_avatar/task/submit", {"avatarSourceFrom": 9}, "4000"),
])
def test_validation_refuses_without_a_task_or_a_charge(
    api: httpx.Client, path: str, changes: dict[str, Any], expected: str
) -> None:
    image = upload(api)
    valid = {
        I2V: {"imageFileId": image, "duration": 5, "mode": "lite", "generatingCount": 1},
        T2V: {"prompt": "a fox"},
        "/v1/common_task/text2image/task/submit": {"prompt": "a mug"},
        "/v1/m2v/task/submit": {"productLink": "https://shop.test/mug"},
        "/v1/product_avatar/task/image_replace/submit": {"productImageFileId": image, "imageEditPrompt": "swap",
                                                         "avatarId": "a"},
        "/v1/product_avatar/task/image2Video/submit": {"productReplaceResultKey": "k" * 32, "mode": "lite"},
        "/v1/video_avatar/task/submit": {"avatarSourceFrom": "1", "aiAvatarId": "sim-avatar-1",
                                         "audioSourceFrom": 1, "ttsText": "hi"},
    }[path]
    response = submit(api, path, {k: v for k, v in {**valid, **changes}.items() if v is not None})
    assert response.status_code == 200 and code(response) == expected
    assert state(api)["tasks"] == [] and state(api)["balance"] == 10_000


def test_enums_as_strings_or_integers(api: httpx.Client) -> None:
    for source in ("1", 1):
        body = {"avatarSourceFrom": source, "aiAvatarId": "a", "audioSourceFrom": source, "ttsText": "hi",
                "voiceSpeed": 0.8, "captionId": "c", "modeType": "1"}
        assert code(submit(api, "/v1/video_avatar/task/submit", body)) == "200"


def test_a_body_that_is_not_an_object_is_4001(api: httpx.Client) -> None:
    assert code(api.post(T2V, content=b"[1, 2]", headers={"Content-Type": "application/json"})) == "4001"


def test_lifecycle_by_polls_and_the_status_field_per_endpoint(api: httpx.Client) -> None:
    scenario(api, polls_in_init=2, polls_until_done=3)
    image = upload(api)
    task = submit(api, "/v1/product_avatar/task/image_replace/submit",
                  {"productImageFileId": image, "imageEditPrompt": "swap", "avatarId": "a"}).json()["result"]
    assert task["status"] == "init" and task["errorMsg"] is None and len(task["taskId"]) == 32
    path = "/v1/product_avatar/task/image_replace/result"
    seen = [query(api, path, task["taskId"]) for _ in range(5)]
    assert [s["taskStatus"] for s in seen] == ["init", "init", "running", "success", "success"]
    assert all("status" not in s for s in seen)
    assert seen[0]["productReplaceResult"] == [] and seen[3]["productReplaceResult"][0]["faceExistence"] is True
    scenario(api, status_field_overrides={"product_replace": "status"})
    assert query(api, path, task["taskId"])["status"] == "success"


def test_lifecycle_by_time(api: httpx.Client) -> None:
    scenario(api, seconds_in_init=0.1, seconds_until_done=0.3)
    task_id = submit(api, T2V, {"prompt": "a fox"}).json()["result"]["taskId"]
    path = "/v1/common_task/text2video/task/query"
    assert query(api, path, task_id)["status"] == "init"
    time.sleep(0.15)
    assert query(api, path, task_id)["status"] == "running"
    time.sleep(0.25)
    assert [t["status"] for t in state(api)["tasks"]] == ["success"]  # finished without another poll


def test_stalled_tasks_finish_only_on_command(api: httpx.Client) -> None:
    scenario(api, stall=True, polls_until_done=0)
    task_id = submit(api, T2V, {"prompt": "a fox"}).json()["result"]["taskId"]
    path = "/v1/common_task/text2video/task/query"
    assert [query(api, path, task_id)["status"] for _ in range(3)] == ["init", "running", "running"]
    finished = api.post(f"/_sim/tasks/{task_id}", json={"status": "fail", "error": "GPU on fire"}).json()
    assert (finished["status"], finished["errorMsg"]) == ("fail", "GPU on fire")
    api.post(f"/_sim/tasks/{task_id}", json={"status": "success"})
    assert query(api, path, task_id)["status"] == "fail"  # a terminal status never changes


def test_query_paths_and_unknown_tasks(api: httpx.Client) -> None:
    image = upload(api)
    body = {"imageFileId": image, "duration": 5, "mode": "lite", "generatingCount": 1}
    task_id = submit(api, I2V, body).json()["result"]["taskId"]
    assert api.get("/v1/common_task/image2video/query", params={"taskId": task_id}).status_code == 404
    assert query(api, "/v1/common_task/image2video/result", task_id)["taskId"] == task_id
    assert code(api.get("/v1/common_task/image2video/result", params={"taskId": "0" * 32})) == "4004"
    # Another family's query does not see the task either.
    assert code(api.get("/v1/common_task/text2video/task/query", params={"taskId": task_id})) == "4004"


def test_another_accounts_task_is_not_found(topview_sim: TopViewSimulator, api: httpx.Client) -> None:
    scenario(api, accounts={"uid-2": "key-2"})
    task_id = submit(api, T2V, {"prompt": "a fox"}).json()["result"]["taskId"]
    other = httpx.get(f"{topview_sim.base_url}/v1/common_task/text2video/task/query", params={"taskId": task_id},
                      headers={"Topview-Uid": "uid-2", "Authorization": "Bearer key-2"})
    assert code(other) == "4004"


def test_result_shapes_of_the_common_tasks(api: httpx.Client) -> None:
    scenario(api, polls_until_done=0, failed_outputs=1)
    image = upload(api)
    i2v = submit(api, I2V, {"imageFileId": image, "duration": 5, "mode": "lite",
                            "generatingCount": 2}).json()["result"]["taskId"]
    videos = query(api, "/v1/common_task/image2video/result", i2v)["videos"]
    assert videos[0]["status"] == "fail" and videos[0]["originVideo"]["filePath"] is None
    assert videos[1]["originVideo"]["filePath"].startswith("http")
    scenario(api, i2v_video_shape="flat")
    assert "filePath" in query(api, "/v1/common_task/image2video/result", i2v)["videos"][1]
    t2i = submit(api, "/v1/common_task/text2image/task/submit", {"prompt": "a mug"}).json()["result"]["taskId"]
    result = query(api, "/v1/common_task/text2image/task/query", t2i)
    assert result["images"][0]["status"] == "fail" and result["costCredit"] == 0.2
    assert {"boardTaskId", "costCredit"} <= set(result)


def test_result_urls_expire_and_cloudfront_urls_do_not(api: httpx.Client) -> None:
    scenario(api, polls_until_done=0, result_url_ttl_seconds=0.0)
    task_id = submit(api, T2V, {"prompt": "a fox"}).json()["result"]["taskId"]
    path = "/v1/common_task/text2video/task/query"
    s3_url = query(api, path, task_id)["videos"][0]["filePath"]
    assert "X-Amz-Expires=0" in s3_url and httpx.get(s3_url).status_code == 403
    cdn_url = query(api, path, task_id, needCloudFrontUrl="true")["videos"][0]["filePath"]
    served = httpx.get(cdn_url)
    assert "/cdn/" in cdn_url and served.status_code == 200 and served.content[4:8] == b"ftyp"


def test_credits_are_reserved_and_charged_on_success_only(api: httpx.Client) -> None:
    scenario(api, balance=1.5, prices={"text2video": 1.0})
    first = submit(api, T2V, {"prompt": "a fox"}).json()["result"]["taskId"]
    assert code(submit(api, T2V, {"prompt": "another"})) == "4100"  # 1.0 of 1.5 is reserved
    api.post(f"/_sim/tasks/{first}", json={"status": "fail"})
    assert state(api)["balance"] == 1.5
    second = submit(api, T2V, {"prompt": "another"}).json()["result"]["taskId"]
    api.post(f"/_sim/tasks/{second}", json={"status": "success"})
    assert api.get("/user/credit/detail").json()["result"]["remainCredit"] == 0.5


def test_unfinished_task_mode(api: httpx.Client) -> None:
    scenario(api, max_unfinished_tasks=1)
    first = submit(api, T2V, {"prompt": "a fox"}).json()["result"]["taskId"]
    refused = submit(api, "/v1/common_task/text2image/task/submit", {"prompt": "a mug"})
    assert code(refused) == "4007"
    api.post(f"/_sim/tasks/{first}", json={"status": "success"})
    assert code(submit(api, T2V, {"prompt": "again"})) == "200"


def test_errors_on_demand(api: httpx.Client) -> None:
    scenario(api, prompt_codes={"forbidden": "6001"})
    assert code(submit(api, T2V, {"prompt": "something FORBIDDEN"})) == "6001"
    assert code(submit(api, "/v1/m2v/task/submit", {"productLink": "x", "productName": "sim-error:4005"})) == "4005"
    scenario(api, magic_errors=False)
    assert code(submit(api, T2V, {"prompt": "sim-error:4005"})) == "200"
    scenario(api, fail_next=[{"code": "5004", "endpoint": "common_task/text2video/task/submit"},
                             {"code": "4006", "message": "Request refuse: region", "endpoint": "*"}])
    assert code(submit(api, T2V, {"prompt": "a fox"})) == "5004"
    refused = api.get("/user/credit/detail").json()
    assert (refused["code"], refused["message"]) == ("4006", "Request refuse: region")
    assert code(api.get("/user/credit/detail")) == "200"


def test_error_http_mode_status(api: httpx.Client) -> None:
    scenario(api, error_http_mode="status")
    response = submit(api, T2V, {"prompt": "sim-error:4004"})
    assert (response.status_code, code(response)) == (404, "4004")
    response = submit(api, T2V, {"prompt": "sim-error:5003"})
    assert (response.status_code, code(response)) == (503, "5003")


def test_injected_delay_and_gateway_page(api: httpx.Client) -> None:
    scenario(api, delay_next={"seconds": 0.3, "endpoint": "user/credit/detail"},
             fail_next={"raw": "<html>502</html>", "http_status": 502, "endpoint": "caption/list"})
    started = time.monotonic()
    assert code(api.get("/user/credit/detail")) == "200" and time.monotonic() - started >= 0.3
    gateway = api.get("/v1/caption/list")
    assert gateway.status_code == 502 and gateway.text == "<html>502</html>"


def test_m2v_export_rules(api: httpx.Client) -> None:
    task_id = submit(api, "/v1/m2v/task/submit", {"productLink": "https://shop.test/mug"}).json()["result"]["taskId"]
    export = {"taskId": task_id, "scriptId": 0}
    assert code(submit(api, "/v1/m2v/export", export)) == "4000"  # not finished yet
    api.post(f"/_sim/tasks/{task_id}", json={"status": "success"})
    assert code(submit(api, "/v1/m2v/export", {**export, "scriptId": 2})) == "4000"  # 2 previews: 0 and 1
    assert code(submit(api, "/v1/m2v/export", {"taskId": "0" * 32})) == "4004"
    scenario(api, export_requires_notice_url=True)
    assert code(submit(api, "/v1/m2v/export", export)) == "4003"
    answer = submit(api, "/v1/m2v/export", {"taskId": task_id, "noticeUrl": "http://127.0.0.1:1/cb"})
    assert answer.json()["result"]["taskId"] == task_id
    exports = query(api, "/v1/m2v/task/query", task_id)["exportVideos"]
    assert [(e["scriptId"], e["status"], e["videoUrl"]) for e in exports] == [(0, "init", None)]


def test_notice_url_check_and_lookups(api: httpx.Client) -> None:
    assert api.post("/notice/notice_url/check", json={"noticeUrl": "https://cb.test/x"}).json()["result"] is True
    assert code(api.post("/notice/notice_url/check", json={"noticeUrl": "ftp://x"})) == "4000"
    avatars = api.get("/v1/aiavatar/query", params={"pageNo": 1, "pageSize": 1}).json()["result"]
    assert (avatars["total"], avatars["pageSize"], len(avatars["data"])) == (2, 1, 1)
    assert api.get("/v1/caption/list").json()["result"][0]["captionId"]
    assert api.get("/v1/product_avatar/public_avatar/query").json()["result"]["data"][0]["avatarId"]


def test_a_prefix_and_a_public_base_url(topview_sim: TopViewSimulator) -> None:
    other = TopViewSimulator(uid=UID, api_key=KEY, prefix="/topview", public_base_url="http://files.test")
    base = other.start()
    try:
        assert base.endswith("/topview")
        credential = httpx.get(f"{base}/v1/upload/credential", params={"format": "png"}, headers=AUTH).json()
        assert credential["result"]["uploadUrl"].startswith("http://files.test/upload/")
        assert httpx.get(f"{base.removesuffix('/topview')}/v1/upload/credential", headers=AUTH).status_code == 404
    finally:
        other.stop()
