"""Image → video geometry: orientation rule, never stretching, frame and zoom maths, the graph."""

from __future__ import annotations

import itertools
import re

import pytest
from PIL import Image, ImageOps
from reelgate.media.zoom import (
    LANDSCAPE,
    ORIENTATION_FILTERS,
    PORTRAIT,
    ZoomPlan,
    canvas_for,
    fill_size,
    final_zoom,
    frame_count,
    frame_range,
    perspective_filter,
    plan_zoom,
    still_graph,
    upright_size,
    zoom_at,
    zoom_axis,
    zoom_filter_graph,
)


@pytest.mark.parametrize(
    ("size", "canvas"),
    [((1200, 900), LANDSCAPE), ((900, 1200), PORTRAIT), ((1000, 1000), PORTRAIT), ((1921, 1920), LANDSCAPE)],
)
def test_orientation_rule_is_ncas_width_greater_than_height(size, canvas):
    assert canvas_for(*size) == canvas


@pytest.mark.parametrize(("orientation", "swapped"), [(1, False), (3, False), (5, True), (6, True), (8, True)])
def test_exif_rotations_by_90_degrees_swap_the_upright_size(orientation, swapped):
    assert upright_size(400, 200, orientation) == ((200, 400) if swapped else (400, 200))


@pytest.mark.parametrize(
    ("source", "target"),
    [((1200, 900), LANDSCAPE), ((1000, 1000), PORTRAIT), ((3000, 2000), LANDSCAPE), ((500, 3000), PORTRAIT)],
)
def test_fill_size_covers_the_canvas_and_keeps_the_aspect_ratio(source, target):
    width, height = fill_size(source, target)
    assert width >= target[0] and height >= target[1]
    assert min(width - target[0], height - target[1]) == 0  # the smallest such size: one side fits exactly
    assert width / height == pytest.approx(source[0] / source[1], rel=2 / min(width, height))


@pytest.mark.parametrize(
    ("length", "rate", "frames"), [(5, 30, 150), (0.1, 15, 2), (0.1, 25, 3), (400, 60, 24000), (0.01, 15, 1)]
)
def test_frame_count_is_length_times_rate_rounded(length, rate, frames):
    assert frame_count(length, rate) == frames


def test_final_zoom_divides_the_api_zoom_speed_by_100():
    assert final_zoom(3, 5) == pytest.approx(1.15)
    assert final_zoom(0, 5) == 1.0


def test_zoom_runs_linearly_from_one_to_the_target_on_the_last_frame():
    assert zoom_at(0, 150, 1.15) == 1.0
    assert zoom_at(149, 150, 1.15) == pytest.approx(1.15)
    assert zoom_at(1, 2, 1.5) == pytest.approx(1.5)
    assert zoom_at(0, 1, 1.5) == 1.0


def evaluate(expression: str, **values: float) -> float:
    """Evaluate an ffmpeg expression that only uses + - * / and the given variables."""
    for name, value in sorted(values.items(), key=lambda item: -len(item[0])):
        expression = re.sub(rf"\b{name}\b", repr(value), expression)
    assert re.fullmatch(r"[\d.()+\-*/e ]+", expression), expression
    return float(eval(expression))


def corners(plan: ZoomPlan) -> dict[str, str]:
    return dict(re.findall(r"(x\d|y\d)='([^']*)'", perspective_filter(plan)))


@pytest.mark.parametrize("rate", [15, 24, 25, 30, 60])
def test_zoom_window_starts_full_frame_and_ends_at_exactly_the_target_at_any_rate(rate):
    plan = plan_zoom((1200, 900), 1, length=2, frame_rate=rate, zoom_speed=10)
    width, height = plan.canvas
    found = corners(plan)
    first = {k: evaluate(v, W=width, H=height, **{"in": 1}) for k, v in found.items()}
    last = {k: evaluate(v, W=width, H=height, **{"in": plan.frames}) for k, v in found.items()}
    assert (first["x0"], first["y0"], first["x3"], first["y3"]) == pytest.approx((0, 0, width, height))
    assert width / (last["x1"] - last["x0"]) == pytest.approx(1.2)
    assert height / (last["y2"] - last["y0"]) == pytest.approx(1.2)
    # centred: the window's middle (in pixel-centre terms) stays on the frame's middle
    assert last["x0"] + (last["x1"] - last["x0"]) / width * (width - 1) / 2 == pytest.approx((width - 1) / 2)


