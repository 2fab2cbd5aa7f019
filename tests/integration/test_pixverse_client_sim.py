"""PixverseClient against the Pixverse simulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image
from reelgate.providers.pixverse import PixverseClient, PixverseError

from infra.local.simulators.pixverse import PixverseSimulator

KEY = "sim-key"


@pytest.fixture
def control(sim: PixverseSimulator) -> Iterator[httpx.Client]:
    """The simulator's /_sim controls, reset before each test."""
    root = sim.base_url.removesuffix("/openapi/v2")
    with httpx.Client(base_url=root) as client:
        client.post("/_sim/reset").raise_for_status()
        yield client


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sim: PixverseSimulator, control: httpx.Client, sleeps: list[float]) -> Iterator[PixverseClient]:
    with PixverseClient(
        sim.base_url, KEY, timeout=5.0, max_retries=3, retry_base_seconds=0.01, sleep=sleeps.append,
        max_retry_after=30.0,
    ) as pixverse:
        yield pixverse


def scenario(control: httpx.Client, **knobs: Any) -> None:
    control.post("/_sim/scenario", json=knobs).raise_for_status()


def sim_state(control: httpx.Client) -> dict[str, Any]:
    return control.get("/_sim/state").json()


def png(width: int = 64, height: int = 48) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def t2v(client: PixverseClient, prompt: str = "a red fox in snow", **extra: Any) -> int:
    options = {"model": "v4.5", "quality": "540p", "duration": 5, "aspect_ratio": "16:9", **extra}
    return client.text_to_video(prompt=prompt, **options)


def test_upload_generate_poll_and_download_the_mp4(client: PixverseClient, control: httpx.Client) -> None:
    # Given a finished video needs two polls at "generating"
    scenario(control, polls_until_done=2)
    img_id = client.upload_image(png(), "cat.png", "image/png")
    video_id = client.image_to_video(prompt="the cat waves", img_id=img_id, model="v5", quality="720p",
                                     duration=5, motion_mode="normal")
    # When we poll, Then it stays at 5 with an empty url, then turns 1 with a url
    statuses = [client.result(video_id) for _ in range(3)]
    assert [r.status for r in statuses] == [5, 5, 1] and statuses[0].url == ""
    done = statuses[-1]
    assert video_id > 2**53 and done.id == video_id
    assert (done.output_width, done.output_height) == (960, 720)  # 720p of a 4:3 image
    # And the url serves a real MP4
    mp4 = httpx.get(done.url)
    assert mp4.status_code == 200 and mp4.headers["content-type"] == "video/mp4"
    assert mp4.content[4:8] == b"ftyp" and len(mp4.content) == done.size


def test_a_terminal_status_never_changes(client: PixverseClient, control: httpx.Client) -> None:
    scenario(control, polls_until_done=0, final_status=8)
    video_id = t2v(client)
    assert [client.result(video_id).status for _ in range(3)] == [8, 8, 8]
    control.post(f"/_sim/videos/{video_id}", json={"status": 1}).raise_for_status()
    assert client.result(video_id).status == 8


def test_moderated_video_is_refunded(client: PixverseClient, control: httpx.Client) -> None:
    scenario(control, polls_until_done=0, final_status=7, balance=100)
    video_id = t2v(client)
    assert client.balance().total == 55
    assert client.result(video_id).status == 7
    assert client.balance().total == 100


def test_transient_500100_is_retried_with_the_same_trace_id(
    client: PixverseClient, control: httpx.Client, sleeps: list[float]
) -> None:
    scenario(control, fail_next={"code": 500100, "times": 2, "endpoint": "video/text/generate"})
    video_id = t2v(client)
    calls = [c for c in sim_state(control)["calls"] if c["path"].endswith("/video/text/generate")]
    assert len(calls) == 3 and len({c["headers"]["ai-trace-id"] for c in calls}) == 1
    assert all(c["headers"]["api-key"] == KEY for c in calls)
    assert len(sleeps) == 2 and len(sim_state(control)["jobs"]) == 1 and video_id


