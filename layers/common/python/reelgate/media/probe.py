"""ffprobe JSON → MediaInfo: the few facts the media pipeline decides on."""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from reelgate.media.tools import MediaError, local_input, run_ffprobe

PROBE_ARGS = ["-show_streams", "-show_format", "-count_packets", "-show_data_hash", "sha256", "-of", "json"]


@dataclass(frozen=True)
class AudioInfo:
    codec: str
    sample_rate: int
    channels: int


@dataclass(frozen=True)
class MediaInfo:
    width: int
    height: int
    codec: str
    pix_fmt: str
    fps: Fraction
    duration: float
    frame_count: int
    rotation: int = 0
    # SPS/PPS of the video stream: clips joined by stream copy must share it to decode after a join.
    codec_setup: str = ""
    audio: AudioInfo | None = None

    @property
    def has_audio(self) -> bool:
        return self.audio is not None

    @property
    def audio_sample_rate(self) -> int | None:
        return self.audio.sample_rate if self.audio else None

    @property
    def audio_channels(self) -> int | None:
        return self.audio.channels if self.audio else None


def probe(path: Path) -> MediaInfo:
    """Describe a local video file; MediaError when it has no video stream or cannot be read."""
    report = json.loads(run_ffprobe([*PROBE_ARGS, *local_input(path)]))
    return media_info_from_report(report, name=path.name)


def media_info_from_report(report: dict[str, Any], *, name: str = "input") -> MediaInfo:
    streams = report.get("streams", [])
    video = _first(streams, "video")
    if video is None:
        raise MediaError(f"{name} has no video stream")
    audio = _first(streams, "audio")
    return MediaInfo(
        width=int(video["width"]),
        height=int(video["height"]),
        codec=video.get("codec_name", "unknown"),
        pix_fmt=video.get("pix_fmt", "unknown"),
        fps=frame_rate(video),
        duration=_duration(report, video),
        frame_count=int(video.get("nb_read_packets") or video.get("nb_frames") or 0),
        rotation=_rotation(video),
        codec_setup=video.get("extradata_hash", ""),
        audio=_audio_info(audio) if audio else None,
    )


def frame_rate(stream: dict[str, Any]) -> Fraction:
    """avg_frame_rate when known (true rate of CFR files), else r_frame_rate."""
    for key in ("avg_frame_rate", "r_frame_rate"):
        text = stream.get(key, "0/0")
        num, _, den = text.partition("/")
        if int(den or 1) and int(num):
            return Fraction(int(num), int(den or 1))
    raise MediaError("video stream has no frame rate")


def _first(streams: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    # Cover art in audio files is a video "stream" too; it is never a clip's picture.
    return next(
        (s for s in streams if s.get("codec_type") == kind and not s.get("disposition", {}).get("attached_pic")),
        None,
    )


def _duration(report: dict[str, Any], video: dict[str, Any]) -> float:
    value = report.get("format", {}).get("duration") or video.get("duration")
    if value is None:
        raise MediaError("media has no duration")
    return float(value)


def _rotation(video: dict[str, Any]) -> int:
    for side_data in video.get("side_data_list", []):
        if "rotation" in side_data:
            return int(side_data["rotation"]) % 360
    return 0


def _audio_info(stream: dict[str, Any]) -> AudioInfo:
    return AudioInfo(
        codec=stream.get("codec_name", "unknown"),
        sample_rate=int(stream.get("sample_rate", 0)),
        channels=int(stream.get("channels", 0)),
    )
