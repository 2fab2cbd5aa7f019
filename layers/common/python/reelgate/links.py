"""Output links: the URLs callers download outputs by, each with the moment it really stops working.

- **CloudFront** (stages that serve outputs through their distribution, `cdn_url` set): signed URLs
  with a canned policy (RSA-SHA1, botocore's `CloudFrontSigner`), signed with the stage's key pair
  whose private half is a Secrets Manager secret. Such a URL lives until its `Expires`, whatever
  credentials the signing function had.
- **Presigned S3 GETs** otherwise: they die with the credentials that signed them (a function's role
  credentials last hours at most), so their lifetime is kept short (`presign_seconds`, at most an hour).

Only objects under `OUTPUT_PREFIXES` are outputs: the distribution may read nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol
from urllib.parse import quote

from botocore.signers import CloudFrontSigner

from reelgate.settings import Settings

OUTBOX = "outbox/"  # toolkit outputs: outbox/<job id>.mp4, and outbox/<key id>/... for inbox-started jobs
# Every output: the toolkit's, and the provider videos and images mirrored by the flows (videos/, images/).
OUTPUT_PREFIXES = (OUTBOX, "videos/", "images/")


class NotAnOutput(ValueError):
    """A link was asked for an object outside the output prefixes."""


@dataclass(frozen=True)
class Link:
    url: str
    expires_at: datetime  # whole seconds, UTC

    @property
    def expires_iso(self) -> str:
        return iso(self.expires_at)


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with a Z, to the second: 2026-12-14T09:30:00Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def earliest(links: Iterable[Link | None]) -> str | None:
    """When the first of an answer's links stops working (ISO 8601 UTC), or None without links."""
    moments = [link.expires_at for link in links if link is not None]
    return iso(min(moments)) if moments else None


def check_output(key: str) -> str:
    if not key.startswith(OUTPUT_PREFIXES) or ".." in key.split("/"):
        raise NotAnOutput(f"{key!r} is not under {OUTPUT_PREFIXES}")
    return key


class Links(Protocol):
    def link(self, key: str) -> Link: ...


class CloudFrontLinks:
    """Signed URLs of the distribution at `base_url` (its https://<domain>), valid for `seconds`."""

    def __init__(self, base_url: str, key_pair_id: str, private_key: Callable[[], str], seconds: int,
                 clock: Callable[[], float] = time.time) -> None:
        self._base, self._key_pair_id, self._private_key = base_url.rstrip("/"), key_pair_id, private_key
        self._seconds, self._clock = seconds, clock

    def link(self, key: str) -> Link:
        expires = datetime.fromtimestamp(int(self._clock()) + self._seconds, UTC)
        signer = CloudFrontSigner(self._key_pair_id, rsa_sha1_signer(self._private_key()))
        url = f"{self._base}/{quote(check_output(key), safe='/')}"
        return Link(signer.generate_presigned_url(url, date_less_than=expires), expires)


class PresignedLinks:
    """Presigned S3 GETs valid for `seconds` (short: they end with the signing credentials anyway)."""

    def __init__(self, s3: Any, bucket: str, seconds: int, clock: Callable[[], float] = time.time) -> None:
        self._s3, self._bucket, self._seconds, self._clock = s3, bucket, seconds, clock

    def link(self, key: str) -> Link:
        # Taken before signing: the URL's own X-Amz-Date is this second or later, never earlier.
        expires = datetime.fromtimestamp(int(self._clock()) + self._seconds, UTC)
        url = self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": check_output(key)}, ExpiresIn=self._seconds)
        return Link(str(url), expires)


def rsa_sha1_signer(private_key_pem: str) -> Callable[[bytes], bytes]:
    """What `CloudFrontSigner` needs: PKCS#1 v1.5 signatures with SHA-1 (CloudFront's canned policy)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    key = _private_key(private_key_pem)
    return lambda message: key.sign(message, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 - CloudFront's


@lru_cache(maxsize=4)  # the secret's text is cached by Powertools; parsing it once per value is enough
def _private_key(pem: str) -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except ValueError as exc:
        raise ValueError("the CDN signing key is not a PEM private key") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the CDN signing key is not an RSA key")
    return key


def from_settings(settings: Settings, s3: Any) -> Links:
    """CloudFront links when the stage deployed a distribution (`cdn_url`), else presigned GETs."""
    if settings.cdn_url:
        from reelgate.secrets import cdn_private_key

        return CloudFrontLinks(settings.cdn_url, settings.cdn_key_pair_id, lambda: cdn_private_key(settings),
                               settings.cdn_url_seconds)
    return PresignedLinks(s3, settings.media_bucket, settings.presign_seconds)
