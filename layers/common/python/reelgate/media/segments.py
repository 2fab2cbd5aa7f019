"""A long image → video render cut into frame ranges rendered apart, then joined by stream copy.

Every segment is its own encode, so it starts on an IDR frame and the concat demuxer can join the
parts without re-encoding; the zoom of each frame depends on its global index only (`first_frame` of
`render_image_video`), so the seams are invisible and the frame count is exact.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from reelgate.media.concat import can_stream_copy, join_by_stream_copy
from reelgate.media.probe import probe
from reelgate.media.tools import MediaError


def segment_ranges(frames: int, segment_frames: int) -> list[tuple[int, int]]:
    """[first, stop) ranges covering frames 0..frames-1 in order, as few as keep each at most
    `segment_frames` long, their lengths differing by at most one (no short tail segment)."""
    if frames < 1 or segment_frames < 1:
        raise ValueError("frames and segment_frames must be positive")
    count = -(-frames // segment_frames)
    bounds = [frames * index // count for index in range(count + 1)]
    return list(pairwise(bounds))


def join_segments(parts: list[Path], out: Path) -> None:
    """Join a render's segments in order by stream copy; MediaError if their streams differ."""
    if not parts:
        raise MediaError("no segments to join")
    if not can_stream_copy([probe(part) for part in parts]):
        raise MediaError("the segments' streams differ: they cannot be joined by stream copy")
    join_by_stream_copy(parts, out, with_audio=False)
