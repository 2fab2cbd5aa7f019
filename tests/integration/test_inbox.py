"""Toolkit inboxes: objects under inbox/<key id>/image2video/ become jobs charged to that key (against moto;
the flow's start is recorded, not run, and a bucket without notifications keeps the S3 trigger out of it)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from PIL import Image
from reelgate import aws
from reelgate.jobs import JobStatus, JobStore
from reelgate.storage import metadata_value
from reelgate.toolkit import api
from reelgate.toolkit.ingest import ingest, output_key, parse
from reelgate.toolkit.keys import ApiKeys

BUCKET = "plain"  # no notification configuration: only the test calls ingest


class Flows:
    def __init__(self) -> None:
        self.started: list[str] = []

    class exceptions:
        ExecutionAlreadyExists = type("ExecutionAlreadyExists", (Exception,), {})

    def start_execution(self, *, name: str, **_: Any) -> dict[str, str]:
        self.started.append(name)
        return {"executionArn": f"arn:aws:states:us-east-1:123456789012:execution:toolkit:{name}"}


@pytest.fixture
def toolkit(cloud, monkeypatch):
    cloud.client("s3").create_bucket(Bucket=BUCKET)
    toolkit = api.toolkit()
    monkeypatch.setattr(toolkit, "_sfn", Flows())
    return toolkit


@pytest.fixture
def key(cloud):
    return ApiKeys(aws.table(cloud.env["REELGATE_STATE_TABLE"])).create("tenant", credits=100)[1]


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "navy").save(buffer, "PNG")
    return buffer.getvalue()


def put(cloud, key: str, sequencer: str, **metadata: str) -> dict[str, Any]:
    cloud.client("s3").put_object(Bucket=BUCKET, Key=key, Body=png(), Metadata=metadata)
    return {"s3": {"bucket": {"name": BUCKET}, "object": {"key": key.replace(" ", "+"), "sequencer": sequencer}}}


def credits(cloud, key) -> int:
    return ApiKeys(aws.table(cloud.env["REELGATE_STATE_TABLE"])).get(key.key_id).credits


def jobs(cloud) -> JobStore:
    return JobStore(aws.table(cloud.env["REELGATE_JOBS_TABLE"]))


def test_an_image_in_a_keys_inbox_starts_a_job_charged_to_that_key(cloud, toolkit, key) -> None:
    record = put(cloud, f"inbox/{key.key_id}/image2video/trip/Beach Day.JPG", "01", length="2", id="req-7")

    [job_id] = ingest(toolkit, aws.client("s3"), {"Records": [record]})

    job = jobs(cloud).get(job_id)
    assert (job.owner, job.status, job.cost) == (key.owner, JobStatus.QUEUED, 10)
    assert (job.input["length"], job.input["id"]) == (2, "req-7")
    assert job.input["output_key"] == f"outbox/{key.key_id}/trip/Beach Day.JPG.{job_id}.mp4"
    assert (job.input["endpoint"], job.input["source_key"]) == (
        "/v1/image/convert/video", f"inbox/{key.key_id}/image2video/trip/Beach Day.JPG")
    assert toolkit._sfn.started == [job_id] and credits(cloud, key) == 90


def test_an_id_in_any_language_comes_through_the_objects_metadata_as_sent(cloud, toolkit, key) -> None:
    """POST /v1/uploads sends text that is not plain ASCII as an RFC 2047 word (S3's own form for it)."""
    record = put(cloud, f"inbox/{key.key_id}/image2video/été.png", "0a", id=metadata_value("été 日本"))

    [job_id] = ingest(toolkit, aws.client("s3"), {"Records": [record]})

    assert jobs(cloud).get(job_id).input["id"] == "été 日本"


def test_two_images_with_the_same_stem_get_two_outputs(cloud, toolkit, key) -> None:
    records = [put(cloud, f"inbox/{key.key_id}/image2video/a.{ext}", "02") for ext in ("jpg", "png")]
    first, second = ingest(toolkit, aws.client("s3"), {"Records": records})
    outputs = {jobs(cloud).get(job_id).input["output_key"] for job_id in (first, second)}
    assert len(outputs) == 2


def test_a_redelivered_event_starts_no_second_job(cloud, toolkit, key) -> None:
    record = put(cloud, f"inbox/{key.key_id}/image2video/once.png", "03")
    [job_id] = ingest(toolkit, aws.client("s3"), {"Records": [record]})
    assert ingest(toolkit, aws.client("s3"), {"Records": [record]}) == []
    assert toolkit._sfn.started == [job_id] and credits(cloud, key) == 90


def put_manifest(cloud, key: str, sequencer: str, body: bytes) -> dict[str, Any]:
    cloud.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body)
    return {"s3": {"bucket": {"name": BUCKET}, "object": {"key": key, "sequencer": sequencer}}}