def test_zoom_steps_are_sub_pixel_and_smooth():
    plan = plan_zoom((3000, 2000), 1, length=5, frame_rate=30, zoom_speed=3)
    left = corners(plan)["x0"]
    edges = [evaluate(left, W=1920, H=1080, **{"in": n}) for n in range(1, plan.frames + 1)]
    steps = [b - a for a, b in itertools.pairwise(edges)]
    assert all(0 < step < 1 for step in steps)  # never an integer-pixel jump
    # no judder (a repeated frame is a zero step): each step is within 1% of the previous one
    assert all(abs(b / a - 1) < 0.01 for a, b in itertools.pairwise(steps))


def test_graph_decodes_once_and_loops_inside_the_graph():
    plan = plan_zoom((3000, 2000), 1, length=5, frame_rate=30, zoom_speed=3)
    graph = zoom_filter_graph(plan)
    assert "loop=loop=149:size=1:start=0" in graph
    assert graph.index("scale=1920:1280") < graph.index("loop=") < graph.index("perspective=")
    assert "zoompan" not in graph
    assert "eval=frame" in graph and graph.endswith("fps=30[video]")


def test_graph_crops_the_centre_of_the_filled_still():
    graph = zoom_filter_graph(plan_zoom((1200, 900), 1, length=1, frame_rate=30, zoom_speed=3))
    assert "scale=1920:1440:flags=lanczos" in graph
    assert "crop=1920:1080:0:180" in graph


FFMPEG_FILTERS = {
    "hflip": lambda image: image.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    "vflip": lambda image: image.transpose(Image.Transpose.FLIP_TOP_BOTTOM),
    "transpose=clock": lambda image: image.transpose(Image.Transpose.ROTATE_270),
    "transpose=cclock": lambda image: image.transpose(Image.Transpose.ROTATE_90),
    "transpose=clock_flip": lambda image: image.transpose(Image.Transpose.ROTATE_270).transpose(
        Image.Transpose.FLIP_TOP_BOTTOM
    ),
    "transpose=cclock_flip": lambda image: image.transpose(Image.Transpose.ROTATE_90).transpose(
        Image.Transpose.FLIP_TOP_BOTTOM
    ),
}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_filters_show_the_picture_as_exif_viewers_do(orientation):
    stored = Image.new("L", (3, 2))
    stored.putdata([1, 2, 3, 4, 5, 6])
    stored.getexif()[0x0112] = orientation
    expected = ImageOps.exif_transpose(stored)
    shown = stored
    for name in ORIENTATION_FILTERS[orientation]:
        shown = FFMPEG_FILTERS[name](shown)
    assert list(shown.getdata()) == list(expected.getdata())
    assert shown.size == upright_size(3, 2, orientation)


@pytest.mark.parametrize("frame", [0, 37, 149])
def test_zoom_axis_is_the_perspective_filters_mapping(frame):
    """The OpenCV path and the ffmpeg graph resample by the same maths: output index i ← offset + scale·i."""
    plan = plan_zoom((3000, 2000), 1, length=5, frame_rate=30, zoom_speed=3)
    found = {k: evaluate(v, W=1920, H=1080, **{"in": frame + 1}) for k, v in corners(plan).items()}
    zoom = zoom_at(frame, plan.frames, plan.target_zoom)
    assert zoom_axis(zoom, 1920) == pytest.approx(((found["x1"] - found["x0"]) / 1920, found["x0"]))
    assert zoom_axis(zoom, 1080) == pytest.approx(((found["y2"] - found["y0"]) / 1080, found["y0"]))


