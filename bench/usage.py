"""What an FFmpeg run costs, measured so that a busy machine does not distort it, and what it would take
on a Lambda of a given size.

Wall time on a loaded machine measures the machine; CPU seconds do not. A sampler polls /proc for this
process's own threads (the OpenCV zoom warps frames here) and every process below it, grouped by the
direct child each descends from (an ffmpeg run, or a segment's own process and its ffmpeg runs): CPU
seconds of each thread (the busiest one bounds the wall time however many vCPUs there are) and the peak
resident memory (VmHWM, summed over a child's processes). A Lambda of M MB has min(M / 1769, 6) vCPUs, so
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
    cpu: float  # user + system CPU seconds: this process's and its children's, or one child's own tree
    busiest_thread: float  # CPU seconds of the busiest thread
    peak_rss_mb: float  # largest resident set of one child (its processes together)


def vcpus(memory_mb: int) -> float:
    return min(memory_mb / FULL_VCPU_MB, MAX_VCPUS)


def lambda_seconds(usage: Usage, memory_mb: int) -> float:
    return max(usage.cpu / vcpus(memory_mb), usage.busiest_thread)


def _descendants() -> dict[int, int]:
    """Every process below this one → the direct child of this process it descends from."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    me, roots = os.getpid(), {}
    for pid in parents:
        node, seen = pid, set()
        while parents.get(node, me) != me and node not in seen:
            seen.add(node)
            node = parents[node]
        if parents.get(node) == me:
            roots[pid] = node
    return roots


Threads = dict[tuple[int, int, int], float]  # (child it descends from, pid, tid) → CPU seconds
Peaks = dict[tuple[int, int], float]  # (child it descends from, pid) → peak resident MB


def _sample(root: int, pid: int, threads: Threads, peaks: Peaks) -> None:
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            threads[(root, pid, int(task.name))] = (int(fields[11]) + int(fields[12])) / CLOCK  # utime + stime
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks[(root, pid)] = max(peaks.get((root, pid), 0.0), int(line.split()[1]) / PAGE_KB)
    except OSError:
        pass  # it ended between the listing and the read


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def measured(action: Callable[[], object], interval: float = 0.05) -> tuple[Usage, list[Usage]]:
    """Run `action` and measure it: all together (this process's CPU and its children's), and each direct
    child with everything below it (its wall time there is the span it was seen running)."""
    me = os.getpid()
    threads: Threads = {}
    peaks: Peaks = {}
    seen: dict[int, list[float]] = {}
    done = threading.Event()

    def sampler() -> None:
        while not done.is_set():
            _sample(me, me, threads, peaks)
            now = time.perf_counter()
            for pid, root in _descendants().items():
                _sample(root, pid, threads, peaks)
                seen.setdefault(root, [now, now])[1] = now
            done.wait(interval)

    _sample(me, me, threads, peaks)
    before = dict(threads)  # this process's threads have run before: count only what they spend now
    watcher = threading.Thread(target=sampler, daemon=True)
    cpu_before, start = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
    watcher.start()
    try:
        action()
    finally:
        done.set()
        watcher.join()
    _sample(me, me, threads, peaks)
    wall = time.perf_counter() - start
    cpu = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN) - cpu_before
    sampling = threads.pop((me, me, watcher.native_id or 0), 0.0)  # the sampler's own reads of /proc
    cpu -= sampling
    spent = {key: value - before.get(key, 0.0) for key, value in threads.items()}
    children = [Usage(last - first, sum(t for key, t in spent.items() if key[0] == root),
                      max(t for key, t in spent.items() if key[0] == root),
                      sum(peak for (owner, _), peak in peaks.items() if owner == root))
                for root, (first, last) in seen.items() if any(key[0] == root for key in spent)]
    own_peak = max((usage.peak_rss_mb for usage in children), default=0.0)
    return Usage(wall, cpu, max(spent.values(), default=0.0), own_peak), children


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
