"""Bench: concatenate's stream-copy path against its re-encode path on the same clips, same run.

Prints both wall times and the ratio; never asserts (times depend on the machine).
Run: .venv/bin/python bench/concatenate.py [--clips 6 --seconds 5]
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


def make_clip(path: Path, seconds: float, seed: int) -> None:
    """A 1080x1920 30 fps H.264 + AAC clip, the shape of a generated short."""
    subprocess.run(
        [FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s=1080x1920:r=30:d={seconds}",
         "-f", "lavfi", "-i", f"sine=f={220 + 40 * seed}:r=44100:d={seconds}",
         "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", str(path)],
        check=True,
    )  # fmt: skip


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=3.0)
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


if __name__ == "__main__":
    main()
