"""A real threaded HTTP server for a simulator's WSGI app, started in a background thread."""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

WSGIApp = Callable[..., Any]


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    # json.dumps writes Python ints exactly, so ids above 2**53 survive the wire.
    return Response(json.dumps(payload), status=status, headers=headers, mimetype="application/json")


def read_json(request: Request) -> Any:
    """The JSON body, or None when it is absent or not JSON."""
    try:
        return json.loads(request.get_data(cache=True) or b"null")
    except ValueError:
        return None


class SimServer:
    """Serve `app` on host:port (0 picks a free port) until stop()."""

    def __init__(self, app: WSGIApp, host: str, port: int) -> None:
        self._app = app
        self._host = host
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def root_url(self) -> str:
        if self._server is None:
            raise RuntimeError("simulator not started")
        return f"http://{self._host}:{self._server.server_port}"

    def start(self) -> str:
        if self._server is None:
            self._server = make_server(self._host, self._port, self._app, threaded=True)
            self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="simulator")
            self._thread.start()
        return self.root_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
        self._server = None
        self._thread = None


def run_standalone(name: str, start: Callable[[str, int], str]) -> None:
    """`python -m infra.local.simulators.<name> --port N`: print the URL and serve until Ctrl-C."""
    parser = argparse.ArgumentParser(description=f"Run the {name} simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    print(start(args.host, args.port), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
