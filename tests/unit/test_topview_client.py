"""TopViewClient envelope, error table, retries, deadline, uploads and request bodies against
httpx.MockTransport (no sockets)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from reelgate import deadline
from reelgate.deadline import DeadlineExceeded
from reelgate.providers.topview import (
    Family,
    TopViewClient,
    TopViewError,
    UnfinishedTask,
    format_for,
    http_status,
    is_unavailable,
    parse_envelope,
)
from reelgate.providers.topview_errors import BAD_RESPONSE, GATEWAY_ERROR, NO_RESPONSE, UPLOAD_FAILED, error_for

BASE = "https://topview.test"
TABLE = {
    "4000": 422, "4001": 422, "4003": 422, "4002": 401, "4004": 404, "4005": 409, "4006": 403, "6001": 403,
    "4007": 429, "4100": 402, "5003": 503, "5000": 502, "5001": 502, "5004": 502, "5005": 502,
}


def ok(result: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json={"code": "200", "message": "Success", "result": result})


def err(code: str | int, status: int = 200, message: str = "boom") -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message, "result": None})


class Upstream:
    """Answers queued responses (or raises queued exceptions) in order; records every request."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_client(sleeps: list[float]) -> Callable[..., TopViewClient]:
    def build(upstream: Upstream, **options: Any) -> TopViewClient:
        http = httpx.Client(transport=httpx.MockTransport(upstream))
        options = {"max_retries": 3, "retry_base_seconds": 1.0, "jitter": lambda: 1.0,
                   "min_attempt_seconds": 0.5, "check_interval_seconds": 0.25, **options}
        return TopViewClient(BASE, "uid-1", "key-1", http=http, sleep=sleeps.append, **options)
    return build


def body(request: httpx.Request) -> Any:
    return json.loads(request.content)


# --- the error table ---


@pytest.mark.parametrize(("code", "status"), sorted(TABLE.items()))
def test_every_row_of_the_error_table(code: str, status: int) -> None:
    assert http_status(code) == status
    error = error_for(code, "specific text")
    assert error.answer() == (status, {"code": int(code), "message": "specific text", "video_id": None})


@pytest.mark.parametrize("code", ["4999", "401", "7000", NO_RESPONSE, BAD_RESPONSE, GATEWAY_ERROR, UPLOAD_FAILED])
def test_unknown_and_local_codes_are_502(code: str) -> None:
    assert http_status(code) == 502


def test_4007_is_its_own_exception_and_empty_messages_get_the_documented_wording() -> None:
    error = error_for("4007", "")
    assert isinstance(error, UnfinishedTask) and error.status == 429
    assert error.message == "Exists unfinished task, please wait until the previous task is completed."
    assert type(error_for("4100", "")) is TopViewError


@pytest.mark.parametrize(("exc", "unavailable"), [
    (error_for("5003", ""), True), (error_for("5000", ""), True), (error_for("5001", ""), True),
    (error_for("5004", ""), True), (error_for("5005", ""), True), (error_for("9999", ""), True),
    (TopViewError(NO_RESPONSE, "timeout", 0), True), (TopViewError(GATEWAY_ERROR, "502 page", 502), True),
    (httpx.ConnectTimeout("slow"), True),
    (error_for("4000", ""), False), (error_for("4002", ""), False), (error_for("4006", ""), False),
    (error_for("6001", ""), False), (error_for("4100", ""), False), (error_for("4007", ""), False),
    (error_for("4004", ""), False), (DeadlineExceeded("ours"), False), (ValueError("x"), False),
])
def test_unavailable_means_provider_trouble_never_a_refusal(exc: BaseException, unavailable: bool) -> None:
    assert is_unavailable(exc) is unavailable


# --- the envelope ---


def test_envelope_success_and_refusals_over_200_and_non_2xx() -> None:
    assert parse_envelope(ok({"taskId": "t"})) == {"taskId": "t"}
    with pytest.raises(TopViewError) as refused:
        parse_envelope(err("4000", message="seedance-2.5 supports resolutions: 480, 720."))
    assert (refused.value.code, refused.value.upstream_status) == ("4000", 200)
    assert refused.value.message == "seedance-2.5 supports resolutions: 480, 720."
    with pytest.raises(TopViewError) as non_2xx:
        parse_envelope(err(4100, status=402))  # a numeric code is read as its string
    assert (non_2xx.value.code, non_2xx.value.upstream_status, non_2xx.value.status) == ("4100", 402, 402)


@pytest.mark.parametrize(("response", "code"), [
    (httpx.Response(502, text="<html>bad gateway</html>"), GATEWAY_ERROR),
    (httpx.Response(429, text="slow down"), GATEWAY_ERROR),
    (httpx.Response(200, text="not json"), BAD_RESPONSE),
    (httpx.Response(200, json={"message": "no code"}), BAD_RESPONSE),
    (httpx.Response(500, json={"code": "200", "message": "Success", "result": None}), BAD_RESPONSE),
])
def test_answers_that_are_not_envelopes(response: httpx.Response, code: str) -> None:
    with pytest.raises(TopViewError) as caught:
        parse_envelope(response)
    assert caught.value.code == code


# --- headers, retries, deadline ---


def test_every_api_call_carries_uid_and_bearer_key(make_client) -> None:
    upstream = Upstream(ok({"remainCredit": 12.5}))
    assert make_client(upstream).remaining_credit() == 12.5
    sent = upstream.requests[0]
    assert sent.headers["Topview-Uid"] == "uid-1" and sent.headers["Authorization"] == "Bearer key-1"
    assert sent.url == f"{BASE}/user/credit/detail"


@pytest.mark.parametrize("code", ["5003", "5000", "5001"])
def test_busy_and_internal_errors_are_retried_with_backoff(make_client, sleeps: list[float], code: str) -> None:
    upstream = Upstream(err(code), err(code, status=503), ok({"taskId": "t1", "status": "init"}))
    submitted = make_client(upstream).submit_text2video(prompt="a cat")
    assert submitted.task_id == "t1" and len(upstream.requests) == 3
    assert sleeps == [1.0, 2.0]  # base 1 s doubling, jitter pinned to the top of the range


def test_retries_end_with_the_last_error(make_client, sleeps: list[float]) -> None:
    upstream = Upstream(*[err("5003")] * 4)
    with pytest.raises(TopViewError) as caught:
        make_client(upstream, max_retries=3).submit_text2video(prompt="a cat")
    assert caught.value.code == "5003" and caught.value.status == 503
    assert len(upstream.requests) == 4 and len(sleeps) == 3


@pytest.mark.parametrize("code", ["4000", "4002", "4100", "6001", "4004"])
def test_refusals_are_not_retried(make_client, sleeps: list[float], code: str) -> None:
    upstream = Upstream(err(code))
    with pytest.raises(TopViewError) as caught:
        make_client(upstream).submit_text2image(prompt="a cat")
    assert caught.value.code == code and len(upstream.requests) == 1 and sleeps == []


def test_4007_surfaces_at_once(make_client, sleeps: list[float]) -> None:
    upstream = Upstream(err("4007"))
    with pytest.raises(UnfinishedTask):
        make_client(upstream).submit_text2video(prompt="a cat")
    assert len(upstream.requests) == 1 and sleeps == []


def test_no_retry_that_cannot_fit_in_the_remaining_time(make_client, sleeps: list[float]) -> None:
    upstream = Upstream(err("5003"), ok({"taskId": "t"}))
    with deadline.bounded(3.0), pytest.raises(TopViewError) as caught:
        make_client(upstream, retry_base_seconds=10.0).submit_text2video(prompt="a cat")
    assert caught.value.code == "5003" and len(upstream.requests) == 1 and sleeps == []


def test_attempt_timeout_is_bounded_by_the_deadline(make_client) -> None:
    upstream = Upstream(ok({"remainCredit": 1}))
    with deadline.bounded(2.0):
        make_client(upstream, timeout=30.0).remaining_credit()
    timeouts = upstream.requests[0].extensions["timeout"]
    assert 0 < timeouts["read"] <= 2.0 and 0 < timeouts["connect"] <= 2.0