def test_a_manifest_in_the_concatenate_inbox_starts_a_concatenation(cloud, toolkit, key) -> None:
    manifest = b'{"video_urls": [{"video_url": "https://a.example/1.mp4"}, {"video_url": "https://a.example/2.mp4"}]}'
    record = put_manifest(cloud, f"inbox/{key.key_id}/concatenate/reel.JSON", "06", manifest)

    [job_id] = ingest(toolkit, aws.client("s3"), {"Records": [record]})

    job = jobs(cloud).get(job_id)
    assert (job.kind, job.owner, job.cost, len(job.input["video_urls"])) == ("toolkit.concatenate", key.owner, 35, 2)
    assert job.input["output_key"] == f"outbox/{key.key_id}/reel.JSON.{job_id}.mp4"
    assert job.input["endpoint"] == "/v1/video/concatenate"  # the flow answers and bills as that endpoint
    assert credits(cloud, key) == 65 and toolkit._sfn.started == [job_id]


@pytest.mark.parametrize(("name", "body", "reason"), [
    ("bad.json", b"{not json", "not valid JSON"),
    ("bad.json", b'{"video_urls": []}', "video_urls"),
    ("reel.txt", b"{}", "is not a manifest"),
    ("big.json", b" " * (256 * 1024 + 1), "the manifest is larger than 262144 bytes"),
])
def test_a_bad_manifest_is_one_failed_job(cloud, toolkit, key, name, body, reason) -> None:
    record = put_manifest(cloud, f"inbox/{key.key_id}/concatenate/{name}", "07", body)
    [job_id] = ingest(toolkit, aws.client("s3"), {"Records": [record]})
    job = jobs(cloud).get(job_id)
    assert job.status is JobStatus.FAILED and reason in job.error and credits(cloud, key) == 100


def test_a_manifest_of_exactly_the_limit_is_read_as_a_manifest(cloud, toolkit, key) -> None:
    body = json.dumps({"video_urls": [{"video_url": "https://a.example/1.mp4"},
                                      {"video_url": "https://a.example/2.mp4"}]}).encode()
    body += b" " * (256 * 1024 - len(body))  # JSON allows trailing whitespace
    assert len(body) == 256 * 1024
    record = put_manifest(cloud, f"inbox/{key.key_id}/concatenate/full.json", "0b", body)

    [job_id] = ingest(toolkit, aws.client("s3"), {"Records": [record]})

    assert jobs(cloud).get(job_id).status is JobStatus.QUEUED and credits(cloud, key) == 65


