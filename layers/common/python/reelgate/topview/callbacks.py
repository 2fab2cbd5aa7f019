"""POST /callbacks/topview: TopView's `noticeUrl` callbacks resume the flows waiting for their task.

A callback is genuine only if its `Topview-Uid` is our account's (else 403) and its task is one a job
followed (else 404); only then it gets TopView's documented reply. It never changes a job itself: it
counts a notice and resumes the waiting flows, whose next step re-reads the task from TopView. So a
duplicated, late or forged callback changes nothing; at worst a flow looks once more. The path is
one DynamoDB update, then per waiting flow one SendTaskSuccess and one update (so that flow's next
wait does not resume again for the same notice): well within a second.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reelgate.flows import resume
from reelgate.observability import follow, logger
from reelgate.providers.topview import CallbackError, CallbackForged, callback_reply, parse_callback
from reelgate.settings import Settings
from reelgate.waits import TaskWaits


def refusal(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"code": code, "message": message, "result": None}


class Callbacks:
    def __init__(self, *, waits: TaskWaits, sfn: Any, settings: Settings) -> None:
        self._waits, self._sfn, self._settings = waits, sfn, settings

    def receive(self, body: bytes, headers: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        uid = self._settings.topview_uid
        try:
            if not uid:
                raise CallbackForged("no TopView uid is configured")
            notice = parse_callback(body, headers, uid=uid)
        except CallbackForged:
            logger.warning("TopView callback refused: sender")
            return refusal(403, "4002", "this callback is not from our TopView account")
        except CallbackError as exc:
            logger.warning("TopView callback refused: body", extra={"reason": str(exc)})
            return refusal(400, "4000", f"malformed callback: {exc}")
        woken = self._waits.notify(notice.task_id)
        if woken is None:
            logger.warning("TopView callback for a task no job follows", extra={"task_id": notice.task_id})
            return refusal(404, "4004", "no job follows this task")
        resumed = 0
        for job_id, token in woken.waiters.items():
            follow(job_id)
            if resume(self._sfn, token, {"task_id": notice.task_id, "status": notice.status}):
                resumed += 1
                self._waits.delivered(notice.task_id, job_id, woken.notices)
        logger.info("TopView callback", extra={"task_id": notice.task_id, "biz_type": notice.biz_type,
                                               "status": notice.status, "notices": woken.notices,
                                               "resumed": resumed})
        return 200, callback_reply(notice.uuid, uid)
