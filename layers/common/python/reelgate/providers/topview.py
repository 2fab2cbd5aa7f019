"""TopView AI OpenAPI client (contracts/topview.md): the `code` envelope, retries bounded by the
invocation's deadline, the three-step upload and submit/query for each task family.

The error table lives in `topview_errors`, result normalization in `topview_results`, callback
parsing in `topview_callbacks`; their public names are re-exported here.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Literal, TypeVar

import httpx

from reelgate import deadline, metrics
from reelgate.deadline import DeadlineExceeded
from reelgate.providers import http_client
from reelgate.providers.topview_callbacks import (
    CallbackError,
    CallbackForged,
    CallbackMalformed,
    Notice,
    callback_reply,
    parse_callback,
)
from reelgate.providers.topview_errors import (
    BAD_RESPONSE,
    DEFAULT_RETRY_CODES,
    GATEWAY_ERROR,
    NO_RESPONSE,
    SUCCESS,
    UPLOAD_FAILED,
    TopViewError,
    UnfinishedTask,
    error_for,
    http_status,
    is_unavailable,
)
from reelgate.providers.topview_results import (
    BIZ_TYPES,
    DEFAULT_PATHS,
    Family,
    Preview,
    ReplaceResult,
    Submitted,
    TaskResult,
    normalize,
    submitted,
)

__all__ = [
    "BIZ_TYPES", "CallbackError", "CallbackForged", "CallbackMalformed", "Family", "Notice", "Preview",
    "ReplaceResult", "Submitted", "TaskResult", "TopViewClient", "TopViewError", "UnfinishedTask",
    "callback_reply", "format_for", "http_status", "is_unavailable", "parse_callback", "parse_envelope",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

# §4.1: the upload credential's `format` for the MIME types Reelgate accepts.
FORMATS_BY_MIME = {
    "image/jpeg": "jpg", "image/jpg": "jpg", "image/png": "png", "image/webp": "webp", "image/bmp": "bmp",
    "video/mp4": "mp4", "video/quicktime": "mov", "audio/mpeg": "mp3", "audio/mp3": "mp3",
    "audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/mp4": "m4a", "audio/x-m4a": "m4a",
}
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)  # the request never left


def format_for(content_type: str) -> str:
    fmt = FORMATS_BY_MIME.get(content_type.split(";", maxsplit=1)[0].strip().lower())
    if fmt is None:
        raise ValueError(f"no TopView upload format for content type {content_type!r}")
    return fmt


def parse_envelope(response: httpx.Response) -> Any:
    """`result` of a `"code": "200"` envelope, else TopViewError (HTTP 200 or non-2xx alike, §2)."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    code = body.get("code") if isinstance(body, dict) else None
    if isinstance(code, bool) or not isinstance(code, str | int):
        local = GATEWAY_ERROR if status == 429 or status >= 500 else BAD_RESPONSE
        raise TopViewError(local, f"HTTP {status}, not an envelope: {response.text[:200]!r}", status)
    assert isinstance(body, dict)
    if str(code) != SUCCESS:
        raise error_for(str(code), str(body.get("message") or ""), status)
    if status >= 400:
        raise TopViewError(BAD_RESPONSE, f"HTTP {status} with code 200", status)
    return body.get("result")


