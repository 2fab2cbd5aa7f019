"""What an FFmpeg run costs, measured so that a busy machine does not distort it, and what it would take
on a Lambda of a given size.

Wall time on a loaded machine measures the machine; CPU seconds do not. A sampler polls /proc for this
process's ffmpeg children: CPU seconds of each thread (the busiest one bounds the wall time however many
vCPUs there are) and the peak resident memory (VmHWM). A Lambda of M MB has min(M / 1769, 6) vCPUs, so
a run takes about max(CPU s / vCPUs, busiest thread's CPU s) there (a model: it ignores waits between
threads, so it is a floor).
"""

from __future__ import annotations

import argparse
import os
import resource
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLOCK = os.sysconf("SC_CLK_TCK")
FULL_VCPU_MB = 1769  # Lambda: one full vCPU at 1,769 MB, proportional below and above
MAX_VCPUS = 6
PAGE_KB = 1024


@dataclass(frozen=True)
class Usage:
    wall: float  # seconds on this machine (load included)
    cpu: float  # user + system CPU seconds of the children
    busiest_thread: float  # CPU seconds of the busiest child thread
    peak_rss_mb: float  # largest resident set of one child


def vcpus(memory_mb: int) -> float:
    return min(memory_mb / FULL_VCPU_MB, MAX_VCPUS)


def lambda_seconds(usage: Usage, memory_mb: int) -> float:
    return max(usage.cpu / vcpus(memory_mb), usage.busiest_thread)


def _children() -> list[int]:
    me, found = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == me:
                found.append(int(entry.name))
    return found


def _sample(pid: int, threads: dict[tuple[int, int], float], peaks: dict[int, float]) -> None:
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            threads[(pid, int(task.name))] = (int(fields[11]) + int(fields[12])) / CLOCK  # utime + stime
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks[pid] = max(peaks.get(pid, 0.0), int(line.split()[1]) / PAGE_KB)
    except OSError:
        pass  # it ended between the listing and the read


def measured(action: Callable[[], object], interval: float = 0.05) -> tuple[Usage, list[Usage]]:
    """Run `action` (which starts ffmpeg children) and measure them: all together, and each child
    (its wall time there is the span it was seen running)."""
    threads: dict[tuple[int, int], float] = {}
    peaks: dict[int, float] = {}
    seen: dict[int, list[float]] = {}
    done = threading.Event()

    def sampler() -> None:
        while not done.is_set():
            for pid in _children():
                _sample(pid, threads, peaks)
                now = time.perf_counter()
                seen.setdefault(pid, [now, now])[1] = now
            done.wait(interval)

    watcher = threading.Thread(target=sampler, daemon=True)
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    watcher.start()
    try:
        action()
    finally:
        done.set()
        watcher.join()
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    children = [Usage(last - first, sum(t for (owner, _), t in threads.items() if owner == pid),
                      max(t for (owner, _), t in threads.items() if owner == pid), peaks.get(pid, 0.0))
                for pid, (first, last) in seen.items() if any(owner == pid for owner, _ in threads)]
    total = Usage(wall, cpu, max(threads.values(), default=0.0), max(peaks.values(), default=0.0))
    return total, children


def long_render_arguments(parser: argparse.ArgumentParser, segment_frames: int) -> None:
    """The long render both segment benches measure: 60 s at 60 fps unless told otherwise."""
    parser.add_argument("--length", type=float, default=60.0)
    parser.add_argument("--fps", type=int, default=60)
    parser.add_argument("--zoom-speed", type=float, default=3.0)
    parser.add_argument("--segment-frames", type=int, default=segment_frames)


def long_render(args: argparse.Namespace) -> tuple[dict[str, Any], int, list[tuple[int, int]]]:
    """From long_render_arguments: render_image_video's zoom arguments, the frame count and the ranges."""
    from reelgate.media.segments import segment_ranges  # the bench has put the layer on sys.path by now
    from reelgate.media.zoom import frame_count

    frames = frame_count(args.length, args.fps)
    zoom = {"length": args.length, "frame_rate": args.fps, "zoom_speed": args.zoom_speed}
    return zoom, frames, segment_ranges(frames, args.segment_frames)