@pytest.mark.parametrize("zoom", [1.0, 1.15, 4.0])
def test_zoom_axis_keeps_the_middle_fixed_and_each_chroma_sample_on_its_luma_point(zoom):
    scale, offset = zoom_axis(zoom, 1920)
    assert scale == pytest.approx(1 / zoom)
    assert offset + scale * 959.5 == pytest.approx(959.5)  # luma: the frame's middle stays put
    # 4:2:0, chroma at luma (2j, 2k + 0.5): the chroma sample lands where its luma point lands
    for length, chroma, site in ((1920, "h", 0.0), (1080, "v", 0.5)):
        luma_scale, luma_offset = zoom_axis(zoom, length)
        chroma_scale, chroma_offset = zoom_axis(zoom, length, chroma=chroma)
        for j in (0, 100, length // 2 - 1):
            source_luma = luma_offset + luma_scale * (2 * j + site)
            assert 2 * (chroma_offset + chroma_scale * j) + site == pytest.approx(source_luma)


@pytest.mark.parametrize("zoom", [1.0, 1.15, 4.0])
def test_zoom_axis_from_a_supersampled_still_shows_the_same_canvas_points(zoom):
    """A still of S samples for the canvas's L: output index i reads the still where the canvas-sized
    still's mapping points, converted by pixel centres (c + 0.5)·S/L - 0.5; chroma the same way."""
    for length, chroma, site in ((1920, "h", 0.0), (1080, "v", 0.5)):
        bigger = length * 3 // 2
        canvas_scale, canvas_offset = zoom_axis(zoom, length)
        scale, offset = zoom_axis(zoom, length, source_length=bigger)
        chroma_scale, chroma_offset = zoom_axis(zoom, length, source_length=bigger, chroma=chroma)
        assert scale == pytest.approx(1.5 / zoom) == pytest.approx(chroma_scale)
        for i in (0, 100, length - 1):
            canvas_point = canvas_offset + canvas_scale * i
            assert offset + scale * i == pytest.approx((canvas_point + 0.5) * 1.5 - 0.5)
        for j in (0, 100, length // 2 - 1):
            source_luma = offset + scale * (2 * j + site)
            assert 2 * (chroma_offset + chroma_scale * j) + site == pytest.approx(source_luma)


def test_the_opencv_still_is_decoded_at_one_and_a_half_times_the_canvas():
    landscape = plan_zoom((3000, 2000), 1, length=1, frame_rate=30, zoom_speed=3)
    portrait = plan_zoom((1000, 1500), 1, length=1, frame_rate=30, zoom_speed=3)
    assert landscape.still_size == (2880, 1620) and portrait.still_size == (1620, 2880)
    assert "scale=2880:1920:flags=lanczos" in still_graph(landscape)
    assert "crop=2880:1620:0:150" in still_graph(landscape)
    assert "crop=1920:1080:" in zoom_filter_graph(landscape)  # the ffmpeg fallback keeps the canvas size


def test_frame_range_is_the_whole_plan_or_a_non_empty_part_of_it():
    plan = plan_zoom((3000, 2000), 1, length=1, frame_rate=30, zoom_speed=3)
    assert frame_range(plan) == range(30)
    assert frame_range(plan, 10, 20) == range(10, 20)
    assert frame_range(plan, 29) == range(29, 30)
    for first, stop in ((-1, 5), (5, 5), (20, 10), (0, 31), (30, None)):
        with pytest.raises(ValueError, match="not a non-empty part"):
            frame_range(plan, first, stop)


def test_a_segment_of_the_graph_keeps_the_whole_videos_zoom():
    plan = plan_zoom((3000, 2000), 1, length=1, frame_rate=30, zoom_speed=30)
    graph = zoom_filter_graph(plan, range(10, 20))
    assert "loop=loop=9:size=1:start=0" in graph
    left = dict(re.findall(r"(x\d|y\d)='([^']*)'", graph))["x0"]
    for local in range(10):  # perspective's `in` counts the segment's own frames from 1
        expected = zoom_axis(zoom_at(10 + local, 30, plan.target_zoom), 1920)[1]
        assert evaluate(left, W=1920, H=1080, **{"in": local + 1}) == pytest.approx(expected)