class TopViewClient:
    """One TopView account (uid + API key). Facts the contract marks [?] are constructor options."""

    def __init__(
        self,
        base_url: str,
        uid: str,
        api_key: str,
        *,
        http: httpx.Client | None = None,
        timeout: float = 30.0,
        upload_timeout: float = 120.0,
        max_retries: int = 3,
        retry_base_seconds: float = 2.0,
        max_backoff_seconds: float = 20.0,
        retry_codes: frozenset[str] = DEFAULT_RETRY_CODES,
        min_attempt_seconds: float = 1.0,
        upload_attempts: int = 2,
        upload_content_type: bool = True,
        check_attempts: int = 5,
        check_interval_seconds: float = 1.0,
        need_cloudfront_url: bool | None = None,
        enum_style: Literal["str", "int"] = "str",
        product_video_prompt_field: str = "image2videoPrompt",
        paths: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._headers = {"Topview-Uid": uid, "Authorization": f"Bearer {api_key}"}
        self._owns_http = http is None
        self._http = http or http_client(timeout)
        self._timeout = timeout
        self._upload_timeout = upload_timeout
        self._max_retries = max_retries
        self._retry_base = retry_base_seconds
        self._max_backoff = max_backoff_seconds
        self._retry_codes = retry_codes
        self._min_attempt = min_attempt_seconds
        self._upload_attempts = max(1, upload_attempts)
        self._upload_content_type = upload_content_type
        self._check_attempts = max(1, check_attempts)
        self._check_interval = check_interval_seconds
        self._cloudfront = need_cloudfront_url
        self._enum_style = enum_style
        self._pv_prompt_field = product_video_prompt_field
        self._paths = {**DEFAULT_PATHS, **(paths or {})}
        self._sleep = sleep
        self._jitter = jitter

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> TopViewClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- uploads (§4) ---

    def upload(self, data: bytes, content_type: str, *, format: str | None = None) -> str:
        """credential → PUT → check; returns the fileId. A refused PUT (an expired URL) gets a fresh credential."""
        fmt = (format or format_for(content_type)).lower()
        for attempt in range(1, self._upload_attempts + 1):
            credential = self._call("GET", self._paths["upload.credential"], params={"format": fmt})
            file_id, url = _text_field(credential, "fileId"), _text_field(credential, "uploadUrl")
            try:
                self._retrying(partial(self._put, url, data, content_type), idempotent=True,
                               timeout=self._upload_timeout)
                break
            except TopViewError as exc:
                if exc.code != UPLOAD_FAILED or exc.upstream_status != 403 or attempt == self._upload_attempts:
                    raise
                log.warning("topview upload URL refused (HTTP 403); asking for a new credential")
        self._confirm(file_id)
        return file_id

    def _put(self, url: str, data: bytes, content_type: str, timeout: float) -> None:
        # §4.2: raw bytes, no TopView headers (the URL is pre-signed).
        headers = {"Content-Type": content_type} if self._upload_content_type else {}
        try:
            response = self._http.put(url, content=data, headers=headers, timeout=timeout)
        except httpx.TransportError as exc:
            raise TopViewError(NO_RESPONSE, f"upload PUT: {type(exc).__name__}", 0) from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise TopViewError(GATEWAY_ERROR, f"upload PUT answered HTTP {response.status_code}", response.status_code)
        if response.status_code >= 300:
            raise TopViewError(UPLOAD_FAILED, f"upload PUT refused: HTTP {response.status_code} "
                               f"{response.text[:200]!r}", response.status_code)

    def _confirm(self, file_id: str) -> None:
        for attempt in range(self._check_attempts):
            if attempt:
                if self._check_interval + self._min_attempt > deadline.remaining():
                    break
                self._sleep(self._check_interval)
            checked = self._call("GET", self._paths["upload.check"], params={"fileId": file_id})
            if checked is True or str(checked).lower() == "true":
                return
        raise TopViewError(UPLOAD_FAILED, f"upload check never turned true for file {file_id}")

    # --- Product Avatar v1 (§9.1, §9.2) ---

    def submit_product_replace(
        self, *, product_image_file_id: str, image_edit_prompt: str, avatar_id: str | None = None,
        template_image_file_id: str | None = None, user_face_image_file_id: str | None = None,
        product_size: str | None = None, notice_url: str | None = None, extra: Mapping[str, Any] | None = None,
    ) -> Submitted:
        body = {
            "productImageFileId": product_image_file_id, "imageEditPrompt": image_edit_prompt,
            "avatarId": avatar_id, "templateImageFileId": template_image_file_id,
            "userFaceImageFileId": user_face_image_file_id, "productSize": product_size,
        }
        return self._submit(Family.PRODUCT_REPLACE, body, notice_url, extra)

    def submit_product_video(
        self, *, replace_result_key: str, mode: str = "lite", prompt: str | None = None,
        notice_url: str | None = None, extra: Mapping[str, Any] | None = None,
    ) -> Submitted:
        body = {"productReplaceResultKey": replace_result_key, "mode": mode, self._pv_prompt_field: prompt}
        return self._submit(Family.PRODUCT_VIDEO, body, notice_url, extra)

    # --- M2V (§6) ---

    def submit_m2v(
        self, *, product_link: str | None = None, file_ids: list[str] | None = None,
        product_name: str | None = None, product_description: str | None = None,
        aspect_ratio: str | None = None, language: str | None = None, voice_id: str | None = None,
        avatar_id: str | None = None, caption_id: str | None = None, video_length_type: int | None = None,
        notice_url: str | None = None, extra: Mapping[str, Any] | None = None,
    ) -> Submitted:
        body = {
            "productLink": product_link, "fileIds": file_ids, "productName": product_name,
            "productDescription": product_description, "aspectRatio": aspect_ratio, "language": language,
            "voiceId": voice_id, "aiavatarId": avatar_id, "captionId": caption_id,
            "videoLengthType": video_length_type,
        }
        return self._submit(Family.M2V, body, notice_url, extra)

    def export_m2v(self, task_id: str, *, script_id: int = 0, notice_url: str | None = None) -> Submitted:
        """Export one preview script; follow it with `query(Family.M2V_EXPORT, task_id, script_id=...)`."""
        body = {"taskId": task_id, "scriptId": script_id}
        return self._submit(Family.M2V_EXPORT, body, notice_url, None, fallback_task_id=task_id)

    # --- Video Avatar (§8.1) ---

    def submit_video_avatar(
        self, *, avatar_id: str, text: str, voice_id: str | None = None, voice_speed: float | None = None,
        avatar_source: int = 1, caption_id: str | None = None, mode_type: int | None = None,
        notice_url: str | None = None, extra: Mapping[str, Any] | None = None,
    ) -> Submitted:
        """A talking avatar with TTS (audioSourceFrom=1); `avatar_source` 1 = public, 2 = custom avatar."""
        body = {
            "avatarSourceFrom": self._enum(avatar_source), "aiAvatarId": avatar_id,
            "audioSourceFrom": self._enum(1), "ttsText": text, "voiceoverId": voice_id,
            "voiceSpeed": voice_speed, "captionId": caption_id,
            "modeType": self._enum(mode_type) if mode_type is not None else None,
        }
        return self._submit(Family.VIDEO_AVATAR, body, notice_url, extra)

    # --- Common tasks (§11) ---

    def submit_image2video(
        self, *, image_file_id: str, prompt: str | None = None, negative_prompt: str | None = None,
        duration: int = 5, mode: str = "lite", generating_count: int = 1,
        notice_url: str | None = None, extra: Mapping[str, Any] | None = None,
    ) -> Submitted:
        body = {
            "imageFileId": image_file_id, "prompt": prompt, "negativePrompt": negative_prompt,
            "duration": duration, "mode": mode, "generatingCount": generating_count,
        }
        return self._submit(Family.IMAGE2VIDEO, body, notice_url, extra)

    def submit_text2video(
        self, *, prompt: str, model: str | None = None, duration: int | None = None,
        aspect_ratio: str | None = None, resolution: int | str | None = None, sound: str | None = None,
        generating_count: int = 1, notice_url: str | None = None, extra: Mapping[str, Any] | None = None,
    ) -> Submitted:
        body = {
            "prompt": prompt, "model": model, "duration": duration, "aspectRatio": aspect_ratio,
            "resolution": resolution, "sound": sound, "generatingCount": generating_count,
        }
        return self._submit(Family.TEXT2VIDEO, body, notice_url, extra)

    def submit_text2image(
        self, *, prompt: str, model: str | None = None, aspect_ratio: str | None = None,
        resolution: str | None = None, count: int = 1, notice_url: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Submitted:
        body = {"prompt": prompt, "model": model, "aspectRatio": aspect_ratio, "resolution": resolution,
                "generateCount": count}  # sic: "generateCount" for images (OSK)
        return self._submit(Family.TEXT2IMAGE, body, notice_url, extra)

    # --- queries and other calls ---

    def query(self, family: Family | str, task_id: str, *, script_id: int = 0) -> TaskResult:
        """The task's normalized state; for M2V_EXPORT pass the M2V task id and the exported script."""
        family = Family(family)
        params: dict[str, Any] = {"taskId": task_id}
        if self._cloudfront is not None:
            params["needCloudFrontUrl"] = "true" if self._cloudfront else "false"
        result = self._call("GET", self._paths[f"{family.value}.query"], params=params)
        return normalize(family, result, script_id=script_id)

    def check_notice_url(self, notice_url: str) -> Any:
        """§5.1: TopView's validation of a callback address (its answer's shape is not documented [?])."""
        return self._call("POST", self._paths["notice.check"], json={"noticeUrl": notice_url})

    def remaining_credit(self) -> float | None:
        result = self._call("GET", self._paths["credit.detail"])
        value = result.get("remainCredit") if isinstance(result, dict) else None
        return float(value) if isinstance(value, int | float | str) and not isinstance(value, bool) else None

    # --- plumbing ---

    def _enum(self, value: int) -> int | str:
        return str(value) if self._enum_style == "str" else int(value)

    def _submit(
        self, family: Family, body: dict[str, Any], notice_url: str | None, extra: Mapping[str, Any] | None,
        *, fallback_task_id: str | None = None,
    ) -> Submitted:
        payload = {name: value for name, value in body.items() if value is not None}
        if notice_url:
            payload["noticeUrl"] = notice_url
        payload.update(extra or {})
        result = self._call("POST", self._paths[f"{family.value}.submit"], json=payload)
        return submitted(result, fallback_task_id=fallback_task_id)

    def _call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
              json: Any = None) -> Any:
        url = self._base + path

        def attempt(timeout: float) -> Any:
            try:
                response = self._http.request(method, url, headers=self._headers, params=params, json=json,
                                              timeout=timeout)
            except httpx.TransportError as exc:
                # The key travels in a header, so the exception text never carries it.
                sent = method == "POST" and not isinstance(exc, _NOT_SENT)
                raise TopViewError(NO_RESPONSE, f"{method} {path}: {type(exc).__name__}", 0,
                                   maybe_submitted=sent) from exc
            return parse_envelope(response)

        return self._retrying(attempt, idempotent=method != "POST", timeout=self._timeout)

    def _retrying(self, attempt: Callable[[float], T], *, idempotent: bool, timeout: float) -> T:
        """Run `attempt(timeout)`; retry what may succeed later, never past the invocation's deadline."""
        tries = 0
        while True:
            left = deadline.remaining()
            if left < self._min_attempt:
                raise DeadlineExceeded("not enough time left for a TopView call")
            try:
                return attempt(min(timeout, left))
            except TopViewError as exc:
                metrics.provider_error("topview", str(exc.code))
                delay = self._retry_delay(exc, tries, idempotent)
                if delay is None:
                    raise
                log.warning("topview call failed (%s); retry %d in %.1fs", exc.code, tries + 1, delay)
            self._sleep(delay)
            tries += 1

    def _retry_delay(self, exc: TopViewError, tries: int, idempotent: bool) -> float | None:
        """Seconds before the next attempt, or None when the error is final or no retry fits in time."""
        if tries >= self._max_retries or not self._retryable(exc, idempotent):
            return None
        backoff = min(self._retry_base * 2**tries, self._max_backoff)
        delay = backoff / 2 + self._jitter() * backoff / 2  # equal jitter spreads retry storms
        if delay + self._min_attempt > deadline.remaining():
            return None
        return delay

    def _retryable(self, exc: TopViewError, idempotent: bool) -> bool:
        if exc.code in self._retry_codes:
            return True  # TopView answered: it refused the work, so no task exists
        if exc.code == NO_RESPONSE:
            # A submit whose request may have arrived is not repeated: TopView has no idempotency key,
            # and a second task would cost credits twice (§2 "do not resubmit").
            return idempotent or not exc.maybe_submitted
        if exc.code == GATEWAY_ERROR:
            return idempotent or exc.upstream_status in (429, 502, 503)
        return False


def _text_field(result: Any, name: str) -> str:
    value = result.get(name) if isinstance(result, dict) else None
    if not isinstance(value, str) or not value:
        raise TopViewError(BAD_RESPONSE, f"result.{name} missing: {result!r:.200}")
    return value
