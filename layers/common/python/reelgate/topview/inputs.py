"""Request bodies of the TopView endpoints, checked before anything is uploaded or charged.

Codes are Part A's: a missing field 400011/422, a bad value 400017/422 naming the field, a prompt
over the limit 400018/413, a file too large 500030/413, a file that is not a jpg/png/webp image (or
mp4/mov video where videos are accepted) 500032/415, an image of unusable dimensions 500033/422.
Files are recognized by their content, never by their names.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, UnidentifiedImageError

from reelgate.mobile import requests
from reelgate.mobile.errors import (
    EMPTY_PARAMETER,
    IMAGE_TOO_LARGE,
    INVALID_PARAMETER,
    PROMPT_TOO_LONG,
    UNSUPPORTED_IMAGE,
    ApiError,
)
from reelgate.multipart import Form, Upload

INVALID_DIMENSIONS = 500033
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_IMAGE_PIXELS = 50_000_000
MIN_IMAGE_SIDE = 64
MAX_TEXT = 5000  # text-to-speech scripts
MAX_URL = 3072
MAX_M2V_FILES = 10
ASPECT_RATIOS = ("9:16", "3:4", "1:1", "4:3", "16:9")
I2V_MODES = ("lite", "pro", "plus", "best")
PRODUCT_MODES = ("lite", "pro")
PRODUCT_SIZES = ("1", "2", "3", "4", "5", "6")
I2V_DURATIONS = (5, 10)
M2V_LANGUAGES = (
    "en", "ar", "bg", "hr", "cs", "da", "nl", "fil", "fi", "fr", "de", "el", "hi", "hu", "id", "it", "ja", "ko",
    "ms", "nb", "pl", "pt", "ro", "ru", "zh-CN", "sk", "es", "sv", "zh-Hant", "tr", "uk", "vi", "th",
)
_IMAGE_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}


@dataclass(frozen=True)
class Media:
    """A checked file: what it really is, and its pixel size when it is an image."""

    field: str
    data: bytes
    content_type: str
    format: str  # TopView's upload format (contracts/topview.md §4.1)
    size: tuple[int, int] | None = None

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


@dataclass(frozen=True)
class Submission:
    """A checked request: who asks, the job's input (JSON-safe) and the files to upload to TopView."""

    caller: requests.Caller
    input: dict[str, Any]
    files: dict[str, list[Media]] = field(default_factory=dict)


def _invalid(message: str) -> ApiError:
    return ApiError(INVALID_PARAMETER, f"invalid parameter: {message}")


def _optional(body: dict[str, Any], name: str) -> Any:
    value = body.get(name)
    return None if value is None or (isinstance(value, str) and not value.strip()) else value


def choice(body: dict[str, Any], name: str, allowed: tuple[str, ...], default: str | None = None) -> str | None:
    value = _optional(body, name)
    if value is None:
        return default
    if not isinstance(value, str) or value not in allowed:
        raise _invalid(f"{name} must be one of {', '.join(allowed)}")
    return value


def integer(body: dict[str, Any], name: str, allowed: range | tuple[int, ...], default: int | None = None,
            *, form: bool = False) -> int | None:
    """An integer (a form's digits count as one) within `allowed`."""
    value = _optional(body, name)
    if value is None:
        return default
    if form and isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 10:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
        shown = f"{allowed.start}-{allowed.stop - 1}" if isinstance(allowed, range) else " or ".join(map(str, allowed))
        raise _invalid(f"{name} must be an integer, {shown}")
    return value


def number(body: dict[str, Any], name: str, low: float, high: float, default: float, *, form: bool = False) -> float:
    value = _optional(body, name)
    if value is None:
        return default
    if form and isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise _invalid(f"{name} must be a number between {low} and {high}") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise _invalid(f"{name} must be a number between {low} and {high}")
    return float(value)


