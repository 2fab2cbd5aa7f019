"""Bounds on the work one job may ask for, checked on probed facts before anything is rendered.

A refusal is `InputRefused`: a short, stable message in Reelgate's own words that names the input by
the caller's label (`video_urls[2]`) and the limit, never a file path or a tool's output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reelgate.errors import ReelgateError
from reelgate.media.probe import MediaInfo


class InputRefused(ReelgateError):
    """The job's own input is unusable or over a limit; the message is safe to show the caller."""


@dataclass(frozen=True)
class Limits:
    max_items: int = 20
    max_input_bytes: int = 256 * 1024 * 1024
    max_total_bytes: int = 1024 * 1024 * 1024
    max_duration_seconds: float = 900.0
    max_video_pixels: int = 4096 * 2160
    max_image_pixels: int = 50_000_000


def labels_for(count: int, labels: Sequence[str] | None) -> list[str]:
    return list(labels) if labels is not None else [f"input {i + 1}" for i in range(count)]


def check_items(count: int, limits: Limits) -> None:
    if count > limits.max_items:
        raise InputRefused(f"too many inputs: {count}, at most {limits.max_items} are allowed")


def check_sizes(paths: Sequence[Path], limits: Limits, labels: Sequence[str] | None = None) -> None:
    """Bytes per input and in total, from the files on disk."""
    names = labels_for(len(paths), labels)
    total = 0
    for path, name in zip(paths, names, strict=True):
        size = path.stat().st_size
        if size > limits.max_input_bytes:
            raise InputRefused(f"{name} is {size_text(size)}, over the {size_text(limits.max_input_bytes)} "
                               "limit per input")
        total += size
    if total > limits.max_total_bytes:
        raise InputRefused(f"the inputs total {size_text(total)}, over the {size_text(limits.max_total_bytes)} "
                           "limit per job")


def check_clips(clips: Sequence[MediaInfo], limits: Limits, labels: Sequence[str] | None = None) -> None:
    """Duration of each clip and of all of them, and the pixels of each clip's frame."""
    names = labels_for(len(clips), labels)
    total = 0.0
    for clip, name in zip(clips, names, strict=True):
        if not clip.duration >= 0:  # NaN included
            raise InputRefused(f"{name} has no usable duration")
        if clip.duration > limits.max_duration_seconds:
            raise InputRefused(f"{name} is {_seconds(clip.duration)} long, over the "
                               f"{_seconds(limits.max_duration_seconds)} limit")
        _check_pixels(name, clip.width, clip.height, limits.max_video_pixels)
        total += clip.duration
    if total > limits.max_duration_seconds:
        raise InputRefused(f"the clips last {_seconds(total)} together, over the "
                           f"{_seconds(limits.max_duration_seconds)} limit per job")


def check_still(size: tuple[int, int], limits: Limits, label: str = "the image") -> None:
    _check_pixels(label, size[0], size[1], limits.max_image_pixels)


def _check_pixels(name: str, width: int, height: int, limit: int) -> None:
    if width <= 0 or height <= 0:
        raise InputRefused(f"{name} has no usable picture size")
    if width * height > limit:
        raise InputRefused(f"{name} is {width}x{height} pixels, over the {limit:,}-pixel limit")


def size_text(size: float) -> str:
    """A byte count as people read it: 512 bytes, 20.8 KB, 256.0 MB, 1.0 GB (powers of 1024)."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{int(size)} bytes"


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s"
