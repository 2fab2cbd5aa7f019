"""A faithful fake of the Pixverse Platform API over real HTTP (contracts/pixverse.md §10).

Scenario JSON for POST /_sim/scenario (keys merge; unknown keys are rejected with 400):
  polls_until_done, seconds_until_done, final_status (1/6/7/8), stall, stuck_on_reused_trace,
  error_http_mode ("ok" | "status"), auth_error_code, api_keys, moderated_prompts,
  moderated_images, image_moderation_at ("upload" | "submit"), concurrency_limit,
  concurrency_release_seconds, long_clips, max_image_bytes, max_image_side, min_image_side,
  activated_templates, sd_only_templates, effects_remaining, min_poll_interval,
  webhook_url, webhook_secret, webhook_order ("body" | "sorted"), webhook_request_field,
  webhook_retry_seconds (signed webhooks when a video finishes, §8), balance, credit_package,
  fail_next       {code, times=1, endpoint="*", http_status?, raw?}   (or a list of them)
  rate_limit_next {retry_after?, times=1, endpoint="*", code?}       -> HTTP 429
  delay_next      {seconds, times=1, endpoint="*"}  (answers late, after doing the work)
  download_next   {times=1, http_status?, content_type?, seconds?, raw?}  -> the next downloads of
                  finished videos (/files/...): an HTTP error (a CDN hiccup), a 200 of the wrong
                  content type, or the video only after `seconds` (a slow CDN)
`endpoint` is the path after /openapi/v2 ("image/upload", "video/text/generate",
"video/img/generate", "video/result", "account/balance") or "*".
Other controls: POST /_sim/reset, GET /_sim/state, POST /_sim/videos/<id> {"status": 6|7|8|1}.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from infra.local.simulators._server import SimServer, json_response, read_json, run_standalone
from infra.local.simulators.pixverse_app import Handler, PixverseApi, envelope
from infra.local.simulators.pixverse_rules import ERR_MESSAGES, SimError
from infra.local.simulators.pixverse_state import SUCCESS, TERMINAL, Fault, PixverseState
from infra.local.simulators.pixverse_webhooks import WebhookSender

API_PREFIX = "/openapi/v2/"
GET_ENDPOINTS = frozenset({"video/result", "account/balance"})
SAMPLE_MP4 = Path(__file__).with_name("sample.mp4")  # 2 s, 320x180 H.264, made with ffmpeg 9.0.2


class PixverseSimulator:
    """Start with .start() (returns the base URL ending in /openapi/v2), stop with .stop()."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, api_key: str = "sim-key",
        public_base_url: str | None = None, scenario: dict[str, Any] | None = None,
    ) -> None:
        self._sample = SAMPLE_MP4.read_bytes()
        self._public = public_base_url.rstrip("/") if public_base_url else None
        self.state = PixverseState(api_key)
        self.api = PixverseApi(self.state, self._files_base, len(self._sample))
        self._server = SimServer(self._wsgi, host, port)
        self._initial = scenario or {}
        self.state.apply(self._initial)
        self.webhooks = WebhookSender(self.state, self.api.video_view)

    def start(self) -> str:
        return self._server.start() + API_PREFIX.rstrip("/")

    @property
    def base_url(self) -> str:
        return self._server.root_url + API_PREFIX.rstrip("/")

    def stop(self) -> None:
        self.webhooks.stop()
        self._server.stop()

    def configure(self, **scenario: Any) -> None:
        with self.state.lock:
            self.state.apply(scenario)

    def reset(self) -> None:
        with self.state.lock:
            self.state.reset()
            self.state.apply(self._initial)

    def _files_base(self) -> str:
        # Finished videos are served by this process; public_base_url overrides the host clients see.
        return self._public or self._server.root_url

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        return self._dispatch(request)(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        path = request.path
        if path.startswith(API_PREFIX):
            return self._api_call(request, path[len(API_PREFIX):])
        if path.startswith(("/files/", "/images/")):
            return self._download(request)
        if path.startswith("/_sim/"):
            return self._control(request, path.removeprefix("/_sim/"))
        return json_response({"error": "not found"}, 404)

    # --- the API ---

    def _api_call(self, request: Request, tail: str) -> Response:
        endpoint = "video/result" if tail.startswith("video/result/") else tail
        handler = self.api.handlers.get(endpoint)
        if handler is None:
            return json_response({"error": "not found"}, 404)
        if (request.method == "GET") != (endpoint in GET_ENDPOINTS):
            return json_response({"error": "method not allowed"}, 405)
        with self.state.lock:
            self._record(request)
            response, delay = self._handle(request, endpoint, handler)
        if delay:
            time.sleep(delay)  # outside the lock: the work is done, only the answer is late
        return response

    def _handle(self, request: Request, endpoint: str, handler: Handler) -> tuple[Response, float]:
        state = self.state
        key = request.headers.get("API-KEY")
        if key is None or not state.valid_key(key):
            code = state.scenario.auth_error_code
            return self.api.error(SimError(code, "Invalid API-KEY")), 0.0
        fault = state.take_fault("rate_limit", endpoint)
        if fault is not None:
            return _rate_limited(fault), 0.0
        fault = state.take_fault("fail", endpoint)
        if fault is not None:
            return self._failure(fault), 0.0
        delay = state.take_fault("delay", endpoint)
        now = time.monotonic()
        for job in state.jobs.values():
            state.advance(job, now, poll=False)  # time-driven jobs finish even when nobody polls
        return self._answer(request, handler, key), delay.seconds if delay else 0.0

    def _answer(self, request: Request, handler: Handler, key: str) -> Response:
        trace = request.headers.get("Ai-trace-id", "")
        idempotent = request.method == "POST" and bool(trace)
        earlier = self.api.replay(key, trace, request) if idempotent else None
        if earlier is not None:
            return json_response(envelope(earlier))
        try:
            resp = handler(request, key)
        except SimError as exc:
            return self.api.error(exc)  # errors are not remembered, so a retry can still succeed
        if idempotent:
            self.api.remember(key, trace, request, resp)
        return json_response(envelope(resp))

    def _failure(self, fault: Fault) -> Response:
        if fault.raw is not None:
            return Response(fault.raw, status=fault.http_status or 502, mimetype="text/html")
        code = fault.code if fault.code is not None else 99999
        return self.api.error(SimError(code, ERR_MESSAGES.get(code, "injected fault")), fault.http_status)

    def _record(self, request: Request) -> None:
        entry: dict[str, Any] = {
            "method": request.method, "path": request.path, "at": time.time(),
            "headers": {name.lower(): value for name, value in request.headers.items()},
            "trace_id": request.headers.get("Ai-trace-id"),
        }
        if request.mimetype == "application/json":
            entry["json"] = read_json(request)
        elif request.mimetype == "multipart/form-data":
            entry["files"] = [
                {"field": name, "filename": f.filename, "content_type": f.mimetype}
                for name, f in request.files.items()
            ]
            entry["form"] = dict(request.form)
        self.state.record(entry)

    # --- downloads and controls ---

    def _download(self, request: Request) -> Response:
        kind, _, name = request.path.strip("/").partition("/")
        raw_id = name.removesuffix(".mp4") if kind == "files" else name
        item_id = int(raw_id) if raw_id.isdigit() else -1
        with self.state.lock:
            job, image = self.state.jobs.get(item_id), self.state.images.get(item_id)
            fault = None
            if kind == "files" and job is not None and job.status == SUCCESS:
                data, mimetype = self._sample, "video/mp4"
                fault = self.state.take_fault("download", "files")
            elif kind == "images" and image is not None and image.data:
                data, mimetype = image.data, image.mimetype
            else:
                return json_response({"error": "not found"}, 404)
        if fault is not None:
            if fault.seconds:
                time.sleep(fault.seconds)  # outside the lock, like a slow CDN
            if fault.http_status:
                return Response(fault.raw or "<html>upstream error</html>", status=fault.http_status,
                                mimetype="text/html")
            if fault.content_type:
                return Response(fault.raw or "<html>not the video</html>", mimetype=fault.content_type)
        response = Response(data, mimetype=mimetype)
        return response.make_conditional(request, accept_ranges=True, complete_length=len(data))

    def _control(self, request: Request, action: str) -> Response:
        with self.state.lock:
            if action == "state" and request.method == "GET":
                return json_response(self.state.snapshot())
            if action == "reset" and request.method == "POST":
                self.reset()
                return json_response({"ok": True})
            if action == "scenario" and request.method == "POST":
                return self._set_scenario(read_json(request))
            if action.startswith("videos/") and request.method == "POST":
                return self._set_video(action.removeprefix("videos/"), read_json(request))
        return json_response({"error": "not found"}, 404)

    def _set_scenario(self, data: Any) -> Response:
        if not isinstance(data, dict):
            return json_response({"error": "scenario must be a JSON object"}, 400)
        try:
            self.state.apply(data)
        except (TypeError, ValueError) as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response(self.state.snapshot()["scenario"])

    def _set_video(self, raw_id: str, data: Any) -> Response:
        job = self.state.jobs.get(int(raw_id)) if raw_id.isdigit() else None
        status = data.get("status") if isinstance(data, dict) else None
        if job is None or status not in TERMINAL:
            return json_response({"error": "unknown video or status not in 1/6/7/8"}, 400)
        self.state.finish(job, status)  # a terminal job keeps its status (§4)
        return json_response(self.api.video_view(job))


def _rate_limited(fault: Fault) -> Response:
    headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
    if fault.code is None:
        return Response("Too Many Requests", status=429, headers=headers, mimetype="text/plain")
    body = {"ErrCode": fault.code, "ErrMsg": ERR_MESSAGES.get(fault.code, "rate limited"), "Resp": None}
    return json_response(body, 429, headers)


def _start(host: str, port: int) -> str:
    return PixverseSimulator(host, port).start()


if __name__ == "__main__":
    run_standalone("pixverse", _start)
