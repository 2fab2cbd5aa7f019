"""The output gate: before a toolkit job reports success, its file is probed against what was asked.

A mismatch (container, codec, frame size, frame count or duration) raises OutputMismatch with a
sentence the caller may read; the job then fails and is refunded instead of handing out a broken file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reelgate.media.probe import PROBE_ARGS, MediaInfo, media_info_from_report
from reelgate.media.timeline import even_size
from reelgate.media.tools import MediaError, MediaTimeout, local_input, run_ffprobe
from reelgate.media.zoom import ZoomPlan

CONTAINER = "mp4"
H264 = "h264"


class OutputMismatch(MediaError):
    """The rendered file is not what the request asked for (the message says how)."""


@dataclass(frozen=True)
class Expected:
    codec: str
    size: tuple[int, int]
    frames: int | None = None
    duration: float | None = None
    duration_tolerance: float = 0.5


def for_image_video(plan: ZoomPlan) -> Expected:
    return Expected(codec=H264, size=plan.canvas, frames=plan.frames)


def for_concatenation(clips: Sequence[MediaInfo], way: str) -> Expected:
    """A stream copy keeps the clips' codec and size; a re-encode is H.264 at the first clip's even size."""
    first = clips[0]
    codec, size = (first.codec, (first.width, first.height)) if way == "copy" else (H264, even_size(first))
    # each join may round a clip to its frame or audio packet boundary
    return Expected(codec=codec, size=size, duration=sum(clip.duration for clip in clips),
                    duration_tolerance=0.25 + 0.1 * len(clips))


def check_output(path: Path, expected: Expected) -> MediaInfo:
    """Probe `path`; raise OutputMismatch naming every difference from `expected`."""
    try:
        report = json.loads(run_ffprobe([*PROBE_ARGS, *local_input(path)]))
        info = media_info_from_report(report, name="the output")
    except MediaTimeout:
        raise
    except (MediaError, KeyError, ValueError) as exc:
        raise OutputMismatch("the output is not a readable video") from exc
    problems = []
    container = str(report.get("format", {}).get("format_name", ""))
    if CONTAINER not in container.split(","):
        problems.append(f"container {container or 'unknown'} instead of {CONTAINER}")
    if info.codec != expected.codec:
        problems.append(f"codec {info.codec} instead of {expected.codec}")
    if (info.width, info.height) != expected.size:
        problems.append(f"{info.width}x{info.height} instead of {expected.size[0]}x{expected.size[1]}")
    if expected.frames is not None and info.frame_count != expected.frames:
        problems.append(f"{info.frame_count} frames instead of {expected.frames}")
    if expected.duration is not None and abs(info.duration - expected.duration) > expected.duration_tolerance:
        problems.append(f"{info.duration:.2f} s instead of {expected.duration:.2f} s")
    if problems:
        raise OutputMismatch("the output does not match the request: " + "; ".join(problems))
    return info
