"""Image → Ken Burns video, NCA-compatible output without NCA's stretch, judder and jitter."""

from __future__ import annotations

from pathlib import Path

from reelgate.media.limits import Limits
from reelgate.media.still import Still, checked_still, inspect_still
from reelgate.media.tools import local_input, run_ffmpeg
from reelgate.media.zoom import ZoomPlan, frame_range, plan_zoom, zoom_filter_graph
from reelgate.media.zoom_frames import opencv_available, render_zoom_frames

# superfast + CRF 23 on frames resampled from a 1.5x still (zoom.SUPERSAMPLE): SSIM 0.973-0.983 against
# the ideal render on every bench row, 0.977 at the hardest (6000x4000 still, 5 s @ 60), for the same CPU
# as CRF 21 on a canvas-size still (0.968 there). veryfast cost 17 % more CPU for no better SSIM
# (bench/image_to_video.py; docs/decisions.md). Still far above NCA's medium + CRF 23 (SSIM 0.57).
X264_PRESET = "superfast"
X264_CRF = 23


def render_image_video(image: Path, out: Path, *, length: float, frame_rate: int, zoom_speed: float,
                       limits: Limits | None = None, label: str = "the image",
                       first_frame: int = 0, stop_frame: int | None = None) -> ZoomPlan:
    """Render `image` as an H.264 mp4 zooming from 1.0 to 1 + zoom_speed/100 x length; no audio.

    With `limits` (the toolkit's path) the file's bytes and the still's pixels are checked before
    FFmpeg runs; an input that is no JPEG, PNG or WebP, or is over a limit, raises InputRefused
    naming `label`. Returns the plan (frames, canvas) the output gate checks the file against.
    `first_frame`/`stop_frame` render only the plan's frames [first, stop) (a segment: its frames keep
    the whole video's zoom, so segments joined in order make the same video); ValueError if outside.
    With OpenCV (the render image) each frame is warped in Python and piped to x264; without it the
    zoom runs inside ffmpeg's filter graph (same geometry, 2-3x the CPU).
    """
    still = inspect_still(image) if limits is None else checked_still(image, limits, label)
    plan = plan_zoom(still.size, still.orientation, length=length, frame_rate=frame_rate, zoom_speed=zoom_speed)
    frames = frame_range(plan, first_frame, stop_frame)
    if opencv_available():
        render_zoom_frames(still, plan, out, frames, output_args(plan, frames, out))
    else:
        run_ffmpeg(image_video_args(still, plan, out, frames))
    return plan


def image_video_args(still: Still, plan: ZoomPlan, out: Path, frames: range | None = None) -> list[str]:
    """The all-ffmpeg arguments: one decode of the still, no `-loop 1`, EXIF applied by our own filters."""
    return [
        "-noautorotate",
        *local_input(still.path, demuxer=still.demuxer, formats=still.demuxer),
        "-filter_complex",
        zoom_filter_graph(plan, frames),
        "-map",
        "[video]",
        *output_args(plan, frames or range(plan.frames), out),
    ]


def output_args(plan: ZoomPlan, frames: range, out: Path) -> list[str]:
    """Video only, exactly `len(frames)` frames, moov first (+faststart: playable while downloading)."""
    return ["-an", *encoder_args(plan.frame_rate), "-frames:v", str(len(frames)), "-movflags", "+faststart",
            str(out)]  # fmt: skip


def encoder_args(frame_rate: int) -> list[str]:
    return [
        "-c:v", "libx264",
        "-preset", X264_PRESET,
        "-crf", str(X264_CRF),
        "-pix_fmt", "yuv420p",
        "-r", str(frame_rate),
        "-fps_mode", "cfr",
    ]  # fmt: skip
