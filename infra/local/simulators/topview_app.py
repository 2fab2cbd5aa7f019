"""The TopView simulator's API endpoints (contracts/topview.md §4, §6, §8, §9, §11, §13) and the
query-result objects that queries and callbacks share."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request

from infra.local.simulators._server import read_json
from infra.local.simulators.topview_rules import (
    AI_AVATARS,
    CAPTIONS,
    CATEGORIES,
    ETHNICITIES,
    FAMILIES,
    PRICED_PER_OUTPUT,
    PRODUCT_AVATARS,
    TEXT_FIELDS,
    VOICES,
    SimError,
    body_object,
    check_text_codes,
    need,
    page,
    validate_image2video,
    validate_m2v,
    validate_product_replace,
    validate_product_video,
    validate_text2image,
    validate_text2video,
    validate_video_avatar,
)
from infra.local.simulators.topview_state import FAIL, INIT, SUCCESS, TERMINAL, Task, TopViewState, Upload, new_id

Handler = Callable[[Request, str], Any]
SAMPLE_SIZE = (320, 180)  # sample.mp4 and the served jpg


class TopViewApi:
    """Endpoint logic; `files_base()` is the root URL that serves uploads and results."""

    def __init__(self, state: TopViewState, files_base: Callable[[], str],
                 on_create: Callable[[Task], None]) -> None:
        self.state = state
        self._files_base = files_base
        self._on_create = on_create
        self.routes: dict[tuple[str, str], Handler] = {
            ("GET", "/v1/upload/credential"): self.credential,
            ("GET", "/v1/upload/check"): self.check,
            ("POST", "/notice/notice_url/check"): self.notice_check,
            ("GET", "/user/credit/detail"): self.credit,
            ("POST", FAMILIES["m2v_export"].submit): self.export,
            ("GET", "/v1/aiavatar/query"): lambda r, u: page(AI_AVATARS, r.args),
            ("GET", "/v1/voice/query"): lambda r, u: page(VOICES, r.args),
            ("GET", "/v1/product_avatar/public_avatar/query"): lambda r, u: page(PRODUCT_AVATARS, r.args),
            ("GET", "/v1/caption/list"): lambda r, u: CAPTIONS,
            ("GET", "/v1/product_avatar/category/list"): lambda r, u: CATEGORIES,
            ("GET", "/v1/ethnicity/list"): lambda r, u: ETHNICITIES,
        }
        for spec in FAMILIES.values():
            if spec.name != "m2v_export":
                self.routes[("POST", spec.submit)] = self._submitter(spec.name)
            if spec.query is not None:
                self.routes[("GET", spec.query)] = self._querier(spec.name)

    # --- uploads (§4) ---

    def credential(self, request: Request, uid: str) -> dict[str, Any]:
        fmt = str(request.args.get("format") or "").lower()
        if not fmt:
            raise SimError("4003", "format cannot be null")
        if fmt not in self.state.scenario.upload_formats:
            raise SimError("4000", f"format {fmt} is not supported")
        upload = Upload(new_id(), uid, fmt, time.time())
        self.state.uploads[upload.file_id] = upload
        ttl = self.state.scenario.upload_url_ttl_seconds
        url = f"{self._files_base()}/upload/{upload.file_id}.{fmt}?{_signed_query(upload.issued, ttl)}"
        return {"fileId": upload.file_id, "uploadUrl": url, "fileName": f"{upload.file_id}.{fmt}", "format": fmt}

    def check(self, request: Request, uid: str) -> bool:
        upload = self.state.uploads.get(str(request.args.get("fileId") or ""))
        if upload is None or upload.uid != uid:
            raise SimError("4004")
        if upload.data is None:
            return False
        if upload.checks_false > 0:
            upload.checks_false -= 1
            return False
        return True

    def check_file(self, uid: str) -> Callable[[str, Any], None]:
        def check(name: str, file_id: Any) -> None:
            upload = self.state.uploads.get(file_id) if isinstance(file_id, str) else None
            if upload is None or upload.uid != uid or upload.data is None:
                raise SimError(self.state.scenario.file_id_error_code, f"{name} {file_id!r} is not an uploaded file")
        return check

    # --- submits ---

    def _submitter(self, family: str) -> Handler:
        def submit(request: Request, uid: str) -> dict[str, Any]:
            body = self._submit_body(request)
            count = self._validate(family, body, uid)
            task = self._create(family, uid, body, count)
            return {"taskId": task.id, "status": INIT, "errorMsg": None}
        return submit

    def _submit_body(self, request: Request) -> dict[str, Any]:
        body = body_object(read_json(request))
        notice = body.get("noticeUrl")
        if notice is not None and not isinstance(notice, str):
            raise SimError("4001", "noticeUrl must be a string")
        check_text_codes(body, self.state.scenario.prompt_codes, self.state.scenario.magic_errors)
        return body

    def _validate(self, family: str, body: dict[str, Any], uid: str) -> int:
        """Raise SimError for the first problem; return the number of outputs the task will have."""
        scenario, check = self.state.scenario, self.check_file(uid)
        if family == "product_video":
            validate_product_video(body, scenario.product_video_modes)
            if self.state.replace_keys.get(body["productReplaceResultKey"]) != uid:
                raise SimError(scenario.unknown_key_error_code, "productReplaceResultKey is not a replace result")
            return 1
        if family == "m2v":
            validate_m2v(body, check)
            return max(1, scenario.m2v_preview_count)
        validators: dict[str, Callable[[], int]] = {
            "product_replace": lambda: validate_product_replace(body, check),
            "video_avatar": lambda: validate_video_avatar(body, check),
            "image2video": lambda: validate_image2video(body, check),
            "text2video": lambda: validate_text2video(body, scenario.text2video_models),
            "text2image": lambda: validate_text2image(body, scenario.text2image_models),
        }
        return validators[family]()

    def _create(self, family: str, uid: str, body: dict[str, Any], count: int, parent: str | None = None) -> Task:
        state, scenario = self.state, self.state.scenario
        if scenario.max_unfinished_tasks is not None and state.unfinished(uid) >= scenario.max_unfinished_tasks:
            raise SimError("4007")
        price = scenario.prices.get(family, 0.0) * (count if family in PRICED_PER_OUTPUT else 1)
        if state.balance - state.reserved() < price:
            raise SimError("4100")
        texts = " ".join(str(body.get(name) or "") for name in TEXT_FIELDS).lower()
        moderated = any(word.lower() in texts for word in scenario.fail_prompts)
        task = Task(
            id=new_id(), family=family, uid=uid, body=body, notice_url=body.get("noticeUrl") or None,
            price=price, count=count, created=time.monotonic(),
            final_status=FAIL if moderated else scenario.final_status,
            fail_message="Content moderation failed" if moderated else scenario.fail_message,
            polls_in_init=scenario.polls_in_init, polls_until_done=scenario.polls_until_done,
            seconds_in_init=scenario.seconds_in_init, seconds_until_done=scenario.seconds_until_done, parent=parent,
        )
        state.tasks[task.id] = task
        self._on_create(task)
        return task

    def export(self, request: Request, uid: str) -> dict[str, Any]:
        body, scenario = self._submit_body(request), self.state.scenario
        parent = self.state.tasks.get(str(need(body, "taskId")))
        if parent is None or parent.family != "m2v" or parent.uid != uid:
            raise SimError("4004", "taskId not found")
        if parent.status != SUCCESS:
            raise SimError("4000", "Only supports status=success tasks")
        script = body.get("scriptId", 0)
        if isinstance(script, bool) or not isinstance(script, int) or not 0 <= script < parent.count:
            raise SimError("4000", f"scriptId {script!r} is not a preview of this task")
        if scenario.export_requires_notice_url and not body.get("noticeUrl"):
            raise SimError("4003", "noticeUrl cannot be null")
        task = self._create("m2v_export", uid, {**body, "scriptId": script}, 1, parent=parent.id)
        task.answer_id = parent.id if scenario.export_task_id == "parent" else task.id
        return {"taskId": task.answer_id, "status": INIT, "errorMsg": None}

    # --- queries ---

    def _querier(self, family: str) -> Handler:
        def query(request: Request, uid: str) -> dict[str, Any]:
            task = self.state.tasks.get(str(request.args.get("taskId") or ""))
            if task is not None and task.family == "m2v_export" and family == "m2v":
                task = self.state.tasks.get(task.parent or "")  # an export's own id reads its M2V task
            if task is None or task.family != family or task.uid != uid:
                raise SimError("4004", "task not found")
            now = time.monotonic()
            self.state.advance(task, now, poll=True)
            for export in self.exports_of(task):
                self.state.advance(export, now, poll=True)
            return self.view(task, cloudfront=request.args.get("needCloudFrontUrl") == "true")
        return query

    def exports_of(self, task: Task) -> list[Task]:
        return [t for t in self.state.tasks.values() if t.family == "m2v_export" and t.parent == task.id]

    # --- result objects (the same for queries and callbacks) ---

    def view(self, task: Task, *, cloudfront: bool = False) -> dict[str, Any]:
        scenario, done = self.state.scenario, task.status == SUCCESS
        status_field = scenario.status_field_overrides.get(task.family, FAMILIES[task.family].status_field)
        out: dict[str, Any] = {"taskId": task.id, status_field: task.status, "errorMsg": task.error}
        url = lambda name, owner=task: self.file_url(owner, name, cloudfront)  # noqa: E731
        if task.family == "product_replace":
            out["productReplaceResult"] = [
                {"key": key, "url": url("replace-0.jpg"), "faceExistence": scenario.face_existence}
                for key in task.outputs
            ] if done else []
        elif task.family == "product_video":
            out["previewVideoUrl"] = url("preview.mp4") if done else None
            out["finishedVideoUrl"] = url("finished.mp4") if done else None
        elif task.family == "m2v":
            out.update(self._m2v_view(task, url))
        elif task.family == "video_avatar":
            out.update(inputVideoFileId=task.body.get("videoFileId"), inputAudioFileId=task.body.get("audioFileId"),
                       outputVideoUrl=url("output.mp4") if done else None)
        else:
            out.update(self._items_view(task, url))
        return out

    def _m2v_view(self, task: Task, url: Callable[..., str]) -> dict[str, Any]:
        done = task.status == SUCCESS
        previews = [self._script(task, i, url(f"preview-{i}.mp4"), url(f"preview-{i}.jpg"), "success")
                    for i in range(task.count)] if done else []
        exports = []
        for export in self.exports_of(task):
            script, ok = export.body["scriptId"], export.status == SUCCESS
            item = self._script(task, script, url(f"export-{script}.mp4", export) if ok else None,
                                url(f"export-{script}.jpg", export) if ok else None, export.status)
            exports.append({**item, "taskId": export.answer_id, "errorMsg": export.error})
        return {
            "productName": task.body.get("productName") or "Simulated product",
            "productDescription": task.body.get("productDescription") or "",
            "previewVideos": previews, "exportVideos": exports, "videoSceneInfoList": [], "imageSceneInfoList": [],
        }

    def _script(self, task: Task, script: int, video: str | None, cover: str | None, status: str) -> dict[str, Any]:
        return {
            "scriptId": script, "status": status, "title": f"Script {script}", "description": "simulated script",
            "videoUrl": video, "coverUrl": cover, "videoDuration": self.state.scenario.m2v_duration_ms,
            "videoEtag": hashlib.md5(f"{task.id}/{script}".encode(), usedforsecurity=False).hexdigest(),
        }

    def _items_view(self, task: Task, url: Callable[..., str]) -> dict[str, Any]:
        scenario, done = self.state.scenario, task.status == SUCCESS
        width, height = SAMPLE_SIZE
        items = []
        for i in range(task.count if done else 0):
            failed = i < scenario.failed_outputs
            path = None if failed else url(f"image-{i}.jpg" if task.family == "text2image" else f"video-{i}.mp4")
            item: dict[str, Any] = {"status": FAIL if failed else SUCCESS,
                                    "errorMsg": "output failed" if failed else None}
            if task.family == "text2image":
                item.update(filePath=path, width=width, height=height)
            elif task.family == "image2video" and scenario.i2v_video_shape == "nested":
                item["originVideo"] = {"filePath": path, "width": width, "height": height}
            else:
                item["filePath"] = path
            items.append(item)
        out: dict[str, Any] = {"images" if task.family == "text2image" else "videos": items,
                               "costCredit": task.price if done else 0.0}
        if task.family != "image2video":
            out["boardTaskId"] = task.id
        return out

    def file_url(self, task: Task, name: str, cloudfront: bool) -> str:
        if cloudfront:
            return f"{self._files_base()}/cdn/{task.id}/{name}"
        signed = _signed_query(task.finished_wall or time.time(), self.state.scenario.result_url_ttl_seconds)
        return f"{self._files_base()}/aigc/{task.id}/{name}?{signed}"

    # --- other endpoints ---

    def notice_check(self, request: Request, uid: str) -> bool:
        body = body_object(read_json(request))
        url = need(body, "noticeUrl")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise SimError("4000", "noticeUrl is not a valid URL")
        return True

    def credit(self, request: Request, uid: str) -> dict[str, Any]:
        return {"uid": uid, "remainCredit": round(self.state.balance, 4), "expiredTime": None, "apiKeyMap": {}}

    def callback_body(self, task: Task) -> dict[str, Any]:
        """uuid/bizType/taskId/status/errorMsg/result; `result` is the query's object (§5.2)."""
        assert task.status in TERMINAL
        shown = self.state.tasks[task.parent] if task.parent else task
        return {
            "bizType": FAMILIES[task.family].biz_type, "taskId": task.answer_id or task.id,
            "status": task.status, "errorMsg": task.error, "result": self.view(shown),
        }


def _signed_query(issued: float, ttl: float) -> str:
    # Looks like a pre-signed S3 URL; the simulator checks only the date and expiry.
    signature = hashlib.sha256(f"{issued}".encode()).hexdigest()
    return f"X-Amz-Date={issued:.3f}&X-Amz-Expires={ttl:g}&X-Amz-Signature={signature}"
