"""TopView task families, their paths and callback biz types, and one normalized view of every
family's query result (contracts/topview.md §3, §5.3, §6, §8, §9, §11)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from reelgate.providers.topview_errors import BAD_RESPONSE, TopViewError

log = logging.getLogger(__name__)

Status = Literal["init", "running", "success", "fail"]
INIT: Status = "init"
RUNNING: Status = "running"
SUCCESS: Status = "success"
FAIL: Status = "fail"
TERMINAL = frozenset({SUCCESS, FAIL})
_STATUS_WORDS: dict[str, Status] = {
    "init": INIT, "running": RUNNING, "success": SUCCESS, "fail": FAIL, "failed": FAIL,  # OSK tolerates "failed"
}


class Family(StrEnum):
    PRODUCT_REPLACE = "product_replace"  # Product Avatar v1 Replace Product Image (§9.1)
    PRODUCT_VIDEO = "product_video"  # Product Avatar v1 image2Video (§9.2)
    M2V = "m2v"  # marketing video preview (§6.1, §6.2)
    M2V_EXPORT = "m2v_export"  # export of one M2V script (§6.3); read through the M2V query
    VIDEO_AVATAR = "video_avatar"  # §8.1, §8.2
    IMAGE2VIDEO = "image2video"  # common task v1 (§11.1): its query is `/result`
    TEXT2VIDEO = "text2video"  # common task (§11.3)
    TEXT2IMAGE = "text2image"  # common task (§11.3)


# "<family>.submit" / "<family>.query" and the other endpoints; the client accepts overrides.
DEFAULT_PATHS: dict[str, str] = {
    "upload.credential": "/v1/upload/credential",
    "upload.check": "/v1/upload/check",
    "notice.check": "/notice/notice_url/check",
    "credit.detail": "/user/credit/detail",
    "product_replace.submit": "/v1/product_avatar/task/image_replace/submit",
    "product_replace.query": "/v1/product_avatar/task/image_replace/result",
    "product_video.submit": "/v1/product_avatar/task/image2Video/submit",
    "product_video.query": "/v1/product_avatar/task/image2Video/result",
    "m2v.submit": "/v1/m2v/task/submit",
    "m2v.query": "/v1/m2v/task/query",
    "m2v_export.submit": "/v1/m2v/export",  # [conflict] a 3P README writes /v1/m2v/task/export
    "m2v_export.query": "/v1/m2v/task/query",
    "video_avatar.submit": "/v1/video_avatar/task/submit",
    "video_avatar.query": "/v1/video_avatar/task/query",
    "image2video.submit": "/v1/common_task/image2video/submit",
    "image2video.query": "/v1/common_task/image2video/result",
    "text2video.submit": "/v1/common_task/text2video/task/submit",
    "text2video.query": "/v1/common_task/text2video/task/query",
    "text2image.submit": "/v1/common_task/text2image/task/submit",
    "text2image.query": "/v1/common_task/text2image/task/query",
}

# §5.3: the NoticeBizType each family's callbacks carry (the mapping is inferred from the names [?]).
BIZ_TYPES: dict[Family, str] = {
    Family.PRODUCT_REPLACE: "PRODUCT_AVATAR_REPLACE_PRODUCT_IMAGE",
    Family.PRODUCT_VIDEO: "PRODUCT_AVATAR_IMAGE2VIDEO",
    Family.M2V: "M2V_PREVIEW",
    Family.M2V_EXPORT: "M2V_EXPORT",
    Family.VIDEO_AVATAR: "ZERO_SHOT_AVATAR",  # [?]
    Family.IMAGE2VIDEO: "COMMON_TASK_IMAGE2VIDEO",
    Family.TEXT2VIDEO: "COMMON_TASK_TEXT2VIDEO",
    Family.TEXT2IMAGE: "COMMON_TASK_TEXT2IMAGE",
}


def family_of_biz_type(biz_type: str, biz_types: Mapping[Family, str] = BIZ_TYPES) -> Family | None:
    return next((family for family, name in biz_types.items() if name == biz_type), None)


def normalize_status(value: Any) -> Status | None:
    """init/running/success/fail from TopView's word (`failed` = fail); None when absent. An unknown
    word is read as running, so a caller keeps polling until its deadline instead of failing early."""
    if value is None or value == "":
        return None
    word = _STATUS_WORDS.get(str(value).strip().lower())
    if word is None:
        log.warning("unknown TopView status %r read as running", value)
        return RUNNING
    return word


class Submitted(BaseModel):
    task_id: str
    status: Status = INIT
    error: str | None = None


class Preview(BaseModel):
    """One M2V preview or export video; `duration_ms` is TopView's `videoDuration` (milliseconds)."""

    script_id: int
    video_url: str | None = None
    cover_url: str | None = None
    duration_ms: int | None = None
    status: Status | None = None
    error: str | None = None


