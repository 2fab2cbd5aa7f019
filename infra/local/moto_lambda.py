"""Make moto's Lambda backend run the project's own handlers instead of starting Docker.

Step Functions tasks and S3 notifications both end in `LambdaFunction.invoke`; replacing it
(in the process that runs the moto server) routes them to `infra.local.lambdas`. S3 invokes its
notification targets asynchronously, as AWS does: moto would call them inside PutObject, before
the object's metadata is stored.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.s3 import notifications

from infra.local.lambdas import invoke_as_lambda

_original_invoke = LambdaFunction.invoke
_original_s3_invoke = notifications._invoke_awslambda
S3_DELIVERY_DELAY = 0.2  # seconds after PutObject returns; AWS delivers S3 events asynchronously too


def _invoke(self: LambdaFunction, body: str, request_headers: Any, response_headers: Any) -> bytes:
    payload, errored = invoke_as_lambda(self.function_name, _json_or_empty(body))
    if errored:
        response_headers["x-amz-function-error"] = "Unhandled"
    return payload.encode("utf-8")


def _json_or_empty(body: Any) -> Any:
    import json

    if not body:
        return {}
    return json.loads(body) if isinstance(body, str | bytes) else body


def _deliver_later(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
    def deliver() -> None:
        time.sleep(S3_DELIVERY_DELAY)
        _original_s3_invoke(account_id, event_body, fn_arn, region_name)

    threading.Thread(target=deliver, daemon=True).start()


def install() -> None:
    LambdaFunction.invoke = _invoke  # type: ignore[method-assign]
    notifications._invoke_awslambda = _deliver_later


def uninstall() -> None:
    LambdaFunction.invoke = _original_invoke  # type: ignore[method-assign]
    notifications._invoke_awslambda = _original_s3_invoke
