"""The toolkit under conflicts, hostile inputs and timeouts, through its handlers and the real flow."""

from __future__ import annotations

import json
import struct
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from reelgate import aws, deadline
from reelgate.dynamo import from_dynamo
from reelgate.jobs import Job
from reelgate.media.tools import binary
from reelgate.toolkit import api, tasks
from reelgate.toolkit.keys import ApiKeys
from reelgate.toolkit.ledger import QUEUE_PK

from infra.local.lambdas import invoke
from tests.helpers import circle_image, event, reply
from tests.integration.conftest import _reset_caches
from tests.integration.dynamo_faults import ConflictInjector, serial_moto_dynamodb

KEY = "rg_hardening_key"
FORBIDDEN = ("/tmp", "arn:aws", "Traceback", "ffprobe", "ffmpeg", "Error:", "Exception")


@pytest.fixture
def key(cloud):
    return ApiKeys(aws.table(cloud.env["REELGATE_STATE_TABLE"])).create("hard", credits=1000, plaintext=KEY)[1]


def key_record(cloud, key):
    return ApiKeys(aws.table(cloud.env["REELGATE_STATE_TABLE"])).get(key.key_id)


def jobs(cloud) -> list[dict[str, Any]]:
    return [from_dynamo(item) for item in aws.table(cloud.env["REELGATE_JOBS_TABLE"]).scan()["Items"]]


def wait_until_all_terminal(cloud, count: int, timeout: float = 90) -> list[dict[str, Any]]:
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        found = jobs(cloud)
        if len(found) == count and all(job["status"] in ("succeeded", "failed") for job in found):
            return found
        time.sleep(0.2)
    raise AssertionError(f"jobs not terminal: {[(j['job_id'], j['status']) for j in jobs(cloud)]}")


def concatenate(urls: list[str], **extra: Any) -> tuple[int, Any]:
    body = {"video_urls": [{"video_url": url} for url in urls]} | extra
    return reply(invoke("toolkit_concatenate", event("toolkit_concatenate", body, headers={"x-api-key": KEY})))


def test_concurrent_submissions_under_injected_conflicts_answer_no_5xx_and_leave_every_counter_exact(
        cloud, key, file_server, monkeypatch) -> None:
    monkeypatch.setenv("MAX_QUEUE_LENGTH", "100")
    monkeypatch.setenv("REELGATE_API_WAIT_SECONDS", "0")  # answer 202 at once; the flows finish on their own
    _reset_caches()
    client = aws.client("dynamodb")  # the client every handler and flow task of this process uses
    injector = ConflictInjector(share=4, first_attempts=2)
    missing = f"{file_server.base_url}/missing.mp4"  # every job fails (404) and is refunded

    with serial_moto_dynamodb():
        injector.install(client)
        try:
            with ThreadPoolExecutor(max_workers=8) as pool:
                answers = list(pool.map(lambda n: concatenate([missing], id=f"req-{n}"), range(16)))
            finished = wait_until_all_terminal(cloud, 16)
        finally:
            injector.uninstall(client)

    assert [status for status, _ in answers] == [202] * 16, answers
    assert injector.injected >= 5  # admissions and settles both met conflicts
    assert {job["status"] for job in finished} == {"failed"}
    queue = aws.table(cloud.env["REELGATE_STATE_TABLE"]).get_item(Key={"pk": QUEUE_PK})["Item"]
    assert queue["count"] == 0
    assert (key_record(cloud, key).credits, key_record(cloud, key).active) == (1000, 0)


def huge_clip(path: Path, seconds: int = 10_000_000) -> Path:
    """A real 1-second H.264 mp4 whose headers claim `seconds` (ffprobe believes them)."""
    subprocess.run([str(binary("ffmpeg")), "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc=size=320x240:rate=25:duration=1", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(path)], check=True)
    data = bytearray(path.read_bytes())

    def box(name: bytes) -> int:
        return data.index(name) + 4  # version/flags start

    struct.pack_into(">II", data, box(b"mvhd") + 12, 1, seconds)  # movie timescale 1 s, duration
    struct.pack_into(">I", data, box(b"tkhd") + 20, seconds)
    struct.pack_into(">I", data, box(b"elst") + 8, seconds)
    struct.pack_into(">II", data, box(b"mdhd") + 12, 25, 25 * seconds)  # media timescale 25, 25 samples...
    stts = box(b"stts")
    for entry in range(struct.unpack_from(">I", data, stts + 4)[0]):
        struct.pack_into(">I", data, stts + 8 + 8 * entry + 4, seconds)  # ...each lasting `seconds` / 25 s
    path.write_bytes(bytes(data))
    return path


