"""TopView result normalization and callback parsing (no I/O)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from reelgate.providers.topview import (
    CallbackForged,
    CallbackMalformed,
    Family,
    TopViewError,
    callback_reply,
    parse_callback,
)
from reelgate.providers.topview_results import normalize, normalize_status

UID = "uid-1"
HEADERS = {"topview-uid": UID, "content-type": "application/json"}


@pytest.mark.parametrize(("word", "status"), [
    ("init", "init"), ("running", "running"), ("success", "success"), ("fail", "fail"), ("failed", "fail"),
    ("FAILED", "fail"), ("queued", "running"), (None, None), ("", None),
])
def test_status_words(word: Any, status: str | None) -> None:
    assert normalize_status(word) == status


def test_product_replace_reads_task_status_and_the_replace_key() -> None:
    result = normalize(Family.PRODUCT_REPLACE, {
        "taskId": "t", "taskStatus": "success",
        "productReplaceResult": [{"key": "k1", "url": "https://s3/x.jpg", "faceExistence": False}],
    })
    assert (result.status, result.replace_key, result.image_url) == ("success", "k1", "https://s3/x.jpg")
    assert result.replace_results[0].face_existence is False and result.succeeded and result.terminal


def test_product_video_prefers_the_permanent_url() -> None:
    result = normalize(Family.PRODUCT_VIDEO, {"taskId": "t", "taskStatus": "success",
                                              "previewVideoUrl": "https://tmp", "finishedVideoUrl": "https://keep"})
    assert result.video_url == "https://keep"


def test_failed_task_keeps_its_error_text() -> None:
    result = normalize(Family.VIDEO_AVATAR, {"taskId": "t", "status": "failed", "errorMsg": "no face"})
    assert (result.status, result.error, result.terminal) == ("fail", "no face", True)


def test_running_task_has_no_outputs() -> None:
    result = normalize(Family.TEXT2VIDEO, {"taskId": "t", "status": "running", "videos": []})
    assert result.status == "running" and result.video_url is None and not result.terminal


def test_image2video_v1_reads_nested_and_flat_video_paths() -> None:
    nested = {"taskId": "t", "status": "success", "costCredit": 2.5,
              "videos": [{"originVideo": {"filePath": "https://a.mp4", "width": 1, "height": 1}}]}
    flat = {"taskId": "t", "status": "success", "videos": [{"filePath": "https://b.mp4"}]}
    assert normalize(Family.IMAGE2VIDEO, nested).video_url == "https://a.mp4"
    assert normalize(Family.IMAGE2VIDEO, nested).cost_credit == 2.5
    assert normalize(Family.IMAGE2VIDEO, flat).video_url == "https://b.mp4"


def test_partial_success_keeps_the_outputs_that_exist() -> None:
    result = normalize(Family.TEXT2VIDEO, {"taskId": "t", "status": "success", "videos": [
        {"status": "fail", "errorMsg": "blocked"}, {"status": "success", "filePath": "https://ok.mp4"}]})
    assert result.status == "success" and result.video_urls == ["https://ok.mp4"]


def test_success_with_every_output_failed_is_a_failure() -> None:
    result = normalize(Family.TEXT2IMAGE, {"taskId": "t", "status": "success", "images": [
        {"status": "fail", "errorMsg": "blocked"}, {"status": "failed", "errorMsg": "nsfw"}]})
    assert result.status == "fail" and result.error == "blocked; nsfw"


def test_success_without_any_output_is_a_failure_naming_the_fields() -> None:
    result = normalize(Family.VIDEO_AVATAR, {"taskId": "t", "status": "success", "videoUrl": "?"})
    assert result.status == "fail" and "videoUrl" in (result.error or "")


def test_m2v_previews_carry_script_urls_and_milliseconds() -> None:
    result = normalize(Family.M2V, {"taskId": "m", "status": "success", "previewVideos": [
        {"scriptId": 0, "status": "success", "videoUrl": "https://p0", "coverUrl": "https://c0",
         "videoDuration": 31500},
        {"scriptId": 1, "status": "success", "videoUrl": "https://p1", "coverUrl": "https://c1",
         "videoDuration": 20000},
    ], "exportVideos": []})
    assert [(p.script_id, p.video_url, p.cover_url, p.duration_ms) for p in result.previews] == [
        (0, "https://p0", "https://c0", 31500), (1, "https://p1", "https://c1", 20000)]
    assert (result.video_url, result.cover_url) == ("https://p0", "https://c0")


def test_m2v_export_follows_its_script() -> None:
    base = {"taskId": "m", "status": "success", "previewVideos": [{"scriptId": 0, "videoUrl": "https://p0"}]}
    pending = normalize(Family.M2V_EXPORT, {**base, "exportVideos": []}, script_id=1)
    running = normalize(Family.M2V_EXPORT, {**base, "exportVideos": [{"scriptId": 1, "status": "running"}]},
                        script_id=1)
    done = normalize(Family.M2V_EXPORT, {**base, "exportVideos": [
        {"scriptId": 0, "status": "success", "videoUrl": "https://other"},
        {"scriptId": 1, "status": "success", "videoUrl": "https://e1", "coverUrl": "https://c1"}]}, script_id=1)
    failed = normalize(Family.M2V_EXPORT, {**base, "exportVideos": [
        {"scriptId": 1, "status": "fail", "errorMsg": "render error"}]}, script_id=1)
    assert (pending.status, pending.video_url) == ("running", None)
    assert running.status == "running"
    assert (done.status, done.video_url, done.cover_url) == ("success", "https://e1", "https://c1")
    assert (failed.status, failed.error) == ("fail", "render error")


@pytest.mark.parametrize("result", [None, [], {"status": "success"}, {"taskId": "t"}])
def test_unreadable_results_are_bad_responses(result: Any) -> None:
    with pytest.raises(TopViewError):
        normalize(Family.TEXT2VIDEO, result)


# --- callbacks ---


def callback(**changes: Any) -> dict[str, Any]:
    body = {"uuid": "n-1", "bizType": "PRODUCT_AVATAR_IMAGE2VIDEO", "taskId": "t1", "status": "success",
            "errorMsg": None, "result": {"taskId": "t1", "taskStatus": "success",
                                         "finishedVideoUrl": "https://v.mp4"}}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def test_a_genuine_callback_is_parsed_and_normalized() -> None:
    notice = parse_callback(json.dumps(callback()).encode(), {"Topview-Uid": UID}, uid=UID)
    assert (notice.task_id, notice.biz_type, notice.status, notice.uuid) == (
        "t1", "PRODUCT_AVATAR_IMAGE2VIDEO", "success", "n-1")
    assert notice.family == Family.PRODUCT_VIDEO
    assert notice.task().video_url == "https://v.mp4"


def test_a_failure_callback_carries_its_error_into_the_result() -> None:
    body = callback(status="fail", errorMsg="moderation", result=None, bizType="COMMON_TASK_TEXT2IMAGE")
    notice = parse_callback(body, HEADERS, uid=UID)
    task = notice.task()
    assert (notice.status, task.status, task.error, notice.family) == ("fail", "fail", "moderation",
                                                                       Family.TEXT2IMAGE)


def test_numeric_uuid_and_a_result_sent_as_a_json_string_are_tolerated() -> None:
    body = callback(uuid=123456789, result=json.dumps({"taskId": "t1", "status": "success"}))
    notice = parse_callback(json.dumps(body), HEADERS, uid=UID)
    assert notice.uuid == "123456789" and notice.result["status"] == "success"


@pytest.mark.parametrize("headers", [{}, {"Topview-Uid": "someone-else"}, {"Topview-Uid": ""}])
def test_a_callback_without_our_uid_is_forged(headers: dict[str, str]) -> None:
    with pytest.raises(CallbackForged) as caught:
        parse_callback(json.dumps(callback()), headers, uid=UID)
    assert caught.value.status == 403


@pytest.mark.parametrize("body", [
    b"not json", b"[]", json.dumps(callback(taskId=...)), json.dumps(callback(taskId="")),
    json.dumps(callback(uuid=...)), json.dumps(callback(uuid=True)), json.dumps(callback(bizType=...)),
    json.dumps(callback(status="running")), json.dumps(callback(status=1)), json.dumps(callback(result=[1])),
    json.dumps(callback(result="{not json")), json.dumps(callback(errorMsg=5)),
])
def test_malformed_callbacks_are_refused(body: bytes | str) -> None:
    with pytest.raises(CallbackMalformed) as caught:
        parse_callback(body, HEADERS, uid=UID)
    assert caught.value.status == 400


def test_an_unknown_biz_type_needs_the_family_named() -> None:
    notice = parse_callback(callback(bizType="SOMETHING_NEW"), HEADERS, uid=UID)
    assert notice.family is None
    with pytest.raises(CallbackMalformed):
        notice.task()
    assert notice.task(Family.PRODUCT_VIDEO).video_url == "https://v.mp4"


def test_the_documented_reply() -> None:
    assert callback_reply("n-1", UID) == {
        "code": "200", "message": "Success", "result": {"uuid": "n-1", "topviewUid": UID, "result": "success"}}
    assert callback_reply("n-1", UID, accepted=False)["result"]["result"] == "fail"
