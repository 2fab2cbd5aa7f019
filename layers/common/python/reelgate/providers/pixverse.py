"""Pixverse Platform API client (contracts/pixverse.md §1-§5): envelope parsing, retries, idempotency."""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import IntEnum
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from reelgate import deadline, metrics
from reelgate.providers import http_client
from reelgate.settings import Settings

log = logging.getLogger(__name__)

# Local codes for failures that carry no Pixverse ErrCode (all negative, so they never collide).
NO_RESPONSE = -1  # transport failure (timeout, connection error) after the last retry
BAD_RESPONSE = -2  # a body that is not the {"ErrCode","ErrMsg","Resp"} envelope
RATE_LIMITED = -3  # HTTP 429 whose body carries no ErrCode
NO_TIME = -4  # the invocation has no time left for (another) attempt: nothing more was sent
UNKNOWN_ERROR = 99999  # Pixverse's own "unknown error"; also used for non-JSON 5xx bodies

# Our suggestion, not Pixverse's (§5): overridable through the constructor.
DEFAULT_TRANSIENT_CODES = frozenset({500069, 500100, UNKNOWN_ERROR, 500041})
DEFAULT_RETRY_AFTER_SECONDS = 60.0  # what a known client assumes when 429 has no Retry-After (§1)
MIN_ATTEMPT_SECONDS = 1.0  # an attempt given less time than this is not started


class PixverseError(Exception):
    """An upstream failure; `err_code` is Pixverse's ErrCode (or a local negative code above)."""

    def __init__(self, err_code: int, message: str, http_status: int, retry_after: float | None = None):
        super().__init__(f"Pixverse error {err_code} (HTTP {http_status}): {message}")
        self.err_code = err_code
        self.message = message
        self.http_status = http_status
        self.retry_after = retry_after


class VideoStatus(IntEnum):
    SUCCESS = 1
    GENERATING = 5
    DELETED = 6
    MODERATED = 7
    FAILED = 8