def test_429_retry_after_is_honoured(client: PixverseClient, control: httpx.Client, sleeps: list[float]) -> None:
    scenario(control, rate_limit_next={"retry_after": 3, "endpoint": "account/balance"})
    assert client.balance().credit_monthly > 0
    assert sleeps == [3.0]


def test_same_trace_id_returns_the_same_video_without_a_new_charge(
    client: PixverseClient, control: httpx.Client
) -> None:
    scenario(control, balance=1000)
    first = t2v(client, trace_id="job-1")
    again = t2v(client, trace_id="job-1")
    other = t2v(client, trace_id="job-2")
    assert first == again != other
    assert client.balance().total == 1000 - 2 * 45


def test_a_timed_out_submit_is_retried_without_a_second_job(sim: PixverseSimulator, control: httpx.Client) -> None:
    # Given the simulator does the work but answers after the client gave up
    scenario(control, balance=1000, delay_next={"seconds": 1.0, "endpoint": "video/text/generate"})
    with PixverseClient(sim.base_url, KEY, timeout=0.3, retry_base_seconds=0.01) as impatient:
        video_id = t2v(impatient)
    state = sim_state(control)
    assert [job["id"] for job in state["jobs"]] == [video_id]
    assert state["balance"]["credit_monthly"] == 1000 - 45


def test_concurrency_limit_gives_500044_until_a_slot_frees(client: PixverseClient, control: httpx.Client) -> None:
    scenario(control, concurrency_limit=1, polls_until_done=0, concurrency_release_seconds=600)
    first = t2v(client)
    with pytest.raises(PixverseError) as caught:
        t2v(client)
    assert caught.value.err_code == 500044
    client.result(first)  # finishes the first job
    assert t2v(client)


def test_concurrency_slot_is_released_after_the_configured_time(
    client: PixverseClient, control: httpx.Client
) -> None:
    scenario(control, concurrency_limit=1, stall=True, concurrency_release_seconds=0.3)
    t2v(client)
    with pytest.raises(PixverseError):
        t2v(client)
    time.sleep(0.35)  # the stalled job never finishes; only the release timer frees its slot
    assert t2v(client)


def test_insufficient_balance_gives_500090(client: PixverseClient, control: httpx.Client) -> None:
    scenario(control, balance=44)
    with pytest.raises(PixverseError) as caught:
        t2v(client)
    assert caught.value.err_code == 500090 and sim_state(control)["jobs"] == []


def test_banned_prompt_gives_500063(client: PixverseClient, control: httpx.Client) -> None:
    scenario(control, moderated_prompts=["nsfw"])
    with pytest.raises(PixverseError) as caught:
        t2v(client, prompt="something NSFW here")
    assert caught.value.err_code == 500063


def test_bad_image_format_gives_500032(client: PixverseClient) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "GIF")
    with pytest.raises(PixverseError) as caught:
        client.upload_image(buffer.getvalue(), "cat.gif", "image/gif")
    assert caught.value.err_code == 500032


def test_status_mode_errors_carry_http_status(client: PixverseClient, control: httpx.Client) -> None:
    scenario(control, error_http_mode="status")
    with pytest.raises(PixverseError) as caught:
        t2v(client, duration=8, quality="1080p")
    assert (caught.value.err_code, caught.value.http_status) == (400017, 400)


def test_unknown_video_gives_500008(client: PixverseClient) -> None:
    with pytest.raises(PixverseError) as caught:
        client.result(2**60 + 999)
    assert caught.value.err_code == 500008


def test_wrong_api_key_is_rejected(sim: PixverseSimulator, control: httpx.Client) -> None:
    with PixverseClient(sim.base_url, "wrong", max_retries=0) as stranger, pytest.raises(PixverseError) as caught:
        stranger.balance()
    assert caught.value.err_code == 400012


def test_non_json_gateway_error_is_retried_then_succeeds(
    client: PixverseClient, control: httpx.Client, sleeps: list[float]
) -> None:
    scenario(control, fail_next={"raw": "<html>502</html>", "http_status": 502, "endpoint": "account/balance"})
    assert client.balance().total > 0 and len(sleeps) == 1
