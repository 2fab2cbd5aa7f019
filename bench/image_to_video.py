"""Bench: Reelgate's image → video against NCA's exact pipeline and against the encoder's own limit.

Default: one table, rows 3000x2000 and 6000x4000 stills x {5 s at 30 fps, 10 s at 30, 5 s at 60}: NCA's
exact command, Reelgate, and the encode-only limit (the same x264 settings on a pre-rendered raw stream
of the same frames), wall and CPU seconds (best of --runs), the ratios, and SSIM against an ideal
reference render (the exact zoom resampled per frame by Pillow from the original still; sampled frames).
--detail: one row in depth (SSIM/PSNR, file size, how far the zoom got, jitter = RMS of the second
difference of tracked marker positions: 0 for a smooth zoom).
Never asserts: times depend on the machine. Run: .venv/bin/python bench/image_to_video.py [--detail]
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "layers" / "common" / "python"))
os.environ.setdefault("REELGATE_FFMPEG_DIR", str(ROOT / "layers" / "ffmpeg" / "bin"))

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402
from reelgate.media import render_image_video  # noqa: E402
from reelgate.media.image_video import output_args  # noqa: E402
from reelgate.media.still import inspect_still  # noqa: E402
from reelgate.media.zoom import plan_zoom, zoom_at  # noqa: E402
from reelgate.media.zoom_frames import decode_still, raw_input, warp_frame, yuv_planes  # noqa: E402

FFMPEG = str(Path(os.environ["REELGATE_FFMPEG_DIR"]) / "ffmpeg")
SOURCE = (3000, 2000)
CANVAS = (1920, 1080)
MARKERS = [(750, 500), (2250, 500), (750, 1500), (2250, 1500)]  # source pixels: white dots on black
HEADER = "pipeline    wall s    SSIM  PSNR dB own SSIM  size KB    zoom  jitter px"
WINDOW = 20  # output px searched around the previous marker position


def make_still(path: Path, size: tuple[int, int] = SOURCE) -> None:
    """A busy synthetic photo (gradients, rings, lines) with four trackable marker dots (3000x2000 layout,
    scaled to `size`)."""
    rng = random.Random(7)
    ramp = Image.linear_gradient("L").resize(SOURCE)
    image = Image.merge(
        "RGB", (ramp, ramp.transpose(Image.Transpose.ROTATE_90).resize(SOURCE), ramp.point(lambda v: 90))
    )
    draw = ImageDraw.Draw(image)
    for _ in range(500):
        x, y, r = rng.randrange(SOURCE[0]), rng.randrange(SOURCE[1]), rng.randrange(4, 120)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.ellipse([x - r, y - r, x + r, y + r], outline=colour, width=rng.randrange(1, 6))
    for x, y in MARKERS:
        draw.rectangle([x - 90, y - 90, x + 90, y + 90], fill="black")
        draw.ellipse([x - 6, y - 6, x + 6, y + 6], fill="white")
    if size != SOURCE:
        image = image.resize(size, Image.Resampling.LANCZOS)
        ImageDraw.Draw(image).line([(0, 0), size], fill="yellow", width=3)  # detail at the full size too
    image.save(path, quality=92)


def nca_command(still: Path, out: Path, length: float, fps: int, zoom_speed: float) -> list[str]:
    """NCA build 209's exact ffmpeg invocation (services/v1/image/convert/image_to_video.py)."""
    frames, zoom = int(length * fps), 1 + zoom_speed / 100 * length
    graph = (
        f"scale=7680:4320,zoompan=z='min(1+({zoom_speed / 100}*{length})*on/{frames}, {zoom})':d={frames}"
        f":x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':s=1920x1080,fps={fps}"
    )
    return [FFMPEG, "-v", "error", "-framerate", str(fps), "-loop", "1", "-i", str(still), "-vf", graph,
            "-c:v", "libx264", "-r", str(fps), "-t", str(length), "-pix_fmt", "yuv420p", str(out)]  # fmt: skip


def source_window(zoom: float, *, stretch: bool = False,
                  source: tuple[int, int] = SOURCE) -> tuple[float, float, float, float]:
    """The source rectangle a frame shows: fill-and-crop to 16:9 (or NCA's stretch), then the centred zoom."""
    if stretch:
        width, height = source[0] / zoom, source[1] / zoom
    else:
        scale = max(CANVAS[0] / source[0], CANVAS[1] / source[1])
        width, height = CANVAS[0] / scale / zoom, CANVAS[1] / scale / zoom
    left, top = (source[0] - width) / 2, (source[1] - height) / 2
    return left, top, left + width, top + height


