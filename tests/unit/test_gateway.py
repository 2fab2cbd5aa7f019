"""The local gateway turns requests into REST proxy events and proxy responses back, like API Gateway."""

from __future__ import annotations

import base64
import json

from werkzeug.test import Client, EnvironBuilder

from infra.local.gateway import Gateway, is_binary, to_event


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

    client = Client(Gateway(invoke))
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

    assert Client(Gateway(crash)).get("/health").status_code == 502
    assert Client(Gateway(lambda n, e: {"no": "status"})).get("/health").status_code == 502
