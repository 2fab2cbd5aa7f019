"""`POST /v1/uploads`: a presigned PUT into the calling key's own inbox (`inbox/<key id>/<kind>/<filename>`).

The key id comes from the authenticated key, never from the body, and the filename may not climb out of
the prefix, so a key's upload can only land under its own inbox. Everything the object must carry is part
of the signature: its content type and its metadata as `x-amz-meta-*` headers (real S3 refuses a presigned
PUT whose signed headers are missing or different); the answer lists every header the client must send.
"""

from __future__ import annotations

from typing import Any

from reelgate.storage import presigned_put
from reelgate.toolkit.ingest import CONCATENATE_KIND, IMAGE2VIDEO, INBOX
from reelgate.toolkit.keys import ApiKey
from reelgate.toolkit.schemas import IMAGE_TO_VIDEO, InvalidPayload, validate

UPLOAD_SECONDS = 900
_IMAGE_TYPES = ["image/jpeg", "image/png", "image/webp"]
_OPTIONS = {name: IMAGE_TO_VIDEO["properties"][name] for name in ("length", "frame_rate", "zoom_speed",
                                                                  "webhook_url", "id")}
# An image to convert, or a concatenation manifest (the /v1/video/concatenate body as a .json file).
UPLOAD: dict[str, Any] = {
    "type": "object",
    "required": ["kind", "filename", "content_type"],
    "additionalProperties": False,
    "if": {"properties": {"kind": {"const": CONCATENATE_KIND}}},
    "then": {"properties": {"content_type": {"const": "application/json"}, "filename": {"pattern": r"(?i)\.json$"},
                            "metadata": {"maxProperties": 0}}},
    "else": {"properties": {"content_type": {"enum": _IMAGE_TYPES},
                            "filename": {"pattern": r"(?i)\.(jpe?g|png|webp)$"}}},
    "properties": {
        "kind": {"enum": [IMAGE2VIDEO, CONCATENATE_KIND]},
        # a relative path: no leading slash, no empty, "." or ".." segment, no backslash or control characters
        "filename": {"type": "string", "minLength": 1, "maxLength": 512,
                     "pattern": r"^(?!.*(^|/)\.{1,2}(/|$))(?!/)(?!.*//)[^\\\x00-\x1f]+(?<!/)$"},
        "content_type": {"enum": [*_IMAGE_TYPES, "application/json"]},
        "metadata": {"type": "object", "additionalProperties": False, "properties": _OPTIONS},
    },
}


def presign(s3: Any, bucket: str, key: ApiKey, body: Any, *, expires: int = UPLOAD_SECONDS) -> dict[str, Any]:
    data = validate(UPLOAD, body)
    object_key = f"{INBOX}{key.key_id}/{data['kind']}/{data['filename']}"
    if not object_key.startswith(f"{INBOX}{key.key_id}/{data['kind']}/") or ".." in object_key.split("/"):
        raise InvalidPayload("filename must stay inside the inbox")
    metadata = {name: str(value) for name, value in (data.get("metadata") or {}).items()}
    return presigned_put(s3, bucket, object_key, data["content_type"], expires=expires, metadata=metadata)
