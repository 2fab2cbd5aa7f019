"""A fake of the TopView AI OpenAPI over real HTTP (contracts/topview.md §17).

Routes (under an optional prefix; default none, like https://api.topview.ai): upload credential/check,
the submit + query endpoints of Product Avatar v1 (replace, image2Video), M2V (+ /v1/m2v/export),
Video Avatar and the common tasks image2video (v1, queried at /result), text2video and text2image,
/notice/notice_url/check, /user/credit/detail and a few static lookups. The simulator itself serves the
upload PUT target (/upload/<fileId>.<fmt>) and the results (/aigc/... pre-signed look-alikes, /cdn/...).

Scenario JSON for POST /_sim/scenario (keys merge; unknown keys are rejected with 400): every field of
topview_state.Scenario, `balance`, and
  fail_next  {code?, message?, times=1, endpoint="*", http_status?, raw?}   (or a list of them)
  delay_next {seconds, times=1, endpoint="*"}   (answers late, after doing the work)
`endpoint` is the path without "/v1/" ("m2v/task/submit", "upload/credential", "notice/notice_url/check")
or "upload/put" (the PUT target) or "*". Errors on demand also come from `prompt_codes` and from
"sim-error:NNNN" written in a prompt-like field.
Other controls: POST /_sim/reset, GET /_sim/state, POST /_sim/tasks/<id> {"status": "success"|"fail",
"error"?} (finish now), POST /_sim/tasks/<id>/callback (deliver the callback once more, never lost).
"""

from __future__ import annotations

import hashlib
import io
import time
from pathlib import Path
from typing import Any

from PIL import Image
from werkzeug.wrappers import Request, Response

from infra.local.simulators._server import SimServer, json_response, read_json, run_standalone
from infra.local.simulators.topview_app import SAMPLE_SIZE, Handler, TopViewApi
from infra.local.simulators.topview_notify import Notifier, Timers
from infra.local.simulators.topview_rules import SimError, status_mode_http
from infra.local.simulators.topview_state import SUCCESS, TERMINAL, Fault, Task, TopViewState

SAMPLE_MP4 = Path(__file__).with_name("sample.mp4")  # 2 s, 320x180 H.264


def _sample_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", SAMPLE_SIZE, (40, 120, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def envelope(result: Any) -> dict[str, Any]:
    return {"code": "200", "message": "Success", "result": result}


def s3_error(status: int, code: str, message: str) -> Response:
    body = f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    return Response(body, status=status, mimetype="application/xml")


