"""An HTTP front door that behaves like API Gateway's REST proxy integration.

Each request becomes a REST proxy event for the function the registry routes it to, invoked through
the local Lambda runtime; the function's proxy response becomes the HTTP response. API Gateway's
limits and answers apply: unknown routes, 10 MB requests, Lambda's 6 MB invoke payload (after
base64 for binary media types), the 29 s integration timeout, and a failed or malformed function
response (502).
"""

from __future__ import annotations

import base64
import fnmatch
import json
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Protocol

from werkzeug.wrappers import Request, Response

from infra.local.apidocs import ApiDocs
from infra.registry import BINARY_MEDIA_TYPES, Function, routes

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's request payload limit
INTEGRATION_TIMEOUT_SECONDS = 29.0  # API Gateway REST's integration timeout


class Invoker(Protocol):
    def invoke(self, name: str, payload: bytes) -> Any: ...  # a runtime.Result: .payload, .error_type


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
    response.headers.clear()
    # API Gateway merges both maps; for a name in both, only multiValueHeaders' values are sent.
    multi = {key.lower(): (key, values) for key, values in (result.get("multiValueHeaders") or {}).items()}
    for key, value in (result.get("headers") or {}).items():
        if key.lower() not in multi:
            response.headers.add(key, str(value))
    for key, values in multi.values():
        for value in values:
            response.headers.add(key, str(value))
    if "Content-Type" not in response.headers:
        response.headers["Content-Type"] = "application/json"
    return response


def _gateway_error(status: int, message: str) -> Response:
    return Response(json.dumps({"message": message}), status=status, content_type="application/json")


class Gateway:
    """A WSGI application: the registry's routes, each served by its function."""

    def __init__(self, runtime: Invoker, integration_timeout: float = INTEGRATION_TIMEOUT_SECONDS) -> None:
        self._runtime = runtime
        self._timeout = integration_timeout
        self._routes: dict[tuple[str, str], Function] = {(r.method, r.path): fn for r, fn in routes()}
        self._pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="integration")
        self._docs = ApiDocs()  # /openapi.json and /docs (the local cloud's own; API Gateway has no such routes)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        return self.handle(request)(environ, start_response)

    def handle(self, request: Request) -> Response:
        fn = self._routes.get((request.method, request.path.rstrip("/") or "/"))
        if fn is None and (docs := self._docs.answer(request)) is not None:
            return docs
        if fn is None:
            return _gateway_error(403, "Missing Authentication Token")
        if (request.content_length or 0) > MAX_PAYLOAD_BYTES:
            return _gateway_error(413, "Request Too Long")
        return self._integrate(fn, json.dumps(to_event(request, request.path)).encode())

    def _integrate(self, fn: Function, payload: bytes) -> Response:
        call = self._pool.submit(self._runtime.invoke, fn.name, payload)
        try:
            result = call.result(timeout=self._timeout)  # the function goes on running, as on AWS
            if result.error_type == "RequestEntityTooLargeException":
                return _gateway_error(413, "Request Too Long")
            return _gateway_error(502, "Internal server error") if result.error_type else to_response(
                json.loads(result.payload))
        except FutureTimeout:
            return _gateway_error(504, "Endpoint request timed out")
        except Exception:
            traceback.print_exc()
            return _gateway_error(502, "Internal server error")
