"""Toolkit inboxes on the local cloud: objects a tenant puts under inbox/<its key id>/image2video/ reach s3_ingest
through the bucket's notification, become jobs charged to that key, and their videos land in its outbox."""

from __future__ import annotations

import json
from typing import Any

import boto3
import httpx
import pytest
from reelgate.media import probe

from tests.e2e.conftest import wait_for
from tests.e2e.test_toolkit import clip, credits, new_key
from tests.helpers import circle_image

BUCKET = "reelgate-media"


@pytest.fixture(scope="module")
def s3(local_cloud) -> Any:
    info = local_cloud.info
    return boto3.client("s3", endpoint_url=info["aws_endpoint"], region_name="us-east-1",
                        aws_access_key_id=info["aws_access_key_id"],
                        aws_secret_access_key=info["aws_secret_access_key"])


def outputs(s3: Any, key_id: str) -> list[str]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"outbox/{key_id}/").get("Contents", [])
    return sorted(item["Key"] for item in listed)


def jobs_of(local_cloud, owner: str) -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb", endpoint_url=local_cloud.info["aws_endpoint"], region_name="us-east-1",
                           aws_access_key_id=local_cloud.info["aws_access_key_id"],
                           aws_secret_access_key=local_cloud.info["aws_secret_access_key"]).Table("reelgate-jobs")
    return [item for item in table.scan()["Items"] if item["owner"] == owner]


def test_images_in_a_tenants_inbox_become_its_videos_in_its_outbox(local_cloud, s3, tmp_path) -> None:
    key_id, api_key = new_key(local_cloud, credits=100)
    other_id, other_key = new_key(local_cloud, credits=100)
    png = circle_image(tmp_path / "a.png", (640, 480), "PNG").read_bytes()
    jpg = circle_image(tmp_path / "a.jpg", (640, 480)).read_bytes()
    s3.put_object(Bucket=BUCKET, Key=f"inbox/{key_id}/image2video/trip/a.png", Body=png, Metadata={"length": "1"})
    s3.put_object(Bucket=BUCKET, Key=f"inbox/{key_id}/image2video/trip/a.JPG", Body=jpg, Metadata={"length": "1"})

    done = wait_for(lambda: len(found := outputs(s3, key_id)) == 2 and found, timeout=90)

    assert [name.rsplit(".", 2)[0] for name in done] == [f"outbox/{key_id}/trip/a.JPG", f"outbox/{key_id}/trip/a.png"]
    video = tmp_path / "out.mp4"
    s3.download_file(BUCKET, done[0], str(video))
    assert probe(video).duration == pytest.approx(1.0, abs=0.1)
    assert credits(local_cloud, api_key) == 80 and credits(local_cloud, other_key) == 100  # 2 x 10, this tenant's
    assert outputs(s3, other_id) == []


def test_a_bad_object_is_one_failed_job_and_charges_nothing(local_cloud, s3, tmp_path) -> None:
    key_id, api_key = new_key(local_cloud, credits=100)
    png = circle_image(tmp_path / "b.png", (64, 48), "PNG").read_bytes()
    s3.put_object(Bucket=BUCKET, Key=f"inbox/{key_id}/image2video/b.png", Body=png, Metadata={"length": "forever"})

    [job] = wait_for(lambda: jobs_of(local_cloud, f"key#{key_id}"), timeout=30)

    assert job["status"] == "failed" and "length must be a number" in job["error"]
    assert credits(local_cloud, api_key) == 100 and outputs(s3, key_id) == []


def test_an_upload_from_v1_uploads_lands_in_the_callers_inbox_and_becomes_its_video(local_cloud, s3, tmp_path) -> None:
    key_id, api_key = new_key(local_cloud, credits=100)
    jpg = circle_image(tmp_path / "c.jpg", (640, 480)).read_bytes()
    with local_cloud.client() as http:
        answer = http.post("/v1/uploads", headers={"x-api-key": api_key}, json={
            "kind": "image2video", "filename": "c.jpg", "content_type": "image/jpeg", "metadata": {"length": 1}})
        assert answer.status_code == 200, answer.text
        upload = answer.json()
        assert upload["upload_key"] == f"inbox/{key_id}/image2video/c.jpg"
        assert upload["headers"] == {"Content-Type": "image/jpeg", "x-amz-meta-length": "1"}
        put = httpx.put(upload["upload_url"], content=jpg, headers=upload["headers"], timeout=30)
        assert put.status_code == 200, put.text
        refused = http.post("/v1/uploads", headers={"x-api-key": api_key}, json={
            "kind": "image2video", "filename": f"../../{key_id}x/image2video/c.jpg", "content_type": "image/jpeg"})
        assert refused.status_code == 400 and "filename" in refused.json()["message"]
        assert http.post("/v1/uploads", json={}).status_code == 401

    [video] = wait_for(lambda: outputs(s3, key_id), timeout=90)

    assert video.startswith(f"outbox/{key_id}/c.jpg.") and video.endswith(".mp4")
    assert credits(local_cloud, api_key) == 90


def test_a_manifest_in_a_tenants_concatenate_inbox_becomes_its_joined_video(local_cloud, s3, site, tmp_path) -> None:
    key_id, api_key = new_key(local_cloud, credits=100)
    for name in ("in1.mp4", "in2.mp4"):
        clip(site.root / name, "320x240", 25, False)
    manifest = {"video_urls": [{"video_url": f"{site.url}/in1.mp4"}, {"video_url": f"{site.url}/in2.mp4"}]}
    s3.put_object(Bucket=BUCKET, Key=f"inbox/{key_id}/concatenate/reel.json", Body=json.dumps(manifest).encode())

    [video] = wait_for(lambda: outputs(s3, key_id), timeout=90)

    assert video.startswith(f"outbox/{key_id}/reel.json.") and video.endswith(".mp4")
    s3.download_file(BUCKET, video, str(tmp_path / "joined.mp4"))
    assert probe(tmp_path / "joined.mp4").duration == pytest.approx(2.0, abs=0.15)
    assert credits(local_cloud, api_key) == 65


def test_a_manifest_may_join_the_tenants_own_objects_by_key(local_cloud, s3, site, tmp_path) -> None:
    key_id, api_key = new_key(local_cloud, credits=100)
    clip(site.root / "in3.mp4", "320x240", 25, False)
    clip(tmp_path / "own.mp4", "320x240", 25, False)
    s3.upload_file(str(tmp_path / "own.mp4"), BUCKET, f"inbox/{key_id}/clips/own.mp4")
    manifest = {"video_urls": [{"video_key": f"inbox/{key_id}/clips/own.mp4"}, {"video_url": f"{site.url}/in3.mp4"}]}
    s3.put_object(Bucket=BUCKET, Key=f"inbox/{key_id}/concatenate/mine.json", Body=json.dumps(manifest).encode())

    [video] = wait_for(lambda: outputs(s3, key_id), timeout=90)

    s3.download_file(BUCKET, video, str(tmp_path / "joined.mp4"))
    assert probe(tmp_path / "joined.mp4").duration == pytest.approx(2.0, abs=0.15)
    assert credits(local_cloud, api_key) == 65
