"""The local gateway turns requests into REST proxy events and proxy responses back, like API Gateway."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

from werkzeug.test import Client, EnvironBuilder

from infra.local.gateway import Gateway, is_binary, to_event
from infra.local.runtime import SYNC_PAYLOAD_BYTES, Result, platform_error


class FakeRuntime:
    """The runtime's invoke contract: a JSON payload in, a Result out, with Lambda's 6 MB request limit."""

    def __init__(self, handler: Callable[[str, dict[str, Any]], Any]) -> None:
        self.handler = handler

    def invoke(self, name: str, payload: bytes) -> Result:
        if len(payload) > SYNC_PAYLOAD_BYTES:
            return platform_error("RequestEntityTooLargeException", "too large")
        try:
            return Result(json.dumps(self.handler(name, json.loads(payload))).encode())
        except Exception as exc:
            return platform_error("Unhandled", str(exc))


def test_json_bodies_travel_as_text_and_multipart_as_base64() -> None:
    text = to_event(EnvironBuilder(method="POST", path="/get-status", data='{"a": 1}',
                                   content_type="application/json").get_request(), "/get-status")
    binary = to_event(EnvironBuilder(method="POST", path="/image2video", data=b"\x00\xff",
                                     content_type="multipart/form-data; boundary=x").get_request(), "/image2video")

    assert (text["body"], text["isBase64Encoded"]) == ('{"a": 1}', False)
    assert (base64.b64decode(binary["body"]), binary["isBase64Encoded"]) == (b"\x00\xff", True)
    assert is_binary("image/png") and not is_binary("application/json")


def test_query_strings_and_headers_are_kept() -> None:
    event = to_event(EnvironBuilder(method="GET", path="/health", query_string="a=1&a=2&b=3",
                                    headers={"X-Api-Key": "k"}).get_request(), "/health")
    assert event["queryStringParameters"] == {"a": "2", "b": "3"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["3"]}
    assert event["headers"]["X-Api-Key"] == "k" and event["httpMethod"] == "GET"


def test_routes_reach_their_function_and_unknown_routes_answer_like_api_gateway() -> None:
    calls = []

    def invoke(name, event):
        calls.append((name, event["path"]))
        return {"statusCode": 201, "headers": {"X-Out": "1"}, "body": base64.b64encode(b"ok").decode(),
                "isBase64Encoded": True}

    client = Client(Gateway(FakeRuntime(invoke)))
    ok = client.post("/paid/video/concatenate", json={})
    missing = client.get("/nope")
    wrong_method = client.get("/text2video")

    assert (ok.status_code, ok.data, ok.headers["X-Out"]) == (201, b"ok", "1")
    assert calls == [("toolkit_concatenate", "/paid/video/concatenate")]
    assert (missing.status_code, json.loads(missing.data)) == (403, {"message": "Missing Authentication Token"})
    assert wrong_method.status_code == 403


def test_a_crashing_or_malformed_function_is_a_502() -> None:
    def crash(name, event):
        raise RuntimeError("boom")

    assert Client(Gateway(FakeRuntime(crash))).get("/health").status_code == 502
    assert Client(Gateway(FakeRuntime(lambda n, e: {"no": "status"}))).get("/health").status_code == 502


def echo(name: str, event: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": 200, "body": "{}"}


def test_a_multipart_body_over_lambdas_6_mb_after_base64_gets_api_gateways_413() -> None:
    client = Client(Gateway(FakeRuntime(echo)))
    form = "multipart/form-data; boundary=x"
    over = client.post("/image2video", data=b"\x00" * (5 * 1024 * 1024), content_type=form)  # 6.7 MB as base64
    under = client.post("/image2video", data=b"\x00" * (4 * 1024 * 1024), content_type=form)  # 5.3 MB

    assert (over.status_code, json.loads(over.data)) == (413, {"message": "Request Too Long"})
    assert under.status_code == 200


def test_a_request_over_10_mb_never_reaches_a_function() -> None:
    calls = []
    client = Client(Gateway(FakeRuntime(lambda n, e: calls.append(n) or echo(n, e))))

    answer = client.post("/text2video", data=b"{" + b" " * (10 * 1024 * 1024) + b"}", content_type="application/json")

    assert answer.status_code == 413 and calls == []


def test_a_function_slower_than_the_integration_timeout_gets_a_504() -> None:
    def slow(name: str, event: dict[str, Any]) -> dict[str, Any]:
        time.sleep(0.5)
        return echo(name, event)

    answer = Client(Gateway(FakeRuntime(slow), integration_timeout=0.1)).get("/health")

    assert (answer.status_code, json.loads(answer.data)) == (504, {"message": "Endpoint request timed out"})


def test_a_function_that_times_out_as_the_integration_timeout_runs_out_gets_a_504_not_a_502() -> None:
    """The function's 29 s timeout and the gateway's end together; whichever thread wakes first, the caller sees
    API Gateway's 504 (its timer started before the invocation), never the timed-out function's 502."""
    now = [0.0]

    def times_out(name: str, event: dict[str, Any]) -> dict[str, Any]:
        now[0] += 29.0  # the function ran until its timeout struck; its error is ready at once
        raise TimeoutError("Task timed out after 29.00 seconds")

    answer = Client(Gateway(FakeRuntime(times_out), clock=lambda: now[0])).get("/health")

    assert (answer.status_code, json.loads(answer.data)) == (504, {"message": "Endpoint request timed out"})


def test_one_content_type_the_functions_own_as_api_gateway_merges_headers() -> None:
    def typed(name: str, event: dict[str, Any]) -> dict[str, Any]:
        return {"statusCode": 200, "body": "x", "headers": {"Content-Type": "text/plain", "X-A": "1"},
                "multiValueHeaders": {"content-type": ["application/json"], "Set-Cookie": ["a=1", "b=2"]}}

    answer = Client(Gateway(FakeRuntime(typed))).get("/health")

    assert answer.headers.getlist("Content-Type") == ["application/json"]
    assert answer.headers.getlist("Set-Cookie") == ["a=1", "b=2"] and answer.headers["X-A"] == "1"


ORIGINS = ("http://localhost:*", "https://app.example.com")


def test_the_transform_alias_reaches_the_image_to_video_function() -> None:
    calls = []
    client = Client(Gateway(FakeRuntime(lambda n, e: calls.append((n, e["path"])) or echo(n, e))))

    assert client.post("/v1/image/transform/video", json={}).status_code == 200
    assert calls == [("toolkit_image_to_video", "/v1/image/transform/video")]


def test_a_preflight_is_answered_by_the_gateway_for_an_allowed_origin_only() -> None:
    calls = []
    client = Client(Gateway(FakeRuntime(lambda n, e: calls.append(n) or echo(n, e)), cors_origins=ORIGINS))
    asks = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-api-key"}

    allowed = client.options("/v1/video/concatenate", headers={"Origin": "http://localhost:5173", **asks})
    refused = client.options("/v1/video/concatenate", headers={"Origin": "https://evil.example.com", **asks})

    assert allowed.status_code == 204 and calls == []
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert allowed.headers["Access-Control-Allow-Credentials"] == "true"
    assert allowed.headers["Vary"] == "Origin"
    assert {"x-api-key", "content-type", "idempotency-key"} <= set(
        allowed.headers["Access-Control-Allow-Headers"].lower().split(","))
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"].split(",")
    assert refused.status_code == 204 and "Access-Control-Allow-Origin" not in refused.headers


def test_without_allowed_origins_there_is_no_preflight() -> None:
    answer = Client(Gateway(FakeRuntime(echo))).options("/v1/video/concatenate", headers={"Origin": "http://x:1"})

    assert (answer.status_code, json.loads(answer.data)) == (403, {"message": "Missing Authentication Token"})
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_the_gateways_own_errors_echo_the_origin_as_its_gateway_responses_do() -> None:
    def crash(name: str, event: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("boom")

    origin = {"Origin": "http://localhost:5173"}
    client = Client(Gateway(FakeRuntime(crash), cors_origins=ORIGINS))
    answers = [client.get("/nope", headers=origin), client.options("/nope", headers=origin),
               client.get("/health", headers=origin),
               client.post("/text2video", data=b"{" + b" " * (10 * 1024 * 1024) + b"}", headers=origin,
                           content_type="application/json")]

    assert [a.status_code for a in answers] == [403, 403, 502, 413]
    for answer in answers:
        assert answer.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
        assert answer.headers["Access-Control-Allow-Credentials"] == "true"
        assert answer.headers["Vary"] == "Origin"
    assert "Access-Control-Allow-Origin" not in Client(Gateway(FakeRuntime(crash))).get("/nope", headers=origin).headers


def test_a_functions_answer_keeps_its_own_cors_headers() -> None:
    def answers(name: str, event: dict[str, Any]) -> dict[str, Any]:
        return {"statusCode": 200, "body": "{}", "headers": {"Access-Control-Allow-Origin": "https://app.example.com"}}

    answer = Client(Gateway(FakeRuntime(answers), cors_origins=ORIGINS)).get(
        "/health", headers={"Origin": "http://localhost:5173"})

    assert answer.headers.getlist("Access-Control-Allow-Origin") == ["https://app.example.com"]
