"""The OpenCV zoom rendered for real: features land where the zoom maths puts them (luma and chroma),
a segment is the same frames as the whole video, the ffmpeg-only fallback agrees, and an encoder that
dies or hangs mid-stream is an error with nothing left behind (no process, no partial file)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from reelgate import deadline
from reelgate.media import MediaError, MediaTimeout, image_video, probe, render_image_video
from reelgate.media.tools import binary
from reelgate.media.zoom import zoom_at
from reelgate.settings import get_settings

WIDTH, HEIGHT = 1920, 1080
DOT = (1100, 480)  # source pixel of a red dot: its continuous centre is (1100.5, 480.5)


def red_dot_still(path: Path) -> None:
    image = Image.new("RGB", (WIDTH, HEIGHT), "black")
    x, y = DOT
    ImageDraw.Draw(image).ellipse([x - 6, y - 6, x + 6, y + 6], fill=(255, 0, 0))
    image.save(path)


def yuv_frame(video: Path, index: int) -> tuple[np.ndarray, np.ndarray]:
    """(Y, V) planes of one decoded frame, exactly as coded (no conversion)."""
    raw = subprocess.run(
        [str(binary("ffmpeg")), "-v", "error", "-i", str(video), "-vf", f"select=eq(n\\,{index})",
         "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    frame = np.frombuffer(raw, np.uint8)
    luma, chroma = WIDTH * HEIGHT, WIDTH * HEIGHT // 4
    y = frame[:luma].reshape(HEIGHT, WIDTH).astype(float)
    v = frame[luma + chroma :].reshape(HEIGHT // 2, WIDTH // 2).astype(float)
    return y, v


def centroid(plane: np.ndarray, floor: float, step: float, site: tuple[float, float]) -> tuple[float, float]:
    """Weighted centre of everything above `floor`, in luma pixel coordinates (centres at i + 0.5).

    `step` is the plane's sample spacing in luma pixels, `site` where its sample 0 sits.
    """
    weight = np.clip(plane - floor, 0, None)
    rows, cols = np.indices(plane.shape)
    total = weight.sum()
    x, y = (weight * cols).sum() / total, (weight * rows).sum() / total
    return float(x * step + site[0]), float(y * step + site[1])


def dot_positions(video: Path, index: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """Where the dot is in luma and in chroma (V), both in luma pixel coordinates."""
    y, v = yuv_frame(video, index)
    # 4:2:0 with H.264's default siting: chroma sample (j, k) sits at luma (2j, 2k + 0.5), centres + 0.5
    return centroid(y, 40, 1, (0.5, 0.5)), centroid(v, 140, 2, (0.5, 1.0))


def zoomed(point: tuple[float, float], zoom: float) -> tuple[float, float]:
    """The centred zoom of the contract: the frame's middle stays, everything else moves out by `zoom`."""
    return WIDTH / 2 + (point[0] - WIDTH / 2) * zoom, HEIGHT / 2 + (point[1] - HEIGHT / 2) * zoom


def test_luma_and_chroma_land_where_the_zoom_maths_puts_them(tmp_path):
    still, out = tmp_path / "in.png", tmp_path / "out.mp4"
    red_dot_still(still)
    render_image_video(still, out, length=3, frame_rate=10, zoom_speed=100)  # 1.0 → 4.0 over 30 frames
    assert probe(out).frame_count == 30
    luma0, chroma0 = dot_positions(out, 0)
    assert luma0 == pytest.approx((DOT[0] + 0.5, DOT[1] + 0.5), abs=0.15)
    for index in (12, 29):
        zoom = zoom_at(index, 30, 4.0)
        luma, chroma = dot_positions(out, index)
        assert luma == pytest.approx(zoomed(luma0, zoom), abs=0.3)
        # the chroma plane keeps its own (sub-pixel) siting relative to luma, scaled by the same zoom
        assert chroma == pytest.approx(zoomed(chroma0, zoom), abs=0.5)


def test_a_segment_is_the_same_frames_as_the_whole_video(tmp_path):
    still, whole, part = tmp_path / "in.png", tmp_path / "whole.mp4", tmp_path / "part.mp4"
    red_dot_still(still)
    plan = render_image_video(still, whole, length=2, frame_rate=10, zoom_speed=50)  # 1.0 → 2.0
    render_image_video(still, part, length=2, frame_rate=10, zoom_speed=50, first_frame=8, stop_frame=14)
    assert plan.frames == 20 and probe(part).frame_count == 6
    for local in (0, 5):
        assert dot_positions(part, local)[0] == pytest.approx(dot_positions(whole, 8 + local)[0], abs=0.1)
    assert abs(dot_positions(part, 0)[0][0] - dot_positions(whole, 7)[0][0]) > 1  # not the frame before


