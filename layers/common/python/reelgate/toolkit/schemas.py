"""Request schemas of the toolkit endpoints, as the seed documents give them (JSON Schema), with
bounds added: string lengths, list sizes, `since_seconds`, and closed status bodies.

Keywords are ordered so the cheap checks run first (`required`, `additionalProperties`, `maxItems`
before `items`), and `validate` stops at the first error: a huge list costs one length check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from jsonschema import Draft7Validator, ValidationError


def _is_http_url(value: object) -> bool:
    # NCA never enforced "format: uri"; here a URL must be an absolute http(s) URL with a host.
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


MAX_URL_LENGTH = 3072  # presigned URLs with session tokens fit; 100 of them keep a job under DynamoDB's 400 KB
MAX_ID_LENGTH = 256  # the caller's own request id, echoed back
MAX_JOB_ID_LENGTH = 128  # job ids are 36-character UUIDs
MAX_VIDEO_URLS = 100  # the request format's ceiling; REELGATE_TOOLKIT_MAX_VIDEO_URLS sets the deployment's limit
MAX_SINCE_SECONDS = 366 * 24 * 3600  # jobs expire long before a year
_SHOWN = 200  # characters of a caller's value quoted back in a message

_URI = {"type": "string", "maxLength": MAX_URL_LENGTH, "format": "uri"}
_ID = {"type": "string", "maxLength": MAX_ID_LENGTH}

IMAGE_TO_VIDEO: dict[str, Any] = {
    "type": "object",
    "required": ["image_url"],
    "additionalProperties": False,
    "properties": {
        "image_url": _URI,
        "length": {"type": "number", "minimum": 1, "maximum": 60},
        "frame_rate": {"type": "integer", "minimum": 15, "maximum": 60},
        "zoom_speed": {"type": "number", "minimum": 0, "maximum": 100},
        "webhook_url": _URI,
        "id": _ID,
    },
}

CONCATENATE: dict[str, Any] = {
    "type": "object",
    "required": ["video_urls"],
    "additionalProperties": False,
    "properties": {
        "video_urls": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_VIDEO_URLS,
            "items": {"type": "object", "required": ["video_url"], "properties": {"video_url": _URI}},
        },
        "webhook_url": _URI,
        "id": _ID,
    },
}

# An inbox manifest (inbox/<key id>/concatenate/*.json): the HTTP body, whose clips may also be objects of
# the same key's own inbox/ or outbox/ (`video_key`; checked against the key in reelgate.toolkit.ingest).
MANIFEST: dict[str, Any] = CONCATENATE | {"properties": CONCATENATE["properties"] | {"video_urls": (
    CONCATENATE["properties"]["video_urls"] | {"items": {
        "type": "object", "minProperties": 1, "maxProperties": 1,
        "properties": {"video_url": _URI, "video_key": {"type": "string", "minLength": 1, "maxLength": 1024}},
        "oneOf": [{"required": ["video_url"]}, {"required": ["video_key"]}],
    }})}}

# NCA leaves both status bodies open; unknown fields are refused here (a misspelt field is a 400).
JOB_STATUS: dict[str, Any] = {
    "type": "object",
    "required": ["job_id"],
    "additionalProperties": False,
    "properties": {"job_id": {"type": "string", "minLength": 1, "maxLength": MAX_JOB_ID_LENGTH}},
}

JOBS_STATUS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"since_seconds": {"type": "number", "minimum": 0, "maximum": MAX_SINCE_SECONDS}},
}


@dataclass(frozen=True)
class Operation:
    """A submit endpoint of the toolkit: its canonical path, its job kind and its body's schema."""

    endpoint: str
    kind: str
    schema: dict[str, Any]


IMAGE_TO_VIDEO_OP = Operation("/v1/image/convert/video", "toolkit.image_to_video", IMAGE_TO_VIDEO)
CONCATENATE_OP = Operation("/v1/video/concatenate", "toolkit.concatenate", CONCATENATE)


class InvalidPayload(ValueError):
    pass


_validators: dict[int, tuple[dict[str, Any], Draft7Validator]] = {}


def _validator(schema: dict[str, Any]) -> Draft7Validator:
    """The schema's validator, built on its first use and kept for the process: jsonschema is imported
    only by the functions that validate a body (a render or a status read never loads it)."""
    known = _validators.get(id(schema))
    if known is None or known[0] is not schema:
        from jsonschema import Draft7Validator, FormatChecker

        checker = FormatChecker()
        checker.checks("uri")(_is_http_url)
        known = _validators[id(schema)] = (schema, Draft7Validator(schema, format_checker=checker))
    return known[1]


def validate(schema: dict[str, Any], payload: Any) -> dict[str, Any]:
    """The payload if valid; else InvalidPayload naming the first problem and the field it is in."""
    _check_text(payload, "")
    error = next(_validator(schema).iter_errors(payload), None)
    if error is None:
        return dict(payload)
    where = ".".join(str(part) for part in error.absolute_path)
    detail = _detail(error)
    raise InvalidPayload(f"{where}: {detail}" if where else detail)


def _check_text(value: Any, where: str) -> None:
    """JSON's `\\ud800`-style escapes can name half of a surrogate pair, which no UTF-8 store or header takes."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidPayload(f"{where or 'the body'}: is not valid Unicode text (an unpaired surrogate)") from None
    elif isinstance(value, dict):
        for name, item in value.items():
            _check_text(name, where)
            _check_text(item, f"{where}.{name}" if where else str(name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_text(item, f"{where}.{index}" if where else str(index))


def _detail(error: ValidationError) -> str:
    """jsonschema's message, except where it would quote a long value back in full."""
    limit = error.validator_value
    if error.validator == "format":
        return f"{_short(repr(error.instance))} is not a valid http(s) URL"
    if error.validator == "maxLength":
        return f"at most {limit} characters are allowed"
    if error.validator == "maxItems":
        return f"at most {limit} items are allowed"
    return _short(error.message)


def _short(text: str) -> str:
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}…"
