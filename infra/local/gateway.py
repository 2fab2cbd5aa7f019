"""An HTTP front door that behaves like API Gateway's REST proxy integration.

Each request becomes a REST proxy event for the function the registry routes it to, invoked through
the local Lambda runtime; the function's proxy response becomes the HTTP response. API Gateway's
limits and answers apply: unknown routes, 10 MB requests, Lambda's 6 MB invoke payload (after
base64 for binary media types), the 29 s integration timeout, and a failed or malformed function
response (502). CORS as the CDK app configures it (infra/constructs/api.py): each route's preflight
(OPTIONS) is answered here, never by a function, with the headers of `reelgate.cors` when the Origin
is allowed; the gateway's own error answers echo the request's Origin, as its gateway responses do.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Protocol

from reelgate import cors
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


class GatewayError(Exception):
    """An answer of API Gateway's own (a gateway response), not of a function."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def to_response(result: Any) -> Response:
    if not isinstance(result, dict) or "statusCode" not in result:
        raise GatewayError(502, "Internal server error")
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


class Gateway:
    """A WSGI application: the registry's routes, each served by its function."""

    def __init__(self, runtime: Invoker, integration_timeout: float = INTEGRATION_TIMEOUT_SECONDS,
                 cors_origins: tuple[str, ...] = (), clock: Callable[[], float] = time.monotonic) -> None:
        self._runtime = runtime
        self._timeout = integration_timeout
        self._clock = clock
        self._routes: dict[tuple[str, str], Function] = {(r.method, r.path): fn for r, fn in routes()}
        self._paths = {r.path for r, _ in routes()}
        self._origins = cors_origins  # none: CORS off, as a stage without cors_origins deploys no preflights
        self._pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="integration")
        self._docs = ApiDocs()  # /openapi.json and /docs (the local cloud's own; API Gateway has no such routes)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        return self.handle(request)(environ, start_response)

    def handle(self, request: Request) -> Response:
        try:
            return self._route(request)
        except GatewayError as error:
            response = Response(json.dumps({"message": error.message}), status=error.status,
                                content_type="application/json")
            origin = request.headers.get("Origin")
            if self._origins and origin:  # gateway responses map the Origin header; they cannot test it
                response.headers.update(cors.answer_headers(origin))
            return response

    def _route(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        if request.method == "OPTIONS" and self._origins and path in self._paths:
            return self._preflight(request.headers.get("Origin"))
        fn = self._routes.get((request.method, path))
        if fn is None and (docs := self._docs.answer(request)) is not None:
            return docs
        if fn is None:
            raise GatewayError(403, "Missing Authentication Token")
        if (request.content_length or 0) > MAX_PAYLOAD_BYTES:
            raise GatewayError(413, "Request Too Long")
        return self._integrate(fn, json.dumps(to_event(request, request.path)).encode())

    def _timed_invoke(self, name: str, payload: bytes) -> tuple[Any, float]:
        return self._runtime.invoke(name, payload), self._clock()

    def _preflight(self, origin: str | None) -> Response:
        """The MOCK integration's 204: the CORS headers, the Origin echoed only when it is allowed."""
        response = Response(status=204)
        if origin and cors.allows(self._origins, origin):
            response.headers.update(cors.preflight_headers(origin))
        return response

    def _integrate(self, fn: Function, payload: bytes) -> Response:
        started = self._clock()
        call = self._pool.submit(self._timed_invoke, fn.name, payload)
        try:
            result, finished = call.result(timeout=self._timeout)  # the function goes on running, as on AWS
        except FutureTimeout:
            raise GatewayError(504, "Endpoint request timed out") from None
        if finished - started >= self._timeout:
            # The function answered as the 29 s ran out (its own timeout is 29 s too: a timed-out function's
            # error and this timer end together, and either thread may wake first): API Gateway, whose timer
            # started before the invocation, has already answered 504. In the measured load runs the only error an
            # API function returned was that timeout: this race is how one became a 502.
            raise GatewayError(504, "Endpoint request timed out")
        if result.error_type == "RequestEntityTooLargeException":
            raise GatewayError(413, "Request Too Long")
        if result.error_type:
            raise GatewayError(502, "Internal server error")
        try:
            return to_response(json.loads(result.payload))
        except GatewayError:
            raise
        except Exception:
            traceback.print_exc()
            raise GatewayError(502, "Internal server error") from None