class VideoResult(BaseModel):
    """`Resp` of GET /video/result/{id} (§4); unknown fields are kept, absent ones default."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: int
    status: int
    url: str | None = None
    create_time: str | None = None
    modify_time: str | None = None
    prompt: str | None = None
    negative_prompt: str | None = None
    style: str | None = None
    seed: int | None = None
    output_width: int | None = Field(None, alias="outputWidth")
    output_height: int | None = Field(None, alias="outputHeight")
    resolution_ratio: int | None = None
    size: int | None = None
    credits: int | None = None
    has_audio: bool | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == VideoStatus.SUCCESS and bool(self.url)

    @property
    def terminal(self) -> bool:
        # Anything but "generating" is final (the official MCP client treats it so, §4).
        return self.status != VideoStatus.GENERATING


class Balance(BaseModel):
    """`Resp` of GET /account/balance; the field names come from client fixtures only (§2)."""

    model_config = ConfigDict(extra="allow")

    account_id: int | None = None
    credit_monthly: int = 0
    credit_package: int = 0

    @property
    def total(self) -> int:
        return self.credit_monthly + self.credit_package


def parse_envelope(response: httpx.Response) -> Any:
    """Return `Resp` of a successful envelope or raise PixverseError (200+ErrCode or 4xx/5xx+ErrCode)."""
    status = response.status_code
    retry_after = _retry_after(response) if status == 429 else None
    try:
        body = response.json()  # stdlib json: integers stay exact Python ints, never floats
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("ErrCode"), int):
        raise PixverseError(_code_without_envelope(status), _snippet(response), status, retry_after)
    code, message = body["ErrCode"], str(body.get("ErrMsg") or "")
    if code != 0:
        raise PixverseError(code, message, status, retry_after)
    if status >= 400:
        raise PixverseError(BAD_RESPONSE, f"HTTP {status} with ErrCode 0", status, retry_after)
    return body.get("Resp")


def _code_without_envelope(status: int) -> int:
    if status == 429:
        return RATE_LIMITED
    return UNKNOWN_ERROR if status >= 500 else BAD_RESPONSE


def _snippet(response: httpx.Response) -> str:
    return f"HTTP {response.status_code}, not an envelope: {response.text[:200]!r}"


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # the HTTP-date form
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def _int_field(resp: Any, name: str) -> int:
    value = resp.get(name) if isinstance(resp, dict) else None
    if isinstance(value, bool) or not isinstance(value, int):
        raise PixverseError(BAD_RESPONSE, f"Resp.{name} is not an integer: {value!r}", 200)
    return value


class PixverseClient:
    """One API key, one base URL; every public call is one logical request with its own trace id."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        http: httpx.Client | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        retry_base_seconds: float = 1.0,
        max_backoff_seconds: float = 20.0,
        default_retry_after: float = DEFAULT_RETRY_AFTER_SECONDS,
        max_retry_after: float = DEFAULT_RETRY_AFTER_SECONDS,
        transient_codes: frozenset[int] = DEFAULT_TRANSIENT_CODES,
        sleep: Callable[[float], None] = time.sleep,
        new_trace_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        jitter: Callable[[], float] = random.random,
        deadline_margin: float = 0.0,
        min_attempt_seconds: float = MIN_ATTEMPT_SECONDS,
        generate_extra: dict[str, Any] | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._api_key = api_key
        self._owns_http = http is None
        self._http = http or http_client(timeout)
        self._timeout = timeout
        self._max_retries = max_retries
        self._retry_base = retry_base_seconds
        self._max_backoff = max_backoff_seconds
        self._default_retry_after = default_retry_after
        self._max_retry_after = max_retry_after
        self._transient = transient_codes
        self._sleep = sleep
        self._new_trace_id = new_trace_id
        self._jitter = jitter
        # Seconds of the invocation (reelgate.deadline) no attempt or wait may use: the caller's, to
        # record the outcome. Every attempt's timeout and every wait ends before them.
        self._margin = deadline_margin
        self._min_attempt = min_attempt_seconds
        self._generate_extra = dict(generate_extra or {})  # fields every generate body carries (a webhook URL)

    @classmethod
    def from_settings(cls, settings: Settings, api_key: str, **options: Any) -> PixverseClient:
        """The client as configured; `options` (http, sleep, ...) go to the constructor as given."""
        configured: dict[str, Any] = {
            "timeout": settings.pixverse_timeout_seconds, "max_retries": settings.pixverse_max_retries,
            "retry_base_seconds": settings.pixverse_retry_base_seconds,
            "max_retry_after": settings.pixverse_max_retry_after_seconds,
            "deadline_margin": settings.pixverse_deadline_margin_seconds,
        }
        if settings.pixverse_webhook_url and settings.pixverse_webhook_request_field:
            configured["generate_extra"] = {settings.pixverse_webhook_request_field: settings.pixverse_webhook_url}
        return cls(settings.pixverse_base_url, api_key, **{**configured, **options})

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> PixverseClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- endpoints (§2) ---

    def upload_image(
        self, data: bytes, filename: str, content_type: str, *, trace_id: str | None = None
    ) -> int:
        files = {"image": (filename, data, content_type)}
        resp = self._call("POST", "/image/upload", trace_id=trace_id, files=files)
        return _int_field(resp, "img_id")

    def text_to_video(
        self, *, prompt: str, model: str, quality: str, duration: int, aspect_ratio: str,
        motion_mode: str = "normal", seed: int | None = None, trace_id: str | None = None,
    ) -> int:
        body: dict[str, Any] = {
            "prompt": prompt, "model": model, "quality": quality, "duration": duration,
            "aspect_ratio": aspect_ratio, "motion_mode": motion_mode,
        }
        return self._generate("/video/text/generate", body, seed, trace_id)

    def image_to_video(
        self, *, prompt: str, img_id: int, model: str, quality: str, duration: int,
        motion_mode: str = "normal", seed: int | None = None, trace_id: str | None = None,
    ) -> int:
        body: dict[str, Any] = {
            "prompt": prompt, "img_id": img_id, "model": model, "quality": quality,
            "duration": duration, "motion_mode": motion_mode,
        }
        return self._generate("/video/img/generate", body, seed, trace_id)

    def result(self, video_id: int) -> VideoResult:
        resp = self._call("GET", f"/video/result/{int(video_id)}")
        if not isinstance(resp, dict):
            raise PixverseError(BAD_RESPONSE, f"Resp is not an object: {resp!r}", 200)
        return VideoResult.model_validate(resp)

    def balance(self) -> Balance:
        return Balance.model_validate(self._call("GET", "/account/balance") or {})

    # --- plumbing ---

    def _generate(self, path: str, body: dict[str, Any], seed: int | None, trace_id: str | None) -> int:
        if seed is not None:
            body["seed"] = seed
        body = self._generate_extra | body
        return _int_field(self._call("POST", path, trace_id=trace_id, json=body), "video_id")

    def _call(self, method: str, path: str, *, trace_id: str | None = None, **kwargs: Any) -> Any:
        """Send one logical request; retries reuse its trace id, so Pixverse dedupes them (§1)."""
        headers = {"API-KEY": self._api_key, "Ai-trace-id": trace_id or self._new_trace_id()}
        attempt = 0
        while True:
            try:
                return parse_envelope(self._send(method, path, headers, kwargs))
            except PixverseError as exc:
                metrics.provider_error("pixverse", str(exc.err_code))
                delay = self._retry_delay(exc, attempt)
                if delay is None:
                    raise
                log.warning("pixverse %s %s failed (%s); retry %d in %.1fs", method, path,
                            exc.err_code, attempt + 1, delay)
            self._sleep(delay)
            attempt += 1

    def _budget(self) -> float:
        """Seconds this client may still spend in the current invocation."""
        return deadline.remaining() - self._margin

    def _send(
        self, method: str, path: str, headers: Mapping[str, str], kwargs: dict[str, Any]
    ) -> httpx.Response:
        url = self._base + path
        budget = self._budget()
        if budget < self._min_attempt:
            raise PixverseError(NO_TIME, "no time left in this invocation for a Pixverse request", 0)
        try:
            return self._http.request(method, url, headers=headers, timeout=min(self._timeout, budget), **kwargs)
        except httpx.TransportError as exc:
            # The key travels in a header, so the exception text never carries it.
            raise PixverseError(NO_RESPONSE, f"{type(exc).__name__}: {exc}", 0) from exc

    def _retry_delay(self, exc: PixverseError, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None when the error is final."""
        if attempt >= self._max_retries:
            return None
        if exc.http_status == 429:
            wait = self._default_retry_after if exc.retry_after is None else exc.retry_after
            delay = min(wait, self._max_retry_after)
        elif exc.err_code == NO_RESPONSE or exc.err_code in self._transient:
            backoff = min(self._retry_base * 2**attempt, self._max_backoff)
            delay = backoff / 2 + self._jitter() * backoff / 2  # equal jitter spreads retry storms
        else:
            return None
        if delay + self._min_attempt > self._budget():
            log.warning("pixverse: no time left to wait %.1fs and try again; giving up", delay)
            return None  # a retry that cannot finish before the deadline is not started
        return delay
