"""Bench: CPU seconds and peak memory of a 60 s 1080p image → video render, and the memory size of the
render function they call for.

Measures (bench/usage.py) one render of the whole job, one segment of it and the stream-copy join of the
job's segment count, plus the Python side's own peak (the render handler imported). For each Lambda size
it models (vCPUs = MB / 1769, at most 6) the job's wall time in one piece and as the flow runs it (cut
into `toolkit_segment_frames` ranges rendered at once, then joined), the billed seconds and the cost per
rendered minute at x86_64 prices (us-east-1, first tier; ephemeral storage beyond 512 MB included), and
the memory headroom (1 - peak RSS / configured memory). It names the cheapest size that keeps the job
under 60 s with at least 30 % headroom. Never asserts. Run: .venv/bin/python bench/render_memory.py
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import tempfile
from pathlib import Path

from image_to_video import make_still  # also puts the layer on sys.path and points at the FFmpeg build
from reelgate.media import gate, render_image_video
from reelgate.media.segments import join_segments
from reelgate.media.still import inspect_still
from reelgate.media.zoom import plan_zoom
from reelgate.settings import Settings
from usage import Usage, lambda_seconds, long_render, long_render_arguments, measured, vcpus

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from infra import registry

SIZES = (1024, 1769, 3008, 5308, 10240)
PRICE_GB_S = 0.0000166667  # x86_64 duration, per GB-second (aws.amazon.com/lambda/pricing)
PRICE_REQUEST = 0.20 / 1_000_000
PRICE_EPHEMERAL_GB_S = 0.0000000309  # per GB-second of ephemeral storage configured beyond 512 MB
WALL_GOAL = 60.0
HEADROOM_GOAL = 0.30


@dataclasses.dataclass(frozen=True)
class Option:
    memory: int
    one_wall: float
    wall: float  # as the flow runs it
    billed: float  # seconds, all invocations
    cost_per_minute: float
    headroom: float

    @property
    def fits(self) -> bool:
        return self.wall < WALL_GOAL and self.headroom >= HEADROOM_GOAL


def python_peak_mb() -> float:
    """This process's own peak with the render handler imported (Powertools, boto3, the domain)."""
    try:
        import functions.toolkit_render.handler  # noqa: F401
    except Exception as exc:  # a bench: say so and measure what is there
        print(f"(render handler not importable here: {type(exc).__name__}; Python peak without it)")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def model(memory: int, whole: Usage, segment: Usage, tail: float, parts: int, peak_mb: float,
          length: float) -> Option:
    one_wall = lambda_seconds(whole, memory)
    segment_wall = lambda_seconds(segment, memory)
    wall = one_wall if parts == 1 else segment_wall + tail
    billed = one_wall if parts == 1 else parts * segment_wall + tail
    ephemeral_gb = (registry.function("toolkit_render").ephemeral_mb - 512) / 1024
    invocations = 1 if parts == 1 else parts + 2  # plan, the ranges, the join
    cost = billed * (memory / 1024 * PRICE_GB_S + ephemeral_gb * PRICE_EPHEMERAL_GB_S) + invocations * PRICE_REQUEST
    return Option(memory, one_wall, wall, billed, cost / (length / 60), 1 - peak_mb / memory)


def main() -> None:
    settings = Settings()
    parser = argparse.ArgumentParser(description=__doc__)
    long_render_arguments(parser, settings.toolkit_segment_frames)
    args = parser.parse_args()
    zoom, frames, ranges = long_render(args)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        still, whole_out, part, joined = (work / name for name in ("still.jpg", "whole.mp4", "part.mp4", "j.mp4"))
        make_still(still)
        whole, _ = measured(lambda: render_image_video(still, whole_out, **zoom))
        ffmpeg_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the only child so far
        first, stop = ranges[0]
        segment, _ = measured(lambda: render_image_video(still, part, **zoom, first_frame=first, stop_frame=stop))
        info = inspect_still(still)
        plan = dataclasses.replace(plan_zoom(info.size, info.orientation, **zoom), frames=(stop - first) * len(ranges))
        joining, _ = measured(lambda: join_segments([part] * len(ranges), joined))
        checking, _ = measured(lambda: gate.check_output(joined, gate.for_image_video(plan)))
    python_peak = python_peak_mb()
    peak = max(ffmpeg_peak, whole.peak_rss_mb, segment.peak_rss_mb) + python_peak
    print(f"{args.length:g} s 1080p at {args.fps} fps ({frames} frames) from a 3000x2000 JPEG: one render "
          f"{whole.cpu:.1f} CPU s (busiest thread {whole.busiest_thread:.1f} s, {whole.wall:.1f} s wall here); one "
          f"of its {len(ranges)} segments {segment.cpu:.1f} CPU s; join {joining.cpu:.2f} CPU s")
    print(f"peak RSS: ffmpeg {max(ffmpeg_peak, whole.peak_rss_mb):.0f} MB (segment {segment.peak_rss_mb:.0f} MB) "
          f"+ Python {python_peak:.0f} MB = {peak:.0f} MB")
    tail = sum(lambda_seconds(usage, 1769) for usage in (joining, checking))  # I/O-bound: one vCPU's worth
    options = [model(memory, whole, segment, tail, len(ranges), peak, args.length) for memory in SIZES]
    print(f"{'memory MB':>10}{'vCPU':>6}{'one piece s':>12}{f'flow s ({len(ranges)} seg)':>16}{'billed s':>10}"
          f"{'USD/min':>11}{'headroom':>10}")
    for option in options:
        print(f"{option.memory:>10}{vcpus(option.memory):>6.2f}{option.one_wall:>12.1f}{option.wall:>16.1f}"
              f"{option.billed:>10.1f}{option.cost_per_minute:>11.5f}{option.headroom:>9.0%}"
              f"{'' if option.fits else '  (misses a goal)'}")
    fitting = [option for option in options if option.fits]
    if fitting:
        chosen = min(fitting, key=lambda option: (round(option.cost_per_minute, 6), option.wall))
        print(f"cheapest under {WALL_GOAL:.0f} s with >= {HEADROOM_GOAL:.0%} headroom: {chosen.memory} MB "
              f"({chosen.wall:.1f} s, ${chosen.cost_per_minute:.5f} per rendered minute, headroom "
              f"{chosen.headroom:.0%}); registry: {registry.function('toolkit_render').memory} MB")
    else:
        print("no size meets both goals")


if __name__ == "__main__":
    main()
