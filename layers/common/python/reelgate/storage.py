"""The media bucket: uploads, downloads and the URLs handed to callers."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

INBOX = "inbox/"
MOBILE_INBOX = f"{INBOX}mobile/"  # mobile callers' uploads (POST /uploads): read by key, never a trigger
SEGMENTS = "segments/"  # a segmented render's still and parts, deleted once joined (else expired by lifecycle)


def presigned_put(s3: Any, bucket: str, key: str, content_type: str, *, expires: int,
                  metadata: Mapping[str, str] | None = None, content_length: int | None = None) -> dict[str, Any]:
    """A presigned PUT of exactly one object, and every header the client must send with it.

    The signature covers the content type, the `x-amz-meta-*` metadata and, when given, the length: real
    S3 refuses a presigned PUT whose signed headers are missing or different, so none can be swapped.
    """
    meta = dict(metadata or {})
    params: dict[str, Any] = {"Bucket": bucket, "Key": key, "ContentType": content_type, "Metadata": meta}
    headers = {"Content-Type": content_type} | {f"x-amz-meta-{name}": value for name, value in meta.items()}
    if content_length is not None:
        params["ContentLength"] = content_length
        headers["Content-Length"] = str(content_length)
    url = s3.generate_presigned_url("put_object", ExpiresIn=expires, Params=params)
    return {"upload_url": url, "upload_key": key, "method": "PUT", "headers": headers, "expires_in": expires}


class MediaStore:
    def __init__(self, s3: Any, bucket: str, *, public_base_url: str | None = None,
                 presign_seconds: int = 3600) -> None:
        self._s3 = s3
        self.bucket = bucket
        self._public_base_url = (public_base_url or "").rstrip("/")
        self._presign_seconds = presign_seconds

    def upload_file(self, path: Path, key: str, content_type: str = "video/mp4") -> None:
        self._s3.upload_file(str(path), self.bucket, key, ExtraArgs={"ContentType": content_type})

    def put_bytes(self, data: bytes, key: str, content_type: str) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def download_file(self, key: str, path: Path) -> None:
        self._s3.download_file(self.bucket, key, str(path))

    def delete(self, keys: list[str]) -> list[str]:
        """Delete `keys` (DeleteObjects, 1,000 a call); answer the keys S3 did not delete."""
        left = []
        for start in range(0, len(keys), 1000):
            objects = [{"Key": key} for key in keys[start:start + 1000]]
            answer = self._s3.delete_objects(Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True})
            left += [str(error.get("Key")) for error in answer.get("Errors", [])]
        return left

    def url(self, key: str) -> str:
        """The configured public base URL plus the key, else a presigned GET URL."""
        if self._public_base_url:
            return f"{self._public_base_url}/{key}"
        return str(self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=self._presign_seconds,
        ))