def test_no_attempt_without_time_for_one(make_client) -> None:
    upstream = Upstream(ok({"remainCredit": 1}))
    with deadline.bounded(0.1), pytest.raises(DeadlineExceeded):
        make_client(upstream).remaining_credit()
    assert upstream.requests == []


def test_a_submit_that_may_have_arrived_is_not_repeated(make_client) -> None:
    # A read timeout after the body was sent: TopView may have created the task; a resubmit costs twice.
    upstream = Upstream(httpx.ReadTimeout("slow"), ok({"taskId": "dup"}))
    with pytest.raises(TopViewError) as caught:
        make_client(upstream).submit_text2video(prompt="a cat")
    assert caught.value.code == NO_RESPONSE and caught.value.maybe_submitted
    assert len(upstream.requests) == 1 and is_unavailable(caught.value)


def test_a_submit_that_never_connected_is_repeated(make_client) -> None:
    upstream = Upstream(httpx.ConnectError("refused"), ok({"taskId": "t"}))
    assert make_client(upstream).submit_text2video(prompt="a cat").task_id == "t"
    assert len(upstream.requests) == 2


def test_queries_are_repeated_after_timeouts_and_gateway_pages(make_client) -> None:
    result = {"taskId": "t", "status": "running"}
    upstream = Upstream(httpx.ReadTimeout("slow"), httpx.Response(504, text="<html/>"), ok(result))
    assert make_client(upstream).query(Family.TEXT2VIDEO, "t").status == "running"
    assert len(upstream.requests) == 3


# --- uploads ---


def test_upload_is_credential_put_check(make_client, sleeps: list[float]) -> None:
    credential = {"fileId": "f1", "uploadUrl": "https://s3.test/put/f1?X-Amz-Signature=abc",
                  "fileName": "f1.png", "format": "png"}
    upstream = Upstream(ok(credential), httpx.Response(200), ok(False), ok("true"))
    assert make_client(upstream).upload(b"PNGDATA", "image/png") == "f1"
    cred, put, check1, check2 = upstream.requests
    assert cred.method == "GET" and cred.url.path == "/v1/upload/credential" and cred.url.params["format"] == "png"
    assert put.method == "PUT" and str(put.url) == credential["uploadUrl"] and put.content == b"PNGDATA"
    assert put.headers["Content-Type"] == "image/png"
    assert "Authorization" not in put.headers and "Topview-Uid" not in put.headers
    assert check1.url.path == "/v1/upload/check" and check2.url.params["fileId"] == "f1"
    assert sleeps == [0.25]


def test_an_expired_upload_url_gets_a_fresh_credential(make_client) -> None:
    first = {"fileId": "f1", "uploadUrl": "https://s3.test/1"}
    second = {"fileId": "f2", "uploadUrl": "https://s3.test/2"}
    denied = httpx.Response(403, text="<Error><Code>AccessDenied</Code></Error>")
    upstream = Upstream(ok(first), denied, ok(second), httpx.Response(200), ok(True))
    assert make_client(upstream).upload(b"x", "video/mp4") == "f2"
    assert [str(r.url) for r in upstream.requests if r.method == "PUT"] == ["https://s3.test/1", "https://s3.test/2"]


def test_an_upload_never_confirmed_fails(make_client) -> None:
    upstream = Upstream(ok({"fileId": "f1", "uploadUrl": "https://s3.test/1"}), httpx.Response(200),
                        *[ok(False)] * 3)
    with pytest.raises(TopViewError) as caught:
        make_client(upstream, check_attempts=3).upload(b"x", "image/jpeg", format="jpeg")
    assert caught.value.code == UPLOAD_FAILED and upstream.requests[0].url.params["format"] == "jpeg"


