"""The TopView simulator's memory: scenario knobs, faults, uploads, tasks, credits, calls and callbacks."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from infra.local.simulators.topview_rules import PRICES, UPLOAD_FORMATS

INIT, RUNNING, SUCCESS, FAIL = "init", "running", "success", "fail"
TERMINAL = frozenset({SUCCESS, FAIL})
MAX_RECORDS = 1000


@dataclass
class Fault:
    """One injected misbehaviour for the next `times` calls to `endpoint` ("*" = any API endpoint).
    Endpoints are paths without the leading "/v1/" ("m2v/task/submit"), plus "upload/put"."""

    kind: str  # "fail" or "delay"
    endpoint: str = "*"
    times: int = 1
    code: str | None = None
    message: str | None = None
    http_status: int | None = None
    raw: str | None = None  # a non-JSON body (e.g. a gateway's HTML page) instead of the envelope
    seconds: float = 0.0

    def matches(self, endpoint: str) -> bool:
        return self.times > 0 and self.endpoint in ("*", endpoint)


@dataclass
class Scenario:
    """Knobs settable through POST /_sim/scenario; [?] marks choices the real API leaves open."""

    # lifecycle: poll-driven unless seconds_until_done is set (then a timer finishes the task)
    polls_in_init: int = 1  # the first N queries see "init", later ones "running"
    polls_until_done: int = 2  # the query after this many finishes the task
    seconds_in_init: float = 0.0
    seconds_until_done: float | None = None
    final_status: str = SUCCESS
    fail_message: str = "Task failed, please try again"
    fail_prompts: list[str] = field(default_factory=list)  # text containing one ends the task "fail"
    stall: bool = False  # no task finishes
    failed_outputs: int = 0  # of a multi-output task, this many items fail (partial success)
    # errors
    error_http_mode: str = "ok"  # "ok": HTTP 200 + code; "status": a guessed HTTP status [?]
    auth_error_code: str = "4002"  # [?] what wrong credentials yield (OSK also knows a body code "401")
    auth_http_status: int = 200  # [?] 200-with-code or 401
    file_id_error_code: str = "4004"  # [?] unknown or not-uploaded xxxFileId (4004 or 4000)
    unknown_key_error_code: str = "4004"  # [?] a productReplaceResultKey no replace task produced
    prompt_codes: dict[str, str] = field(default_factory=dict)  # text substring -> code at submit
    magic_errors: bool = True  # "sim-error:NNNN" in a text field -> that code at submit
    max_unfinished_tasks: int | None = None  # 1 = TopView's 4007 "exists unfinished task"
    accounts: dict[str, str] = field(default_factory=dict)  # extra uid -> api key
    # uploads and URLs
    upload_formats: list[str] = field(default_factory=lambda: list(UPLOAD_FORMATS))  # OSK adds "avi" [?]
    max_upload_bytes: int = 200 * 1024 * 1024
    upload_url_ttl_seconds: float = 3600.0
    check_false_polls: int = 0  # the check answers false this many times after the PUT
    result_url_ttl_seconds: float = 7 * 24 * 3600.0  # the 7-day rule; 0 makes every URL expired
    # family details
    status_field_overrides: dict[str, str] = field(default_factory=dict)  # family -> "status"/"taskStatus"
    product_video_modes: list[str] = field(default_factory=lambda: ["lite", "pro"])  # 3P adds "avatar2" [?]
    face_existence: bool = True
    m2v_preview_count: int = 2
    m2v_duration_ms: int = 30_000
    export_task_id: str = "parent"  # [?] the export answers the M2V task id ("parent") or a new one ("new")
    export_requires_notice_url: bool = False  # [?] AFX marks noticeUrl required on export
    i2v_video_shape: str = "nested"  # [?] image2video v1 videos[]: {originVideo{filePath}} or {filePath}
    text2video_models: list[str] = field(default_factory=list)  # empty: any model (or none) accepted
    text2image_models: list[str] = field(default_factory=list)
    prices: dict[str, float] = field(default_factory=lambda: dict(PRICES))
    # callbacks [?]: retries, timeout and duplicates are undocumented upstream
    callback_delay_seconds: float = 0.0
    callback_loss: float = 0.0  # probability each delivery is dropped; 1.0 loses all
    callback_duplicates: int = 0  # extra copies of every callback (same uuid)
    callback_duplicate_delay_seconds: float = 0.05
    callback_retries: int = 0  # re-deliveries when the reply is not the documented acknowledgement
    callback_retry_seconds: float = 0.2
    callback_timeout_seconds: float = 5.0
    callback_uuid_type: str = "str"  # [?] "str" or "int"
    seed: int | None = None  # seeds the loss draws


@dataclass
class Upload:
    file_id: str
    uid: str
    format: str
    issued: float  # wall clock, for the URL's expiry
    data: bytes | None = None
    content_type: str = ""
    checks_false: int = 0


@dataclass
class Task:
    id: str
    family: str
    uid: str
    body: dict[str, Any]
    notice_url: str | None
    price: float
    count: int
    created: float  # monotonic
    final_status: str
    fail_message: str
    polls_in_init: int
    polls_until_done: int
    seconds_in_init: float
    seconds_until_done: float | None
    status: str = INIT
    polls: int = 0
    error: str | None = None
    finished_wall: float | None = None
    parent: str | None = None  # M2V export: the M2V task
    answer_id: str | None = None  # M2V export: the taskId its submit answered (and callbacks carry)
    outputs: list[str] = field(default_factory=list)  # replace keys / item names

    def due(self, now: float) -> bool:
        if self.seconds_until_done is not None:
            return now - self.created >= self.seconds_until_done
        return self.polls > self.polls_until_done

    def in_init(self, now: float) -> bool:
        if self.seconds_until_done is not None:
            return now - self.created < self.seconds_in_init
        return self.polls <= self.polls_in_init


def new_id() -> str:
    return uuid.uuid4().hex  # 32 hex, like TopView's task and file ids


class TopViewState:
    """All mutable simulator data; callers hold `lock` while they read or change it."""

    def __init__(self, uid: str, api_key: str) -> None:
        self.lock = threading.RLock()
        self.uid = uid
        self.api_key = api_key
        self.on_finish: Callable[[Task], None] = lambda task: None
        self.epoch = 0
        self.reset()

    def reset(self) -> None:
        self.epoch += 1  # callbacks scheduled before a reset are dropped
        self.scenario = Scenario()
        self.rng = random.Random()  # noqa: S311 (loss draws, not secrets)
        self.faults: list[Fault] = []
        self.uploads: dict[str, Upload] = {}
        self.tasks: dict[str, Task] = {}
        self.replace_keys: dict[str, str] = {}  # key -> uid
        self.calls: list[dict[str, Any]] = []
        self.callbacks: list[dict[str, Any]] = []
        self.balance = 10_000.0

    def apply(self, data: dict[str, Any]) -> None:
        known = {f.name for f in fields(Scenario)}
        for name, value in data.items():
            if name in known:
                self._set_knob(name, value)
            elif name == "balance":
                self.balance = float(value)
            elif name in ("fail_next", "delay_next"):
                for item in value if isinstance(value, list) else [value]:
                    self.faults.append(Fault(kind=name.removesuffix("_next"), **item))
            else:
                raise ValueError(f"unknown scenario key {name!r}")
        if "seed" in data:
            self.rng.seed(self.scenario.seed)

    def _set_knob(self, name: str, value: Any) -> None:
        current = getattr(self.scenario, name)
        numbers = (int, float) if isinstance(current, float) else type(current)
        if current is not None and value is not None and not isinstance(value, numbers):
            raise ValueError(f"scenario key {name!r} wants {type(current).__name__}, got {value!r}")
        setattr(self.scenario, name, value)

    def valid_credentials(self, uid: str | None, authorization: str | None) -> bool:
        accounts = {self.uid: self.api_key, **self.scenario.accounts}
        return bool(uid) and uid in accounts and authorization == f"Bearer {accounts[uid]}"

    def take_fault(self, kind: str, endpoint: str) -> Fault | None:
        for fault in self.faults:
            if fault.kind == kind and fault.matches(endpoint):
                fault.times -= 1
                return fault
        return None

    def record(self, entries: list[dict[str, Any]], entry: dict[str, Any]) -> None:
        entries.append(entry)
        del entries[:-MAX_RECORDS]  # a long-running local cloud must not grow without bound

    def unfinished(self, uid: str) -> int:
        return sum(1 for task in self.tasks.values() if task.uid == uid and task.status not in TERMINAL)

    def reserved(self) -> float:
        return sum(task.price for task in self.tasks.values() if task.status not in TERMINAL)

    def advance(self, task: Task, now: float, *, poll: bool) -> None:
        """Move a task along init → running → success|fail; a terminal status never changes."""
        if task.status in TERMINAL:
            return
        if poll:
            task.polls += 1
        if not self.scenario.stall and task.due(now):
            self.finish(task, task.final_status, task.fail_message)
        else:
            task.status = INIT if task.in_init(now) else RUNNING

    def finish(self, task: Task, status: str, error: str | None = None) -> None:
        if task.status in TERMINAL:
            return
        task.status, task.finished_wall = status, time.time()
        if status == SUCCESS:
            self.balance -= task.price  # "no points are deducted for failed tasks"
            if task.family == "product_replace":
                task.outputs = [new_id()]
                self.replace_keys[task.outputs[0]] = task.uid
        else:
            task.error = error or self.scenario.fail_message
        self.on_finish(task)

    def snapshot(self) -> dict[str, Any]:
        return {
            "scenario": asdict(self.scenario), "balance": self.balance,
            "uploads": [{"file_id": u.file_id, "uid": u.uid, "format": u.format, "uploaded": u.data is not None,
                         "size": len(u.data or b""), "content_type": u.content_type} for u in self.uploads.values()],
            "tasks": [_task_view(task) for task in self.tasks.values()],
            "faults": [asdict(f) for f in self.faults if f.times > 0],
            "calls": self.calls, "callbacks": self.callbacks,
        }


def _task_view(task: Task) -> dict[str, Any]:
    return {
        "id": task.id, "family": task.family, "uid": task.uid, "status": task.status, "polls": task.polls,
        "price": task.price, "notice_url": task.notice_url, "body": task.body, "parent": task.parent,
        "error": task.error,
    }
