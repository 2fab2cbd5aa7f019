"""The media bucket: uploads, downloads and the URLs handed to callers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from email.header import Header, decode_header, make_header
from pathlib import Path
from typing import Any

from reelgate import links
from reelgate.links import Link, Links, PresignedLinks
from reelgate.settings import Settings

INBOX = "inbox/"
MOBILE_INBOX = f"{INBOX}mobile/"  # mobile callers' uploads (POST /uploads): read by key, never a trigger
SEGMENTS = "segments/"  # a segmented render's still and parts, deleted once joined (else expired by lifecycle)
PRESIGN_SECONDS = Settings.model_fields["presign_seconds"].default
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


def metadata_value(text: str) -> str:
    """S3 user metadata travels in HTTP headers, US-ASCII only (botocore refuses anything else): other text
    goes as one RFC 2047 encoded word, the form S3 itself uses for such values; `metadata_text` reads it."""
    return text if text.isascii() and text.isprintable() else Header(text, "utf-8").encode(maxlinelen=0)


def metadata_text(value: str) -> str:
    """A metadata value as its sender meant it: an RFC 2047 encoded word decoded, anything else as is."""
    return str(make_header(decode_header(value))) if _ENCODED_WORD.fullmatch(value) else value


def presigned_put(s3: Any, bucket: str, key: str, content_type: str, *, expires: int,
                  metadata: Mapping[str, str] | None = None, content_length: int | None = None) -> dict[str, Any]:
    """A presigned PUT of exactly one object, and every header the client must send with it.

    The signature covers the content type, the `x-amz-meta-*` metadata and, when given, the length: real
    S3 refuses a presigned PUT whose signed headers are missing or different, so none can be swapped.
    """
    meta = {name: metadata_value(value) for name, value in (metadata or {}).items()}
    params: dict[str, Any] = {"Bucket": bucket, "Key": key, "ContentType": content_type, "Metadata": meta}
    headers = {"Content-Type": content_type} | {f"x-amz-meta-{name}": value for name, value in meta.items()}
    if content_length is not None:
        params["ContentLength"] = content_length
        headers["Content-Length"] = str(content_length)
    url = s3.generate_presigned_url("put_object", ExpiresIn=expires, Params=params)
    return {"upload_url": url, "upload_key": key, "method": "PUT", "headers": headers, "expires_in": expires}


class MediaStore:
    """The media bucket; `link` answers an output's URL and when it expires (reelgate.links)."""

    def __init__(self, s3: Any, bucket: str, *, links: Links | None = None) -> None:
        self._s3 = s3
        self.bucket = bucket
        self._links = links or PresignedLinks(s3, bucket, PRESIGN_SECONDS)

    @classmethod
    def from_settings(cls, s3: Any, settings: Settings) -> MediaStore:
        return cls(s3, settings.media_bucket, links=links.from_settings(settings, s3))

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

    def link(self, key: str) -> Link:
        """The URL of the output `key` and when it stops working."""
        return self._links.link(key)
