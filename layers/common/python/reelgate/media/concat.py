"""Join clips: NCA's stream copy when every clip matches, else a normalising re-encode that always plays."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from reelgate.media.limits import InputRefused, Limits, check_clips, check_items, check_sizes, labels_for
from reelgate.media.probe import MediaInfo, probe
from reelgate.media.scratch import scratch_dir
from reelgate.media.timeline import Timeline, plan_timeline
from reelgate.media.tools import VIDEO_FORMATS, MediaError, MediaTimeout, binary, local_input, run_ffmpeg

X264_PRESET = "veryfast"
X264_CRF = 20
AAC_BITRATE = "160k"


def concatenate(inputs: list[Path], out: Path, *, limits: Limits | None = None,
                labels: Sequence[str] | None = None) -> str:
    """Join `inputs` in order into the mp4 `out`; return "copy" or "reencode" (the path taken).

    With `limits` (the toolkit's path) the inputs are checked before anything is rendered: count,
    bytes, readability, then probed duration and frame size. InputRefused names the input by its
    label (`labels`, default "input N"); without limits a bad input raises ffprobe's MediaError.
    """
    if not inputs:
        raise MediaError("nothing to concatenate")
    names = labels_for(len(inputs), labels)
    if limits:
        check_items(len(inputs), limits)
        check_sizes(inputs, limits, names)
    clips = [probe(path) for path in inputs] if limits is None else [
        _probe_input(path, name) for path, name in zip(inputs, names, strict=True)]
    if limits:
        check_clips(clips, limits, names)
    if can_stream_copy(clips):
        join_by_stream_copy(inputs, out, with_audio=clips[0].has_audio)
        return "copy"
    join_by_reencode(inputs, plan_timeline(clips), out)
    return "reencode"


def _probe_input(path: Path, name: str) -> MediaInfo:
    binary("ffprobe")  # a missing tool is our failure, not the input's
    try:
        return probe(path)
    except MediaTimeout:
        raise
    except (MediaError, KeyError, ValueError) as exc:
        raise InputRefused(f"{name} is not a video that can be read") from exc


def stream_layout(clip: MediaInfo) -> tuple[object, ...]:
    """Everything the concat demuxer silently assumes is identical across files."""
    return (clip.codec, clip.width, clip.height, clip.fps, clip.pix_fmt, clip.rotation, clip.codec_setup, clip.audio)


def can_stream_copy(clips: list[MediaInfo]) -> bool:
    first = stream_layout(clips[0])
    return all(stream_layout(clip) == first for clip in clips[1:])


def concat_list(inputs: list[Path]) -> str:
    """The concat demuxer's script: one quoted absolute path per line."""
    lines = []
    for path in inputs:
        text = str(path.resolve())
        if "\n" in text or "\r" in text:
            raise MediaError("input path contains a line break")
        lines.append("file '" + text.replace("'", "'\\''") + "'")
    return "\n".join(lines) + "\n"


def join_by_stream_copy(inputs: list[Path], out: Path, *, with_audio: bool) -> None:
    with scratch_dir("concat-") as work:
        listing = work / "inputs.txt"
        listing.write_text(concat_list(inputs), encoding="utf-8")
        # -safe 0: absolute paths; the file-only protocol whitelist is inherited by every listed file.
        args = ["-safe", "0", *local_input(listing, demuxer="concat", formats="concat," + VIDEO_FORMATS)]
        maps = ["-map", "0:v:0", *(["-map", "0:a:0"] if with_audio else [])]
        run_ffmpeg([*args, *maps, "-c", "copy", "-movflags", "+faststart", str(out)])


def join_by_reencode(inputs: list[Path], timeline: Timeline, out: Path) -> None:
    opened = [arg for path in inputs for arg in local_input(path)]
    audio = ["-c:a", "aac", "-b:a", AAC_BITRATE, "-map", "[audio]"] if timeline.audio else []
    run_ffmpeg(
        [
            *opened,
            "-filter_complex", timeline.filter_graph(),
            "-map", "[video]", *audio,
            "-c:v", "libx264", "-preset", X264_PRESET, "-crf", str(X264_CRF), "-pix_fmt", "yuv420p",
            "-r", str(timeline.frame_rate), "-fps_mode", "cfr",
            "-movflags", "+faststart", str(out),
        ]
    )  # fmt: skip
