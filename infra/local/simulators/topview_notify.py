"""The TopView simulator's timers and `noticeUrl` callbacks (contracts/topview.md §5.2, §17 "Callbacks"):
delay, loss, duplicates and retries come from the scenario; every attempt is recorded."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from infra.local.simulators.topview_state import Task, TopViewState


class Timers:
    """Run functions later on daemon threads; a reset (new state epoch) or stop() drops what is pending."""

    def __init__(self, state: TopViewState) -> None:
        self._state = state
        self._pending: set[threading.Timer] = set()
        self._guard = threading.Lock()
        self._stopped = False

    def later(self, seconds: float, fn: Callable[..., None], *args: Any) -> None:
        epoch = self._state.epoch
        timer: threading.Timer | None = None

        def run() -> None:
            with self._guard:
                self._pending.discard(timer)
            if not self._stopped and self._state.epoch == epoch:
                fn(*args)

        timer = threading.Timer(max(0.0, seconds), run)
        timer.daemon = True
        with self._guard:
            if self._stopped:
                return
            self._pending.add(timer)
        timer.start()

    def cancel_all(self) -> None:
        with self._guard:
            pending, self._pending = self._pending, set()
        for timer in pending:
            timer.cancel()

    def stop(self) -> None:
        self._stopped = True
        self.cancel_all()


@dataclass(frozen=True)
class Delivery:
    """One callback copy: where it goes, as which uid, what it says; `epoch` is the state's at scheduling."""

    url: str
    uid: str
    body: dict[str, Any]
    copy: int  # 0 = the original, 1.. = duplicates, -1 = a resend on demand
    epoch: int
    force: bool = False  # never lost


class Notifier:
    """POSTs `{uuid, bizType, taskId, status, errorMsg, result}` to a finished task's noticeUrl."""

    def __init__(self, state: TopViewState, timers: Timers, body_for: Callable[[Task], dict[str, Any]]) -> None:
        self._state = state
        self._timers = timers
        self._body_for = body_for
        self._http = httpx.Client()

    def close(self) -> None:
        self._http.close()

    def task_finished(self, task: Task) -> None:
        """Schedule the callback and its duplicates (the caller holds the state lock)."""
        if not task.notice_url:
            return
        scenario = self._state.scenario
        body = self._envelope(task)
        for copy in range(1 + max(0, scenario.callback_duplicates)):
            delay = scenario.callback_delay_seconds + copy * scenario.callback_duplicate_delay_seconds
            delivery = Delivery(task.notice_url, task.uid, body, copy, self._state.epoch)
            self._timers.later(delay, self._deliver, delivery, 0)

    def resend(self, task: Task) -> None:
        """One more delivery now, never lost: a late duplicate on demand."""
        if task.notice_url:
            delivery = Delivery(task.notice_url, task.uid, self._envelope(task), -1, self._state.epoch, force=True)
            self._timers.later(0.0, self._deliver, delivery, 0)

    def _envelope(self, task: Task) -> dict[str, Any]:
        kind = self._state.scenario.callback_uuid_type
        notice_id: str | int = random.getrandbits(62) if kind == "int" else str(uuid.uuid4())
        return {"uuid": notice_id, **self._body_for(task)}

    def _deliver(self, delivery: Delivery, attempt: int) -> None:
        body = delivery.body
        with self._state.lock:
            scenario = self._state.scenario
            lost = not delivery.force and self._state.rng.random() < scenario.callback_loss
            timeout, retries, backoff = (scenario.callback_timeout_seconds, scenario.callback_retries,
                                         scenario.callback_retry_seconds)
        entry: dict[str, Any] = {
            "uuid": body["uuid"], "task_id": body["taskId"], "biz_type": body["bizType"], "status": body["status"],
            "url": delivery.url, "copy": delivery.copy, "attempt": attempt, "lost": lost, "at": time.time(),
            "http_status": None, "reply": None, "acknowledged": False, "error": None,
        }
        if not lost:
            self._post(delivery, timeout, entry)
        with self._state.lock:
            if self._state.epoch != delivery.epoch:
                return  # the simulator was reset while this delivery was on the wire
            self._state.record(self._state.callbacks, entry)
            if not lost and not entry["acknowledged"] and attempt < retries:
                self._timers.later(backoff * 2**attempt, self._deliver, delivery, attempt + 1)

    def _post(self, delivery: Delivery, timeout: float, entry: dict[str, Any]) -> None:
        headers = {"Topview-Uid": delivery.uid}  # plus Content-Type: application/json from `json=`
        try:
            response = self._http.post(delivery.url, json=delivery.body, headers=headers, timeout=timeout)
        except httpx.HTTPError as exc:
            entry["error"] = f"{type(exc).__name__}: {exc}"
            return
        entry["http_status"] = response.status_code
        try:
            entry["reply"] = response.json()
        except ValueError:
            entry["reply"] = response.text[:200]
        entry["acknowledged"] = response.status_code == 200 and acknowledged(
            entry["reply"], delivery.body["uuid"], delivery.uid)


def acknowledged(reply: Any, notice_id: Any, uid: str) -> bool:
    """The documented reply: {"code":"200","message":"Success","result":{uuid, topviewUid, result:"success"}}."""
    if not isinstance(reply, dict) or str(reply.get("code")) != "200":
        return False
    result = reply.get("result")
    return (isinstance(result, dict) and str(result.get("uuid")) == str(notice_id)
            and result.get("topviewUid") == uid and result.get("result") == "success")
