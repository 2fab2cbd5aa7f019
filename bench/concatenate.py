"""Bench: concatenate's stream-copy path against its re-encode path on the same clips, same run; then
mismatched clips (sizes, frame rates, audio or not), which concatenate normalises: time, and the output's
duration against the sum of the clips' (the goal: within one frame).

Prints wall times and ratios; never asserts (times depend on the machine).
Run: .venv/bin/python bench/concatenate.py [--clips 4 --seconds 10]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "layers" / "common" / "python"))
os.environ.setdefault("REELGATE_FFMPEG_DIR", str(ROOT / "layers" / "ffmpeg" / "bin"))

from reelgate.media import concatenate, probe  # noqa: E402
from reelgate.media.concat import join_by_reencode  # noqa: E402
from reelgate.media.timeline import plan_timeline  # noqa: E402

FFMPEG = str(Path(os.environ["REELGATE_FFMPEG_DIR"]) / "ffmpeg")


MISMATCHED = [("1920x1080", 30, True), ("1280x720", 25, False), ("1080x1920", 60, True), ("640x360", 24, True)]


def make_clip(path: Path, seconds: float, seed: int, size: str = "1080x1920", rate: int = 30,
              audio: bool = True) -> None:
    """An H.264 (+ AAC) clip; by default 1080x1920 at 30 fps, the shape of a generated short."""
    sound = ["-f", "lavfi", "-i", f"sine=f={220 + 40 * seed}:r=44100:d={seconds}"] if audio else []
    subprocess.run(
        [FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s={size}:r={rate}:d={seconds}", *sound,
         "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
         *(["-c:a", "aac", "-shortest"] if audio else []), str(path)],
        check=True,
    )  # fmt: skip


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        clips = [work / f"clip{i}.mp4" for i in range(args.clips)]
        for seed, clip in enumerate(clips):
            make_clip(clip, args.seconds, seed)
        copied, encoded = work / "copy.mp4", work / "reencode.mp4"
        path = ""

        def copy() -> None:
            nonlocal path
            path = concatenate(clips, copied)

        copy_s = timed(copy)
        infos = [probe(clip) for clip in clips]
        encode_s = timed(lambda: join_by_reencode(clips, plan_timeline(infos), encoded))
        total = sum(info.duration for info in infos)
        print(f"{args.clips} clips of {args.seconds:g} s, 1080x1920 30 fps H.264 + AAC (sum {total:.3f} s)")
        print(f"stream copy ({path}): {copy_s:6.2f} s  -> duration {probe(copied).duration:.3f} s")
        print(f"re-encode:          {encode_s:6.2f} s  -> duration {probe(encoded).duration:.3f} s")
        print(f"re-encode / copy:   {encode_s / copy_s:6.1f}x")

        mixed = [work / f"mixed{i}.mp4" for i in range(len(MISMATCHED))]
        for seed, (clip, (size, rate, audio)) in enumerate(zip(mixed, MISMATCHED, strict=True)):
            make_clip(clip, args.seconds, seed, size, rate, audio)
        joined = work / "mixed.mp4"
        mixed_s = timed(lambda: concatenate(mixed, joined))
        mixed_total = sum(probe(clip).duration for clip in mixed)
        out = probe(joined)
        frame = 1 / 30  # the normalised output's frame duration (the first clip's rate)
        shapes = ", ".join(f"{size}@{rate}" + ("" if audio else " (no audio)") for size, rate, audio in MISMATCHED)
        print(f"mismatched {shapes}:")
        print(f"normalised:         {mixed_s:6.2f} s  -> duration {out.duration:.3f} s (sum {mixed_total:.3f} s, "
              f"off by {abs(out.duration - mixed_total) / frame:.2f} frames)")


if __name__ == "__main__":
    main()