class TopViewSimulator:
    """Start with .start() (returns the base URL), stop with .stop()."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, uid: str = "sim-uid", api_key: str = "sim-key",
        public_base_url: str | None = None, prefix: str = "", scenario: dict[str, Any] | None = None,
    ) -> None:
        self._mp4, self._jpg = SAMPLE_MP4.read_bytes(), _sample_jpeg()
        self._public = public_base_url.rstrip("/") if public_base_url else None
        self._prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.state = TopViewState(uid, api_key)
        self.timers = Timers(self.state)
        self.api = TopViewApi(self.state, self._files_base, self._task_created)
        self.notifier = Notifier(self.state, self.timers, self.api.callback_body)
        self.state.on_finish = self.notifier.task_finished
        self._server = SimServer(self._wsgi, host, port)
        self._initial = scenario or {}
        self.state.apply(self._initial)

    def start(self) -> str:
        return self._server.start() + self._prefix

    @property
    def base_url(self) -> str:
        return self._server.root_url + self._prefix

    def stop(self) -> None:
        self.timers.stop()
        self._server.stop()
        self.notifier.close()

    def configure(self, **scenario: Any) -> None:
        with self.state.lock:
            self.state.apply(scenario)

    def reset(self) -> None:
        with self.state.lock:
            self.timers.cancel_all()
            self.state.reset()
            self.state.apply(self._initial)

    def finish(self, task_id: str, status: str = SUCCESS, error: str | None = None) -> None:
        """End a task now (its callback follows the scenario); a terminal task keeps its status."""
        with self.state.lock:
            self.state.finish(self.state.tasks[task_id], status, error)

    def resend_callback(self, task_id: str) -> None:
        with self.state.lock:
            self.notifier.resend(self.state.tasks[task_id])

    @property
    def callbacks(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return [dict(entry) for entry in self.state.callbacks]

    def _files_base(self) -> str:
        return self._public or self._server.root_url

    def _task_created(self, task: Task) -> None:
        if task.seconds_until_done is not None:  # time-driven tasks finish (and call back) unpolled
            self.timers.later(task.seconds_until_done, self._tick, task.id)

    def _tick(self, task_id: str) -> None:
        with self.state.lock:
            task = self.state.tasks.get(task_id)
            if task is not None:
                self.state.advance(task, time.monotonic(), poll=False)

    # --- HTTP ---

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self._dispatch(Request(environ))(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/_sim/"):
            return self._control(request, path.removeprefix("/_sim/"))
        if path.startswith("/upload/") and request.method == "PUT":
            return self._put(request, path.removeprefix("/upload/"))
        if path.startswith(("/aigc/", "/cdn/")) and request.method in ("GET", "HEAD"):
            return self._download(request)
        tail = path[len(self._prefix):] if path.startswith(self._prefix + "/") else None
        handler = self.api.routes.get((request.method, tail)) if tail else None
        if handler is None or tail is None:
            return json_response({"error": "not found"}, 404)
        endpoint = tail.lstrip("/").removeprefix("v1/")
        with self.state.lock:
            self._record(request, endpoint)
            response, delay = self._handle(request, endpoint, handler)
        if delay:
            time.sleep(delay)  # outside the lock: the work is done, only the answer is late
        return response

    def _handle(self, request: Request, endpoint: str, handler: Handler) -> tuple[Response, float]:
        state, uid = self.state, request.headers.get("Topview-Uid")
        if not state.valid_credentials(uid, request.headers.get("Authorization")):
            code = state.scenario.auth_error_code
            return self.error(SimError(code, "Unauthorized"), state.scenario.auth_http_status), 0.0
        assert uid is not None
        fault = state.take_fault("fail", endpoint)
        if fault is not None:
            return self._failure(fault), 0.0
        delay = state.take_fault("delay", endpoint)
        now = time.monotonic()
        for task in list(state.tasks.values()):
            if task.seconds_until_done is not None:
                state.advance(task, now, poll=False)
        try:
            result = handler(request, uid)
        except SimError as exc:
            return self.error(exc), 0.0  # validation errors create no task and cost nothing
        return json_response(envelope(result)), delay.seconds if delay else 0.0

    def error(self, exc: SimError, http_status: int | None = None) -> Response:
        if http_status is None:
            http_status = status_mode_http(exc.code) if self.state.scenario.error_http_mode == "status" else 200
        return json_response({"code": exc.code, "message": exc.message, "result": None}, http_status)

    def _failure(self, fault: Fault) -> Response:
        if fault.raw is not None:
            return Response(fault.raw, status=fault.http_status or 502, mimetype="text/html")
        return self.error(SimError(fault.code or "5000", fault.message), fault.http_status)

    def _record(self, request: Request, endpoint: str, **extra: Any) -> None:
        entry: dict[str, Any] = {
            "method": request.method, "path": request.path, "endpoint": endpoint, "at": time.time(),
            "headers": {name.lower(): value for name, value in request.headers.items()},
            "args": dict(request.args), **extra,
        }
        if request.mimetype == "application/json":
            entry["json"] = read_json(request)
        self.state.record(self.state.calls, entry)

    # --- the upload target and the results ---

    def _put(self, request: Request, name: str) -> Response:
        file_id = name.split(".", 1)[0]
        data = request.get_data()
        with self.state.lock:
            self._record(request, "upload/put", size=len(data), content_type=request.headers.get("Content-Type"))
            fault = self.state.take_fault("fail", "upload/put")
            if fault is not None:
                return s3_error(fault.http_status or 500, "InternalError", fault.message or "injected fault")
            upload = self.state.uploads.get(file_id)
            if upload is None:
                return s3_error(403, "AccessDenied", "Access Denied")
            if _expired(request):
                return s3_error(403, "AccessDenied", "Request has expired")
            if len(data) > self.state.scenario.max_upload_bytes:
                return s3_error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
            upload.data, upload.content_type = data, request.headers.get("Content-Type", "")
            upload.checks_false = self.state.scenario.check_false_polls
        etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
        return Response(b"", status=200, headers={"ETag": f'"{etag}"'})

    def _download(self, request: Request) -> Response:
        kind, _, rest = request.path.strip("/").partition("/")
        task_id, _, name = rest.partition("/")
        with self.state.lock:
            task = self.state.tasks.get(task_id)
            found = task is not None and task.status == SUCCESS and name.endswith((".mp4", ".jpg"))
        if not found:
            return s3_error(404, "NoSuchKey", "The specified key does not exist.")
        if kind == "aigc" and _expired(request):
            return s3_error(403, "AccessDenied", "Request has expired")
        data, mimetype = (self._mp4, "video/mp4") if name.endswith(".mp4") else (self._jpg, "image/jpeg")
        response = Response(data, mimetype=mimetype)
        return response.make_conditional(request, accept_ranges=True, complete_length=len(data))

    # --- controls ---

    def _control(self, request: Request, action: str) -> Response:
        with self.state.lock:
            if action == "state" and request.method == "GET":
                return json_response(self.state.snapshot())
            if action == "reset" and request.method == "POST":
                self.reset()
                return json_response({"ok": True})
            if action == "scenario" and request.method == "POST":
                return self._set_scenario(read_json(request))
            if action.startswith("tasks/") and request.method == "POST":
                return self._task_control(action.removeprefix("tasks/"), read_json(request))
        return json_response({"error": "not found"}, 404)

    def _set_scenario(self, data: Any) -> Response:
        if not isinstance(data, dict):
            return json_response({"error": "scenario must be a JSON object"}, 400)
        try:
            self.state.apply(data)
        except (TypeError, ValueError) as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response(self.state.snapshot()["scenario"])

    def _task_control(self, rest: str, data: Any) -> Response:
        task_id, _, sub = rest.partition("/")
        task = self.state.tasks.get(task_id)
        if task is None:
            return json_response({"error": "unknown task"}, 404)
        if sub == "callback":
            self.notifier.resend(task)
            return json_response({"ok": True})
        status = data.get("status") if isinstance(data, dict) else None
        if sub or status not in TERMINAL:
            return json_response({"error": "POST /_sim/tasks/<id> {\"status\": \"success\"|\"fail\"}"}, 400)
        self.state.finish(task, status, data.get("error"))
        return json_response(self.api.view(self.state.tasks[task.parent] if task.parent else task))


def _expired(request: Request) -> bool:
    try:
        issued, ttl = float(request.args["X-Amz-Date"]), float(request.args["X-Amz-Expires"])
    except (KeyError, ValueError):
        return True  # an unsigned URL is as good as an expired one
    return time.time() > issued + ttl


def _start(host: str, port: int) -> str:
    return TopViewSimulator(host, port).start()


if __name__ == "__main__":
    run_standalone("topview", _start)
