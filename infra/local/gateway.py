"""An HTTP front door that behaves like API Gateway's REST proxy integration.

Each request becomes a REST proxy event for the function the registry routes it to; the
function's proxy response becomes the HTTP response. Unknown routes answer like API Gateway.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import time
import traceback
import uuid
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from infra.registry import BINARY_MEDIA_TYPES, Function, routes

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's request payload limit
Invoker = Callable[[str, dict[str, Any]], Any]


def is_binary(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";")[0].strip().lower()
    return any(fnmatch.fnmatch(media_type, pattern) for pattern in BINARY_MEDIA_TYPES)


def to_event(request: Request, resource: str, stage: str = "local") -> dict[str, Any]:
    body = request.get_data(cache=False)
    binary = is_binary(request.content_type)
    headers = {k: v for k, v in request.headers.items()}
    multi_headers: dict[str, list[str]] = {}
    for key, value in request.headers.items():
        multi_headers.setdefault(key, []).append(value)
    query = request.args
    return {
        "resource": resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: query.getlist(k)[-1] for k in query} or None,
        "multiValueQueryStringParameters": {k: query.getlist(k) for k in query} or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource, "httpMethod": request.method, "path": f"/{stage}{request.path}",
            "stage": stage, "requestId": str(uuid.uuid4()), "requestTimeEpoch": int(time.time() * 1000),
            "accountId": "123456789012", "apiId": "local", "protocol": "HTTP/1.1",
            "identity": {"sourceIp": request.remote_addr, "userAgent": request.user_agent.string},
        },
        "body": (base64.b64encode(body).decode() if binary else body.decode("utf-8", "replace")) if body else None,
        "isBase64Encoded": bool(body) and binary,
    }


def to_response(result: Any) -> Response:
    if not isinstance(result, dict) or "statusCode" not in result:
        return _gateway_error(502, "Internal server error")
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
    response = Response(data, status=int(result["statusCode"]))
    for key, value in (result.get("headers") or {}).items():
        response.headers[key] = str(value)
    for key, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            response.headers.add(key, str(value))
    return response


def _gateway_error(status: int, message: str) -> Response:
    return Response(json.dumps({"message": message}), status=status, content_type="application/json")


class Gateway:
    """A WSGI application: the registry's routes, each served by its function."""

    def __init__(self, invoke: Invoker) -> None:
        self._invoke = invoke
        self._routes: dict[tuple[str, str], Function] = {(r.method, r.path): fn for r, fn in routes()}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        return self.handle(request)(environ, start_response)

    def handle(self, request: Request) -> Response:
        fn = self._routes.get((request.method, request.path.rstrip("/") or "/"))
        if fn is None:
            return _gateway_error(403, "Missing Authentication Token")
        if (request.content_length or 0) > MAX_PAYLOAD_BYTES:
            return _gateway_error(413, "Request Too Long")
        try:
            return to_response(self._invoke(fn.name, to_event(request, request.path)))
        except Exception:
            traceback.print_exc()
            return _gateway_error(502, "Internal server error")
