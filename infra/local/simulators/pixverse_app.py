"""The Pixverse simulator's API endpoints under /openapi/v2 (contracts/pixverse.md §10)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from infra.local.simulators._server import json_response, read_json
from infra.local.simulators.pixverse_rules import (
    ERR_MESSAGES,
    QUALITIES,
    SimError,
    inspect_image,
    output_size,
    parse_aspect,
    price,
    validate_generate,
)
from infra.local.simulators.pixverse_state import (
    GENERATING,
    SUCCESS,
    Image,
    Job,
    PixverseState,
    Replay,
)

Handler = Callable[[Request, str], Any]


def envelope(resp: Any) -> dict[str, Any]:
    return {"ErrCode": 0, "ErrMsg": "success", "Resp": resp}


def error_status(code: int) -> int:
    """HTTP status in "status" mode [UNVERIFIED guess]: 401 / 404 for auth / not found, else 400 or 500."""
    if code == 400012:
        return 401
    if code in (500008, 500064):
        return 404
    return 400 if 400000 <= code < 500000 else 500


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PixverseApi:
    """Endpoint logic; `files_base()` gives the root URL the finished videos are served from."""

    def __init__(self, state: PixverseState, files_base: Callable[[], str], sample_size: int) -> None:
        self.state = state
        self._files_base = files_base
        self._sample_size = sample_size
        self.handlers: dict[str, Handler] = {
            "image/upload": self.upload, "video/text/generate": self.text_to_video,
            "video/img/generate": self.image_to_video, "video/result": self.result,
            "account/balance": self.balance,
        }

    def error(self, exc: SimError, http_status: int | None = None) -> Response:
        body = {"ErrCode": exc.code, "ErrMsg": exc.message, "Resp": None}
        if http_status is None:
            http_status = error_status(exc.code) if self.state.scenario.error_http_mode == "status" else 200
        return json_response(body, http_status)

    # --- POST /image/upload ---

    def upload(self, request: Request, key: str) -> dict[str, Any]:
        scenario = self.state.scenario
        file, url = request.files.get("image"), request.form.get("image_url")
        if file is None and not url:
            raise SimError(400011, "empty parameter: image")
        if file is not None and url:
            raise SimError(400017, "send exactly one of image and image_url")
        name = (file.filename or "") if file is not None else (url or "")
        info, data = None, file.read() if file is not None else b""
        if file is not None:
            info = inspect_image(
                data, name, file.mimetype or "", max_bytes=scenario.max_image_bytes,
                max_side=scenario.max_image_side, min_side=scenario.min_image_side,
            )
        moderated = any(marker in name for marker in scenario.moderated_images)
        if moderated and scenario.image_moderation_at == "upload":
            raise SimError(500054, "content moderation failure: the image may contain inappropriate content")
        image = Image(self.state.new_id(), key, name, info, moderated, data, file.mimetype if file else "")
        self.state.images[image.id] = image
        return {"img_id": image.id, "img_url": f"{self._files_base()}/images/{image.id}"}

    # --- POST /video/text/generate, /video/img/generate ---

    def text_to_video(self, request: Request, key: str) -> dict[str, Any]:
        body = read_json(request)
        validate_generate(body, image=False, long_clips=self.state.scenario.long_clips)
        return self._create(body, key, request, parse_aspect(body["aspect_ratio"]))

    def image_to_video(self, request: Request, key: str) -> dict[str, Any]:
        body = read_json(request)
        validate_generate(body, image=True, long_clips=self.state.scenario.long_clips)
        image = self.state.images.get(body["img_id"])
        if image is None or image.api_key != key:
            raise SimError(400032, "invalid image id")
        if image.moderated:  # only reached when moderation happens at submit
            raise SimError(500054, "content moderation failure: the image may contain inappropriate content")
        aspect = (image.info.width, image.info.height) if image.info else (16, 9)
        return self._create(body, key, request, aspect)

    def _create(
        self, body: dict[str, Any], key: str, request: Request, aspect: tuple[int, int]
    ) -> dict[str, Any]:
        state, scenario, now = self.state, self.state.scenario, time.monotonic()
        prompt = f"{body['prompt']} {body.get('negative_prompt') or ''}".lower()
        if any(word.lower() in prompt for word in scenario.moderated_prompts):
            raise SimError(500063, "video/image/text moderation failed: not compliant, please re-enter")
        self._check_template(body)
        if state.generating(key, now) >= scenario.concurrency_limit:
            raise SimError(500044, "reached the limit for concurrent generations")
        credits = price(body)
        if not state.debit(credits):
            raise SimError(500090, ERR_MESSAGES[500090])
        width, height = output_size(body["quality"], aspect)
        job = Job(
            id=state.new_id(), api_key=key, trace_id=request.headers.get("Ai-trace-id", ""), body=body,
            credits=credits, width=width, height=height, final_status=scenario.final_status,
            polls_until_done=scenario.polls_until_done, seconds_until_done=scenario.seconds_until_done,
            created=now, created_wall=time.time(), modified_wall=time.time(),
            webhook_url=body.get(scenario.webhook_request_field) if scenario.webhook_request_field else None,
        )
        state.jobs[job.id] = job
        return {"video_id": job.id, "credits": credits}

    def _check_template(self, body: dict[str, Any]) -> None:
        template, scenario = body.get("template_id"), self.state.scenario
        if template is None:
            return
        if template not in scenario.activated_templates:
            raise SimError(500070, "current template is not activated")
        if template in scenario.sd_only_templates and body["quality"] in ("720p", "1080p"):
            raise SimError(500071, "this effect does not support 720p or 1080p")
        if scenario.effects_remaining is not None:
            if scenario.effects_remaining <= 0:
                raise SimError(500060, "monthly effects activation limit reached")
            scenario.effects_remaining -= 1

    # --- GET /video/result/{id}, GET /account/balance ---

    def result(self, request: Request, key: str) -> dict[str, Any]:
        raw_id = request.path.rsplit("/", 1)[-1]
        job = self.state.jobs.get(int(raw_id)) if raw_id.isdigit() else None
        if job is None or job.api_key != key:
            raise SimError(500008, "requested data not found")
        now = time.monotonic()
        self._note_poll_interval(job, now)
        self.state.advance(job, now, poll=True)
        return self.video_view(job)

    def _note_poll_interval(self, job: Job, now: float) -> None:
        limit = self.state.scenario.min_poll_interval
        if limit > 0 and job.last_poll is not None and now - job.last_poll < limit:
            self.state.poll_violations.append({"video_id": job.id, "interval": now - job.last_poll})
        job.last_poll = now

    def video_view(self, job: Job) -> dict[str, Any]:
        done = job.status == SUCCESS
        body = job.body
        return {
            "id": job.id, "status": job.status,
            "url": f"{self._files_base()}/files/{job.id}.mp4" if done else "",
            "create_time": _iso(job.created_wall), "modify_time": _iso(job.modified_wall),
            "prompt": body.get("prompt", ""), "negative_prompt": body.get("negative_prompt", ""),
            "style": body.get("style", ""), "seed": body.get("seed", 0),
            "outputWidth": job.width, "outputHeight": job.height,
            "resolution_ratio": QUALITIES.get(body.get("quality", ""), 0),
            "size": self._sample_size if done else 0, "credits": job.credits, "has_audio": False,
        }

    def balance(self, request: Request, key: str) -> dict[str, Any]:
        return {
            "account_id": 1, "credit_monthly": self.state.credit_monthly,
            "credit_package": self.state.credit_package,
        }

    # --- idempotency by Ai-trace-id (§1) ---

    def replay(self, key: str, trace_id: str, request: Request) -> dict[str, Any] | None:
        """The earlier answer for this trace id, if any; None means "handle it as new"."""
        earlier = self.state.replays.get((key, trace_id))
        if earlier is None:
            return None
        body = read_json(request) if request.mimetype == "application/json" else None
        if self.state.scenario.stuck_on_reused_trace and body != earlier.body and "video_id" in earlier.resp:
            return self._stuck_copy(earlier, key, trace_id)
        return earlier.resp

    def _stuck_copy(self, earlier: Replay, key: str, trace_id: str) -> dict[str, Any]:
        # The documented symptom: a reused trace id leaves the new request "generating" forever.
        first = self.state.jobs[earlier.resp["video_id"]]
        job = Job(**{**first.__dict__, "id": self.state.new_id(), "trace_id": trace_id, "stuck": True,
                     "status": GENERATING, "polls": 0, "credits": 0, "api_key": key})
        self.state.jobs[job.id] = job
        return {"video_id": job.id, "credits": 0}

    def remember(self, key: str, trace_id: str, request: Request, resp: dict[str, Any]) -> None:
        body = read_json(request) if request.mimetype == "application/json" else None
        self.state.replays[(key, trace_id)] = Replay(request.path, body, resp)