def short_text(body: dict[str, Any], name: str, limit: int = requests.MAX_IDENTIFIER, *,
               required: bool = True) -> str | None:
    if not required and _optional(body, name) is None:
        return None
    value = requests.text(body, name)
    if len(value) > limit:
        raise _invalid(f"{name} is longer than {limit} characters")
    return value


def long_text(body: dict[str, Any], name: str, limit: int) -> str:
    value = requests.text(body, name)
    if len(value) > limit:
        raise ApiError(PROMPT_TOO_LONG, f"{name} too long: {len(value)} characters, at most {limit}")
    return value


def http_url(body: dict[str, Any], name: str) -> str:
    value = short_text(body, name, MAX_URL)
    assert value is not None
    if not value.lower().startswith(("http://", "https://")) or any(c.isspace() for c in value):
        raise _invalid(f"{name} must be an http(s) URL")
    return value


def media(upload: Upload | None, name: str, *, videos: bool = False, required: bool = True) -> Media | None:
    """The file's real type from its bytes: jpg, png or webp (and mp4 or mov when `videos`)."""
    if upload is None or not upload.data:
        if required:
            raise ApiError(EMPTY_PARAMETER, f"empty parameter: {name}")
        return None
    if len(upload.data) > MAX_FILE_BYTES:
        raise ApiError(IMAGE_TOO_LARGE, f"{name} too large: at most {MAX_FILE_BYTES // (1024 * 1024)} MB")
    if videos and (found := _video(upload.data)) is not None:
        return Media(name, upload.data, *found)
    image = _image(upload.data)
    if image is None:
        kinds = "a jpg, png or webp image" + (", or an mp4 or mov video" if videos else "")
        raise ApiError(UNSUPPORTED_IMAGE, f"unsupported format: {name} must be {kinds}")
    (content_type, fmt), size = image
    width, height = size
    if min(width, height) < MIN_IMAGE_SIDE or width * height > MAX_IMAGE_PIXELS:
        raise ApiError(INVALID_DIMENSIONS, f"invalid image dimensions: {name} is {width}x{height} pixels "
                                           f"(each side at least {MIN_IMAGE_SIDE}, at most {MAX_IMAGE_PIXELS} pixels)")
    return Media(name, upload.data, content_type, fmt, size)


def _image(data: bytes) -> tuple[tuple[str, str], tuple[int, int]] | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind = _IMAGE_FORMATS.get(image.format or "")
                return (kind, image.size) if kind else None
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombWarning,
            Image.DecompressionBombError):
        return None


def _video(data: bytes) -> tuple[str, str] | None:
    """ISO base media (mp4, mov): a `ftyp` box first; the QuickTime brand means mov."""
    if len(data) < 12 or data[4:8] != b"ftyp":
        return None
    return ("video/quicktime", "mov") if data[8:12] == b"qt  " else ("video/mp4", "mp4")


def same_size(image: Media, mask: Media | None) -> None:
    """A mask must have its image's pixel size (contracts/topview.md §10)."""
    if mask is not None and mask.size != image.size:
        (mw, mh), (iw, ih) = mask.size or (0, 0), image.size or (0, 0)
        raise _invalid(f"{mask.field} is {mw}x{mh} pixels but {image.field} is {iw}x{ih}; a mask must have "
                       f"its image's size")


def _fields(form: Form) -> dict[str, Any]:
    return dict(form.fields)


# --- the endpoints ---


def text2video(body: Any) -> Submission:
    who, prompt = requests.caller(body), requests.prompt(body)
    return Submission(who, {"prompt": prompt, "duration": integer(body, "duration", range(1, 61)),
                            "aspect_ratio": choice(body, "aspect_ratio", ASPECT_RATIOS)})


def text2image(body: Any) -> Submission:
    who, prompt = requests.caller(body), requests.prompt(body)
    return Submission(who, {"prompt": prompt, "aspect_ratio": choice(body, "aspect_ratio", ASPECT_RATIOS)})


