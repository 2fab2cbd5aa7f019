"""A fake Apphud over real HTTP: GET /v1/customers (contracts/apphud.md §4) and an S2S webhook sender.

Controls: POST /_sim/users {"user_id", "subscriptions": [...] | null (null forgets the user)},
POST /_sim/down {"down": true, "status": 503, "delay_seconds": 0}, POST /_sim/reset, GET /_sim/state.
Fixture users: see apphud_fixtures.FIXTURES; any other user_id answers `results: null`.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
from werkzeug.wrappers import Request, Response

from infra.local.simulators._server import SimServer, json_response, read_json, run_standalone
from infra.local.simulators.apphud_fixtures import customer_payload, fixture_subscriptions


class ApphudSimulator:
    """Start with .start() (returns the root URL, like https://api.apphud.com), stop with .stop()."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, api_keys: Sequence[str] = ("app_sim_key",)
    ) -> None:
        self.api_keys = frozenset(api_keys)
        self._lock = threading.Lock()
        self._server = SimServer(self._wsgi, host, port)
        self.reset()

    def start(self) -> str:
        return self._server.start()

    @property
    def base_url(self) -> str:
        return self._server.root_url

    def stop(self) -> None:
        self._server.stop()

    def reset(self) -> None:
        with self._lock:
            self.users: dict[str, list[dict[str, Any]] | None] = {}
            self.down_status: int | None = None
            self.delay_seconds = 0.0
            self.calls: list[dict[str, Any]] = []

    def set_user(self, user_id: str, subscriptions: list[dict[str, Any]] | None) -> None:
        with self._lock:
            self.users[user_id] = subscriptions

    def set_down(self, down: bool = True, status: int = 503, delay_seconds: float = 0.0) -> None:
        with self._lock:
            self.down_status = status if down else None
            self.delay_seconds = delay_seconds

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path == "/v1/customers" and request.method == "GET":
            response = self._customers(request)
        elif request.path.startswith("/_sim/"):
            response = self._control(request, request.path.removeprefix("/_sim/"))
        else:
            response = json_response({"data": None, "errors": [{"title": "Not found"}]}, 404)
        return response(environ, start_response)

    def _customers(self, request: Request) -> Response:
        with self._lock:
            self.calls.append({"path": request.path, "args": dict(request.args), "at": time.time()})
            del self.calls[:-1000]  # bounded for a long-running local cloud
            delay, down = self.delay_seconds, self.down_status
            if down is None:
                response = self._lookup(request.args.get("api_key"), request.args.get("user_id"))
            else:
                response = _failure(down, "Service Unavailable")
        if delay:
            time.sleep(delay)  # lets tests drive the client into its timeout
        return response

    def _lookup(self, api_key: str | None, user_id: str | None) -> Response:
        if api_key not in self.api_keys:
            # [UNVERIFIED] the auth-failure shape is undocumented; this guess follows the envelope.
            return _failure(401, "Unauthorized: invalid api_key")
        if not user_id:
            return _failure(422, "user_id is required")  # [UNVERIFIED] shape and status are a guess
        subscriptions = self.users[user_id] if user_id in self.users else fixture_subscriptions(user_id)
        results = None if subscriptions is None else customer_payload(user_id, subscriptions)
        return json_response({"data": {"results": results, "meta": None}, "errors": None})

    def _control(self, request: Request, action: str) -> Response:
        body = read_json(request) if request.method == "POST" else None
        body = body if isinstance(body, dict) else {}
        if action == "users" and request.method == "POST" and isinstance(body.get("user_id"), str):
            self.set_user(body["user_id"], body.get("subscriptions"))
        elif action == "down" and request.method == "POST":
            self.set_down(bool(body.get("down", True)), int(body.get("status", 503)),
                          float(body.get("delay_seconds", 0.0)))
        elif action == "reset" and request.method == "POST":
            self.reset()
        elif action == "state" and request.method == "GET":
            with self._lock:
                state = {"calls": self.calls, "users": self.users, "down_status": self.down_status}
                return json_response(state)
        else:
            return json_response({"error": "unknown control or bad body"}, 400)
        return json_response({"ok": True})


def _failure(status: int, title: str) -> Response:
    return json_response({"data": None, "errors": [{"title": title, "status": status}]}, status)


def send_webhook(
    url: str, token: str | None, event_name: str, user: str | dict[str, Any], *,
    bundle_id: str = "com.example.app", platform: str = "ios", timeout: float = 10.0,
) -> httpx.Response:
    """POST one S2S webhook {app, event, user} with X-Apphud-Token, exactly once, no retry (§3).

    `user` is a fixture user_id or a full customer payload (see apphud_fixtures.customer_payload).
    """
    payload = user if isinstance(user, dict) else customer_payload(user, fixture_subscriptions(user) or [])
    subscriptions = payload.get("subscriptions") or []
    android = platform == "android"
    body = {
        "app": {"uid": str(uuid.uuid5(uuid.NAMESPACE_DNS, bundle_id)),
                "bundle_id": None if android else bundle_id, "package_name": bundle_id if android else None},
        "event": {
            "id": str(uuid.uuid4()), "created_at": datetime.now(UTC).isoformat(), "name": event_name,
            "properties": {"product_id": subscriptions[0]["product_id"] if subscriptions else None},
            "receipt": None, "store": "play_store" if android else "app_store",
        },
        "user": payload,
    }
    headers = {} if token is None else {"X-Apphud-Token": token}
    with httpx.Client(timeout=timeout) as client:  # httpx never retries a POST by itself
        return client.post(url, json=body, headers=headers)


def _start(host: str, port: int) -> str:
    return ApphudSimulator(host, port).start()


if __name__ == "__main__":
    run_standalone("apphud", _start)