def render_reference(still: Path, out: Path, fps: int, windows: list[tuple[float, float, float, float]]) -> None:
    """Lossless ideal: every frame resampled (Lanczos, float box) straight from the original."""
    source = Image.open(still).convert("RGB")
    encode = subprocess.Popen(
        [FFMPEG, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "1920x1080", "-r", str(fps),
         "-i", "-", "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p", str(out)],
        stdin=subprocess.PIPE,
    )  # fmt: skip
    assert encode.stdin is not None
    for window in windows:
        encode.stdin.write(source.resize(CANVAS, Image.Resampling.LANCZOS, box=window).tobytes())
    encode.stdin.close()
    encode.wait()


def fidelity(video: Path, reference: Path, every: int = 1) -> tuple[float, float]:
    """(SSIM, PSNR dB) of `video` against `reference`, both as limited-range yuv420p; with `every` > 1 the
    reference holds only the video's frames 0, every, 2·every, ..."""
    pick = f"select=not(mod(n\\,{every}))," if every > 1 else ""
    graph = (
        f"[0:v]{pick}settb=1/25,setpts=N,scale=out_range=tv,format=yuv420p,split[a1][a2];"
        "[1:v]settb=1/25,setpts=N,scale=out_range=tv,format=yuv420p,split[b1][b2];[a1][b1]ssim;[a2][b2]psnr"
    )
    log = subprocess.run(
        [FFMPEG, "-hide_banner", "-i", str(video), "-i", str(reference), "-lavfi", graph, "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    ssim = float(re.search(r"SSIM .*All:([\d.]+)", log).group(1))  # type: ignore[union-attr]
    psnr = float(re.search(r"PSNR .*average:([\d.inf]+)", log).group(1))  # type: ignore[union-attr]
    return ssim, psnr


def gray_frames(video: Path):
    reader = subprocess.Popen(
        [FFMPEG, "-v", "error", "-i", str(video), "-f", "rawvideo", "-pix_fmt", "gray", "-"], stdout=subprocess.PIPE
    )
    size = CANVAS[0] * CANVAS[1]
    while chunk := reader.stdout.read(size):  # type: ignore[union-attr]
        yield chunk
    reader.wait()


def centroid(frame: bytes, near: tuple[float, float]) -> tuple[float, float]:
    """Brightness-weighted centre (continuous coordinates) of the marker dot near `near`."""
    cx, cy = int(near[0]), int(near[1])
    total = sx = sy = 0.0
    for y in range(cy - WINDOW, cy + WINDOW + 1):
        row = y * CANVAS[0]
        for x in range(cx - WINDOW, cx + WINDOW + 1):
            weight = max(0, frame[row + x] - 40)
            total += weight
            sx += weight * (x + 0.5)
            sy += weight * (y + 0.5)
    return sx / total, sy / total


def marker_tracks(video: Path, *, stretch: bool) -> list[list[tuple[float, float]]]:
    left, top, right, bottom = source_window(1.0, stretch=stretch)
    sx, sy = CANVAS[0] / (right - left), CANVAS[1] / (bottom - top)
    positions = [((x + 0.5 - left) * sx, (y + 0.5 - top) * sy) for x, y in MARKERS]
    tracks: list[list[tuple[float, float]]] = [[] for _ in MARKERS]
    for frame in gray_frames(video):
        positions = [centroid(frame, p) for p in positions]
        for track, position in zip(tracks, positions, strict=True):
            track.append(position)
    return tracks


def motion_report(video: Path, *, stretch: bool) -> tuple[float, float]:
    """(zoom reached at the last frame, jitter in px RMS of the per-frame acceleration)."""
    centre = (CANVAS[0] / 2, CANVAS[1] / 2)
    tracks = marker_tracks(video, stretch=stretch)
    reached = [math.dist(t[-1], centre) / math.dist(t[0], centre) for t in tracks]
    accel = [
        math.dist((a[0] - 2 * b[0] + c[0], a[1] - 2 * b[1] + c[1]), (0, 0))
        for t in tracks
        for a, b, c in zip(t, t[1:], t[2:], strict=False)
    ]
    return sum(reached) / len(reached), math.sqrt(sum(v * v for v in accel) / len(accel))


def run_nca(still: Path, out: Path, length: float, fps: int, speed: float) -> None:
    out.unlink(missing_ok=True)  # NCA passes no -y: each job writes a fresh name
    subprocess.run(nca_command(still, out, length, fps, speed), check=True, stdin=subprocess.DEVNULL)


def cpu_seconds() -> float:
    """CPU time of this process (the OpenCV warp runs here) and of its finished children (ffmpeg)."""
    usages = (resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return sum(usage.ru_utime + usage.ru_stime for usage in usages)


def timed(action) -> tuple[float, float]:
    """(wall seconds, CPU seconds): CPU time holds steadier than wall time on a busy machine."""
    before, start = cpu_seconds(), time.perf_counter()
    action()
    return time.perf_counter() - start, cpu_seconds() - before


def best(runs: int, action) -> tuple[float, float]:
    samples = [timed(action) for _ in range(runs)]
    return min(wall for wall, _ in samples), min(cpu for _, cpu in samples)


def nca_intended_windows(length: float, fps: int, speed: float) -> list[tuple[float, float, float, float]]:
    """NCA's own geometry (stretch, min(1 + zs*L*on/frames, Z)); its real output matches it at 25 fps only."""
    frames, target = int(length * fps), 1 + speed / 100 * length
    return [source_window(min(1 + speed / 100 * length * on / frames, target), stretch=True) for on in range(frames)]


def report(name: str, video: Path, seconds: float, reference: Path, own: Path | None, *, stretch: bool) -> None:
    ssim, psnr = fidelity(video, reference)
    own_ssim = f"{fidelity(video, own)[0]:>9.4f}" if own else f"{'n/a':>9}"
    reached, jitter = motion_report(video, stretch=stretch)
    size = video.stat().st_size // 1024
    print(f"{name:<10}{seconds:>8.2f}{ssim:>8.4f}{psnr:>9.2f}{own_ssim}{size:>9}{reached:>8.4f}{jitter:>11.4f}")


def detail(args: argparse.Namespace) -> None:
    """One 3000x2000 row in depth: quality, motion and size of both pipelines."""
    length, fps, speed = args.length, args.frame_rate, args.zoom_speed
    frames, target = round(length * fps), 1 + speed / 100 * length
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        still, ours, nca = work / "still.jpg", work / "reelgate.mp4", work / "nca.mp4"
        make_still(still)
        ours_s, ours_cpu = best(
            args.runs, lambda: render_image_video(still, ours, length=length, frame_rate=fps, zoom_speed=speed)
        )
        nca_s, nca_cpu = best(args.runs, lambda: run_nca(still, nca, length, fps, speed))
        ideal, nca_own = work / "ideal.mp4", (work / "nca_own.mp4" if fps == 25 else None)
        render_reference(still, ideal, fps, [source_window(zoom_at(n, frames, target)) for n in range(frames)])
        if nca_own:
            render_reference(still, nca_own, fps, nca_intended_windows(length, fps, speed))
        print(f"input 3000x2000 JPEG, {length:g} s at {fps} fps, zoom_speed {speed:g} (target zoom {target:.4f})")
        print("SSIM/PSNR: vs the ideal render of the API contract (fill+crop, zoom 1 -> target on the last frame)")
        print("own SSIM: vs the ideal of the pipeline's own intended geometry (NCA: stretch; only exact at 25 fps)")
        print(HEADER)
        report("nca", nca, nca_s, ideal, nca_own, stretch=True)
        report("reelgate", ours, ours_s, ideal, ideal, stretch=False)
        reached, jitter = motion_report(ideal, stretch=False)
        dashes = f"{'-':>8}{'1':>8}{'inf':>9}{'1':>9}{'-':>9}"
        print(f"{'ideal':<10}{dashes}{reached:>8.4f}{jitter:>11.4f}  (lossless reference: measurement floor)")
        print(f"speed-up reelgate vs nca: wall {nca_s / ours_s:.2f}x, CPU {nca_cpu / ours_cpu:.2f}x"
              f" (best of {args.runs} runs each; CPU s: nca {nca_cpu:.2f}, reelgate {ours_cpu:.2f})")  # fmt: skip


STILLS = [(3000, 2000), (6000, 4000)]
VIDEOS = [(5.0, 30), (10.0, 30), (5.0, 60)]
SSIM_FRAMES = 40  # reference frames rendered per row (every k-th frame of the video)
ROW = "{:<11}{:<10}{:>8}{:>8}{:>8}{:>10}{:>12}{:>20}{:>9}{:>10}"


def encode_limit(still: Path, work: Path, length: float, fps: int, speed: float):
    """Our exact frames pre-rendered to a raw file (not timed); returns the timed part: the same encoder
    settings and output options on that stream, i.e. what a zoom costing nothing would cost."""
    info = inspect_still(still)
    plan = plan_zoom(info.size, info.orientation, length=length, frame_rate=fps, zoom_speed=speed)
    width, height = plan.canvas
    source = yuv_planes(np.frombuffer(decode_still(info, plan), np.uint8), *plan.still_size)
    frame = np.empty(width * height * 3 // 2, np.uint8)
    raw, out = work / "frames.yuv", work / "limit.mp4"
    with raw.open("wb") as sink:
        for index in range(plan.frames):
            warp_frame(source, yuv_planes(frame, width, height), zoom_at(index, plan.frames, plan.target_zoom))
            sink.write(frame.data)
    command = [FFMPEG, "-v", "error", "-y", *raw_input(width, height, fps), *output_args(plan, range(plan.frames), out)]
    command[command.index("pipe:0")] = str(raw)
    command.remove("-protocol_whitelist")
    command.remove("pipe")
    return lambda: subprocess.run(command, check=True, stdin=subprocess.DEVNULL)


def row(size: tuple[int, int], length: float, fps: int, speed: float, runs: int, work: Path) -> str:
    still, ours, nca, ideal = work / "still.jpg", work / "reelgate.mp4", work / "nca.mp4", work / "ideal.mp4"
    make_still(still, size)
    ours_s, ours_cpu = best(runs, lambda: render_image_video(still, ours, length=length, frame_rate=fps,
                                                             zoom_speed=speed))
    nca_s, nca_cpu = best(runs, lambda: run_nca(still, nca, length, fps, speed))
    limit_s, limit_cpu = best(runs, encode_limit(still, work, length, fps, speed))
    frames, target = round(length * fps), 1 + speed / 100 * length
    every = max(1, frames // SSIM_FRAMES)
    windows = [source_window(zoom_at(n, frames, target), source=size) for n in range(0, frames, every)]
    render_reference(still, ideal, fps, windows)
    ours_ssim, nca_ssim = fidelity(ours, ideal, every)[0], fidelity(nca, ideal, every)[0]
    cpu = f"{nca_cpu:.1f}/{ours_cpu:.1f}/{limit_cpu:.1f}"
    return ROW.format(f"{size[0]}x{size[1]}", f"{length:g} s@{fps}", f"{nca_s:.2f}", f"{ours_s:.2f}",
                      f"{limit_s:.2f}", f"{nca_s / ours_s:.2f}x", f"{ours_s / limit_s:.2f}x", cpu,
                      f"{ours_ssim:.4f}", f"{nca_ssim:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--detail", action="store_true", help="one row in depth instead of the table")
    parser.add_argument("--length", type=float, default=5.0, help="--detail: video length")
    parser.add_argument("--frame-rate", type=int, default=30, help="--detail: frame rate")
    parser.add_argument("--zoom-speed", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=2, help="best of N wall times for each pipeline")
    args = parser.parse_args()
    if args.detail:
        detail(args)
        return
    print(f"image -> video, JPEG stills, zoom_speed {args.zoom_speed:g}; wall s best of {args.runs};"
          f" limit = the same encoder on a pre-rendered raw stream of the same frames;"
          f" SSIM vs the ideal render (every k-th frame, {SSIM_FRAMES} per row)")
    print(ROW.format("still", "video", "NCA s", "ours s", "limit s", "NCA/ours", "ours/limit",
                     "CPU s NCA/ours/lim", "SSIM", "NCA SSIM"))
    for size, (length, fps) in itertools.product(STILLS, VIDEOS):
        with tempfile.TemporaryDirectory() as tmp:
            print(row(size, length, fps, args.zoom_speed, args.runs, Path(tmp)), flush=True)


if __name__ == "__main__":
    main()