def image2video(form: Form) -> Submission:
    body = _fields(form)
    who, prompt = requests.caller(body), requests.prompt(body)
    duration = integer(body, "duration", I2V_DURATIONS, 5, form=True)
    mode = choice(body, "mode", I2V_MODES, "lite")
    image = media(form.files.get("image"), "image")
    assert image is not None
    return Submission(who, {"prompt": prompt, "duration": duration, "mode": mode}, {"image": [image]})


def video_avatar(body: Any) -> Submission:
    who = requests.caller(body)
    values = {
        "avatar_id": short_text(body, "avatar_id"), "text": long_text(body, "text", MAX_TEXT),
        "voice_id": short_text(body, "voice_id"), "voice_speed": number(body, "voice_speed", 0.8, 1.2, 1.0),
        "aspect_ratio": choice(body, "aspect_ratio", ASPECT_RATIOS),
    }
    return Submission(who, values)


def product_avatar(form: Form) -> Submission:
    body = _fields(form)
    who, prompt = requests.caller(body), requests.prompt(body)
    avatar_id = short_text(body, "avatar_id", required=False)
    mode = choice(body, "mode", PRODUCT_MODES, "lite")
    size = choice(body, "product_size", PRODUCT_SIZES)
    product = media(form.files.get("product_image"), "product_image")
    assert product is not None
    product_mask = media(form.files.get("product_mask"), "product_mask", required=False)
    template = media(form.files.get("template_image"), "template_image", required=False)
    template_mask = media(form.files.get("template_mask"), "template_mask", required=False)
    if template is None and avatar_id is None:
        raise ApiError(EMPTY_PARAMETER, "empty parameter: template_image or avatar_id (one is required)")
    if template is not None and avatar_id is not None:
        raise _invalid("send either template_image or avatar_id, not both")
    if template_mask is not None and template is None:
        raise _invalid("template_mask needs a template_image")
    same_size(product, product_mask)
    if template is not None:
        same_size(template, template_mask)
    files = {name: [m] for name, m in (("product_image", product), ("product_mask", product_mask),
                                        ("template_image", template), ("template_mask", template_mask)) if m}
    return Submission(who, {"prompt": prompt, "avatar_id": avatar_id, "mode": mode, "product_size": size}, files)


def _m2v_options(body: dict[str, Any], *, form: bool) -> dict[str, Any]:
    return {
        "aspect_ratio": choice(body, "aspect_ratio", ASPECT_RATIOS),
        "language": choice(body, "language", M2V_LANGUAGES),
        "video_length_type": integer(body, "video_length_type", range(1, 5), form=form),
        "voice_id": short_text(body, "voice_id", required=False),
        "avatar_id": short_text(body, "avatar_id", required=False),
    }


def marketing_video_link(body: Any) -> Submission:
    who = requests.caller(body)
    return Submission(who, {"product_link": http_url(body, "product_link")} | _m2v_options(body, form=False))


def marketing_video_files(form: Form) -> Submission:
    body = _fields(form)
    who = requests.caller(body)
    uploads = [upload for name, upload in form.uploads if name == "files"]
    if not uploads:
        raise ApiError(EMPTY_PARAMETER, "empty parameter: files")
    if len(uploads) > MAX_M2V_FILES:
        raise _invalid(f"files: at most {MAX_M2V_FILES} images or videos")
    files = [media(upload, "files", videos=True) for upload in uploads]
    values = {"product_name": short_text(body, "product_name", 500),
              "product_description": long_text(body, "product_description", MAX_TEXT)}
    return Submission(who, values | _m2v_options(body, form=True), {"files": [f for f in files if f]})


def marketing_video_export(body: Any) -> Submission:
    who = requests.caller(body)
    video_id = requests.text(body, "video_id")
    return Submission(who, {"video_id": video_id, "script_id": integer(body, "script_id", range(0, 1000), 0)})
