"""TopView's `noticeUrl` callbacks (contracts/topview.md §5.2): validation of what arrives and the
documented reply. Whether the task is one we wait for is the caller's check (the job store)."""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reelgate.providers.topview_results import (
    BIZ_TYPES,
    FAIL,
    SUCCESS,
    Family,
    Status,
    TaskResult,
    family_of_biz_type,
    normalize,
    normalize_status,
)

MAX_BODY_BYTES = 1_000_000


class CallbackError(ValueError):
    """A callback we must not act on; `status` is the HTTP status to answer it with."""

    status = 400


class CallbackMalformed(CallbackError):
    """Not the documented body: no JSON object, or a field missing or of the wrong kind."""


class CallbackForged(CallbackError):
    """The `Topview-Uid` header is missing or is not our uid."""

    status = 403


@dataclass(frozen=True)
class Notice:
    """One parsed callback. `result` is the raw query-result object TopView attached (may be empty)."""

    task_id: str
    biz_type: str
    status: Status  # success or fail (the only values a callback carries)
    result: dict[str, Any] = field(repr=False)
    uuid: str
    error: str | None = None
    family: Family | None = None

    def task(self, family: Family | str | None = None, *, script_id: int = 0) -> TaskResult:
        """The attached result normalized like a query's; the callback's own status is authoritative."""
        chosen = family or self.family
        if chosen is None:
            raise CallbackMalformed(f"unknown bizType {self.biz_type!r}; name the family")
        body = {"taskId": self.task_id, **self.result}
        if self.error and not body.get("errorMsg"):
            body["errorMsg"] = self.error
        return normalize(chosen, body, status=self.status, script_id=script_id)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def _load(body: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(body, Mapping):
        return dict(body)
    if len(body) > MAX_BODY_BYTES:
        raise CallbackMalformed("callback body too large")
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise CallbackMalformed("callback body is not JSON") from exc
    if not isinstance(data, dict):
        raise CallbackMalformed("callback body is not a JSON object")
    return data


def _id_text(data: dict[str, Any], name: str) -> str:
    # `uuid`'s JSON type is not stated (§16.7): accept a string or an integer, keep it as text.
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise CallbackMalformed(f"callback field {name!r} missing or not a string")
    return str(value)


def _result_object(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):  # tolerated: a result sent as a JSON string
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise CallbackMalformed("callback 'result' is not a JSON object") from exc
    if not isinstance(value, dict):
        raise CallbackMalformed("callback 'result' is not a JSON object")
    return value


def parse_callback(
    body: bytes | str | Mapping[str, Any], headers: Mapping[str, str], *, uid: str,
    biz_types: Mapping[Family, str] = BIZ_TYPES,
) -> Notice:
    """Validate a callback (headers checked first, so a forged call learns nothing about the body)."""
    sender = _header(headers, "Topview-Uid")
    if not sender or not hmac.compare_digest(sender.encode(), uid.encode()):
        raise CallbackForged("Topview-Uid does not match")
    data = _load(body)
    biz_type = data.get("bizType")
    if not isinstance(biz_type, str) or not biz_type:
        raise CallbackMalformed("callback field 'bizType' missing or not a string")
    status = normalize_status(data.get("status")) if isinstance(data.get("status"), str) else None
    if status not in (SUCCESS, FAIL):
        raise CallbackMalformed(f"callback status {data.get('status')!r} is not success or fail")
    error = data.get("errorMsg")
    if error is not None and not isinstance(error, str):
        raise CallbackMalformed("callback field 'errorMsg' is not a string")
    return Notice(
        task_id=_id_text(data, "taskId"), biz_type=biz_type, status=status,
        result=_result_object(data.get("result")), uuid=_id_text(data, "uuid"), error=error or None,
        family=family_of_biz_type(biz_type, biz_types),
    )


def callback_reply(uuid: str, uid: str, *, accepted: bool = True) -> dict[str, Any]:
    """The reply TopView documents: `{"code":"200","message":"Success","result":{uuid, topviewUid, result}}`."""
    return {
        "code": "200", "message": "Success",
        "result": {"uuid": uuid, "topviewUid": uid, "result": "success" if accepted else "fail"},
    }
