"""Image → video with the real FFmpeg layer: container facts, no stretching, exact zoom, EXIF, formats."""

from __future__ import annotations

import itertools
import struct
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from reelgate.media import MediaError, probe, render_image_video
from reelgate.media.still import inspect_still
from reelgate.media.tools import binary


def circle_still(path: Path, size: tuple[int, int], radius: int, **save) -> None:
    """A white circle centred on black: its bounding box shows any stretch or zoom."""
    image = Image.new("RGB", size, "black")
    cx, cy = size[0] // 2, size[1] // 2
    ImageDraw.Draw(image).ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill="white")
    image.save(path, **save)


def frame(video: Path, index: int, work: Path) -> Image.Image:
    """Decode one frame (by index) to an RGB image."""
    target = work / f"frame{index}.png"
    subprocess.run(
        [str(binary("ffmpeg")), "-v", "error", "-y", "-i", str(video), "-vf", f"select=eq(n\\,{index})",
         "-frames:v", "1", "-update", "1", str(target)],
        check=True,
    )  # fmt: skip
    return Image.open(target).convert("RGB")


def bright_box(image: Image.Image) -> tuple[int, int, int, int]:
    box = image.convert("L").point(lambda v: 255 if v > 128 else 0).getbbox()
    assert box is not None
    return box


def top_level_boxes(video: Path) -> list[str]:
    boxes, data, at = [], video.read_bytes(), 0
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        boxes.append(kind.decode("latin-1"))
        at += size if size > 1 else len(data)
    return boxes


def test_landscape_jpeg_renders_nca_compatible_h264(tmp_path):
    still, out = tmp_path / "in.jpg", tmp_path / "out.mp4"
    circle_still(still, (1200, 900), 300, quality=95)
    render_image_video(still, out, length=1, frame_rate=24, zoom_speed=3)
    info = probe(out)
    assert (info.width, info.height, info.codec, info.pix_fmt) == (1920, 1080, "h264", "yuv420p")
    assert info.frame_count == 24 and info.fps == 24
    assert info.duration == pytest.approx(1.0, abs=1 / 24)
    assert not info.has_audio
    boxes = top_level_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat")  # +faststart: playable while downloading


def test_square_image_becomes_portrait_and_the_circle_stays_round(tmp_path):
    still, out = tmp_path / "in.png", tmp_path / "out.mp4"
    circle_still(still, (900, 900), 200)
    render_image_video(still, out, length=0.2, frame_rate=15, zoom_speed=0)
    assert (probe(out).width, probe(out).height) == (1080, 1920)
    left, top, right, bottom = bright_box(frame(out, 0, tmp_path))
    assert (right - left) / (bottom - top) == pytest.approx(1.0, abs=0.01)
    assert right - left == pytest.approx(400 * 1920 / 900, abs=4)  # filled to the canvas height


def test_four_by_three_image_is_cropped_not_stretched(tmp_path):
    still, out = tmp_path / "in.jpg", tmp_path / "out.mp4"
    circle_still(still, (1200, 900), 300, quality=95)
    render_image_video(still, out, length=0.2, frame_rate=15, zoom_speed=3)
    left, top, right, bottom = bright_box(frame(out, 0, tmp_path))
    assert (right - left) / (bottom - top) == pytest.approx(1.0, abs=0.01)
    assert (left + right) / 2 == pytest.approx(960, abs=2) and (top + bottom) / 2 == pytest.approx(540, abs=2)


@pytest.mark.parametrize("rate", [15, 60])
def test_zoom_reaches_its_target_on_the_last_frame_at_rates_other_than_25(tmp_path, rate):
    still, out = tmp_path / "in.png", tmp_path / "out.mp4"
    circle_still(still, (1920, 1080), 200)
    render_image_video(still, out, length=1, frame_rate=rate, zoom_speed=30)  # target 1.3
    assert probe(out).frame_count == rate
    first, last = bright_box(frame(out, 0, tmp_path)), bright_box(frame(out, rate - 1, tmp_path))
    assert (last[2] - last[0]) / (first[2] - first[0]) == pytest.approx(1.3, abs=0.01)
    assert (last[3] - last[1]) / (first[3] - first[1]) == pytest.approx(1.3, abs=0.01)


