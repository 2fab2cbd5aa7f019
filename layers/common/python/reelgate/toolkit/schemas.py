"""Request schemas of the toolkit endpoints, as the seed documents give them (JSON Schema)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft7Validator, FormatChecker

_checker = FormatChecker()


@_checker.checks("uri")
def _is_http_url(value: object) -> bool:
    # NCA never enforced "format: uri"; here a URL must be an absolute http(s) URL with a host.
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


_URI = {"type": "string", "format": "uri"}

IMAGE_TO_VIDEO: dict[str, Any] = {
    "type": "object",
    "properties": {
        "image_url": _URI,
        "length": {"type": "number", "minimum": 1, "maximum": 60},
        "frame_rate": {"type": "integer", "minimum": 15, "maximum": 60},
        "zoom_speed": {"type": "number", "minimum": 0, "maximum": 100},
        "webhook_url": _URI,
        "id": {"type": "string"},
    },
    "required": ["image_url"],
    "additionalProperties": False,
}

CONCATENATE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "video_urls": {
            "type": "array",
            "items": {"type": "object", "properties": {"video_url": _URI}, "required": ["video_url"]},
            "minItems": 1,
        },
        "webhook_url": _URI,
        "id": {"type": "string"},
    },
    "required": ["video_urls"],
    "additionalProperties": False,
}

JOB_STATUS: dict[str, Any] = {
    "type": "object",
    "properties": {"job_id": {"type": "string", "minLength": 1}},
    "required": ["job_id"],
}

JOBS_STATUS: dict[str, Any] = {
    "type": "object",
    "properties": {"since_seconds": {"type": "number", "minimum": 0}},
}


class InvalidPayload(ValueError):
    pass


def validate(schema: dict[str, Any], payload: Any) -> dict[str, Any]:
    """The payload if valid; else InvalidPayload naming the first problem and the field it is in."""
    error = next(iter(sorted(Draft7Validator(schema, format_checker=_checker).iter_errors(payload),
                             key=lambda e: list(e.absolute_path))), None)
    if error is None:
        return dict(payload)
    where = ".".join(str(part) for part in error.absolute_path)
    detail = f"{error.instance!r} is not a valid http(s) URL" if error.validator == "format" else error.message
    raise InvalidPayload(f"{where}: {detail}" if where else detail)