def test_a_ten_million_second_clip_ends_as_a_clean_failure_within_its_deadline_and_is_refunded(
        cloud, key, file_server) -> None:
    huge_clip(file_server.root / "huge.mp4")
    started = time.monotonic()

    status, envelope = concatenate([f"{file_server.base_url}/huge.mp4"])

    assert time.monotonic() - started < 20
    assert (status, envelope["code"], envelope["response"]) == (500, 500, None)
    assert envelope["message"] == "video_urls[0] is 10000000 s long, over the 900 s limit"
    [job] = jobs(cloud)
    assert (job["status"], job["error"]) == ("failed", envelope["message"])
    assert abs(job["expires_at"] - (time.time() + 30 * 86400)) < 120  # toolkit jobs expire (TTL)
    assert (key_record(cloud, key).credits, key_record(cloud, key).active) == (1000, 0)


def test_too_many_video_urls_are_refused_before_anything_is_charged(cloud, key) -> None:
    status, answer = concatenate([f"https://example.com/{n}.mp4" for n in range(21)])

    assert status == 400 and "at most 20" in answer["message"]
    assert jobs(cloud) == [] and key_record(cloud, key).credits == 1000


def test_an_unreadable_input_fails_with_a_stable_message_and_no_internals(cloud, key, file_server) -> None:
    (file_server.root / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)

    status, envelope = concatenate([f"{file_server.base_url}/broken.mp4"])

    assert status == 500 and envelope["message"] == "video_urls[0] is not a video that can be read"
    [job] = jobs(cloud)
    assert job["error"] == envelope["message"]
    assert not [word for word in FORBIDDEN if word in job["error"]]


def test_a_render_that_outlasts_its_invocation_is_stopped_and_fails_cleanly(cloud, key, file_server) -> None:
    circle_image(file_server.root / "still.jpg", (1600, 900))
    toolkit = api.toolkit()
    job = Job(kind="toolkit.image_to_video", owner=key.owner, cost=10,
              input={"image_url": f"{file_server.base_url}/still.jpg", "length": 7, "frame_rate": 60,
                     "endpoint": "/v1/image/convert/video"})
    toolkit.ledger.admit(job, key, 10)  # no flow: the render task is called the way the flow would
    started = time.monotonic()

    # 420 frames of 1080p (one piece: under toolkit_segment_frames) need far longer than the 1.5 s left
    # after the 30 s reserve.
    with deadline.bounded(31.5), pytest.raises(tasks.JobFailed) as failed:
        tasks.render(toolkit, job.job_id)

    assert time.monotonic() - started < 10
    assert str(failed.value) == tasks.TIMEOUT_ERROR
    cause = {"errorType": "JobFailed", "errorMessage": str(failed.value)}
    tasks.settle(toolkit, {"job_id": job.job_id, "outcome": "failed",
                           "error": {"Error": "JobFailed", "Cause": json.dumps(cause)}})
    [record] = jobs(cloud)
    assert (record["status"], record["error"]) == ("failed", tasks.TIMEOUT_ERROR)
    assert (key_record(cloud, key).credits, key_record(cloud, key).active) == (1000, 0)


def test_a_success_that_cannot_be_recorded_still_settles_as_failed_and_refunded(
        cloud, key, file_server, monkeypatch) -> None:
    circle_image(file_server.root / "still.jpg")
    settle = tasks.settle

    def success_unrecordable(toolkit, task):
        if task["outcome"] == "succeeded":
            raise RuntimeError("arn:aws:dynamodb:us-east-1:123456789012:table/jobs is unavailable")
        return settle(toolkit, task)

    monkeypatch.setattr(tasks, "settle", success_unrecordable)
    body = {"image_url": f"{file_server.base_url}/still.jpg", "length": 1, "frame_rate": 15}

    status, envelope = reply(invoke("toolkit_image_to_video",
                                    event("toolkit_image_to_video", body, headers={"x-api-key": KEY})))

    assert (status, envelope["message"]) == (500, tasks.INTERNAL_ERROR), envelope
    [job] = jobs(cloud)
    assert (job["status"], job["error"]) == ("failed", tasks.INTERNAL_ERROR)
    assert (key_record(cloud, key).credits, key_record(cloud, key).active) == (1000, 0)