def dot_centroid(image: Image.Image, near: tuple[int, int], reach: int = 12) -> tuple[float, float]:
    gray = image.convert("L")
    total = sx = sy = 0.0
    for y in range(near[1] - reach, near[1] + reach + 1):
        for x in range(near[0] - reach, near[0] + reach + 1):
            weight = max(0, gray.getpixel((x, y)) - 30)
            total, sx, sy = total + weight, sx + weight * x, sy + weight * y
    return sx / total, sy / total


def test_zoom_moves_smoothly_with_no_integer_pixel_jitter(tmp_path):
    still, out = tmp_path / "in.png", tmp_path / "out.mp4"
    image = Image.new("RGB", (1920, 1080), "black")
    ImageDraw.Draw(image).ellipse([1396, 296, 1404, 304], fill="white")  # a dot off the centre
    image.save(still)
    render_image_video(still, out, length=0.5, frame_rate=30, zoom_speed=20)  # 1.0 → 1.1 over 15 frames
    track, position = [], (1400, 300)
    for index in range(15):
        x, y = dot_centroid(frame(out, index, tmp_path), (round(position[0]), round(position[1])))
        position = (x, y)
        track.append(x)
    steps = [b - a for a, b in itertools.pairwise(track)]
    assert all(step > 1 for step in steps)  # moves every frame (no duplicate frames)
    accelerations = [abs(b - a) for a, b in itertools.pairwise(steps)]
    assert max(accelerations) < 0.25  # an integer crop would jump by whole pixels


def test_exif_orientation_6_jpeg_comes_out_upright(tmp_path):
    still, out = tmp_path / "in.jpg", tmp_path / "out.mp4"
    stored = Image.new("RGB", (1200, 600), "black")
    ImageDraw.Draw(stored).rectangle([0, 0, 300, 150], fill="red")  # top-left as stored
    exif = stored.getexif()
    exif[0x0112] = 6  # viewers rotate 90° clockwise: the red block shows top-right
    stored.save(still, exif=exif.tobytes(), quality=95)
    render_image_video(still, out, length=0.2, frame_rate=15, zoom_speed=0)
    info = probe(out)
    assert (info.width, info.height, info.rotation) == (1080, 1920, 0)  # upright, and no rotation flag left
    shown = frame(out, 0, tmp_path)
    assert shown.getpixel((1050, 30))[0] > 200 and shown.getpixel((30, 30))[0] < 50


@pytest.mark.parametrize("suffix", [".png", ".webp", ".jpg"])
def test_png_webp_and_jpeg_inputs_are_accepted(tmp_path, suffix):
    still, out = tmp_path / f"in{suffix}", tmp_path / "out.mp4"
    circle_still(still, (640, 480), 100)
    render_image_video(still, out, length=0.1, frame_rate=30, zoom_speed=3)
    assert probe(out).frame_count == 3


def test_a_file_that_is_not_an_image_is_refused_before_ffmpeg(tmp_path):
    fake = tmp_path / "in.jpg"
    fake.write_text("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\nhttp://169.254.169.254/latest\n")
    with pytest.raises(MediaError, match="not a readable image"):
        render_image_video(fake, tmp_path / "out.mp4", length=1, frame_rate=30, zoom_speed=3)


def test_a_still_that_fails_to_decode_raises_its_own_error_and_leaves_no_output(tmp_path):
    """The header reads as a JPEG but the picture data is cut: the decode (while the encoder is already
    started) fails, its error is raised, and no video is left behind."""
    still, out = tmp_path / "in.jpg", tmp_path / "out.mp4"
    circle_still(still, (640, 480), 100)
    still.write_bytes(still.read_bytes()[:700])
    assert inspect_still(still).size == (640, 480)
    with pytest.raises(MediaError, match="Invalid data found"):
        render_image_video(still, out, length=1, frame_rate=30, zoom_speed=3)
    assert not out.exists()
