"""The media bucket: uploads, downloads and the URLs handed to callers."""

from __future__ import annotations

from pathlib import Path
from typing import Any


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

    def url(self, key: str) -> str:
        """The configured public base URL plus the key, else a presigned GET URL."""
        if self._public_base_url:
            return f"{self._public_base_url}/{key}"
        return str(self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=self._presign_seconds,
        ))
