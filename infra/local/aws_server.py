"""The emulated AWS endpoint: moto's server behind a gate that does what moto does not.

- **IAM**: each request is signed with the calling function's credentials; the gate authorizes it
  against that function's policy (the statements its deployed role has) and answers AccessDenied in
  the service's own format when the role would not allow it.
- **Faults**: rules from `faults.py`, set over `/_reelgate/faults`, answer with AWS errors or delay.
- **Consistency**: moto's backends are plain dicts, not safe under parallel writers (40 parallel
  submits lost a job). Every request except Lambda's Invoke, which runs a function that itself calls
  back in here, is served one at a time (`Turns`): in order of arrival, the calls of functions that
  answer API Gateway first. AWS would serve them all at once; one at a time, a load's background work
  (its flows' tasks) would otherwise queue the API's calls past API Gateway's 29 s.
"""

from __future__ import annotations

import heapq
import io
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from infra.local import moto_scale
from infra.local.faults import Faults, error_answer

_SCOPE = re.compile(r"Credential=([^/\s,]+)/\d{8}/[^/]+/([^/]+)/aws4_request")
_QUERY_SCOPE = re.compile(r"X-Amz-Credential=([^/&]+)(?:/|%2F)\d{8}(?:/|%2F)[^/&%]+(?:/|%2F)([^/&%]+)")
_INVOKE = re.compile(r"^/2015-03-31/functions/[^/]+/invocations$")
CONTROL_PATH = "/_reelgate/faults"
LAMBDA_PATH = "/_reelgate/lambda"  # the local Lambda runtime's figures per function (Runtime.report); DELETE resets
# How much sooner than its arrival a call of a function that answers API Gateway is served (see `Turns`).
URGENT_HEAD_START = 10.0
Answer = tuple[int, dict[str, str], bytes]
# (access key, service, method, path, query, headers, body) -> an AccessDenied answer, or None to go on
Authorizer = Callable[[str, str, "Call"], Answer | None]


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


def caller(environ: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(access key id, service) from the SigV4 Authorization header or a presigned URL's query."""
    found = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", "")) or _QUERY_SCOPE.search(
        environ.get("QUERY_STRING", ""))
    return (found.group(1), found.group(2)) if found else (None, None)


def operation(service: str, call: Call) -> str:
    target = call.headers.get("X-Amz-Target", "")
    if target:
        return target.rpartition(".")[2]
    if service == "s3":
        return {"GET": "GetObject", "HEAD": "HeadObject", "PUT": "PutObject", "DELETE": "DeleteObject"}.get(
            call.method, "PostObject")
    return call.method


class Turns:
    """A lock taken in turns, in order of arrival, where an urgent caller counts as arrived `head_start`
    seconds earlier than it did: it goes before the others that have waited less than that, never before
    one that has waited longer (a flow's task has a Lambda timeout too). `threading.Lock` is not fair (under
    load a caller waited seconds while later ones went first). Each waiter has a lock of its own that the
    holder releases to hand over its turn, so a release wakes exactly one thread."""

    def __init__(self, head_start: float = 0.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.head_start = head_start
        self._clock = clock
        self._mutex = threading.Lock()
        self._busy = False
        self._waiting: list[tuple[float, int, threading.Lock]] = []  # a heap: (rank, arrival number, waiter)
        self._arrivals = itertools.count()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @contextmanager
    def turn(self, urgent: bool = False) -> Iterator[None]:
        with self._mutex:
            if self._busy:
                waiter = threading.Lock()
                waiter.acquire()
                rank = self._clock() - (self.head_start if urgent else 0.0)
                heapq.heappush(self._waiting, (rank, next(self._arrivals), waiter))
            else:
                self._busy, waiter = True, None
        if waiter is not None:
            waiter.acquire()  # released by the holder before us: the turn is ours
        try:
            yield
        finally:
            with self._mutex:
                if self._waiting:
                    heapq.heappop(self._waiting)[2].release()  # still busy: handed over
                else:
                    self._busy = False


@dataclass
class Gate:
    """WSGI middleware in front of moto."""

    app: Any
    principals: dict[str, str] = field(default_factory=dict)  # role part of an access key id -> function name
    role_of_key: Callable[[str], str] = lambda key: key
    authorize: Authorizer | None = None
    expire: Callable[[str], None] = lambda key: None  # ends the invocation of the environment holding `key`
    urgent: frozenset[str] = frozenset()  # functions that answer API Gateway: their calls go first
    lambda_report: Callable[[], dict[str, Any]] = dict
    reset_lambda_report: Callable[[], None] = lambda: None
    faults: Faults = field(default_factory=Faults)
    turns: Turns = field(default_factory=lambda: Turns(URGENT_HEAD_START))

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path in (CONTROL_PATH, LAMBDA_PATH):
            return self._control(path, environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        key, service = caller(environ)
        raw_path = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or path).split("?")[0]
        call = Call(environ["REQUEST_METHOD"], raw_path, environ.get("QUERY_STRING", ""),
                    _Headers(environ), body)
        function = self.principals.get(self.role_of_key(key or ""))
        if service:
            if function is not None and self.authorize is not None:
                denied = self.authorize(function, service, call)
                if denied is not None:
                    return _send(start_response, denied)
            rule = self.faults.pick(function, service, operation(service, call))
            if rule is not None:
                time.sleep(rule.delay)
                if rule.timeout and key:  # Lambda's timeout strikes this function right here: the call is
                    self.expire(key)  # never made, and the killed environment never reads this answer
                    return _send(start_response, (500, {}, b""))
                if rule.error:
                    return _send(start_response, error_answer(rule, service, operation(service, call), body))
        if _INVOKE.match(path):
            return list(self.app(environ, start_response))
        with self.turns.turn(urgent=function in self.urgent):
            return list(self.app(environ, start_response))

    def _control(self, path: str, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if path == LAMBDA_PATH:
            if environ["REQUEST_METHOD"] == "DELETE":
                self.reset_lambda_report()
            return _send(start_response, (200, {"Content-Type": "application/json"},
                                          json.dumps(self.lambda_report()).encode()))
        if environ["REQUEST_METHOD"] in ("POST", "PUT"):
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            self.faults.replace(json.loads(body or b"{}").get("rules", []))
        elif environ["REQUEST_METHOD"] == "DELETE":
            self.faults.replace([])
        return _send(start_response, (200, {"Content-Type": "application/json"},
                                      json.dumps({"rules": self.faults.report()}).encode()))


class _Headers(Mapping[str, str]):
    """Request headers from a WSGI environ, looked up case-insensitively."""

    def __init__(self, environ: Mapping[str, Any]) -> None:
        self._values = {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")}
        for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(name):
                self._values[name.replace("_", "-").lower()] = str(environ[name])

    def __getitem__(self, key: str) -> str:
        return self._values[key.lower()]

    def __iter__(self) -> Any:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def _send(start_response: Any, answer: Answer) -> list[bytes]:
    status, headers, body = answer
    start_response(f"{status} {'OK' if status < 300 else 'Error'}",
                   [*headers.items(), ("Content-Length", str(len(body)))])
    return [body]


class AwsServer:
    """moto's backends behind the gate, on one loopback port, in a thread of this process."""

    def __init__(self, host: str, port: int) -> None:
        moto_scale.install()  # moto's costs that grow with a run's data, cut to AWS's shape
        self.gate = Gate(DomainDispatcherApplication(create_backend_app))
        self._server: BaseWSGIServer = make_server(host, port, self.gate, threaded=True,
                                                   request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="aws")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