def test_upload_formats_follow_the_content_type() -> None:
    assert [format_for(t) for t in ("image/jpeg", "image/png", "image/webp", "video/mp4", "video/quicktime")] == [
        "jpg", "png", "webp", "mp4", "mov"]
    assert format_for("audio/mpeg; charset=binary") == "mp3"
    with pytest.raises(ValueError):
        format_for("image/gif")


# --- request bodies ---


def test_submit_bodies_use_topview_names_and_drop_empty_fields(make_client) -> None:
    answer = ok({"taskId": "t", "status": "init", "errorMsg": None})
    upstream = Upstream(*[answer] * 4)
    client = make_client(upstream)
    client.submit_product_replace(product_image_file_id="p", image_edit_prompt="swap", avatar_id="a",
                                  notice_url="https://cb.test/topview")
    client.submit_product_video(replace_result_key="k", mode="pro", prompt="wave")
    client.submit_image2video(image_file_id="i", prompt="move", duration=10, mode="plus", generating_count=2)
    client.submit_m2v(file_ids=["f1", "f2"], product_name="Mug", product_description="A mug", aspect_ratio="9:16")
    replace, video, i2v, m2v = (body(r) for r in upstream.requests)
    assert replace == {"productImageFileId": "p", "imageEditPrompt": "swap", "avatarId": "a",
                       "noticeUrl": "https://cb.test/topview"}
    assert video == {"productReplaceResultKey": "k", "mode": "pro", "image2videoPrompt": "wave"}
    assert i2v == {"imageFileId": "i", "prompt": "move", "duration": 10, "mode": "plus", "generatingCount": 2}
    assert m2v == {"fileIds": ["f1", "f2"], "productName": "Mug", "productDescription": "A mug", "aspectRatio": "9:16"}
    assert upstream.requests[0].url.path == "/v1/product_avatar/task/image_replace/submit"
    assert upstream.requests[2].url.path == "/v1/common_task/image2video/submit"


def test_unverified_field_shapes_are_options(make_client) -> None:
    answer = ok({"taskId": "t"})
    upstream = Upstream(answer, answer, answer)
    client = make_client(upstream, enum_style="int", product_video_prompt_field="image2VideoPrompt",
                         paths={"m2v_export.submit": "/v1/m2v/task/export"})
    client.submit_video_avatar(avatar_id="av", text="Hello", voice_id="v", voice_speed=1.1, mode_type=0)
    client.submit_product_video(replace_result_key="k", prompt="wave")
    client.export_m2v("m1", script_id=2, notice_url="https://cb.test/x")
    avatar, video, export = (body(r) for r in upstream.requests)
    assert avatar == {"avatarSourceFrom": 1, "aiAvatarId": "av", "audioSourceFrom": 1, "ttsText": "Hello",
                      "voiceoverId": "v", "voiceSpeed": 1.1, "modeType": 0}
    assert video["image2VideoPrompt"] == "wave"
    assert upstream.requests[2].url.path == "/v1/m2v/task/export"
    assert export == {"taskId": "m1", "scriptId": 2, "noticeUrl": "https://cb.test/x"}


def test_export_without_a_task_id_is_tracked_by_the_m2v_task(make_client) -> None:
    upstream = Upstream(ok(True))
    assert make_client(upstream).export_m2v("m1").task_id == "m1"


def test_submit_without_a_task_id_is_a_bad_response(make_client) -> None:
    with pytest.raises(TopViewError) as caught:
        make_client(Upstream(ok({"status": "init"}))).submit_text2image(prompt="x")
    assert caught.value.code == BAD_RESPONSE


def test_query_paths_and_the_cloudfront_switch(make_client) -> None:
    result = {"taskId": "t", "status": "running"}
    upstream = Upstream(ok(result), ok(result))
    make_client(upstream).query(Family.IMAGE2VIDEO, "t")
    make_client(upstream, need_cloudfront_url=False).query("video_avatar", "t")
    first, second = upstream.requests
    assert first.url.path == "/v1/common_task/image2video/result" and "needCloudFrontUrl" not in first.url.params
    assert second.url.path == "/v1/video_avatar/task/query" and second.url.params["needCloudFrontUrl"] == "false"