def test_a_clip_the_function_may_not_read_is_refused_like_a_missing_one(cloud, toolkit, key) -> None:
    """S3 answers a HEAD of an object the role may not read (or that does not exist, without ListBucket)
    with a bare 403: the manifest then names no object of the key's."""
    s3 = cloud.client("s3")  # a client of its own: the refusal below stays in this test
    s3.put_object(Bucket=BUCKET, Key=f"inbox/{key.key_id}/clips/a.mp4", Body=b"video")

    def forbidden(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")

    s3.meta.events.register("before-call.s3.HeadObject", forbidden)
    manifest = json.dumps({"video_urls": [{"video_key": f"inbox/{key.key_id}/clips/a.mp4"},
                                          {"video_url": "https://a.example/2.mp4"}]}).encode()
    record = put_manifest(cloud, f"inbox/{key.key_id}/concatenate/forbidden.json", "0c", manifest)

    [job_id] = ingest(toolkit, s3, {"Records": [record]})

    job = jobs(cloud).get(job_id)
    assert job.status is JobStatus.FAILED and "no object" in job.error and credits(cloud, key) == 100


def test_a_manifest_may_name_objects_of_its_own_keys_inbox_and_outbox(cloud, toolkit, key) -> None:
    s3 = cloud.client("s3")
    for clip in (f"inbox/{key.key_id}/clips/a.mp4", f"outbox/{key.key_id}/earlier.png.j1.mp4"):
        s3.put_object(Bucket=BUCKET, Key=clip, Body=b"video")
    manifest = json.dumps({"video_urls": [{"video_key": f"inbox/{key.key_id}/clips/a.mp4"},
                                          {"video_url": "https://a.example/2.mp4"},
                                          {"video_key": f"outbox/{key.key_id}/earlier.png.j1.mp4"}]}).encode()
    record = put_manifest(cloud, f"inbox/{key.key_id}/concatenate/mixed.json", "08", manifest)

    [job_id] = ingest(toolkit, aws.client("s3"), {"Records": [record]})

    job = jobs(cloud).get(job_id)
    assert job.status is JobStatus.QUEUED and [sorted(item) for item in job.input["video_urls"]] == [
        ["video_key"], ["video_url"], ["video_key"]]
    assert credits(cloud, key) == 65


@pytest.mark.parametrize(("clip", "reason"), [
    ("inbox/{other}/clips/a.mp4", "must name an object under inbox/{key}/"),  # another tenant's object
    ("outbox/{other}/x.mp4", "must name an object under inbox/{key}/"),
    ("inbox/{key}/../{other}/clips/a.mp4", "must name an object under"),
    ("inbox/{key}//clips/a.mp4", "must name an object under"),
    ("inbox/{key}/./clips/a.mp4", "must name an object under"),
    ("inbox/mobile/app/user/a.jpg", "must name an object under"),
    ("videos/j.mp4", "must name an object under"),
    ("inbox/{key}/clips/missing.mp4", "no object"),
])
def test_a_manifest_naming_anything_but_its_own_keys_objects_is_one_failed_job(cloud, toolkit, key, clip,
                                                                               reason) -> None:
    other = "0123456789abcdef"
    cloud.client("s3").put_object(Bucket=BUCKET, Key=f"inbox/{other}/clips/a.mp4", Body=b"video")
    cloud.client("s3").put_object(Bucket=BUCKET, Key=f"outbox/{other}/x.mp4", Body=b"video")
    named = clip.format(key=key.key_id, other=other)
    manifest = json.dumps({"video_urls": [{"video_key": named}]}).encode()
    record = put_manifest(cloud, f"inbox/{key.key_id}/concatenate/theirs.json", "09", manifest)

    [job_id] = ingest(toolkit, aws.client("s3"), {"Records": [record]})

    job = jobs(cloud).get(job_id)
    assert job.status is JobStatus.FAILED and reason.format(key=key.key_id) in job.error
    assert credits(cloud, key) == 100 and toolkit._sfn.started == []


@pytest.mark.parametrize("item", [{}, {"video_url": "https://a.example/1.mp4", "video_key": "inbox/k/a.mp4"},
                                  {"video_key": ""}, {"video_key": 5}])
def test_a_manifest_clip_is_one_url_or_one_key(cloud, toolkit, key, item) -> None:
    record = put_manifest(cloud, f"inbox/{key.key_id}/concatenate/odd.json", "10",
                          json.dumps({"video_urls": [item]}).encode())
    [job_id] = ingest(toolkit, aws.client("s3"), {"Records": [record]})
    assert jobs(cloud).get(job_id).status is JobStatus.FAILED and credits(cloud, key) == 100


def test_the_http_concatenation_takes_no_keys() -> None:
    from reelgate.toolkit.schemas import CONCATENATE, InvalidPayload, validate

    with pytest.raises(InvalidPayload):
        validate(CONCATENATE, {"video_urls": [{"video_key": "inbox/k/a.mp4"}]})


@pytest.mark.parametrize(("name", "metadata", "reason"), [
    ("image2video/bad.png", {"length": "long"}, "length must be a number"),
    ("image2video/bad.png", {"frame_rate": "240"}, "frame_rate"),
    ("image2video/notes.txt", {}, "notes.txt is not an image: the name must end in .jpg, .jpeg, .png, .webp"),
    ("resize/x.png", {}, "is not a kind of job"),
])
def test_an_invalid_object_is_one_failed_job_charged_nothing(cloud, toolkit, key, name, metadata, reason) -> None:
    record = put(cloud, f"inbox/{key.key_id}/{name}", "04", **metadata)
    [job_id] = ingest(toolkit, aws.client("s3"), {"Records": [record]})
    assert ingest(toolkit, aws.client("s3"), {"Records": [record]}) == [job_id]  # found again, not made again

    job = jobs(cloud).get(job_id)
    assert (job.status, job.owner, job.cost) == (JobStatus.FAILED, key.owner, 0)
    assert reason in job.error and not job.error.lower().startswith("invalid request payload")
    assert (job.kind, job.slots, job.input) == (f"toolkit.{name.split('/')[0]}", [],
                                                {"source_key": f"inbox/{key.key_id}/{name}"})
    assert toolkit._sfn.started == [] and credits(cloud, key) == 100


def test_a_refused_objects_kind_is_cut_to_64_characters(cloud, toolkit, key) -> None:
    record = put(cloud, f"inbox/{key.key_id}/{'k' * 100}/x.png", "06")
    [job_id] = ingest(toolkit, aws.client("s3"), {"Records": [record]})

    job = jobs(cloud).get(job_id)
    assert job.status == JobStatus.FAILED and job.kind == "toolkit." + "k" * 56
    assert "is not a kind of job" in job.error


@pytest.mark.parametrize("key_name", [
    "inbox/mobile/com.example.app/u1/photo.png",  # mobile uploads are never a trigger by themselves
    "inbox/photo.png", "inbox/unknownkey/image2video/x.png", "outbox/k/image2video/x.png",
])
def test_objects_outside_a_known_keys_inbox_start_nothing(cloud, toolkit, key_name) -> None:
    record = put(cloud, key_name, "05")
    assert ingest(toolkit, aws.client("s3"), {"Records": [record]}) == []
    assert toolkit._sfn.started == []
    assert aws.table(cloud.env["REELGATE_JOBS_TABLE"]).scan()["Items"] == []


def test_the_layout_of_inbox_and_outbox_keys() -> None:
    obj = parse("inbox/k1/image2video/a/b.png")
    assert obj is not None and (obj.key_id, obj.kind, obj.relative) == ("k1", "image2video", "a/b.png")
    assert output_key(obj, "j") == "outbox/k1/a/b.png.j.mp4"
    assert parse("inbox/mobile/app/u/x.png") is None and parse("inbox/k1/image2video/") is None
    assert parse("inbox//image2video/x.png") is None  # no key id
    assert parse("outbox/k1/image2video/x.png") is None and parse("k1/image2video/x.png") is None  # not an inbox


@pytest.mark.parametrize(("count", "error"), [(20, None), (21, "video_urls: at most 20 items are allowed")])
def test_a_manifest_may_hold_as_many_clips_as_the_http_body(cloud, toolkit, key, count, error) -> None:
    clips = [{"video_url": f"https://a.example/{index}.mp4"} for index in range(count)]
    record = put_manifest(cloud, f"inbox/{key.key_id}/concatenate/n{count}.json", f"1{count}",
                          json.dumps({"video_urls": clips}).encode())

    [job_id] = ingest(toolkit, aws.client("s3"), {"Records": [record]})

    job = jobs(cloud).get(job_id)
    assert (job.status, job.error) == ((JobStatus.FAILED, error) if error else (JobStatus.QUEUED, None))


def test_a_refused_clip_is_named_by_its_place_in_the_manifest(cloud, toolkit, key) -> None:
    manifest = json.dumps({"video_urls": [{"video_url": "https://a.example/1.mp4"},
                                          {"video_key": f"inbox/{key.key_id}/clips/none.mp4"}]}).encode()
    record = put_manifest(cloud, f"inbox/{key.key_id}/concatenate/named.json", "0d", manifest)

    [job_id] = ingest(toolkit, aws.client("s3"), {"Records": [record]})

    assert jobs(cloud).get(job_id).error == f"video_urls[1].video_key: no object inbox/{key.key_id}/clips/none.mp4"


def test_a_redelivered_event_maps_to_the_same_job_id(cloud, toolkit, key) -> None:
    refused = put(cloud, f"inbox/{key.key_id}/image2video/bad.png", "08", length="many")  # one failed job
    first = ingest(toolkit, aws.client("s3"), {"Records": [refused]})
    again = ingest(toolkit, aws.client("s3"), {"Records": [refused]})
    assert first == again and len(first) == 1

    newer = put(cloud, f"inbox/{key.key_id}/image2video/bad.png", "09", length="many")  # a new version: a new job
    assert ingest(toolkit, aws.client("s3"), {"Records": [newer]}) != first


def test_an_object_outside_the_inboxes_does_not_stop_the_rest_of_its_event(cloud, toolkit, key) -> None:
    stray = put(cloud, "inbox/photo.png", "10")
    image = put(cloud, f"inbox/{key.key_id}/image2video/a.png", "11")

    assert len(ingest(toolkit, aws.client("s3"), {"Records": [stray, image]})) == 1


def test_without_a_sequencer_the_etag_tells_versions_apart(cloud, toolkit, key) -> None:
    record = put(cloud, f"inbox/{key.key_id}/image2video/bad.png", "", length="many")  # one failed job each
    del record["s3"]["object"]["sequencer"]
    first, second = ({"s3": {**record["s3"], "object": {**record["s3"]["object"], "eTag": tag}}} for tag in "ab")

    [one] = ingest(toolkit, aws.client("s3"), {"Records": [first]})
    [two] = ingest(toolkit, aws.client("s3"), {"Records": [second]})
    assert one != two and ingest(toolkit, aws.client("s3"), {"Records": [first]}) == [one]
