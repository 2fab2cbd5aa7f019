"""POST /v1/uploads: a presigned PUT into the caller's own inbox whose signature covers its headers."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
import pytest
from botocore.config import Config
from reelgate.storage import metadata_text, metadata_value
from reelgate.toolkit.keys import ApiKey
from reelgate.toolkit.schemas import InvalidPayload
from reelgate.toolkit.uploads import presign


@pytest.fixture
def s3() -> Any:
    return boto3.client("s3", region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x",
                        endpoint_url="https://s3.us-east-1.amazonaws.com", config=Config(signature_version="s3v4"))


KEY = ApiKey(key_id="k1", name="tenant", credits=10, webhook_secret="s", created_at="2026-01-01T00:00:00+00:00")


def body(**over: Any) -> dict[str, Any]:
    return {"kind": "image2video", "filename": "trip/Beach.JPG", "content_type": "image/jpeg",
            "metadata": {"length": 2, "webhook_url": "https://hooks.example.com/x"}} | over


def test_the_upload_lands_in_the_callers_inbox_and_signs_every_header_it_lists(s3) -> None:
    answer = presign(s3, "media", KEY, body())

    assert answer["upload_key"] == "inbox/k1/image2video/trip/Beach.JPG"
    assert (answer["method"], answer["expires_in"]) == ("PUT", 900)
    assert answer["headers"] == {"Content-Type": "image/jpeg", "x-amz-meta-length": "2",
                                 "x-amz-meta-webhook_url": "https://hooks.example.com/x"}
    url = urlsplit(answer["upload_url"])
    assert unquote(url.path) == "/media/" + answer["upload_key"]  # SigV4 signs the path: no other key fits
    signed = set(parse_qs(url.query)["X-Amz-SignedHeaders"][0].split(";"))
    assert {name.lower() for name in answer["headers"]} | {"host"} == signed


@pytest.mark.parametrize("filename", ["../k2/image2video/x.jpg", "a/../../k2/x.jpg", "/abs.jpg", "a//b.jpg",
                                      "./a.jpg", "dir/", "a\\b.jpg", "a\nb.jpg", ""])
def test_a_filename_cannot_leave_the_inbox(s3, filename: str) -> None:
    with pytest.raises(InvalidPayload):
        presign(s3, "media", KEY, body(filename=filename))


@pytest.mark.parametrize("change", [
    {"kind": "concatenate2"}, {"content_type": "text/html"}, {"metadata": {"length": 0}},
    {"content_type": "application/json"}, {"filename": "notes.txt"},
    {"kind": "concatenate", "content_type": "image/jpeg", "filename": "r.json", "metadata": {}},
    {"kind": "concatenate", "content_type": "application/json", "filename": "r.jpg", "metadata": {}},
    {"kind": "concatenate", "content_type": "application/json", "filename": "r.json"},  # options are the manifest's
    {"metadata": {"api-key-id": "k2"}}, {"key_id": "k2"}, {"metadata": {"frame_rate": 240}},
])
def test_anything_the_body_schema_does_not_allow_is_refused(s3, change: dict[str, Any]) -> None:
    with pytest.raises(InvalidPayload):
        presign(s3, "media", KEY, body(**change))


def test_a_concatenation_manifest_goes_to_the_concatenate_inbox_as_json(s3) -> None:
    answer = presign(s3, "media", KEY, {"kind": "concatenate", "filename": "reels/Reel.JSON",
                                        "content_type": "application/json"})
    assert answer["upload_key"] == "inbox/k1/concatenate/reels/Reel.JSON"
    assert answer["headers"] == {"Content-Type": "application/json"}


def test_text_that_is_not_plain_ascii_travels_as_an_rfc_2047_word_and_reads_back(s3) -> None:
    """S3 metadata is US-ASCII (botocore refuses the rest): an id in any language still gets its upload."""
    for text in ("été 日本 🎬", "tab\there"):
        answer = presign(s3, "media", KEY, body(metadata={"id": text}))
        sent = answer["headers"]["x-amz-meta-id"]
        assert sent.isascii() and sent.isprintable() and sent.startswith("=?utf-8?")
        assert metadata_text(sent) == text
    assert metadata_value("request-123") == "request-123" == metadata_text("request-123")


@pytest.mark.parametrize("change", [{"filename": "a\udc80.jpg"}, {"metadata": {"id": "\ud800"}}])
def test_an_unpaired_surrogate_is_refused_as_bad_text(s3, change: dict[str, Any]) -> None:
    with pytest.raises(InvalidPayload, match="not valid Unicode text"):
        presign(s3, "media", KEY, body(**change))
