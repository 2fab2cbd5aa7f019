"""The image → video ffmpeg command: one decode, local file only, NCA-compatible output options."""

from __future__ import annotations

from pathlib import Path

from reelgate.media.image_video import image_video_args
from reelgate.media.still import Still
from reelgate.media.zoom import plan_zoom

STILL = Still(Path("/tmp/in.jpg"), "jpeg_pipe", (3000, 2000), 1)


def args_for(rate: int = 30) -> list[str]:
    plan = plan_zoom(STILL.size, 1, length=5, frame_rate=rate, zoom_speed=3)
    return image_video_args(STILL, plan, Path("/tmp/out.mp4"))


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_the_still_is_decoded_once_not_looped_by_the_demuxer():
    args = args_for()
    assert "-loop" not in args and "-framerate" not in args
    assert args.count("-i") == 1
    assert "loop=loop=149" in option(args, "-filter_complex")


def test_the_still_is_opened_as_a_local_file_by_its_real_format_only():
    args = args_for()
    assert option(args, "-protocol_whitelist") == "file"
    assert option(args, "-f") == "jpeg_pipe" and option(args, "-format_whitelist") == "jpeg_pipe"
    assert "-noautorotate" in args  # EXIF is applied once, by our own filters
    assert args.index("-noautorotate") < args.index("-i")


def test_output_is_constant_rate_h264_yuv420p_faststart_without_audio():
    args = args_for(rate=48)
    assert option(args, "-c:v") == "libx264" and option(args, "-pix_fmt") == "yuv420p"
    assert option(args, "-r") == "48" and option(args, "-fps_mode") == "cfr"
    assert option(args, "-frames:v") == "240"
    assert option(args, "-movflags") == "+faststart"
    assert "-an" in args
    assert args[-1] == "/tmp/out.mp4"


def test_a_segment_encodes_exactly_its_own_frames():
    plan = plan_zoom(STILL.size, 1, length=5, frame_rate=30, zoom_speed=3)
    args = image_video_args(STILL, plan, Path("/tmp/out.mp4"), range(30, 75))
    assert option(args, "-frames:v") == "45"
    assert "loop=loop=44" in option(args, "-filter_complex")
