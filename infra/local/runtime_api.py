"""The Lambda Runtime API (2018-06-01) for one execution environment.

AWS's runtime interface client (`awslambdaric`) in the worker process long-polls `/next` for an
invocation and posts `/response` or `/error`; this server hands it one invocation at a time, with the
request id, deadline and function ARN headers Lambda sends, so the handler sees a real context.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/2018-06-01/runtime"


@dataclass
class Invocation:
    request_id: str
    payload: bytes
    timeout: float  # seconds, from the moment the runtime takes it
    function_arn: str
    deadline: float = 0.0  # monotonic, set when taken
    taken: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    result: bytes = b""
    error_type: str | None = None


class RuntimeApi:
    """One server per environment: a queue of invocations in, results out."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.pending: queue.Queue[Invocation | None] = queue.Queue()
        self.current: Invocation | None = None
        self.init_error: bytes | None = None
        self._host = host
        self.ready = threading.Event()  # the runtime asked for its first invocation, or failed to start
        self._server = _Server((host, 0), _handler_for(self))
        self._server.daemon_threads = True
        self._closed = False
        self._serving = threading.Thread(target=self._serve, daemon=True, name="runtime-api")
        self._serving.start()

    def _serve(self) -> None:
        # Each request is awaited without a timeout: `serve_forever` wakes every poll interval to look for a
        # shutdown, and hundreds of environments doing so kept the cloud's process busy. `close` wakes it.
        while not self._closed:
            self._server.handle_request()

    @property
    def address(self) -> str:
        return f"{self._host}:{self._server.server_port}"

    def next(self) -> Invocation | None:
        self.ready.set()
        invocation = self.pending.get()
        if invocation is not None:
            invocation.deadline = time.monotonic() + invocation.timeout
            self.current = invocation
            invocation.taken.set()
        return invocation

    def finish(self, request_id: str, body: bytes, error_type: str | None) -> bool:
        invocation = self.current
        if invocation is None or invocation.request_id != request_id:
            return False
        invocation.result, invocation.error_type = body, error_type
        self.current = None
        invocation.done.set()
        return True

    def fail_init(self, body: bytes) -> None:
        self.init_error = body
        self.ready.set()

    def close(self) -> None:
        self.pending.put(None)  # releases a runtime blocked in /next
        self._closed = True
        with contextlib.suppress(OSError), socket.create_connection((self._host, self._server.server_port), timeout=1):
            pass  # the serving loop takes this connection and sees it is closed
        self._serving.join(timeout=1)
        self._server.server_close()


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a killed environment's connection: expected
            super().handle_error(request, client_address)


def _handler_for(api: RuntimeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stall

        def do_GET(self) -> None:
            if self.path != f"{PREFIX}/invocation/next":
                return self._reply(404, {"errorMessage": "unknown path"})
            invocation = api.next()
            if invocation is None:
                return self._reply(410, {"errorMessage": "environment shut down"})
            deadline_ms = int((time.time() + invocation.timeout) * 1000)
            self._reply(200, invocation.payload, {
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": invocation.function_arn,
                "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{invocation.request_id[-12:]:0>24}",
            })

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            parts = self.path.removeprefix(PREFIX).strip("/").split("/")
            if parts == ["init", "error"]:
                api.fail_init(body)
                return self._reply(202, {"status": "OK"})
            if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                error_type = (self.headers.get("Lambda-Runtime-Function-Error-Type") or "Unhandled"
                              if parts[2] == "error" else None)
                if api.finish(parts[1], body, error_type):
                    return self._reply(202, {"status": "OK"})
                return self._reply(400, {"errorMessage": "unknown or finished invocation"})
            self._reply(404, {"errorMessage": "unknown path"})

        def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler
