"""Make moto's Lambda backend run the project's own functions instead of starting Docker.

Step Functions tasks and S3 notifications both end in `LambdaFunction.invoke`; replacing it (in the
process that runs moto) routes them to an invoker: the local cloud's runtime (a worker process per
function, Step Functions' 256 KB state limit) or, for integration tests, the handler in this process.
S3 invokes its notification targets asynchronously, as AWS does: moto would call them inside
PutObject, before the object's metadata is stored.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.s3 import notifications

from infra.local.lambdas import invoke_as_lambda

# (function name, event) -> (payload, errored)
Invoker = Callable[[str, Any], tuple[str, bool]]
_original_invoke = LambdaFunction.invoke
_original_s3_invoke = notifications._invoke_awslambda
S3_DELIVERY_DELAY = 0.2  # seconds after PutObject returns; AWS delivers S3 events asynchronously too


def _json_or_empty(body: Any) -> Any:
    if not body:
        return {}
    return json.loads(body) if isinstance(body, str | bytes) else body


def install(invoker: Invoker = invoke_as_lambda, event_invoker: Invoker | None = None) -> None:
    """`invoker` serves Invoke calls (Step Functions tasks); `event_invoker` S3's asynchronous events."""

    def invoke(self: LambdaFunction, body: str, request_headers: Any, response_headers: Any) -> bytes:
        payload, errored = invoker(self.function_name, _json_or_empty(body))
        if errored:
            response_headers["x-amz-function-error"] = "Unhandled"
        return payload.encode("utf-8")

    def deliver_later(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        def deliver() -> None:
            time.sleep(S3_DELIVERY_DELAY)
            (event_invoker or invoker)(fn_arn.rpartition(":")[2], event_body)

        threading.Thread(target=deliver, daemon=True).start()

    LambdaFunction.invoke = invoke  # type: ignore[method-assign]
    notifications._invoke_awslambda = deliver_later


def uninstall() -> None:
    LambdaFunction.invoke = _original_invoke  # type: ignore[method-assign]
    notifications._invoke_awslambda = _original_s3_invoke
