"""The Pixverse simulator's webhooks (contracts/pixverse.md §8): when a video finishes, POST a signed
notice to the registered URL and retry on the documented schedule until the receiver answers 200 `ok`.

Jobs that finish by time (`seconds_until_done`) are finished by a ticker, as PixVerse finishes them
whether anyone polls or not. Every attempt is recorded in the state (`webhooks` in /_sim/state).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from typing import Any
from urllib.parse import quote_plus

import httpx

from infra.local.simulators.pixverse_state import GENERATING, Job, PixverseState

TICK_SECONDS = 0.1


def signed_headers(body: dict[str, Any], secret: str, order: str, *, timestamp: int | None = None,
                   nonce: str | None = None) -> dict[str, str]:
    """PixVerse's headers for `body`: timestamp, nonce and Base64 HMAC-SHA256 over the three lines."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(16)
    names = sorted(body) if order == "sorted" else list(body)
    pairs = []
    for name in names:
        value = body[name]
        text = ("true" if value else "false") if isinstance(value, bool) else (
            value if isinstance(value, str) else json.dumps(value, separators=(",", ":")))
        pairs.append(quote_plus(name) + "=" + quote_plus(text))
    digest = hmac.new(secret.encode(), "\n".join([stamp, nonce, "&".join(pairs)]).encode(), hashlib.sha256).digest()
    return {"Webhook-Timestamp": stamp, "Webhook-Nonce": nonce, "Webhook-Signature": base64.b64encode(digest).decode(),
            "Ai-Trace-Id": secrets.token_hex(8)}


class WebhookSender:
    def __init__(self, state: PixverseState, video_view: Any) -> None:
        self._state, self._view = state, video_view
        self._http = httpx.Client(timeout=10)
        self._stopped = threading.Event()
        state.on_finish = self._finished
        self._ticker = threading.Thread(target=self._tick, name="pixverse-sim-webhooks", daemon=True)
        self._ticker.start()

    def stop(self) -> None:
        self._stopped.set()
        self._http.close()

    def _tick(self) -> None:
        """Finish the jobs whose time has come, so their webhooks go out without a poll."""
        while not self._stopped.wait(TICK_SECONDS):
            now = time.monotonic()
            with self._state.lock:
                if not self._state.scenario.webhook_url and not self._state.scenario.webhook_request_field:
                    continue
                for job in list(self._state.jobs.values()):
                    if job.status == GENERATING and job.seconds_until_done is not None:
                        self._state.advance(job, now, poll=False)

    def _finished(self, job: Job) -> None:  # called under the state lock
        scenario = self._state.scenario
        url = job.webhook_url or scenario.webhook_url
        if not url or not scenario.webhook_secret:
            return
        view = self._view(job)
        body = {"id": str(job.id), "status": job.status, "url": view["url"], "size": view["size"],
                "has_audio": view["has_audio"], "credits": job.credits}
        plan = (url, scenario.webhook_secret, scenario.webhook_order, list(scenario.webhook_retry_seconds))
        threading.Thread(target=self._deliver, args=(body, *plan), daemon=True).start()

    def _deliver(self, body: dict[str, Any], url: str, secret: str, order: str, retries: list[float]) -> None:
        for attempt, delay in enumerate([0.0, *retries]):
            if self._stopped.wait(delay):
                return
            entry: dict[str, Any] = {"video_id": body["id"], "status": body["status"], "url": url,
                                     "attempt": attempt, "at": time.time(), "http_status": None, "reply": None}
            try:
                response = self._http.post(url, content=json.dumps(body), headers={
                    "Content-Type": "application/json", **signed_headers(body, secret, order)})
                entry["http_status"], entry["reply"] = response.status_code, response.text[:200]
            except (httpx.HTTPError, RuntimeError) as exc:  # RuntimeError: the client closed at stop()
                entry["reply"] = type(exc).__name__
            with self._state.lock:
                self._state.webhooks.append(entry)
                del self._state.webhooks[:-1000]
            if entry["http_status"] == 200 and entry["reply"] == "ok":
                return
