"""ffprobe JSON → MediaInfo, and the runner's small guarantees that need no subprocess."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from reelgate.media.probe import media_info_from_report
from reelgate.media.scratch import scratch_dir
from reelgate.media.tools import MediaError, binary, local_input, stderr_tail

REPORT = {
    "streams": [
        {
            "codec_type": "video",
            "codec_name": "h264",
            "width": 1080,
            "height": 1920,
            "pix_fmt": "yuv420p",
            "avg_frame_rate": "30000/1001",
            "r_frame_rate": "30000/1001",
            "nb_read_packets": "150",
            "extradata_hash": "SHA256:feed",
            "side_data_list": [{"side_data_type": "Display Matrix", "rotation": -90}],
        },
        {"codec_type": "audio", "codec_name": "aac", "sample_rate": "48000", "channels": 2},
    ],
    "format": {"duration": "5.005000"},
}


def test_report_becomes_media_info():
    info = media_info_from_report(REPORT)
    assert (info.width, info.height, info.codec, info.pix_fmt) == (1080, 1920, "h264", "yuv420p")
    assert info.fps == Fraction(30000, 1001)
    assert (info.duration, info.frame_count, info.rotation) == (5.005, 150, 270)
    assert info.has_audio and (info.audio_sample_rate, info.audio_channels) == (48000, 2)
    assert info.codec_setup == "SHA256:feed"


def test_frame_rate_falls_back_to_r_frame_rate():
    video = {**REPORT["streams"][0], "avg_frame_rate": "0/0", "r_frame_rate": "25/1"}
    assert media_info_from_report({**REPORT, "streams": [video]}).fps == Fraction(25)


def test_audio_only_or_cover_art_is_not_a_video():
    cover = {"codec_type": "video", "codec_name": "mjpeg", "disposition": {"attached_pic": 1}}
    with pytest.raises(MediaError, match="no video stream"):
        media_info_from_report({"streams": [cover, REPORT["streams"][1]], "format": {"duration": "1"}})


def test_without_audio_the_audio_fields_are_empty():
    info = media_info_from_report({**REPORT, "streams": [REPORT["streams"][0]]})
    assert not info.has_audio and info.audio_sample_rate is None and info.audio_channels is None


def test_inputs_are_opened_through_the_file_protocol_only():
    args = local_input(Path("/tmp/x.mp4"))
    assert args[:2] == ["-protocol_whitelist", "file"]
    assert "hls" not in args[args.index("-format_whitelist") + 1].split(",")
    assert args[-2:] == ["-i", "/tmp/x.mp4"]


def test_stderr_tail_keeps_the_end_where_ffmpeg_says_why():
    text = "noise\n" * 1000 + "Error opening input: Invalid data found"
    assert stderr_tail(text).endswith("Invalid data found")
    assert len(stderr_tail(text)) <= 1500


def test_missing_binary_says_how_to_build_the_layer(settings_env, tmp_path):
    settings_env.setenv("REELGATE_FFMPEG_DIR", str(tmp_path))
    with pytest.raises(MediaError, match="build the FFmpeg layer"):
        binary("ffmpeg")


def test_scratch_dir_is_removed_even_when_the_work_fails(settings_env, tmp_path):
    settings_env.setenv("REELGATE_WORK_DIR", str(tmp_path))
    with pytest.raises(RuntimeError), scratch_dir() as work:
        (work / "part.mp4").write_bytes(b"x")
        seen = work
        raise RuntimeError("boom")
    assert not seen.exists()
    assert list(tmp_path.iterdir()) == []
