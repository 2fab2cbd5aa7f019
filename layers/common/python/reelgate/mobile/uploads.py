"""Images larger than a request: `POST /uploads` presigns one PUT under the caller's own prefix, and the
image endpoints then take `<field>_key` (e.g. `image_key`) instead of the file.

The prefix is `inbox/mobile/<bundle id>/<user id>/`, each part percent-encoded (a `/` in an id cannot
make two callers' prefixes meet); a key is the caller's only if it is one object directly below it.
Objects there start nothing (the inbox trigger ignores `inbox/mobile/`). A key is checked when used:
another caller's key answers 403 500020, a missing object 422 400032, more than the upload limit 413
500030, and bytes that are not a jpg/png/webp image, or not the type declared at /uploads, 415 500032.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from reelgate.mobile import requests
from reelgate.mobile.errors import (
    EMPTY_PARAMETER,
    IMAGE_TOO_LARGE,
    INVALID_IMAGE_ID,
    INVALID_PARAMETER,
    NO_ACCESS,
    UNSUPPORTED_IMAGE,
    ApiError,
)
from reelgate.multipart import Form, Upload
from reelgate.storage import MOBILE_INBOX, presigned_put

EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_MISSING = {"NoSuchKey", "404", "NotFound", "AccessDenied", "403"}  # without s3:ListBucket a missing key is 403
MB = 1024 * 1024


def prefix(who: requests.Caller) -> str:
    return f"{MOBILE_INBOX}{quote(who.bundle_id, safe='')}/{quote(who.user_id, safe='')}/"


def image_type(data: bytes) -> str | None:
    """The image's real content type from its header (Pillow reads the magic bytes), or None."""
    from PIL import Image, UnidentifiedImageError  # only requests that send a key pay Pillow's import

    try:
        with Image.open(io.BytesIO(data)) as image:
            return _FORMATS.get(image.format or "")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


def too_large(what: str, limit: int, *, direct: bool) -> ApiError:
    if direct:
        return ApiError(IMAGE_TOO_LARGE, f"image too large: {what} is over {limit / MB:g} MB, the most a request "
                                         f"may carry; upload it with POST /uploads and send its key as {what}_key")
    return ApiError(IMAGE_TOO_LARGE, f"image too large: at most {limit / MB:g} MB")


class Uploads:
    def __init__(self, s3: Any, bucket: str, *, max_bytes: int, direct_max_bytes: int, expires: int) -> None:
        self._s3, self._bucket = s3, bucket
        self.max_bytes, self.direct_max_bytes, self.expires = max_bytes, direct_max_bytes, expires

    def request(self, body: Any) -> tuple[requests.Caller, str, int]:
        """The caller, content type and size of a `POST /uploads` body, checked."""
        who = requests.caller(body)
        content_type = requests.text(body, "content_type").strip().lower()
        if content_type not in EXTENSIONS:
            raise ApiError(UNSUPPORTED_IMAGE, "unsupported image format: content_type must be image/jpeg, "
                                              "image/png or image/webp")
        size = body.get("size")
        if size is None:
            raise ApiError(EMPTY_PARAMETER, "empty parameter: size")
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise ApiError(INVALID_PARAMETER, "invalid parameter: size must be the image's length in bytes")
        if size > self.max_bytes:
            raise too_large("image", self.max_bytes, direct=False)
        return who, content_type, size

    def presign(self, who: requests.Caller, content_type: str, size: int) -> dict[str, Any]:
        """A presigned PUT of one image of exactly `size` bytes and `content_type` under the caller's prefix."""
        key = f"{prefix(who)}{uuid.uuid4().hex}{EXTENSIONS[content_type]}"
        put = presigned_put(self._s3, self._bucket, key, content_type, expires=self.expires, content_length=size)
        return {"upload_url": put["upload_url"], "upload_key": key, "expires_in": self.expires,
                "max_bytes": self.max_bytes, "headers": put["headers"]}

    def read(self, who: requests.Caller, key: str, field: str = "image") -> Upload:
        """The caller's uploaded image named by `key`, checked like a file sent in the request."""
        own = prefix(who)
        name = key.removeprefix(own)
        if not key.startswith(own) or not name or "/" in name or name in (".", ".."):
            raise ApiError(NO_ACCESS, f"no access: {field}_key is not an upload of this user")
        try:
            answer = self._s3.get_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise ApiError(INVALID_IMAGE_ID, f"invalid image id: nothing was uploaded as {field}_key") from exc
            raise
        with answer["Body"] as stream:
            if int(answer.get("ContentLength", 0)) > self.max_bytes:
                raise too_large(field, self.max_bytes, direct=False)
            data = stream.read(self.max_bytes + 1)
        if len(data) > self.max_bytes:
            raise too_large(field, self.max_bytes, direct=False)
        found = image_type(data)
        if found is None or found != (answer.get("ContentType") or "").lower():
            raise ApiError(UNSUPPORTED_IMAGE, f"unsupported image format: {field}_key is not the jpg, png or webp "
                                              "image declared at /uploads")
        return Upload(f"{field}{EXTENSIONS[found]}", found, data)

    def attach(self, form: Form, fields: Iterable[str], *, several: Iterable[str] = ()) -> Form:
        """`form` with its files checked against the direct limit, and the images sent by key read from the
        caller's uploads into it: each of `fields` as `<field>_key`, each of `several` (fields that take many
        files) as `<field>_keys`, a comma-separated list."""
        for name, upload in form.uploads:
            if len(upload.data) > self.direct_max_bytes:
                raise too_large(name, self.direct_max_bytes, direct=True)
        singles = [(field, key) for field in fields if (key := (form.fields.get(f"{field}_key") or "").strip())]
        for field, _ in singles:
            if field in form.files and form.files[field].data:
                raise ApiError(INVALID_PARAMETER, f"invalid parameter: send either {field} or {field}_key, not both")
        keyed = singles + [(field, key.strip()) for field in several
                           for key in (form.fields.get(f"{field}_keys") or "").split(",") if key.strip()]
        if keyed:
            who = requests.caller(form.fields)
            for field, key in keyed:
                upload = self.read(who, key, field)
                form.files[field] = upload
                form.uploads.append((field, upload))
        return form