class ReplaceResult(BaseModel):
    key: str
    url: str | None = None
    face_existence: bool | None = None


class TaskResult(BaseModel):
    """A query (or callback) result in one shape for every family."""

    task_id: str
    status: Status
    error: str | None = None
    video_url: str | None = None
    cover_url: str | None = None
    image_url: str | None = None
    video_urls: list[str] = Field(default_factory=list)
    image_urls: list[str] = Field(default_factory=list)
    previews: list[Preview] = Field(default_factory=list)
    exports: list[Preview] = Field(default_factory=list)
    replace_results: list[ReplaceResult] = Field(default_factory=list)
    cost_credit: float | None = None
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCESS

    @property
    def replace_key(self) -> str | None:
        """The `productReplaceResultKey` for Product Avatar image2Video (the first replace result)."""
        return self.replace_results[0].key if self.replace_results else None


# --- reading result objects ---


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _previews(items: Iterable[dict[str, Any]]) -> list[Preview]:
    out: list[Preview] = []
    for item in items:
        script = _number(item.get("scriptId"))
        duration = _number(item.get("videoDuration"))
        out.append(Preview(
            script_id=int(script) if script is not None else len(out),
            video_url=_text(item.get("videoUrl")), cover_url=_text(item.get("coverUrl")),
            duration_ms=int(duration) if duration is not None else None,
            status=normalize_status(item.get("status")), error=_text(item.get("errorMsg")),
        ))
    return out


def _item_url(item: dict[str, Any]) -> str | None:
    # D-Q-22 writes `videos[originVideo.filePath]` for image2video v1 (nesting [?]); OSK reads `filePath`.
    nested = item.get("originVideo")
    if isinstance(nested, dict) and _text(nested.get("filePath")):
        return _text(nested.get("filePath"))
    return _text(item.get("filePath")) or _text(item.get("videoUrl")) or _text(item.get("url"))


