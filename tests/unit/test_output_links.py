"""Output links: CloudFront signed URLs (canned policy) and presigned GETs, their expiry, and the local
CloudFront stand-in that refuses every URL it did not sign for the object and time asked."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from reelgate.links import CloudFrontLinks, Link, NotAnOutput, PresignedLinks, earliest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from infra.cdn_keys import new_key_pair
from infra.local.cdn import LocalCdn

NOW = 1_800_000_000  # 2027-01-15T08:00:00Z
PAIR = new_key_pair()
OTHER = new_key_pair()
BASE = "http://127.0.0.1:4510"  # the local distribution's own port
WEEK = 7 * 24 * 3600


class Bucket:
    """get_object of an emulated bucket holding `objects`."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects, self.read = objects, []

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        if Key not in self.objects:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetObject")
        self.read.append(Key)
        return {"Body": io.BytesIO(self.objects[Key]), "ContentType": "video/mp4"}


def links(private_pem: str = PAIR.private_pem, now: float = NOW, seconds: int = WEEK) -> CloudFrontLinks:
    return CloudFrontLinks(BASE, "KLOCAL", lambda: private_pem, seconds, clock=lambda: now)


def cdn(objects: dict[str, bytes], now: float = NOW) -> tuple[LocalCdn, Bucket]:
    bucket = Bucket(objects)
    return LocalCdn(bucket, "media", "KLOCAL", PAIR.public_pem, clock=lambda: now), bucket


def get(local: LocalCdn, url: str) -> Any:
    parts = urlsplit(url)
    environ = EnvironBuilder(path=parts.path, base_url=f"{parts.scheme}://{parts.netloc}", query_string=parts.query,
                             environ_overrides={"RAW_URI": f"{parts.path}?{parts.query}"}).get_environ()
    return local.answer(Request(environ))


def test_a_cloudfront_link_expires_exactly_its_lifetime_after_signing() -> None:
    link = links().link("outbox/k1/trip/a b.jpg.j1.mp4")
    query = parse_qs(urlsplit(link.url).query)
    assert link.url.startswith(f"{BASE}/outbox/k1/trip/a%20b.jpg.j1.mp4?Expires={NOW + WEEK}&Signature=")
    assert query["Key-Pair-Id"] == ["KLOCAL"]
    assert link.expires_at == datetime.fromtimestamp(NOW + WEEK, UTC)
    assert link.expires_iso == "2027-01-22T08:00:00Z"


def test_the_signature_is_rsa_sha1_over_the_canned_policy() -> None:
    link = links().link("videos/j.mp4")
    statement = {"Resource": f"{BASE}/videos/j.mp4", "Condition": {"DateLessThan": {"AWS:EpochTime": NOW + WEEK}}}
    policy = json.dumps({"Statement": [statement]}, separators=(",", ":")).encode()
    signature = parse_qs(urlsplit(link.url).query)["Signature"][0]
    raw = base64.b64decode(signature.replace("-", "+").replace("_", "=").replace("~", "/"))
    public = serialization.load_pem_public_key(PAIR.public_pem.encode())
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(raw, policy, padding.PKCS1v15(), hashes.SHA1())  # raises InvalidSignature otherwise


def test_the_local_cdn_serves_a_signed_output() -> None:
    local, bucket = cdn({"outbox/k1/trip/a b.jpg.j1.mp4": b"video"})
    answer = get(local, links().link("outbox/k1/trip/a b.jpg.j1.mp4").url)
    assert (answer.status_code, answer.get_data(), answer.content_type) == (200, b"video", "video/mp4")
    assert bucket.read == ["outbox/k1/trip/a b.jpg.j1.mp4"]


def tampered(url: str) -> dict[str, str]:
    base, _, _ = url.partition("?")
    query = {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}
    signature, expires = query["Signature"], query["Expires"]
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return {
        "a later Expires": f"{base}?Expires={int(expires) + 60}&Signature={signature}&Key-Pair-Id=KLOCAL",
        "another object": f"{BASE}/videos/other.mp4?Expires={expires}&Signature={signature}&Key-Pair-Id=KLOCAL",
        "another host": url.replace("127.0.0.1", "localhost"),
        "a changed signature": f"{base}?Expires={expires}&Signature={flipped}&Key-Pair-Id=KLOCAL",
        "garbage signature": f"{base}?Expires={expires}&Signature=%%%&Key-Pair-Id=KLOCAL",
        "another key pair id": f"{base}?Expires={expires}&Signature={signature}&Key-Pair-Id=KOTHER",
        "no Signature": f"{base}?Expires={expires}&Key-Pair-Id=KLOCAL",
        "no parameters": base,
        "a non-numeric Expires": f"{base}?Expires=soon&Signature={signature}&Key-Pair-Id=KLOCAL",
    }


@pytest.mark.parametrize("how", list(tampered(f"{BASE}/videos/j.mp4?Expires=1&Signature=x&Key-Pair-Id=K")))
def test_the_local_cdn_refuses_a_tampered_link(how: str) -> None:
    local, bucket = cdn({"videos/j.mp4": b"video", "videos/other.mp4": b"other"})
    answer = get(local, tampered(links().link("videos/j.mp4").url)[how])
    assert answer.status_code == 403 and b"<Error>" in answer.get_data() and bucket.read == []


def test_the_local_cdn_refuses_a_link_signed_with_another_key() -> None:
    local, bucket = cdn({"videos/j.mp4": b"video"})
    assert get(local, links(OTHER.private_pem).link("videos/j.mp4").url).status_code == 403 and bucket.read == []


def test_a_link_works_until_its_expires_and_not_at_it() -> None:
    url = links(seconds=60).link("videos/j.mp4").url
    assert get(cdn({"videos/j.mp4": b"v"}, now=NOW + 59)[0], url).status_code == 200
    assert get(cdn({"videos/j.mp4": b"v"}, now=NOW + 60)[0], url).status_code == 403


def test_the_local_cdn_reads_only_outputs_and_missing_objects_are_403() -> None:
    local, bucket = cdn({"inbox/k1/image2video/a.jpg": b"secret"})
    inbox = links().link("videos/x.mp4").url.replace("/videos/x.mp4", "/inbox/k1/image2video/a.jpg")
    assert get(local, inbox).status_code == 403  # signature no longer matches, and the prefix is not an output
    assert get(local, links().link("videos/missing.mp4").url).status_code == 403 and bucket.read == []


@pytest.mark.parametrize("key", ["inbox/k1/image2video/a.jpg", "a.mp4", "videos/../inbox/x", "inbox/mobile/u/i.png"])
def test_links_are_only_made_for_outputs(key: str) -> None:
    with pytest.raises(NotAnOutput):
        links().link(key)


def test_a_presigned_link_states_its_own_expiry() -> None:
    s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x",
                      config=Config(signature_version="s3v4"))
    link = PresignedLinks(s3, "media", 3600, clock=lambda: NOW).link("videos/j.mp4")
    assert "X-Amz-Expires=3600" in link.url and link.expires_at == datetime.fromtimestamp(NOW + 3600, UTC)


def test_the_earliest_expiry_of_an_answer() -> None:
    soon, later = (Link("u", datetime.fromtimestamp(NOW + s, UTC)) for s in (10, 20))
    assert earliest([later, None, soon]) == "2027-01-15T08:00:10Z"
    assert earliest([None]) is None


def test_a_key_that_is_not_rsa_is_refused() -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    with pytest.raises(ValueError, match="not an RSA key"):
        links(pem).link("videos/j.mp4")
    with pytest.raises(ValueError, match="not a PEM private key"):
        links("not a key").link("videos/j.mp4")

