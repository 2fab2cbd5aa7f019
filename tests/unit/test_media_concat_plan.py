"""Concatenate: when stream copy is safe, and the re-encode timeline's exact lengths and graph."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest
from reelgate.media.concat import can_stream_copy, concat_list
from reelgate.media.probe import AudioInfo, MediaInfo
from reelgate.media.timeline import plan_timeline
from reelgate.media.tools import MediaError

CLIP = MediaInfo(
    width=640,
    height=360,
    codec="h264",
    pix_fmt="yuv420p",
    fps=Fraction(30),
    duration=2.0,
    frame_count=60,
    codec_setup="SHA256:abc",
    audio=AudioInfo("aac", 44100, 2),
)


def test_identical_clips_are_joined_by_stream_copy():
    assert can_stream_copy([CLIP, replace(CLIP, duration=3.5, frame_count=105)])


@pytest.mark.parametrize(
    "change",
    [
        {"width": 1280},
        {"height": 720},
        {"fps": Fraction(25)},
        {"codec": "hevc"},
        {"pix_fmt": "yuv444p"},
        {"rotation": 90},
        {"codec_setup": "SHA256:other"},
        {"audio": None},
        {"audio": AudioInfo("aac", 48000, 2)},
        {"audio": AudioInfo("aac", 44100, 1)},
        {"audio": AudioInfo("mp3", 44100, 2)},
    ],
)
def test_any_stream_difference_forces_the_reencode(change):
    assert not can_stream_copy([CLIP, replace(CLIP, **change)])


def test_concat_list_quotes_paths_the_demuxer_way():
    listing = concat_list([Path("/tmp/a b.mp4"), Path("/tmp/it's.mp4")])
    assert listing == "file '/tmp/a b.mp4'\nfile '/tmp/it'\\''s.mp4'\n"


def test_concat_list_refuses_line_breaks():
    with pytest.raises(MediaError):
        concat_list([Path("/tmp/a\nfile '/etc/passwd'")])


def test_timeline_takes_the_first_clips_size_and_rate():
    other = replace(CLIP, width=1080, height=1920, fps=Fraction(24))
    timeline = plan_timeline([CLIP, other])
    assert (timeline.width, timeline.height, timeline.frame_rate) == (640, 360, Fraction(30))


def test_timeline_frames_add_up_to_the_total_duration_without_drift():
    clips = [replace(CLIP, duration=1.01) for _ in range(30)]  # 30.3 frames each at 30 fps
    timeline = plan_timeline(clips)
    frames = sum(segment.frames for segment in timeline.segments)
    assert frames == round(30 * 1.01 * 30)
    assert {segment.frames for segment in timeline.segments} == {30, 31}


def test_timeline_audio_matches_the_video_length_of_every_segment():
    timeline = plan_timeline([CLIP, replace(CLIP, duration=1.3), replace(CLIP, duration=0.7)])
    for segment in timeline.segments:
        assert segment.samples == pytest.approx(segment.frames / 30 * 44100, abs=1)


def test_clip_without_audio_gets_silence_when_another_has_sound():
    silent = replace(CLIP, audio=None)
    timeline = plan_timeline([silent, CLIP])
    graph = timeline.filter_graph()
    assert timeline.audio is not None and timeline.audio.layout == "stereo"
    assert "anullsrc=r=44100:cl=stereo" in graph
    assert "[1:a:0]" in graph and "[0:a:0]" not in graph
    assert graph.endswith("[v0][a0][v1][a1]concat=n=2:v=1:a=1[video][audio]")


def test_no_audio_anywhere_means_a_video_only_join():
    silent = replace(CLIP, audio=None)
    graph = plan_timeline([silent, replace(silent, width=320)]).filter_graph()
    assert "anullsrc" not in graph
    assert graph.endswith("[v0][v1]concat=n=2:v=1:a=0[video]")


def test_every_clip_is_fitted_with_aspect_kept_and_padded():
    graph = plan_timeline([CLIP, replace(CLIP, width=1080, height=1920)]).filter_graph()
    assert graph.count("scale=640:360:force_original_aspect_ratio=decrease") == 2
    assert graph.count("pad=640:360:(ow-iw)/2:(oh-ih)/2") == 2


def test_rotated_first_clip_sets_an_upright_canvas_with_even_sides():
    timeline = plan_timeline([replace(CLIP, width=641, height=361, rotation=90)])
    assert (timeline.width, timeline.height) == (360, 640)
