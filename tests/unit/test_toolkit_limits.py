"""Bounded work: the limits on probed facts, the error texts callers see, the flow's safety nets."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
from reelgate.media.limits import InputRefused, Limits, check_clips, check_items, check_sizes, check_still
from reelgate.media.probe import MediaInfo
from reelgate.settings import Settings
from reelgate.toolkit.tasks import INTERNAL_ERROR, TIMEOUT_ERROR, public_failure

ROOT = Path(__file__).resolve().parents[2]
LIMITS = Limits(max_items=3, max_input_bytes=100, max_total_bytes=150, max_duration_seconds=900,
                max_video_pixels=1920 * 1080, max_image_pixels=1000)


def clip(duration: float = 5.0, size: tuple[int, int] = (1280, 720)) -> MediaInfo:
    return MediaInfo(width=size[0], height=size[1], codec="h264", pix_fmt="yuv420p", fps=Fraction(25),
                     duration=duration, frame_count=25)


def test_a_clip_claiming_ten_million_seconds_is_refused_by_name() -> None:
    with pytest.raises(InputRefused) as refused:
        check_clips([clip(), clip(10_000_000.0)], LIMITS, ["video_urls[0]", "video_urls[1]"])
    assert str(refused.value) == "video_urls[1] is 10000000 s long, over the 900 s limit"


def test_clips_within_the_limit_one_by_one_are_refused_together() -> None:
    check_clips([clip(450.0), clip(449.0)], LIMITS)
    with pytest.raises(InputRefused, match="the clips last 901 s together, over the 900 s limit per job"):
        check_clips([clip(450.0), clip(451.0)], LIMITS)


@pytest.mark.parametrize("duration", [float("nan"), -1.0])
def test_a_clip_without_a_usable_duration_is_refused(duration: float) -> None:
    with pytest.raises(InputRefused, match="input 1 has no usable duration"):
        check_clips([clip(duration)], LIMITS)


@pytest.mark.parametrize("size", [(3840, 2160), (1, 2_100_000), (0, 720)])
def test_frames_over_the_pixel_limit_or_empty_are_refused(size: tuple[int, int]) -> None:
    with pytest.raises(InputRefused, match=r"input 1 (is .* pixels, over the 2,073,600-pixel limit|has no usable)"):
        check_clips([clip(size=size)], LIMITS)


def test_items_bytes_and_image_pixels(tmp_path: Path) -> None:
    check_items(3, LIMITS)
    with pytest.raises(InputRefused, match="too many inputs: 4, at most 3 are allowed"):
        check_items(4, LIMITS)
    small, big = tmp_path / "a", tmp_path / "b"
    small.write_bytes(b"x" * 80)
    big.write_bytes(b"x" * 101)
    with pytest.raises(InputRefused, match=r"^video_urls\[1\] is 101 bytes, over the 100 bytes limit per input$"):
        check_sizes([small, big], LIMITS, ["video_urls[0]", "video_urls[1]"])
    with pytest.raises(InputRefused, match="the inputs total"):
        check_sizes([small, small], LIMITS)
    with pytest.raises(InputRefused, match="image_url is 100x11 pixels"):
        check_still((100, 11), LIMITS, "image_url")


def lambda_error(error_type: str, message: str) -> dict[str, str]:
    return {"Error": error_type, "Cause": json.dumps({"errorMessage": message, "errorType": error_type,
                                                      "stackTrace": ['  File "/var/task/handler.py", line 1']})}


def test_only_reelgates_own_failure_texts_reach_the_caller() -> None:
    assert public_failure(lambda_error("InputRefused", "video_urls[1] is 10000000 s long")) == (
        "video_urls[1] is 10000000 s long", True)
    assert public_failure(lambda_error("JobFailed", "the conversion failed")) == ("the conversion failed", False)
    leaky = [
        lambda_error("MediaError", "ffmpeg failed (exit 1): /tmp/reelgate-x/inputs/000.mp4: Invalid data"),
        lambda_error("ClientError", "An error occurred (AccessDenied) for arn:aws:s3:::media/x.mp4"),
        lambda_error("KeyError", "'video_urls'"),
        {"Error": "States.Runtime", "Cause": "An error occurred while executing the state 'Render'"},
        {},
    ]
    for error in leaky:
        assert public_failure(error) == (INTERNAL_ERROR, False)


def test_lambda_and_state_timeouts_read_as_timeouts() -> None:
    assert public_failure({"Error": "States.Timeout", "Cause": ""}) == (TIMEOUT_ERROR, False)
    assert public_failure(lambda_error("Sandbox.Timedout", "RequestId: x Error: Task timed out after 900.00 seconds")
                          ) == (TIMEOUT_ERROR, False)


def test_defaults_are_coherent() -> None:
    s = Settings()
    assert s.toolkit_max_duration_seconds <= s.ffmpeg_max_seconds + s.ffmpeg_reserve_seconds + 60
    assert s.toolkit_max_video_urls * s.toolkit_max_input_bytes <= 10 * 1024**3  # Lambda's largest /tmp
    assert s.toolkit_max_total_input_bytes >= s.toolkit_max_input_bytes


def flow() -> dict:
    return json.loads((ROOT / "infra" / "statemachines" / "toolkit.asl.json").read_text())


LAMBDA_SERVICE_ERRORS = {"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                         "Lambda.TooManyRequestsException"}


def test_every_task_retries_lambda_service_errors_and_has_a_catch() -> None:
    for name, state in flow()["States"].items():
        if state["Type"] != "Task":
            continue
        retried = {error for retrier in state.get("Retry", []) for error in retrier["ErrorEquals"]}
        assert retried >= LAMBDA_SERVICE_ERRORS, name
        assert [c["ErrorEquals"] for c in state.get("Catch", [])] == [["States.ALL"]], name
        assert 0 < state["TimeoutSeconds"] < flow()["TimeoutSeconds"], name


def test_render_and_a_success_that_cannot_be_recorded_both_settle_as_failed() -> None:
    states = flow()["States"]
    assert states["Render"]["Catch"][0]["Next"] == "SettleFailure"
    assert states["SettleSuccess"]["Catch"][0]["Next"] == "SettleFailure"
    assert states[states["SettleFailure"]["Catch"][0]["Next"]]["Type"] == "Fail"


def test_the_machine_times_out_before_recount_may_call_a_job_stale() -> None:
    timeout = flow()["TimeoutSeconds"]
    assert 0 < timeout < Settings().toolkit_stale_job_seconds
    assert flow()["States"]["Render"]["TimeoutSeconds"] >= 900  # the render function's own timeout
