"""The Pixverse simulator's memory: scenario knobs, faults, images, jobs, credits, calls seen."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from infra.local.simulators.pixverse_rules import ImageInfo

ID_BASE = 2**60  # ids above 2**53 catch any client that parses JSON numbers as floats (§1)
GENERATING, SUCCESS, DELETED, MODERATED, FAILED = 5, 1, 6, 7, 8
TERMINAL = frozenset({SUCCESS, DELETED, MODERATED, FAILED})
MAX_CALLS = 1000


@dataclass
class Fault:
    """One injected misbehaviour for the next `times` calls to `endpoint` ("*" = any API endpoint)."""

    kind: str  # "fail", "rate_limit", "delay" or "download" (a finished video's file)
    endpoint: str = "*"
    times: int = 1
    code: int | None = None
    http_status: int | None = None
    raw: str | None = None  # a non-JSON body instead of the envelope
    retry_after: float | None = None
    seconds: float = 0.0
    content_type: str | None = None  # "download": answer 200 with this type instead of the video

    def matches(self, endpoint: str) -> bool:
        return self.times > 0 and self.endpoint in ("*", endpoint)


@dataclass
class Scenario:
    """Knobs settable through POST /_sim/scenario (see README-like notes in pixverse.py)."""

    polls_until_done: int = 2
    seconds_until_done: float | None = None  # when set, time (not polls) finishes a job
    final_status: int = SUCCESS
    stall: bool = False  # every unfinished job stays in status 5
    stuck_on_reused_trace: bool = False  # a trace id reused for a different body never completes
    error_http_mode: str = "ok"  # "ok": HTTP 200 + ErrCode; "status": HTTP 4xx/5xx + ErrCode
    auth_error_code: int = 400012  # [UNVERIFIED] what a missing/wrong API-KEY yields
    api_keys: list[str] = field(default_factory=list)  # extra keys, each with its own concurrency
    moderated_prompts: list[str] = field(default_factory=list)
    moderated_images: list[str] = field(default_factory=list)  # filename substrings -> 500054
    image_moderation_at: str = "upload"  # or "submit" (I2V)
    concurrency_limit: int = 5
    concurrency_release_seconds: float = 600.0
    long_clips: bool = False  # v6/c1 accept 10 and 15 s
    max_image_bytes: int = 20 * 1024 * 1024
    max_image_side: int = 4000  # the error table says 4000, the I2V guide 10000
    min_image_side: int = 1
    activated_templates: list[int] = field(default_factory=list)
    sd_only_templates: list[int] = field(default_factory=list)
    effects_remaining: int | None = None
    min_poll_interval: float = 0.0  # > 0 records polls that come faster than this
    # Webhooks (§8): where finished videos are announced (as if registered in the console), the secret
    # key that signs them, how the signed pairs are ordered [UNVERIFIED], a generate-body field that
    # carries a per-request URL instead [UNVERIFIED], and the delays of the retries after the first attempt.
    webhook_url: str | None = None
    webhook_secret: str = ""
    webhook_order: str = "body"  # or "sorted"
    webhook_request_field: str | None = None
    webhook_retry_seconds: list[float] = field(default_factory=lambda: [2, 10, 30, 60, 300, 900, 3600, 14400])


@dataclass
class Job:
    id: int
    api_key: str
    trace_id: str
    body: dict[str, Any]
    credits: int
    width: int
    height: int
    final_status: int
    polls_until_done: int
    seconds_until_done: float | None
    created: float
    created_wall: float
    modified_wall: float
    status: int = GENERATING
    polls: int = 0
    stuck: bool = False
    last_poll: float | None = None
    webhook_url: str | None = None  # from the generate body's webhook field, when the scenario names one

    def due(self, now: float) -> bool:
        if self.seconds_until_done is not None:
            return now - self.created >= self.seconds_until_done
        return self.polls > self.polls_until_done


@dataclass
class Image:
    id: int
    api_key: str
    filename: str
    info: ImageInfo | None
    moderated: bool
    data: bytes = b""
    mimetype: str = ""


@dataclass
class Replay:
    path: str
    body: Any
    resp: dict[str, Any]


class PixverseState:
    """All mutable simulator data; callers hold `lock` while they read or change it."""

    def __init__(self, api_key: str) -> None:
        self.lock = threading.RLock()
        self.api_key = api_key
        self.on_finish: Callable[[Job], None] | None = None  # the webhook sender (called under the lock)
        self.reset()

    def reset(self) -> None:
        self.scenario = Scenario()
        self.faults: list[Fault] = []
        self.images: dict[int, Image] = {}
        self.jobs: dict[int, Job] = {}
        self.replays: dict[tuple[str, str], Replay] = {}
        self.calls: list[dict[str, Any]] = []
        self.poll_violations: list[dict[str, Any]] = []
        self.webhooks: list[dict[str, Any]] = []  # every delivery attempt
        self.credit_monthly = 100_000
        self.credit_package = 0
        self.next_id = ID_BASE + 1

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def valid_key(self, key: str | None) -> bool:
        return bool(key) and (key == self.api_key or key in self.scenario.api_keys)

    def apply(self, data: dict[str, Any]) -> None:
        """Merge scenario JSON: known Scenario fields, balance, and fault lists."""
        known = {f.name for f in fields(Scenario)}
        for name, value in data.items():
            if name in known:
                self._set_knob(name, value)
            elif name == "balance":
                self.credit_monthly, self.credit_package = int(value), 0
            elif name == "credit_package":
                self.credit_package = int(value)
            elif name in ("fail_next", "rate_limit_next", "delay_next", "download_next"):
                self._add_faults(name.removesuffix("_next"), value)
            else:
                raise ValueError(f"unknown scenario key {name!r}")

    def _set_knob(self, name: str, value: Any) -> None:
        current = getattr(self.scenario, name)
        numbers = (int, float) if isinstance(current, float) else type(current)
        if current is not None and value is not None and not isinstance(value, numbers):
            raise ValueError(f"scenario key {name!r} wants {type(current).__name__}, got {value!r}")
        setattr(self.scenario, name, value)

    def record(self, call: dict[str, Any]) -> None:
        self.calls.append(call)
        del self.calls[:-MAX_CALLS]  # a long-running local cloud must not grow without bound

    def _add_faults(self, kind: str, value: Any) -> None:
        for item in value if isinstance(value, list) else [value]:
            self.faults.append(Fault(kind=kind, **item))

    def take_fault(self, kind: str, endpoint: str) -> Fault | None:
        for fault in self.faults:
            if fault.kind == kind and fault.matches(endpoint):
                fault.times -= 1
                return fault
        return None

    def debit(self, credits: int) -> bool:
        if self.credit_monthly + self.credit_package < credits:
            return False
        from_monthly = min(self.credit_monthly, credits)
        self.credit_monthly -= from_monthly
        self.credit_package -= credits - from_monthly
        return True

    def generating(self, api_key: str, now: float) -> int:
        """Jobs holding a concurrency slot: still in status 5 and younger than the release time."""
        release = self.scenario.concurrency_release_seconds
        return sum(
            1 for job in self.jobs.values()
            if job.api_key == api_key and job.status == GENERATING and now - job.created < release
        )

    def advance(self, job: Job, now: float, *, poll: bool) -> None:
        """Move a job toward its final status; a terminal status never changes again (§4)."""
        if job.status in TERMINAL:
            return
        if poll:
            job.polls += 1
        if job.stuck or self.scenario.stall or not job.due(now):
            return
        self.finish(job, job.final_status)

    def finish(self, job: Job, status: int) -> None:
        if job.status in TERMINAL:
            return
        job.status, job.modified_wall = status, time.time()
        if status == MODERATED:  # "credits used for filtered videos will be automatically refunded"
            self.credit_monthly += job.credits
        if self.on_finish is not None:
            self.on_finish(job)

    def snapshot(self) -> dict[str, Any]:
        return {
            "scenario": asdict(self.scenario),
            "balance": {"credit_monthly": self.credit_monthly, "credit_package": self.credit_package},
            "jobs": [_job_view(job) for job in self.jobs.values()],
            "images": [{"id": i.id, "filename": i.filename} for i in self.images.values()],
            "faults": [asdict(f) for f in self.faults if f.times > 0],
            "calls": self.calls,
            "poll_violations": self.poll_violations,
            "webhooks": self.webhooks,
        }


def _job_view(job: Job) -> dict[str, Any]:
    return {
        "id": job.id, "status": job.status, "polls": job.polls, "credits": job.credits,
        "trace_id": job.trace_id, "api_key": job.api_key, "stuck": job.stuck, "body": job.body,
    }
