"""A segmented image → video render: the frame ranges, the zoom of each range, which jobs are cut."""

from __future__ import annotations

import itertools
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pydantic import ValidationError
from reelgate.jobs import Job
from reelgate.media.image_video import image_video_args
from reelgate.media.segments import segment_ranges
from reelgate.media.still import Still
from reelgate.media.zoom import frame_count, frame_range, plan_zoom, zoom_at, zoom_expression, zoom_filter_graph
from reelgate.settings import Settings
from reelgate.storage import MediaStore
from reelgate.toolkit import segments
from reelgate.toolkit.tasks import segment_plan

from tests.unit.test_media_zoom import evaluate

STILL = Still(Path("/tmp/in.jpg"), "jpeg_pipe", (3000, 2000), 1)


def test_a_60_second_job_at_60_fps_is_eight_ranges_of_450_frames_with_the_default_setting() -> None:
    ranges = segment_ranges(frame_count(60, 60), Settings().toolkit_segment_frames)
    assert ranges == [(first, first + 450) for first in range(0, 3600, 450)]


@pytest.mark.parametrize(("frames", "size"), list(itertools.product([1, 2, 7, 449, 450, 451, 1000, 3600, 3601],
                                                                     [2, 3, 100, 450])))
def test_ranges_cover_every_frame_once_in_order_balanced_and_no_longer_than_asked(frames: int, size: int) -> None:
    ranges = segment_ranges(frames, size)
    assert ranges[0][0] == 0 and ranges[-1][1] == frames
    assert all(stop == next_first for (_, stop), (next_first, _) in itertools.pairwise(ranges))  # no gap, no overlap
    lengths = [stop - first for first, stop in ranges]
    assert min(lengths) >= 1 and max(lengths) <= size and max(lengths) - min(lengths) <= 1
    assert len(ranges) == -(-frames // size)  # as few as the limit allows


def test_a_range_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError):
        segment_ranges(0, 450)
    plan = plan_zoom((3000, 2000), 1, length=1, frame_rate=30, zoom_speed=3)
    for first, stop in [(0, 0), (10, 5), (-1, 5), (0, 31)]:
        with pytest.raises(ValueError, match="non-empty part"):
            frame_range(plan, first, stop)
    assert frame_range(plan) == range(30) and frame_range(plan, 12) == range(12, 30)


def test_a_ranges_zoom_is_the_whole_renders_zoom_at_the_global_frame_index() -> None:
    plan = plan_zoom((3000, 2000), 1, length=2, frame_rate=30, zoom_speed=10)
    for first in (0, 17, 45):
        expression = zoom_expression(plan, first)
        for local in (1, 2, 15):  # perspective's `in` counts the range's own frames from 1
            assert evaluate(expression, **{"in": local}) == pytest.approx(
                zoom_at(first + local - 1, plan.frames, plan.target_zoom))


def test_a_range_loops_the_still_for_its_own_frames_and_stops_after_them() -> None:
    plan = plan_zoom(STILL.size, 1, length=60, frame_rate=60, zoom_speed=3)
    args = image_video_args(STILL, plan, Path("/tmp/out.mp4"), range(900, 1350))
    graph = args[args.index("-filter_complex") + 1]
    assert "loop=loop=449:size=1:start=0" in graph and "(in-1+900)/3599" in graph
    assert args[args.index("-frames:v") + 1] == "450"
    assert "loop=loop=3599:" in zoom_filter_graph(plan) and "(in-1+0)/3599" in zoom_filter_graph(plan)


def job(kind: str = "toolkit.image_to_video", **request: object) -> Job:
    return Job(kind=kind, owner="key#k", input={"image_url": "https://example.com/a.jpg", **request})


@pytest.mark.parametrize(("request_", "count"), [
    ({"length": 60, "frame_rate": 60}, 8),
    ({"length": 10, "frame_rate": 60}, 2),
    ({"length": 5, "frame_rate": 60}, 0),  # short jobs render in one piece, as before
    ({}, 0),  # the defaults: 5 s at 30 fps
])
def test_only_image_jobs_longer_than_the_setting_are_cut(request_: dict[str, object], count: int) -> None:
    ranges = segment_plan(Settings(), job(**request_))
    assert len(ranges) == count
    if ranges:
        assert ranges[-1][1] == frame_count(float(request_["length"]), int(request_["frame_rate"]))  # type: ignore[arg-type]


def test_a_concatenation_is_never_cut_and_the_setting_moves_the_threshold() -> None:
    assert segment_plan(Settings(), job("toolkit.concatenate", length=60, frame_rate=60)) == []
    assert segment_plan(Settings(toolkit_segment_frames=10), job(length=1, frame_rate=24)) == [(0, 8), (8, 16),
                                                                                               (16, 24)]
    with pytest.raises(ValidationError):  # an inline Map runs at most 40 iterations at once
        Settings(toolkit_segment_concurrency=41)


class _S3:
    def __init__(self, errors: list[str] | None = None, fail: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.errors, self.fail = errors or [], fail

    def delete_objects(self, Bucket: str, Delete: dict[str, Any]) -> dict[str, Any]:
        if self.fail:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "DeleteObjects")
        keys = [item["Key"] for item in Delete["Objects"]]
        self.calls.append(keys)
        return {"Errors": [{"Key": key, "Code": "AccessDenied"} for key in keys if key in self.errors]}


def test_parts_are_deleted_a_thousand_at_a_time_and_the_ones_s3_kept_are_named() -> None:
    s3 = _S3(errors=["k1500"])
    left = MediaStore(s3, "media").delete([f"k{n}" for n in range(2500)])
    assert [len(call) for call in s3.calls] == [1000, 1000, 500]
    assert left == ["k1500"]


def test_a_failed_clean_up_never_fails_the_joined_job() -> None:
    toolkit = SimpleNamespace(media=MediaStore(_S3(fail=True), "media"))
    segments._clean_up(toolkit, "job-1", ["segments/job-1/source"])  # type: ignore[arg-type]  # logged, not raised
