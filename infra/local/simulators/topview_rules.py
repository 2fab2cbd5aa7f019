"""TopView request rules for the simulator (contracts/topview.md §2, §4, §6, §8, §9, §11, §17):
error codes, per-family validation, prices and the lookup fixtures."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MESSAGES = {
    "4000": "Request parameter error", "4001": "Request data format does not match!",
    "4002": "Request digital signature does not match!", "4003": "Required parameter cannot be null",
    "4004": "Resource not found!", "4005": "Name duplicated", "4006": "Request refuse",
    "4007": "Exists unfinished task, please wait until the previous task is completed.",
    "4100": "Credit not enough", "5000": "Internal server error!", "5001": "Feign invoke error",
    "5003": "Server is busy, please try again later!", "5004": "I/O error occurred",
    "5005": "Unknown error occurred", "6001": "Security problem detect",
}
UPLOAD_FORMATS = ("mp4", "mov", "png", "jpg", "jpeg", "bmp", "webp", "mp3", "wav", "m4a")
ASPECT_RATIOS = frozenset({"9:16", "3:4", "1:1", "4:3", "16:9"})
I2V_MODES = frozenset({"lite", "pro", "plus", "best"})
MAGIC_ERROR = re.compile(r"sim-error:(\d{3,4})")  # a text field carrying it gets that code at submit
TEXT_FIELDS = ("prompt", "imageEditPrompt", "image2videoPrompt", "ttsText", "productName", "productDescription")


class SimError(Exception):
    """A TopView `code` the simulator answers with (`result: null`)."""

    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(message or MESSAGES.get(code, "error"))
        self.code = code
        self.message = message or MESSAGES.get(code, "error")


def status_mode_http(code: str) -> int:
    """HTTP status of an error in "status" mode: a [UNVERIFIED] guess, the real one is undocumented."""
    special = {"4002": 401, "4004": 404, "4007": 429, "4100": 402, "4006": 403, "6001": 403, "5003": 503}
    if code in special:
        return special[code]
    return 400 if code.startswith("4") else 500


@dataclass(frozen=True)
class FamilySpec:
    name: str
    submit: str  # path after the base URL
    query: str | None  # None: followed through another family's query (M2V export)
    biz_type: str
    status_field: str = "status"


FAMILIES = {
    spec.name: spec for spec in (
        FamilySpec("product_replace", "/v1/product_avatar/task/image_replace/submit",
                   "/v1/product_avatar/task/image_replace/result", "PRODUCT_AVATAR_REPLACE_PRODUCT_IMAGE",
                   "taskStatus"),
        FamilySpec("product_video", "/v1/product_avatar/task/image2Video/submit",
                   "/v1/product_avatar/task/image2Video/result", "PRODUCT_AVATAR_IMAGE2VIDEO", "taskStatus"),
        FamilySpec("m2v", "/v1/m2v/task/submit", "/v1/m2v/task/query", "M2V_PREVIEW"),
        FamilySpec("m2v_export", "/v1/m2v/export", None, "M2V_EXPORT"),
        FamilySpec("video_avatar", "/v1/video_avatar/task/submit", "/v1/video_avatar/task/query",
                   "ZERO_SHOT_AVATAR"),
        FamilySpec("image2video", "/v1/common_task/image2video/submit", "/v1/common_task/image2video/result",
                   "COMMON_TASK_IMAGE2VIDEO"),
        FamilySpec("text2video", "/v1/common_task/text2video/task/submit",
                   "/v1/common_task/text2video/task/query", "COMMON_TASK_TEXT2VIDEO"),
        FamilySpec("text2image", "/v1/common_task/text2image/task/submit",
                   "/v1/common_task/text2image/task/query", "COMMON_TASK_TEXT2IMAGE"),
    )
}
# Credits per task, or per output for PRICED_PER_OUTPUT (a guess: the official docs publish no per-feature prices, §14).
PRICES = {
    "product_replace": 0.5, "product_video": 1.0, "m2v": 2.0, "m2v_export": 1.0, "video_avatar": 1.0,
    "image2video": 0.5, "text2video": 1.0, "text2image": 0.2,
}

PRICED_PER_OUTPUT = frozenset({"image2video", "text2video", "text2image"})

FileCheck = Callable[[str, Any], None]  # (field name, file id) -> raises SimError unless uploaded


def body_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise SimError("4001", "request body is not a JSON object")
    return body


def need(body: dict[str, Any], name: str) -> Any:
    value = body.get(name)
    if value is None or value in ("", []):
        raise SimError("4003", f"{name} cannot be null")
    return value


def text(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = need(body, name) if required else body.get(name)
    if value is not None and not isinstance(value, str):
        raise SimError("4001", f"{name} must be a string")
    return value


def integer(body: dict[str, Any], name: str, allowed: range | frozenset[int], *, default: int | None = None,
            required: bool = False, as_text: bool = False) -> int | None:
    """An int (or, with `as_text`, a digit string: the docs disagree on enum types, §16.8) within `allowed`."""
    value = need(body, name) if required else body.get(name)
    if value is None:
        return default
    if as_text and isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SimError("4001", f"{name} must be an integer")
    if value not in allowed:
        raise SimError("4000", f"{name} {value} is not supported")
    return value


def check_text_codes(body: dict[str, Any], prompt_codes: dict[str, str], magic: bool) -> None:
    """Errors on demand: a configured substring, or `sim-error:NNNN` in any text field."""
    for name in TEXT_FIELDS:
        value = body.get(name)
        if not isinstance(value, str):
            continue
        found = MAGIC_ERROR.search(value) if magic else None
        if found:
            raise SimError(found.group(1))
        for marker, code in prompt_codes.items():
            if marker.lower() in value.lower():
                raise SimError(code)


def validate_product_replace(body: dict[str, Any], check_file: FileCheck) -> int:
    check_file("productImageFileId", need(body, "productImageFileId"))
    text(body, "imageEditPrompt", required=True)
    if not body.get("avatarId") and not body.get("templateImageFileId"):
        raise SimError("4003", "avatarId or templateImageFileId cannot be null")
    for name in ("templateImageFileId", "userFaceImageFileId"):
        if body.get(name):
            check_file(name, body[name])
    size = body.get("productSize")
    if size is not None and str(size) not in {"1", "2", "3", "4", "5", "6"}:
        raise SimError("4000", f"productSize {size!r} is not supported")
    return 1


def validate_product_video(body: dict[str, Any], modes: list[str]) -> int:
    text(body, "productReplaceResultKey", required=True)
    if text(body, "mode", required=True) not in modes:
        raise SimError("4000", f"mode {body['mode']!r} is not supported")
    return 1


def validate_m2v(body: dict[str, Any], check_file: FileCheck) -> int:
    if not body.get("productLink"):
        ids = need(body, "fileIds")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise SimError("4001", "fileIds must be a list of strings")
        for file_id in ids:
            check_file("fileIds", file_id)
        text(body, "productName", required=True)
        text(body, "productDescription", required=True)
    if body.get("aspectRatio") is not None and body["aspectRatio"] not in ASPECT_RATIOS:
        raise SimError("4000", f"aspectRatio {body['aspectRatio']!r} is not supported")
    integer(body, "videoLengthType", range(1, 5), as_text=True)
    return 1


def validate_video_avatar(body: dict[str, Any], check_file: FileCheck) -> int:
    avatar = integer(body, "avatarSourceFrom", range(4), required=True, as_text=True)
    audio = integer(body, "audioSourceFrom", range(2), required=True, as_text=True)
    if avatar == 0:
        check_file("videoFileId", need(body, "videoFileId"))
    elif avatar in (1, 2):
        text(body, "aiAvatarId", required=True)
    else:
        check_file("imageFileId", need(body, "imageFileId"))
    if audio == 0:
        check_file("audioFileId", need(body, "audioFileId"))
    else:
        text(body, "ttsText", required=True)
        if avatar != 1:
            text(body, "voiceoverId", required=True)
    speed = body.get("voiceSpeed")
    if speed is not None:
        if isinstance(speed, bool) or not isinstance(speed, int | float):
            raise SimError("4001", "voiceSpeed must be a number")
        if not 0.8 <= speed <= 1.2:
            raise SimError("4000", "voiceSpeed must be in [0.8, 1.2]")
    if body.get("captionId") and avatar != 1:
        raise SimError("4000", "captionId is only supported when avatarSourceFrom is 1")
    integer(body, "modeType", range(3), as_text=True)
    return 1


def validate_image2video(body: dict[str, Any], check_file: FileCheck) -> int:
    check_file("imageFileId", need(body, "imageFileId"))
    integer(body, "duration", frozenset({5, 10}), required=True)
    if text(body, "mode", required=True) not in I2V_MODES:
        raise SimError("4000", f"mode {body['mode']!r} is not supported")
    return integer(body, "generatingCount", range(1, 5), required=True) or 1


def validate_text2video(body: dict[str, Any], models: list[str]) -> int:
    text(body, "prompt", required=True)
    _model(body, models)
    integer(body, "duration", range(1, 61))
    if body.get("aspectRatio") is not None and body["aspectRatio"] not in ASPECT_RATIOS:
        raise SimError("4000", f"aspectRatio {body['aspectRatio']!r} is not supported")
    return integer(body, "generatingCount", range(1, 5), default=1) or 1


def validate_text2image(body: dict[str, Any], models: list[str]) -> int:
    text(body, "prompt", required=True)
    _model(body, models)
    return integer(body, "generateCount", range(1, 5), default=1) or 1


def _model(body: dict[str, Any], models: list[str]) -> None:
    model = text(body, "model")
    if models and model is not None and model not in models:
        raise SimError("4000", f"model {model!r} is not supported")


# --- lookups (static fixtures, §9.3, §12, §13) ---

AI_AVATARS = [
    {"aiavatarId": "sim-avatar-1", "aiavatarName": "Ava", "gender": "female", "coverUrl": "",
     "previewVideoUrl": "", "thumbnailUrl": ""},
    {"aiavatarId": "sim-avatar-2", "aiavatarName": "Ben", "gender": "male", "coverUrl": "",
     "previewVideoUrl": "", "thumbnailUrl": ""},
]
VOICES = [
    {"voiceId": "sim-voice-1", "voiceName": "Warm", "language": "en", "gender": "female", "age": "Young",
     "style": "UGC", "accent": "American", "demoAudioUrl": ""},
]
PRODUCT_AVATARS = [
    {"avatarId": "sim-product-avatar-1", "avatarImagePath": "", "voiceoverId": "sim-voice-1", "gender": "female",
     "avatarCategoryList": [{"categoryId": "1", "categoryName": "Beauty"}], "objectMaskImageInfo": "{}",
     "avatarEthnicityList": [], "minSubsType": "free"},
]
CAPTIONS = [{"captionId": "sim-caption-1", "thumbnail": ""}]
CATEGORIES = [{"categoryId": "1", "categoryName": "Beauty"}]
ETHNICITIES = [{"ethnicityId": "1", "ethnicityName": "Any"}]


def page(items: list[dict[str, Any]], args: Any) -> dict[str, Any]:
    try:
        number, size = max(1, int(args.get("pageNo", 1))), max(1, int(args.get("pageSize", 20)))
    except ValueError as exc:
        raise SimError("4001", "pageNo and pageSize must be integers") from exc
    start = (number - 1) * size
    return {"total": len(items), "pageNo": number, "pageSize": size, "data": items[start:start + size]}
