"""Request bodies of the mobile API, checked field by field into the error tables' codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reelgate.mobile.errors import (
    EMPTY_PARAMETER,
    IMAGE_TOO_LARGE,
    INVALID_PARAMETER,
    PROMPT_TOO_LONG,
    UNSUPPORTED_IMAGE,
    ApiError,
)

MAX_PROMPT = 2048
MAX_IDENTIFIER = 200  # app_bundle_id, apphud_user_id: parts of DynamoDB keys (2 KB partition, 1 KB sort)
MAX_IMAGE_BYTES = 20 * 1024 * 1024  # Pixverse's documented upload limit
IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}


@dataclass(frozen=True)
class Caller:
    bundle_id: str
    user_id: str

    @property
    def owner(self) -> str:
        return f"app#{self.bundle_id}#{self.user_id}"


@dataclass(frozen=True)
class Image:
    data: bytes
    filename: str
    content_type: str
    extension: str


def text(body: Any, name: str) -> str:
    if not isinstance(body, dict):
        raise ApiError(INVALID_PARAMETER, "invalid parameter: the body must be a JSON object")
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ApiError(EMPTY_PARAMETER, f"empty parameter: {name}")
    if not isinstance(value, str):
        raise ApiError(INVALID_PARAMETER, f"invalid parameter: {name} must be a string")
    return value


def caller(body: Any) -> Caller:
    return Caller(identifier(body, "app_bundle_id"), identifier(body, "apphud_user_id"))


def identifier(body: Any, name: str) -> str:
    value = text(body, name)
    if len(value) > MAX_IDENTIFIER:
        raise ApiError(INVALID_PARAMETER, f"invalid parameter: {name} is longer than {MAX_IDENTIFIER} characters")
    return value


def prompt(body: Any) -> str:
    value = text(body, "prompt")
    if len(value) > MAX_PROMPT:
        raise ApiError(PROMPT_TOO_LONG, f"prompt too long: {len(value)} characters, at most {MAX_PROMPT}")
    return value


def image(upload: Image | None) -> Image:
    if upload is None or not upload.data:
        raise ApiError(EMPTY_PARAMETER, "empty parameter: image")
    if upload.extension not in IMAGE_TYPES:
        raise ApiError(UNSUPPORTED_IMAGE, "unsupported image format: send a .jpg, .png or .webp file")
    if len(upload.data) > MAX_IMAGE_BYTES:
        raise ApiError(IMAGE_TOO_LARGE, f"image too large: at most {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    return upload
