"""Bench: a 60 s image → video at 60 fps (3,600 frames) from a 3000x2000 still, in one render against the
segmented render of the toolkit flow (its Map renders frame ranges at once, the join copies them).

Prints, from the same run: the one render; every segment rendered at once on this machine (what the
local cloud's Map does; each in a process of its own, as on Lambda), each segment's own CPU seconds
(its Python process, where the zoom is warped, and its ffmpeg runs) and busiest thread; the stream-copy
join and the output gate's checks; and the modelled wall time on parallel Lambdas of the render function's memory
(bench/usage.py: max(CPU s / vCPUs, busiest thread)): the slowest segment + its check + join + final
check. Step Functions transitions and S3 transfers of the ~10 MB parts are not in the model. Checks the
joined file has exactly the frames asked. Never asserts a time.
Run: .venv/bin/python bench/segments.py [--length 60 --fps 60]
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import os
import sys
import tempfile
from pathlib import Path

from image_to_video import make_still  # also puts the layer on sys.path and points at the FFmpeg build
from reelgate.media import gate, probe, render_image_video
from reelgate.media.segments import join_segments
from reelgate.media.still import inspect_still
from reelgate.media.zoom import plan_zoom
from reelgate.settings import Settings
from usage import Usage, lambda_seconds, long_render, long_render_arguments, measured, vcpus

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from infra import registry


def row(name: str, usage: Usage, memory: int) -> str:
    return (f"{name:<40}{usage.wall:>9.2f}{usage.cpu:>9.2f}{usage.busiest_thread:>9.2f}"
            f"{lambda_seconds(usage, memory):>10.2f}")


def main() -> None:
    settings, memory = Settings(), registry.function("toolkit_render").memory
    parser = argparse.ArgumentParser(description=__doc__)
    long_render_arguments(parser, settings.toolkit_segment_frames)
    parser.add_argument("--concurrency", type=int, default=settings.toolkit_segment_concurrency or 8,
                        help="ranges rendered at once locally (the Map's MaxConcurrency)")
    args = parser.parse_args()
    zoom, frames, ranges = long_render(args)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        still, whole, joined = work / "still.jpg", work / "whole.mp4", work / "joined.mp4"
        parts = [work / f"part{index:04d}.mp4" for index in range(len(ranges))]
        make_still(still)
        one, _ = measured(lambda: render_image_video(still, whole, **zoom))

        def render_range(index: int) -> None:
            first, stop = ranges[index]
            render_image_video(still, parts[index], **zoom, first_frame=first, stop_frame=stop)

        def render_all() -> None:
            """Each range in a process of its own (a Lambda's), `concurrency` at a time."""
            fork = multiprocessing.get_context("fork")
            step = max(1, args.concurrency)
            for start in range(0, len(ranges), step):
                wave = range(start, min(start + step, len(ranges)))
                processes = [fork.Process(target=render_range, args=(index,)) for index in wave]
                for process in processes:
                    process.start()
                for process in processes:
                    process.join()
                    if process.exitcode != 0:
                        raise SystemExit(f"a segment's render failed (exit {process.exitcode})")

        at_once, segments = measured(render_all)
        joining, _ = measured(lambda: join_segments(parts, joined))
        info = inspect_still(still)
        plan = plan_zoom(info.size, info.orientation, **zoom)
        first, stop = ranges[0]
        part_check, _ = measured(lambda: gate.check_output(parts[0], dataclasses.replace(
            gate.for_image_video(plan), frames=stop - first)))
        final_check, _ = measured(lambda: gate.check_output(joined, gate.for_image_video(plan)))
        result = probe(joined)
        slowest = max(segments, key=lambda usage: lambda_seconds(usage, memory))
        overhead = sum(lambda_seconds(usage, memory) for usage in (part_check, joining, final_check))
        modelled = lambda_seconds(slowest, memory) + overhead
        local = at_once.wall + joining.wall + final_check.wall

        print(f"input 3000x2000 JPEG, {args.length:g} s at {args.fps} fps = {frames} frames, zoom_speed "
              f"{args.zoom_speed:g}; {len(ranges)} segments of <= {args.segment_frames} frames; {os.cpu_count()} "
              f"cores here (load avg {os.getloadavg()[0]:.1f}); Lambda: toolkit_render at {memory} MB = "
              f"{vcpus(memory):.2f} vCPU")
        print(f"{'step':<40}{'wall s':>9}{'CPU s':>9}{'thread s':>9}{'Lambda s':>10}")
        print(row("one render", one, memory))
        for index, usage in enumerate(segments):
            print(row(f"  segment {index} (rendered with the others)", usage, memory))
        print(row(f"all {len(ranges)} segments at once (local Map)", at_once, memory))
        print(row("join by stream copy", joining, memory))
        print(row("output gate: one segment", part_check, memory))
        print(row("output gate: the joined file", final_check, memory))
        print(f"{'segmented locally (segments + join + check)':<40}{local:>9.2f}")
        print(f"{f'modelled on {len(ranges)} parallel Lambdas':<40}{'':>27}{modelled:>10.2f}"
              "  (slowest segment + its check + join + final check)")
        print(f"joined: {result.frame_count} frames (asked {frames}), {result.duration:.3f} s; wall here: one render "
              f"{one.wall:.1f} s, segmented {local:.1f} s ({one.wall / local:.2f}x); on Lambdas: one render "
              f"{lambda_seconds(one, memory):.1f} s, segmented {modelled:.1f} s "
              f"({lambda_seconds(one, memory) / modelled:.2f}x)")


if __name__ == "__main__":
    main()
