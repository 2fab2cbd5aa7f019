"""Make moto's Lambda backend run the project's own handlers instead of starting Docker.

Step Functions tasks and S3 notifications both end in `LambdaFunction.invoke`; replacing it
(in the process that runs the moto server) routes them to `infra.local.lambdas`.
"""

from __future__ import annotations

from typing import Any

from moto.awslambda.models import LambdaFunction

from infra.local.lambdas import invoke_as_lambda

_original_invoke = LambdaFunction.invoke


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


def install() -> None:
    LambdaFunction.invoke = _invoke  # type: ignore[method-assign]


def uninstall() -> None:
    LambdaFunction.invoke = _original_invoke  # type: ignore[method-assign]
