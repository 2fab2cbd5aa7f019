"""PixverseClient envelope parsing, retries and headers against httpx.MockTransport (no sockets)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from reelgate.providers.pixverse import (
    BAD_RESPONSE,
    NO_RESPONSE,
    RATE_LIMITED,
    UNKNOWN_ERROR,
    PixverseClient,
    PixverseError,
    VideoStatus,
)

BIG_ID = 2**60 + 1  # above 2**53: a float would round it to 2**60
BASE = "https://pixverse.test/openapi/v2"


def ok(resp: Any) -> httpx.Response:
    return httpx.Response(200, json={"ErrCode": 0, "ErrMsg": "success", "Resp": resp})


def err(code: int, status: int = 200, msg: str = "boom", headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"ErrCode": code, "ErrMsg": msg, "Resp": None}, headers=headers)


class Upstream:
    """Answers queued responses in order and records every request."""

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
def make_client(sleeps: list[float]) -> Iterator[Callable[..., PixverseClient]]:
    def build(upstream: Upstream, **options: Any) -> PixverseClient:
        http = httpx.Client(transport=httpx.MockTransport(upstream))
        options = {"max_retries": 3, "retry_base_seconds": 1.0, "jitter": lambda: 1.0, **options}
        return PixverseClient(BASE, "key-1", http=http, sleep=sleeps.append, **options)

    yield build


def t2v(client: PixverseClient, **extra: Any) -> int:
    return client.text_to_video(
        prompt="a cat", model="v4.5", quality="540p", duration=5, aspect_ratio="16:9", **extra
    )


def test_success_envelope_returns_the_exact_big_video_id(make_client) -> None:
    # Given Pixverse answers a video id above 2**53
    upstream = Upstream(ok({"video_id": BIG_ID, "credits": 45}))
    # When we submit, Then the id survives exactly
    assert t2v(make_client(upstream)) == BIG_ID
    sent = json.loads(upstream.requests[0].content)
    assert sent == {"prompt": "a cat", "model": "v4.5", "quality": "540p", "duration": 5,
                    "aspect_ratio": "16:9", "motion_mode": "normal"}


def test_http_200_with_nonzero_errcode_raises(make_client) -> None:
    client = make_client(Upstream(err(400017, msg="invalid param")))
    with pytest.raises(PixverseError) as caught:
        t2v(client)
    assert (caught.value.err_code, caught.value.message, caught.value.http_status) == (400017, "invalid param", 200)


def test_http_4xx_with_errcode_json_raises_with_both_codes(make_client) -> None:
    client = make_client(Upstream(err(500090, status=402)))
    with pytest.raises(PixverseError) as caught:
        t2v(client)
    assert (caught.value.err_code, caught.value.http_status) == (500090, 402)


def test_non_json_5xx_is_an_unknown_transient_error(make_client, sleeps) -> None:
    html = httpx.Response(502, text="<html>Bad Gateway</html>")
    upstream = Upstream(html, html, html, html)
    with pytest.raises(PixverseError) as caught:
        t2v(make_client(upstream))
    assert (caught.value.err_code, caught.value.http_status) == (UNKNOWN_ERROR, 502)
    assert "Bad Gateway" in caught.value.message
    assert len(upstream.requests) == 4 and sleeps == [1.0, 2.0, 4.0]


def test_non_json_4xx_is_a_bad_response_and_not_retried(make_client) -> None:
    upstream = Upstream(httpx.Response(401, text="Invalid API-KEY"))
    with pytest.raises(PixverseError) as caught:
        t2v(make_client(upstream))
    assert (caught.value.err_code, caught.value.http_status) == (BAD_RESPONSE, 401)
    assert len(upstream.requests) == 1


def test_errcode_zero_with_an_error_status_is_not_success(make_client) -> None:
    with pytest.raises(PixverseError) as caught:
        t2v(make_client(Upstream(httpx.Response(500, json={"ErrCode": 0, "Resp": {"video_id": 1}}))))
    assert caught.value.err_code == BAD_RESPONSE


def test_a_quoted_id_is_rejected_rather_than_guessed(make_client) -> None:
    with pytest.raises(PixverseError) as caught:
        t2v(make_client(Upstream(ok({"video_id": str(BIG_ID)}))))
    assert caught.value.err_code == BAD_RESPONSE


def test_upload_sends_multipart_image_and_returns_a_big_img_id(make_client) -> None:
    upstream = Upstream(ok({"img_id": BIG_ID, "img_url": "https://x/y.png"}))
    assert make_client(upstream).upload_image(b"\x89PNGdata", "cat.png", "image/png") == BIG_ID
    request = upstream.requests[0]
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert b'name="image"; filename="cat.png"' in request.content
    assert b"Content-Type: image/png" in request.content


def test_image_to_video_body_has_img_id_and_seed_but_no_aspect(make_client) -> None:
    upstream = Upstream(ok({"video_id": 7}))
    make_client(upstream).image_to_video(
        prompt="p", img_id=BIG_ID, model="v5", quality="720p", duration=8, motion_mode="normal", seed=42
    )
    sent = json.loads(upstream.requests[0].content)
    assert sent["img_id"] == BIG_ID and sent["seed"] == 42 and "aspect_ratio" not in sent
    assert upstream.requests[0].url.path == "/openapi/v2/video/img/generate"


def test_result_parses_status_object_with_big_id(make_client) -> None:
    resp = {"id": BIG_ID, "status": 1, "url": "https://cdn/x.mp4", "outputWidth": 1280, "outputHeight": 720,
            "size": 8427520, "create_time": "2025-03-25T08:30:00Z", "future_field": True}
    upstream = Upstream(ok(resp))
    result = make_client(upstream).result(BIG_ID)
    assert result.id == BIG_ID and result.succeeded and result.terminal
    assert (result.output_width, result.output_height) == (1280, 720)
    assert upstream.requests[0].url.path == f"/openapi/v2/video/result/{BIG_ID}"


@pytest.mark.parametrize(("status", "terminal"), [(5, False), (6, True), (7, True), (8, True)])
def test_result_terminal_flags(make_client, status: int, terminal: bool) -> None:
    result = make_client(Upstream(ok({"id": 1, "status": status, "url": ""}))).result(1)
    assert result.terminal is terminal and not result.succeeded
    assert result.status == VideoStatus(status)


def test_balance_parses_credit_fields(make_client) -> None:
    balance = make_client(Upstream(ok({"account_id": BIG_ID, "credit_monthly": 10, "credit_package": 5}))).balance()
    assert balance.account_id == BIG_ID and balance.total == 15


def test_transient_code_is_retried_with_the_same_trace_id(make_client, sleeps) -> None:
    upstream = Upstream(err(500100), err(500069), ok({"video_id": 3}))
    assert t2v(make_client(upstream)) == 3
    traces = {r.headers["Ai-trace-id"] for r in upstream.requests}
    assert len(upstream.requests) == 3 and len(traces) == 1
    assert all(r.headers["API-KEY"] == "key-1" for r in upstream.requests)
    assert sleeps == [1.0, 2.0]


def test_backoff_is_bounded(make_client, sleeps) -> None:
    upstream = Upstream(*[err(99999)] * 5)
    with pytest.raises(PixverseError):
        t2v(make_client(upstream, max_retries=4, max_backoff_seconds=3.0))
    assert sleeps == [1.0, 2.0, 3.0, 3.0]


def test_equal_jitter_keeps_at_least_half_the_backoff(make_client, sleeps) -> None:
    t2v(make_client(Upstream(err(500100), ok({"video_id": 1})), jitter=lambda: 0.0))
    assert sleeps == [0.5]


@pytest.mark.parametrize("code", [400011, 400017, 500044, 500063, 500090, 500054])
def test_non_transient_codes_are_not_retried(make_client, sleeps, code: int) -> None:
    upstream = Upstream(err(code))
    with pytest.raises(PixverseError):
        t2v(make_client(upstream))
    assert len(upstream.requests) == 1 and sleeps == []


def test_timeouts_are_retried_then_surface_as_no_response(make_client, sleeps) -> None:
    upstream = Upstream(*[httpx.ReadTimeout("slow")] * 4)
    with pytest.raises(PixverseError) as caught:
        t2v(make_client(upstream))
    assert (caught.value.err_code, caught.value.http_status) == (NO_RESPONSE, 0)
    assert len({r.headers["Ai-trace-id"] for r in upstream.requests}) == 1 and len(sleeps) == 3


def test_429_retry_after_seconds_is_honoured(make_client, sleeps) -> None:
    upstream = Upstream(httpx.Response(429, text="slow down", headers={"Retry-After": "7"}), ok({"video_id": 1}))
    assert t2v(make_client(upstream, max_retry_after=30.0)) == 1
    assert sleeps == [7.0]


def test_429_without_retry_after_waits_the_default_capped(make_client, sleeps) -> None:
    upstream = Upstream(httpx.Response(429), httpx.Response(429), ok({"video_id": 1}))
    t2v(make_client(upstream, default_retry_after=60.0, max_retry_after=12.0))
    assert sleeps == [12.0, 12.0]


def test_429_retry_after_http_date_is_understood(make_client, sleeps) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    t2v(make_client(Upstream(httpx.Response(429, headers={"Retry-After": when}), ok({"video_id": 1}))))
    assert 25.0 <= sleeps[0] <= 30.0


def test_429_exhausted_reports_rate_limited_and_the_hint(make_client) -> None:
    upstream = Upstream(*[httpx.Response(429, headers={"Retry-After": "2"})] * 2)
    with pytest.raises(PixverseError) as caught:
        t2v(make_client(upstream, max_retries=1))
    assert (caught.value.err_code, caught.value.http_status, caught.value.retry_after) == (RATE_LIMITED, 429, 2.0)


def test_429_with_an_errcode_body_keeps_that_code(make_client) -> None:
    with pytest.raises(PixverseError) as caught:
        t2v(make_client(Upstream(err(500069, status=429)), max_retries=0))
    assert caught.value.err_code == 500069 and caught.value.http_status == 429


def test_each_logical_request_gets_a_fresh_trace_id_and_callers_can_pin_one(make_client) -> None:
    upstream = Upstream(ok({"video_id": 1}), ok({"video_id": 2}), ok({"video_id": 3}))
    ids = iter(["t-1", "t-2"])
    client = make_client(upstream, new_trace_id=lambda: next(ids))
    t2v(client)
    t2v(client)
    t2v(client, trace_id="job-42", seed=9)
    assert [r.headers["Ai-trace-id"] for r in upstream.requests] == ["t-1", "t-2", "job-42"]
    assert json.loads(upstream.requests[2].content)["seed"] == 9


def test_custom_transient_codes_replace_the_defaults(make_client, sleeps) -> None:
    upstream = Upstream(err(500044), ok({"video_id": 1}))
    assert t2v(make_client(upstream, transient_codes=frozenset({500044}))) == 1
    assert len(sleeps) == 1


def test_from_settings_applies_the_configured_limits(sleeps) -> None:
    from reelgate.settings import Settings

    settings = Settings(pixverse_base_url=BASE, pixverse_max_retries=1, pixverse_max_retry_after_seconds=4.0)
    upstream = Upstream(httpx.Response(429), httpx.Response(429))
    http = httpx.Client(transport=httpx.MockTransport(upstream))
    client = PixverseClient.from_settings(settings, "k", http=http, sleep=sleeps.append)
    with pytest.raises(PixverseError):
        t2v(client)
    assert sleeps == [4.0] and str(upstream.requests[0].url).startswith(BASE)