def test_a_range_outside_the_plan_is_refused_before_any_work(tmp_path):
    still = tmp_path / "in.png"
    red_dot_still(still)
    with pytest.raises(ValueError, match="not a non-empty part"):
        render_image_video(still, tmp_path / "out.mp4", length=1, frame_rate=10, zoom_speed=3, first_frame=5,
                           stop_frame=11)  # fmt: skip
    assert not (tmp_path / "out.mp4").exists()


def test_without_opencv_the_ffmpeg_graph_renders_the_same_zoom(tmp_path, monkeypatch):
    still, fast, graph = tmp_path / "in.png", tmp_path / "fast.mp4", tmp_path / "graph.mp4"
    red_dot_still(still)
    render_image_video(still, fast, length=2, frame_rate=10, zoom_speed=50, first_frame=10)
    monkeypatch.setattr(image_video, "opencv_available", lambda: False)
    render_image_video(still, graph, length=2, frame_rate=10, zoom_speed=50, first_frame=10)
    assert probe(graph).frame_count == probe(fast).frame_count == 10
    for index in (0, 9):
        assert dot_positions(graph, index)[0] == pytest.approx(dot_positions(fast, index)[0], abs=0.3)


def fake_encoder(tmp_path: Path, settings_env: pytest.MonkeyPatch, behaviour: str) -> Path:
    """An ffmpeg that is the real one, except as the encoder (reading pipe:0): then it does `behaviour`."""
    tools, pid = tmp_path / "bin", tmp_path / "encoder.pid"
    tools.mkdir()
    script = (f'#!/bin/sh\ncase "$*" in *pipe:0*) echo $$ > {pid}; {behaviour};; esac\n'
              f'exec {binary("ffmpeg")} "$@"\n')  # fmt: skip
    (tools / "ffmpeg").write_text(script)
    (tools / "ffmpeg").chmod(0o755)
    settings_env.setenv("REELGATE_FFMPEG_DIR", str(tools))
    get_settings.cache_clear()  # binary() above read the real directory
    return pid


def reaped(pid_file: Path) -> bool:
    """The encoder's process is gone and was waited for (no zombie left to this process)."""
    try:
        os.waitpid(int(pid_file.read_text()), os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_an_encoder_dying_mid_stream_is_a_media_error_with_nothing_left(tmp_path, settings_env):
    still, out = tmp_path / "in.png", tmp_path / "out.mp4"
    red_dot_still(still)
    crash = f"head -c 5000000 >/dev/null; : > {out}; echo encoder crashed >&2; exit 3"  # a partial file too
    pid = fake_encoder(tmp_path, settings_env, crash)
    with pytest.raises(MediaError, match=r"ffmpeg failed \(exit 3\): encoder crashed"):
        render_image_video(still, out, length=2, frame_rate=30, zoom_speed=3)
    assert not out.exists() and reaped(pid)


def test_an_encoder_that_stops_reading_cleanly_is_still_an_error(tmp_path, settings_env):
    still, out = tmp_path / "in.png", tmp_path / "out.mp4"
    red_dot_still(still)
    pid = fake_encoder(tmp_path, settings_env, "head -c 5000000 >/dev/null; : > " + str(out) + "; exit 0")
    with pytest.raises(MediaError, match="stopped reading its input"):
        render_image_video(still, out, length=2, frame_rate=30, zoom_speed=3)
    assert not out.exists() and reaped(pid)


def test_an_encoder_that_hangs_is_killed_at_the_deadline(tmp_path, settings_env):
    still, out = tmp_path / "in.png", tmp_path / "out.mp4"
    red_dot_still(still)
    settings_env.setenv("REELGATE_FFMPEG_RESERVE_SECONDS", "0")
    pid = fake_encoder(tmp_path, settings_env, "sleep 120")
    # the deadline leaves the (real) decode of the still ample time on a busy machine; the encoder none
    with deadline.bounded(15), pytest.raises(MediaTimeout, match="ffmpeg timed out"):
        render_image_video(still, out, length=2, frame_rate=30, zoom_speed=3)
    assert not out.exists() and reaped(pid)
