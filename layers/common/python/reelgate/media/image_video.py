"""Image → Ken Burns video, NCA-compatible output without NCA's stretch, judder and jitter."""

from __future__ import annotations

from pathlib import Path

from reelgate.media.limits import Limits
from reelgate.media.still import Still, checked_still, inspect_still
from reelgate.media.tools import local_input, run_ffmpeg
from reelgate.media.zoom import ZoomPlan, frame_range, plan_zoom, zoom_filter_graph

# superfast + CRF 21: SSIM >= 0.97 against the ideal render at 30 and 60 fps (veryfast + CRF 20 fell to
# 0.966 at 60 fps) for about 17 % less CPU, at about 1.7x the file size (bench/image_to_video.py;
# docs/decisions.md). Still far above NCA's medium + CRF 23 output (SSIM 0.57 with its stretch).
X264_PRESET = "superfast"
X264_CRF = 21


def render_image_video(image: Path, out: Path, *, length: float, frame_rate: int, zoom_speed: float,
                       limits: Limits | None = None, label: str = "the image", first_frame: int = 0,
                       stop_frame: int | None = None) -> ZoomPlan:
    """Render `image` as an H.264 mp4 zooming from 1.0 to 1 + zoom_speed/100 x length; no audio.

    With `first_frame`/`stop_frame` only the plan's frames [first, stop) are rendered (a segment of a
    longer render, starting on a keyframe), each with the zoom of its global index.

    With `limits` (the toolkit's path) the file's bytes and the still's pixels are checked before
    FFmpeg runs; an input that is no JPEG, PNG or WebP, or is over a limit, raises InputRefused
    naming `label`. Returns the plan (frames, canvas) the output gate checks the file against.
    """
    still = inspect_still(image) if limits is None else checked_still(image, limits, label)
    plan = plan_zoom(still.size, still.orientation, length=length, frame_rate=frame_rate, zoom_speed=zoom_speed)
    run_ffmpeg(image_video_args(still, plan, out, first_frame, stop_frame))
    return plan


def image_video_args(still: Still, plan: ZoomPlan, out: Path, first: int = 0, stop: int | None = None) -> list[str]:
    """The ffmpeg arguments: one decode of the still, no `-loop 1`, EXIF applied by our own filters."""
    first, stop = frame_range(plan, first, stop)
    return [
        "-noautorotate",
        *local_input(still.path, demuxer=still.demuxer, formats=still.demuxer),
        "-filter_complex",
        zoom_filter_graph(plan, first, stop),
        "-map",
        "[video]",
        "-an",
        *encoder_args(plan.frame_rate),
        "-frames:v",
        str(stop - first),
        "-movflags",
        "+faststart",
        str(out),
    ]


def encoder_args(frame_rate: int) -> list[str]:
    return [
        "-c:v", "libx264",
        "-preset", X264_PRESET,
        "-crf", str(X264_CRF),
        "-pix_fmt", "yuv420p",
        "-r", str(frame_rate),
        "-fps_mode", "cfr",
    ]  # fmt: skip