def test_conflicts_that_outlast_the_retries_answer_503_with_nothing_charged(cloud, key) -> None:
    client = aws.client("dynamodb")
    injector = ConflictInjector(pick=lambda _: True, first_attempts=10**6)
    injector.install(client)
    try:
        status, answer = concatenate(["https://example.com/a.mp4"], id="busy-1")
    finally:
        injector.uninstall(client)

    assert (status, answer["code"], answer["id"]) == (503, 503, "busy-1")
    assert answer["message"] == "the service is busy; nothing was changed, please retry shortly"
    assert injector.calls > 1 and jobs(cloud) == []
    assert (key_record(cloud, key).credits, key_record(cloud, key).active) == (1000, 0)


def test_a_key_over_its_cap_of_unfinished_jobs_answers_429_with_nothing_charged(cloud, key, monkeypatch) -> None:
    monkeypatch.setenv("REELGATE_TOOLKIT_MAX_ACTIVE_JOBS_PER_KEY", "1")
    _reset_caches()
    toolkit = api.toolkit()
    running = Job(kind="toolkit.concatenate", owner=key.owner, cost=35, input={"endpoint": "/v1/video/concatenate"})
    toolkit.ledger.admit(running, key, 35)  # an unfinished job of this key (no flow needed)

    status, answer = concatenate(["https://example.com/a.mp4"], id="second")

    assert (status, answer["code"], answer["id"]) == (429, 429, "second")
    assert "already has 1 unfinished jobs" in answer["message"]
    assert [job["job_id"] for job in jobs(cloud)] == [running.job_id]
    assert (key_record(cloud, key).credits, key_record(cloud, key).active) == (1000 - 35, 1)


def test_inputs_over_the_byte_limits_are_refused_before_rendering(cloud, key, file_server, monkeypatch) -> None:
    huge_clip(file_server.root / "a.mp4", seconds=1)  # about 20 KB each
    huge_clip(file_server.root / "b.mp4", seconds=1)
    urls = [f"{file_server.base_url}/a.mp4", f"{file_server.base_url}/b.mp4"]
    monkeypatch.setenv("REELGATE_TOOLKIT_MAX_INPUT_BYTES", "10000")
    _reset_caches()

    status, envelope = concatenate(urls)

    assert (status, envelope["message"]) == (500, "an input is larger than the 9.8 KB limit per input")
    monkeypatch.setenv("REELGATE_TOOLKIT_MAX_INPUT_BYTES", "30000")
    monkeypatch.setenv("REELGATE_TOOLKIT_MAX_TOTAL_INPUT_BYTES", "30000")
    _reset_caches()

    status, envelope = concatenate(urls)

    assert status == 500 and envelope["message"].startswith("the inputs total ")
    assert envelope["message"].endswith(" KB, over the 29.3 KB limit per job")
    assert (key_record(cloud, key).credits, key_record(cloud, key).active) == (1000, 0)


def test_a_still_over_the_pixel_limit_is_refused_before_ffmpeg(cloud, key, file_server, monkeypatch) -> None:
    circle_image(file_server.root / "big.png", (2000, 1000), "PNG")
    monkeypatch.setenv("REELGATE_TOOLKIT_MAX_IMAGE_PIXELS", "1000000")
    _reset_caches()
    body = {"image_url": f"{file_server.base_url}/big.png", "length": 1}

    status, envelope = reply(invoke("toolkit_image_to_video",
                                    event("toolkit_image_to_video", body, headers={"x-api-key": KEY})))

    assert (status, envelope["message"]) == (500, "image_url is 2000x1000 pixels, over the 1,000,000-pixel limit")
    assert key_record(cloud, key).credits == 1000
