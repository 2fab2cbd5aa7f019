"""Pixverse request rules for the simulator: body validation, image checks, pricing (pixverse.md §2-§7)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from PIL import Image

MODELS = frozenset({"v3.5", "v4", "v4.5", "v5", "v5.5", "v5.6", "v6", "c1"})
LONG_CLIP_MODELS = frozenset({"v6", "c1"})  # "up to 15 s"; 10/15 s only when the scenario enables it
NO_1080P_8S_MODELS = frozenset({"v3.5", "v4", "v4.5"})
QUALITIES = {"360p": 360, "540p": 540, "720p": 720, "1080p": 1080}
ASPECTS = frozenset({"16:9", "4:3", "1:1", "3:4", "9:16"})
V6_EXTRA_ASPECTS = frozenset({"2:3", "3:2", "21:9"})
MOTION_MODES = frozenset({"normal", "fast"})
MAX_PROMPT = 2048
MAX_SEED = 2_147_483_647

# §7: credits for 5 s at normal speed; 8 s doubles; 10/15 s scale the same way [UNVERIFIED guess].
BASE_CREDITS = {"360p": 45, "540p": 45, "720p": 60, "1080p": 120}
DURATION_UNITS = {5: 1, 8: 2, 10: 2, 15: 3}

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp"})
IMAGE_MIMES = frozenset({"image/jpeg", "image/jpg", "image/png", "image/webp"})
IMAGE_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})

# Official descriptions (§5), used when a scenario injects a code.
ERR_MESSAGES = {
    400011: "Empty parameter", 400012: "Invalid account", 400013: "Invalid binding request",
    400017: "Invalid parameter", 400018: "Prompt/negative prompt length exceeds 2048 characters limit",
    400032: "Invalid image ID", 500008: "Requested data not found",
    500020: "User does not have permission for this operation",
    500030: "Image size cannot exceed 20M 4000px*4000px", 500031: "Failed to retrieve image information",
    500032: "Invalid image format", 500033: "Invalid image width or height", 500041: "Image upload failed",
    500044: "Reached the limit for concurrent generations", 500054: "Content moderation failure",
    500060: "Monthly effects activation limit reached", 500063: "Video / Image / Text moderation failed",
    500064: "Content has been deleted", 500069: "System is currently experiencing high load",
    500070: "Current template is not activated", 500071: "This effect does not support 720p or 1080p",
    500090: "Insufficient balance. Unable to generate video. Please top up your credits",
    500100: "MySQL error", 99999: "Unknown error",
}

_TYPES: dict[str, type] = {
    "prompt": str, "negative_prompt": str, "model": str, "quality": str, "duration": int,
    "aspect_ratio": str, "motion_mode": str, "seed": int, "img_id": int, "template_id": int,
    "style": str, "water_mark": bool,
}
_T2V_REQUIRED = ("prompt", "model", "duration", "quality", "aspect_ratio")
_I2V_REQUIRED = ("prompt", "model", "duration", "quality", "img_id")


class SimError(Exception):
    """An ErrCode the simulator answers with."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int


def _has_type(value: Any, expected: type) -> bool:
    # bool is an int subclass in Python, but not in JSON: reject true/false where a number is due.
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def validate_generate(body: Any, *, image: bool, long_clips: bool) -> None:
    """Raise SimError for the first problem: 400013 shape, 400011 missing, 400018 length, 400017 value."""
    if not isinstance(body, dict):
        raise SimError(400013, "invalid binding request: body is not a JSON object")
    for name in _I2V_REQUIRED if image else _T2V_REQUIRED:
        if body.get(name) in (None, ""):
            raise SimError(400011, f"empty parameter: {name}")
    for name, expected in _TYPES.items():
        if name in body and body[name] is not None and not _has_type(body[name], expected):
            raise SimError(400013, f"invalid binding request: {name} must be {expected.__name__}")
    for name in ("prompt", "negative_prompt"):
        if len(body.get(name) or "") > MAX_PROMPT:
            raise SimError(400018, "prompt/negative prompt length exceeds 2048 characters limit")
    _check_values(body, image=image, long_clips=long_clips)


def _check_values(body: dict[str, Any], *, image: bool, long_clips: bool) -> None:
    model, quality, duration = body["model"], body["quality"], body["duration"]
    motion = body.get("motion_mode") or "normal"
    durations = {5, 8, 10, 15} if long_clips and model in LONG_CLIP_MODELS else {5, 8}
    aspects = ASPECTS | (V6_EXTRA_ASPECTS if model in LONG_CLIP_MODELS else frozenset())
    problems = {
        "model": model not in MODELS,
        "quality": quality not in QUALITIES,
        "duration": duration not in durations,
        "motion_mode": motion not in MOTION_MODES,
        "aspect_ratio": not image and body["aspect_ratio"] not in aspects,
        "seed": "seed" in body and body["seed"] is not None and not 0 <= body["seed"] <= MAX_SEED,
        "fast needs 5 s and not 1080p": motion == "fast" and (duration != 5 or quality == "1080p"),
        "1080p 8 s": quality == "1080p" and duration == 8 and model in NO_1080P_8S_MODELS,
    }
    for name, bad in problems.items():
        if bad:
            raise SimError(400017, f"invalid parameter: {name}")


def price(body: dict[str, Any]) -> int:
    """Credits a valid generate body costs (§7); `fast` doubles."""
    credits = BASE_CREDITS[body["quality"]] * DURATION_UNITS[body["duration"]]
    return credits * 2 if body.get("motion_mode") == "fast" else credits


def output_size(quality: str, aspect: tuple[int, int]) -> tuple[int, int]:
    """Width and height whose short side is the quality's height (e.g. 720p 16:9 -> 1280x720)."""
    short = QUALITIES.get(quality, 540)
    aw, ah = aspect
    long_side = round(short * max(aw, ah) / min(aw, ah) / 2) * 2
    return (long_side, short) if aw >= ah else (short, long_side)


def parse_aspect(text: str) -> tuple[int, int]:
    left, _, right = text.partition(":")
    return (int(left), int(right)) if left.isdigit() and right.isdigit() else (16, 9)


def inspect_image(
    data: bytes, filename: str, mimetype: str, *, max_bytes: int, max_side: int, min_side: int
) -> ImageInfo:
    """Apply §2.1 / §5: 500032 format, 500030 size, 500031 unreadable, 500033 dimensions."""
    mime_ok = mimetype in IMAGE_MIMES or mimetype in ("", "application/octet-stream")
    if PurePosixPath(filename.lower()).suffix not in IMAGE_EXTENSIONS or not mime_ok:
        raise SimError(500032, "invalid image format")
    if len(data) > max_bytes:
        raise SimError(500030, f"image size cannot exceed {max_bytes} bytes")
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt, (width, height) = img.format, img.size
    except Exception as exc:  # Pillow raises many types for damaged files
        raise SimError(500031, "failed to retrieve image information") from exc
    if fmt not in IMAGE_FORMATS:
        raise SimError(500032, f"invalid image format: {fmt}")
    if width > max_side or height > max_side:
        raise SimError(500030, f"image cannot exceed {max_side}px*{max_side}px")
    if width < max(min_side, 1) or height < max(min_side, 1):
        raise SimError(500033, "invalid image width or height")
    return ImageInfo(width, height)
