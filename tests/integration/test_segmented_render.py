"""A long image → video job through the real toolkit flow (moto's ASL engine, its Map on threads) and real
FFmpeg, cut into three segments by a tiny `toolkit_segment_frames`: exact frames, invisible seams."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from reelgate import aws
from reelgate.jobs import JobStatus
from reelgate.links import OUTBOX
from reelgate.media import MediaError, probe, render_image_video
from reelgate.media.tools import binary
from reelgate.toolkit import segments
from reelgate.toolkit.keys import ApiKeys

from infra.local.lambdas import invoke
from tests.helpers import event, reply

KEY = "rg_segments_key"
REQUEST = {"length": 1, "frame_rate": 24, "zoom_speed": 10}  # 24 frames: ranges [0, 8), [8, 16), [16, 24)
SEAMS = (8, 16)


@pytest.fixture
def key(cloud, monkeypatch):
    from tests.integration.conftest import _reset_caches

    monkeypatch.setenv("REELGATE_TOOLKIT_SEGMENT_FRAMES", "8")
    monkeypatch.setenv("REELGATE_TOOLKIT_SEGMENT_CONCURRENCY", "3")
    _reset_caches()
    _, record = ApiKeys(aws.table(cloud.env["REELGATE_STATE_TABLE"])).create("seg", credits=100, plaintext=KEY)
    return record


@pytest.fixture
def still(file_server) -> Path:
    """Detail at every scale, so a frame zoomed a little differently scores visibly lower."""
    path = file_server.root / "still.jpg"
    Image.effect_mandelbrot((1200, 900), (-2.0, -1.2, 1.0, 1.2), 80).convert("RGB").save(path, quality=95)
    return path


def submit(file_server) -> tuple[int, Any]:
    body = {"image_url": f"{file_server.base_url}/still.jpg", **REQUEST}
    return reply(invoke("toolkit_image_to_video", event("toolkit_image_to_video", body, headers={"x-api-key": KEY})))


def frame_ssim(video: Path, reference: Path, work: Path) -> list[float]:
    stats = work / "ssim.log"
    subprocess.run([str(binary("ffmpeg")), "-nostdin", "-loglevel", "error", "-i", str(video), "-i", str(reference),
                    "-lavfi", f"[0:v][1:v]ssim=stats_file={stats}", "-f", "null", "-"], check=True)
    return [float(value) for value in re.findall(r"All:([\d.]+)", stats.read_text())]


def keyframes(video: Path) -> list[int]:
    flags = subprocess.run([str(binary("ffprobe")), "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "frame=key_frame", "-of", "csv=p=0", str(video)], check=True, capture_output=True,
                           text=True).stdout.split()
    return [index for index, flag in enumerate(flags) if flag.strip(",") == "1"]


def keys_under(prefix: str) -> list[str]:
    listed = aws.client("s3").list_objects_v2(Bucket="media", Prefix=prefix)
    return [item["Key"] for item in listed.get("Contents", [])]


def wait_for(condition: Callable[[], bool], timeout: float = 180) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_three_segments_rendered_at_once_join_into_the_exact_single_render(cloud, key, file_server, still, tmp_path,
                                                                           monkeypatch) -> None:
    arrived = threading.Barrier(3, timeout=120)  # broken unless all three ranges render at the same time
    ranges: list[tuple[int, int]] = []

    def render_together(*args: Any, **kwargs: Any) -> Any:
        ranges.append((kwargs["first_frame"], kwargs["stop_frame"]))
        arrived.wait()
        return render_image_video(*args, **kwargs)

    monkeypatch.setattr(segments, "render_image_video", render_together)

    status, envelope = submit(file_server)

    assert status == 200, envelope
    assert sorted(ranges) == [(0, 8), (8, 16), (16, 24)]
    out, whole = tmp_path / "joined.mp4", tmp_path / "whole.mp4"
    aws.client("s3").download_file("media", f"{OUTBOX}{envelope['job_id']}.mp4", str(out))
    render_image_video(still, whole, **REQUEST)
    info = probe(out)
    assert (info.width, info.height, info.frame_count, info.duration) == (1920, 1080, 24, 1.0)
    assert keyframes(out)[:3] == [0, *SEAMS]  # every segment starts on its own keyframe
    scores = frame_ssim(out, whole, tmp_path)
    assert len(scores) == 24
    for seam in SEAMS:  # no frame missing, repeated or zoomed differently on either side of a seam
        assert min(scores[seam - 2:seam + 2]) >= 0.99, scores
    assert min(scores) >= 0.99, scores
    assert keys_under(f"segments/{envelope['job_id']}/") == []  # the still and the parts are gone once joined
    job = aws.table(cloud.env["REELGATE_JOBS_TABLE"]).get_item(Key={"job_id": envelope["job_id"]})["Item"]
    assert job["status"] == JobStatus.SUCCEEDED.value
    assert ApiKeys(aws.table(cloud.env["REELGATE_STATE_TABLE"])).get(key.key_id).credits == 100 - 10


def test_one_failed_segment_fails_the_job_like_a_failed_render_and_refunds_it(cloud, key, file_server, still,
                                                                            monkeypatch) -> None:
    def fail_the_middle(*args: Any, **kwargs: Any) -> Any:
        if kwargs["first_frame"] == 8:
            raise MediaError("ffmpeg failed (exit 1): /tmp/secret/path broke")
        return render_image_video(*args, **kwargs)

    monkeypatch.setattr(segments, "render_image_video", fail_the_middle)

    status, envelope = submit(file_server)

    assert status == 500 and envelope["response"] is None
    assert envelope["message"] == "the conversion failed"  # Reelgate's sentence, never FFmpeg's or a path
    job = aws.table(cloud.env["REELGATE_JOBS_TABLE"]).get_item(Key={"job_id": envelope["job_id"]})["Item"]
    assert (job["status"], job["error"]) == (JobStatus.FAILED.value, "the conversion failed")
    assert ApiKeys(aws.table(cloud.env["REELGATE_STATE_TABLE"])).get(key.key_id).credits == 100
    assert "Contents" not in aws.client("s3").list_objects_v2(Bucket="media", Prefix=envelope["job_id"])
    # The other ranges were already running: they finish, and their parts stay for the lifecycle rule to expire.
    parts = {f"segments/{envelope['job_id']}/{name}" for name in ("source", "0000.mp4", "0002.mp4")}
    assert wait_for(lambda: parts <= set(keys_under(f"segments/{envelope['job_id']}/")))


def test_a_still_over_the_limits_is_refused_before_any_segment_renders(cloud, key, file_server, monkeypatch) -> None:
    Image.new("RGB", (1200, 900), "gray").save(file_server.root / "still.jpg")
    monkeypatch.setenv("REELGATE_TOOLKIT_MAX_IMAGE_PIXELS", "1000")
    from tests.integration.conftest import _reset_caches

    _reset_caches()
    rendered: list[int] = []
    monkeypatch.setattr(segments, "render_image_video", lambda *a, **k: rendered.append(1))

    status, envelope = submit(file_server)

    assert status in (400, 422, 500) and envelope["response"] is None, envelope
    assert "image_url" in envelope["message"] and rendered == []
    assert keys_under(f"segments/{envelope['job_id']}/") == []  # nothing staged for a refused still
