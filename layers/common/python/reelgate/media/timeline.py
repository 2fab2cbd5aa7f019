"""The re-encode plan for mismatched clips, as pure logic: common canvas, rate, audio and exact lengths.

Each clip gets a whole number of frames (and the matching number of audio samples) chosen from the
running total of durations, so rounding never accumulates: the joined length stays within half a
frame of the sum of the inputs, however many clips there are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from reelgate.media.probe import MediaInfo


@dataclass(frozen=True)
class AudioFormat:
    sample_rate: int
    layout: str  # "mono" or "stereo": every player handles both


@dataclass(frozen=True)
class Segment:
    frames: int
    samples: int
    has_audio: bool


@dataclass(frozen=True)
class Timeline:
    width: int
    height: int
    frame_rate: Fraction
    segments: tuple[Segment, ...]
    audio: AudioFormat | None

    def filter_graph(self) -> str:
        parts = [self._video(i, s) for i, s in enumerate(self.segments)]
        if self.audio:
            parts += [self._audio(i, s, self.audio) for i, s in enumerate(self.segments)]
        pads = "".join(f"[v{i}]" + (f"[a{i}]" if self.audio else "") for i in range(len(self.segments)))
        outputs = "[video][audio]" if self.audio else "[video]"
        parts.append(f"{pads}concat=n={len(self.segments)}:v=1:a={int(bool(self.audio))}{outputs}")
        return ";".join(parts)

    def _video(self, index: int, segment: Segment) -> str:
        """Fit inside the canvas with aspect kept, pad, resample to the common rate, exact frame count."""
        w, h, rate = self.width, self.height, f"{self.frame_rate.numerator}/{self.frame_rate.denominator}"
        return (
            f"[{index}:v:0]setpts=PTS-STARTPTS,"
            f"scale={w}:{h}:force_original_aspect_ratio=decrease:force_divisible_by=2:out_range=limited,"
            f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p,fps={rate},"
            f"tpad=stop_mode=clone:stop=-1,trim=end_frame={segment.frames}[v{index}]"
        )

    def _audio(self, index: int, segment: Segment, audio: AudioFormat) -> str:
        """The clip's sound padded/trimmed to its video length, or silence of that length."""
        rate, layout = audio.sample_rate, audio.layout
        source = (
            f"[{index}:a:0]asetpts=PTS-STARTPTS,aresample={rate},"
            f"aformat=sample_fmts=fltp:sample_rates={rate}:channel_layouts={layout},apad"
            if segment.has_audio
            else f"anullsrc=r={rate}:cl={layout}"
        )
        return f"{source},atrim=end_sample={segment.samples}[a{index}]"


def even_size(clip: MediaInfo) -> tuple[int, int]:
    """The first clip's upright size, rounded down to even numbers for 4:2:0."""
    width, height = (clip.height, clip.width) if clip.rotation in (90, 270) else (clip.width, clip.height)
    return max(2, width - width % 2), max(2, height - height % 2)


def common_audio(clips: list[MediaInfo]) -> AudioFormat | None:
    first = next((clip.audio for clip in clips if clip.audio), None)
    if first is None:
        return None
    return AudioFormat(first.sample_rate or 48000, "mono" if first.channels == 1 else "stereo")


def plan_timeline(clips: list[MediaInfo]) -> Timeline:
    rate = clips[0].fps
    audio = common_audio(clips)
    segments, elapsed, frames_before, samples_before = [], 0.0, 0, 0
    for clip in clips:
        elapsed += clip.duration
        frames_after = max(frames_before + 1, math.floor(elapsed * rate + 0.5))
        samples_after = math.floor(frames_after / rate * (audio.sample_rate if audio else 0) + 0.5)
        segments.append(Segment(frames_after - frames_before, samples_after - samples_before, clip.has_audio))
        frames_before, samples_before = frames_after, samples_after
    width, height = even_size(clips[0])
    return Timeline(width, height, rate, tuple(segments), audio)
