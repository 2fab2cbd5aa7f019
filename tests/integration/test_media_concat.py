"""Concatenate with the real FFmpeg layer: stream copy for matching clips, a playable re-encode otherwise."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from reelgate.media import MediaError, concatenate, probe
from reelgate.media.concat import join_by_stream_copy
from reelgate.media.tools import VIDEO_FORMATS, binary, local_input, run_ffmpeg, run_ffprobe


def clip(path: Path, *, size: str, rate: int, seconds: float, audio_rate: int | None = 44100) -> Path:
    """A short H.264 test clip, with a sine tone unless audio_rate is None."""
    args = [str(binary("ffmpeg")), "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s={size}:r={rate}:d={seconds}"]
    if audio_rate:
        args += ["-f", "lavfi", "-i", f"sine=r={audio_rate}:d={seconds}", "-c:a", "aac", "-shortest"]
    subprocess.run([*args, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)], check=True)
    return path


def decodes_cleanly(video: Path) -> bool:
    done = subprocess.run(
        [str(binary("ffmpeg")), "-v", "error", "-i", str(video), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode == 0 and done.stderr.strip() == ""


def test_matching_clips_are_joined_by_stream_copy(tmp_path):
    inputs = [clip(tmp_path / f"c{i}.mp4", size="320x240", rate=30, seconds=s) for i, s in enumerate((1, 1.5))]
    out = tmp_path / "out.mp4"
    assert concatenate(inputs, out) == "copy"
    info = probe(out)
    assert info.duration == pytest.approx(2.5, abs=1 / 30)
    assert info.frame_count == 75 and info.has_audio
    assert decodes_cleanly(out)


def test_mismatched_clips_are_normalised_and_always_play(tmp_path):
    inputs = [
        clip(tmp_path / "a.mp4", size="320x240", rate=30, seconds=1),
        clip(tmp_path / "b.mp4", size="400x400", rate=25, seconds=1.2, audio_rate=None),
        clip(tmp_path / "c.mp4", size="640x360", rate=24, seconds=0.9, audio_rate=48000),
    ]
    out = tmp_path / "out.mp4"
    assert concatenate(inputs, out) == "reencode"
    info = probe(out)
    assert (info.width, info.height, info.fps, info.codec, info.pix_fmt) == (320, 240, 30, "h264", "yuv420p")
    assert info.audio is not None and (info.audio.codec, info.audio.sample_rate) == ("aac", 44100)
    total = sum(probe(path).duration for path in inputs)
    assert info.duration == pytest.approx(total, abs=1 / 30)
    assert decodes_cleanly(out)


def test_clips_without_any_audio_stay_silent_films(tmp_path):
    inputs = [
        clip(tmp_path / "a.mp4", size="320x240", rate=30, seconds=0.5, audio_rate=None),
        clip(tmp_path / "b.mp4", size="240x320", rate=30, seconds=0.5, audio_rate=None),
    ]
    out = tmp_path / "out.mp4"
    assert concatenate(inputs, out) == "reencode"
    info = probe(out)
    assert not info.has_audio and info.frame_count == 30
    assert decodes_cleanly(out)


def test_unreadable_input_reports_ffprobes_reason(tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    with pytest.raises(MediaError) as failure:
        concatenate([broken], tmp_path / "out.mp4")
    assert "ffprobe failed" in str(failure.value)
    assert "CalledProcessError" not in str(failure.value) and len(str(failure.value)) > 40


PLAYLIST = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nhttp://127.0.0.1:9/x.ts\n#EXT-X-ENDLIST\n"


@pytest.mark.parametrize("name", ["evil.m3u8", "evil.mp4"])
def test_playlists_are_refused_even_when_named_mp4(tmp_path, name):
    playlist = tmp_path / name
    playlist.write_text(PLAYLIST)
    with pytest.raises(MediaError) as refused:
        concatenate([playlist], tmp_path / "out.mp4")
    # FFmpeg's own refusal, not a failed download: the HLS demuxer is not on the format whitelist (a playlist
    # named .mp4 is not even detected as one, so it fails as an unreadable mp4).
    expected = "Format not on whitelist 'mov,mp4" if name.endswith(".m3u8") else "moov atom not found"
    assert expected in str(refused.value)


def test_a_playlist_that_is_opened_reaches_no_network_protocol(tmp_path):
    """Even where a demuxer that follows URLs is allowed, only the file protocol is: the protocol whitelist."""
    playlist = tmp_path / "evil.m3u8"
    playlist.write_text(PLAYLIST)
    with pytest.raises(MediaError) as refused:
        run_ffprobe(local_input(playlist, demuxer="hls", formats="hls"))
    # exactly our whitelist, not the HLS demuxer's own default ('file,crypto,data')
    assert "Protocol 'http' not on whitelist 'file'!" in str(refused.value)


def test_the_concat_demuxer_list_opens_only_local_video_files(tmp_path):
    playlist = tmp_path / "evil.m3u8"
    playlist.write_text(PLAYLIST)
    with pytest.raises(MediaError) as refused:  # the real stream-copy path: the listed file is a playlist
        join_by_stream_copy([playlist], tmp_path / "out.mp4", with_audio=False)
    assert "Format not on whitelist 'concat,mov,mp4" in str(refused.value)

    listing = tmp_path / "inputs.txt"  # a list naming a URL: the protocol whitelist is inherited by each entry
    listing.write_text("file 'http://127.0.0.1:9/x.mp4'\n")
    with pytest.raises(MediaError) as refused:
        run_ffmpeg(["-safe", "0", *local_input(listing, demuxer="concat", formats="concat," + VIDEO_FORMATS),
                    "-c", "copy", str(tmp_path / "out.mp4")])
    assert "Protocol 'http' not on whitelist 'file'!" in str(refused.value)
