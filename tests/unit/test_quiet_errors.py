"""An unexpected failure answers a stable message with the request id; its text (ARNs, file paths,
exception class names) goes to the logs only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from reelgate.mobile import api as mobile_api
from reelgate.mobile.apps import AppRegistry
from reelgate.toolkit import api as toolkit_api
from reelgate.toolkit.keys import ApiKeys

from tests.unit.handlers import REQUEST_ID, call

ARN_DENIED = ClientError(
    {"Error": {"Code": "AccessDeniedException", "Message": (
        "User: arn:aws:sts::123456789012:assumed-role/reelgate-api/fn is not authorized to perform: "
        "dynamodb:GetItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table/reelgate-state")}},
    "GetItem",
)
CANCELLED = ClientError(
    {"Error": {"Code": "TransactionCanceledException", "Message": (
        "Transaction cancelled, please refer cancellation reasons for specific reasons "
        "[ConditionalCheckFailed, TransactionConflict]")}},
    "TransactWriteItems",
)
NO_FILE = FileNotFoundError(2, "No such file or directory", "/tmp/reelgate/job-1/inputs/000.mp4")
FAILURES = [ARN_DENIED, CANCELLED, NO_FILE, RecursionError("maximum recursion depth exceeded")]
LEAKS = ["arn:", "/tmp", "AccessDenied", "TransactionCanceled", "ConditionalCheckFailed", "Traceback",
         "ClientError", "FileNotFoundError", "RecursionError", "recursion", "GetItem", "reelgate-state"]


class FailingTable:
    """A DynamoDB table whose every read fails the way `failure` says."""

    def __init__(self, failure: BaseException) -> None:
        self.failure = failure

    def get_item(self, **kw: Any) -> Any:
        raise self.failure


def leaks(answer: Any) -> list[str]:
    text = json.dumps(answer)
    return [leak for leak in LEAKS if leak.lower() in text.lower()]


@pytest.mark.parametrize("failure", FAILURES, ids=lambda f: type(f).__name__)
@pytest.mark.parametrize(("name", "prefix"), [
    ("toolkit_image_to_video", "An error occurred during image to video conversion"),
    ("toolkit_concatenate", "An error occurred during video concatenation"),
    ("toolkit_job_status", "Failed to retrieve job status"),
    ("toolkit_authenticate", "Failed to authenticate"),
])
def test_toolkit_500_names_the_request_not_the_exception(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, failure: BaseException, name: str, prefix: str
) -> None:
    keys = ApiKeys(FailingTable(failure))
    monkeypatch.setattr(toolkit_api, "toolkit", type("Root", (), {"keys": keys}))

    status, answer = call(name, headers={"x-api-key": "rg_some_key"})

    assert (status, answer["code"]) == (500, 500)
    assert answer["message"] == f"{prefix}: internal error (request id {REQUEST_ID})"
    assert answer["request_id"] == REQUEST_ID
    assert leaks(answer) == []
    assert str(failure) in caplog.text  # the detail is logged


@pytest.mark.parametrize("failure", FAILURES, ids=lambda f: type(f).__name__)
@pytest.mark.parametrize(("name", "extra"), [("text_to_video", {"video_id": None}), ("get_status", {})])
def test_mobile_500_names_the_request_not_the_exception(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, failure: BaseException, name: str,
    extra: dict[str, Any],
) -> None:
    apps = AppRegistry(FailingTable(failure))

    class Root:
        def text_to_video(self, body: Any, *context: Any) -> Any:
            return apps.get(body["app_bundle_id"])

        def status(self, body: Any, *context: Any) -> Any:
            return apps.get(body["app_bundle_id"])

    monkeypatch.setattr(mobile_api, "mobile", Root)

    status, answer = call(name)

    assert status == 500
    assert answer == {"code": 500100, "message": f"internal error (request id {REQUEST_ID})",
                      "request_id": REQUEST_ID} | extra
    assert leaks(answer) == []
    assert str(failure) in caplog.text


def test_without_an_api_gateway_request_id_the_lambda_request_id_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    from reelgate import http

    assert http.request_id({"requestContext": {"requestId": "apigw-1"}}, None) == "apigw-1"
    assert http.request_id({}, type("Ctx", (), {"aws_request_id": "lambda-1"})()) == "lambda-1"
    assert http.request_id({"requestContext": None}, None) == "unknown"