def _outputs(items: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """URLs of the items that did not fail, and the error texts of those that did."""
    urls, errors = [], []
    for item in items:
        url, state = _item_url(item), normalize_status(item.get("status"))
        if state == FAIL or url is None:
            errors.append(_text(item.get("errorMsg")) or "no output")
        else:
            urls.append(url)
    return urls, errors


def normalize(family: Family | str, result: Any, *, status: Any = None, script_id: int = 0) -> TaskResult:
    """A TaskResult from a query's `result` object. `status` overrides the object's own (a callback's
    top-level status). For M2V_EXPORT the status and video are those of `script_id`'s export."""
    if not isinstance(result, dict):
        raise TopViewError(BAD_RESPONSE, f"result is not an object: {result!r:.200}")
    family = Family(family)
    task_id = result.get("taskId")
    raw_status = status if status is not None else result.get("status") or result.get("taskStatus")
    state = normalize_status(raw_status)
    if task_id in (None, "") or state is None:
        raise TopViewError(BAD_RESPONSE, f"result without taskId or status: {sorted(result)!r}")
    out = TaskResult(task_id=str(task_id), status=state, error=_text(result.get("errorMsg")),
                     cost_credit=_number(result.get("costCredit")), raw=result)
    _FILLERS[family](out, result, script_id)
    has_output = out.replace_key if family == Family.PRODUCT_REPLACE else (out.video_url or out.image_url)
    if out.status == SUCCESS and not has_output:
        # Success without anything to mirror is a failure for our callers; say which fields came.
        out.status = FAIL
        out.error = out.error or f"TopView reported success without an output (fields: {sorted(result)})"
    return out


def _fill_replace(out: TaskResult, result: dict[str, Any], _: int) -> None:
    out.replace_results = [
        ReplaceResult(key=str(item["key"]), url=_text(item.get("url")),
                      face_existence=item.get("faceExistence") if isinstance(item.get("faceExistence"), bool) else None)
        for item in _dicts(result.get("productReplaceResult")) if item.get("key") not in (None, "")
    ]
    urls = [r.url for r in out.replace_results if r.url]
    out.image_url, out.image_urls = (urls[0] if urls else None), urls


def _fill_product_video(out: TaskResult, result: dict[str, Any], _: int) -> None:
    # D-Q-12: `finishedVideoUrl` is permanent, `previewVideoUrl` temporary; prefer the former.
    out.video_url = _text(result.get("finishedVideoUrl")) or _text(result.get("previewVideoUrl"))
    out.video_urls = [out.video_url] if out.video_url else []
    out.cover_url = _text(result.get("coverUrl"))


def _fill_m2v(out: TaskResult, result: dict[str, Any], _: int) -> None:
    out.previews = _previews(_dicts(result.get("previewVideos")))
    out.exports = _previews(_dicts(result.get("exportVideos")))
    usable = [p for p in out.previews if p.video_url and p.status != FAIL]
    if usable:
        out.video_url, out.cover_url = usable[0].video_url, usable[0].cover_url
        out.video_urls = [p.video_url for p in usable if p.video_url]


def _fill_m2v_export(out: TaskResult, result: dict[str, Any], script_id: int) -> None:
    _fill_m2v(out, result, script_id)
    mine = next((e for e in out.exports if e.script_id == script_id), None)
    out.video_url = out.cover_url = None
    out.video_urls = []
    if out.status == FAIL:
        return
    if mine is None:  # the export is not listed yet
        out.status = RUNNING
        return
    out.status = mine.status or (SUCCESS if mine.video_url else RUNNING)
    out.error = mine.error
    if out.status == SUCCESS:
        out.video_url, out.cover_url = mine.video_url, mine.cover_url
        out.video_urls = [mine.video_url] if mine.video_url else []


def _fill_video_avatar(out: TaskResult, result: dict[str, Any], _: int) -> None:
    out.video_url = _text(result.get("outputVideoUrl"))
    out.video_urls = [out.video_url] if out.video_url else []
    out.cover_url = _text(result.get("coverUrl"))


def _fill_videos(out: TaskResult, result: dict[str, Any], _: int) -> None:
    urls, errors = _outputs(_dicts(result.get("videos")))
    out.video_urls, out.video_url = urls, (urls[0] if urls else None)
    if not urls and errors:
        out.error = out.error or "; ".join(errors)


def _fill_images(out: TaskResult, result: dict[str, Any], _: int) -> None:
    urls, errors = _outputs(_dicts(result.get("images")))
    out.image_urls, out.image_url = urls, (urls[0] if urls else None)
    if not urls and errors:
        out.error = out.error or "; ".join(errors)


_FILLERS = {
    Family.PRODUCT_REPLACE: _fill_replace,
    Family.PRODUCT_VIDEO: _fill_product_video,
    Family.M2V: _fill_m2v,
    Family.M2V_EXPORT: _fill_m2v_export,
    Family.VIDEO_AVATAR: _fill_video_avatar,
    Family.IMAGE2VIDEO: _fill_videos,
    Family.TEXT2VIDEO: _fill_videos,
    Family.TEXT2IMAGE: _fill_images,
}


def submitted(result: Any, *, fallback_task_id: str | None = None) -> Submitted:
    """`result {taskId, status, errorMsg}` of a submit (§3). The M2V export's answer is not
    documented [?]: without a taskId it is tracked by the M2V task id (`fallback_task_id`)."""
    task_id = result.get("taskId") if isinstance(result, dict) else None
    if task_id in (None, "") or isinstance(task_id, bool):
        if fallback_task_id is None:
            raise TopViewError(BAD_RESPONSE, f"submit answered no taskId: {result!r:.200}")
        task_id = fallback_task_id
    body = result if isinstance(result, dict) else {}
    return Submitted(task_id=str(task_id), status=normalize_status(body.get("status")) or INIT,
                     error=_text(body.get("errorMsg")))
