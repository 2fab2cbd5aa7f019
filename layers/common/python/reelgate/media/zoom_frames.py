"""The zoom rendered frame by frame with OpenCV and piped, raw, into one x264 encoder.

FFmpeg decodes, uprights and fill-crops the still once (the same steps as the filter graph, at 1.5x the
canvas: `SUPERSAMPLE`), hands it back as one raw yuv420p frame, and each output frame is then one
`cv2.warpAffine` (bilinear) per plane: about 7 ms of CPU per 1080p frame where ffmpeg's per-frame
`perspective` filter took about 20 ms, against about 22 ms for the encoder. cv2 and numpy are imported
here only: the render path needs them, nothing else does (they are not in the zip layer).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reelgate.media.still import Still
from reelgate.media.tools import MediaError, ffmpeg_sink, local_input, run_ffmpeg, write_all
from reelgate.media.zoom import ZoomPlan, still_graph, zoom_at, zoom_axis

IN_FLIGHT = 3  # frame buffers: one being warped, one being written, one spare


def opencv_available() -> bool:
    try:
        import cv2  # noqa: F401
        import numpy  # noqa: F401
    except ImportError:
        return False
    return True


def render_zoom_frames(still: Still, plan: ZoomPlan, out: Path, frames: range, encoder: list[str]) -> None:
    """Encode `frames` of the plan (global indices: their zoom is the whole video's) into `out`."""
    import cv2
    import numpy as np

    width, height = plan.canvas
    buffers = [np.empty(width * height * 3 // 2, np.uint8) for _ in range(IN_FLIGHT)]
    cv2.setNumThreads(1)  # the encoder needs the other cores more than the warp does
    try:
        with ffmpeg_sink(raw_input(width, height, plan.frame_rate) + encoder) as sink:
            # the still is decoded while the encoder starts; a failed decode kills the encoder and is raised
            planes = yuv_planes(np.frombuffer(decode_still(still, plan), np.uint8), *plan.still_size)
            _pipeline(sink, buffers, frames, lambda index, buffer: warp_frame(
                planes, yuv_planes(buffer, width, height), zoom_at(index, plan.frames, plan.target_zoom)))
    except BaseException:
        out.unlink(missing_ok=True)  # never a partial video left behind
        raise


def decode_still(still: Still, plan: ZoomPlan) -> bytes:
    """The upright, filled and cropped still at `plan.still_size`, as one raw limited-range yuv420p frame."""
    width, height = plan.still_size
    raw = run_ffmpeg([
        "-noautorotate", *local_input(still.path, demuxer=still.demuxer, formats=still.demuxer),
        "-filter_complex", still_graph(plan), "-map", "[video]", "-frames:v", "1",
        "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1",
    ])  # fmt: skip
    if len(raw) != width * height * 3 // 2:
        raise MediaError(f"the decoded still has {len(raw)} bytes, not one {width}x{height} yuv420p frame")
    return raw


def raw_input(width: int, height: int, frame_rate: int) -> list[str]:
    """The encoder's input: raw limited-range yuv420p frames on stdin, chroma sited as H.264 assumes."""
    return ["-protocol_whitelist", "pipe", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{width}x{height}",
            "-r", str(frame_rate), "-color_range", "tv", "-colorspace", "bt470bg",
            "-chroma_sample_location", "left", "-i", "pipe:0", "-vf", "setsar=1"]  # fmt: skip


def yuv_planes(frame: Any, width: int, height: int) -> tuple[Any, Any, Any]:
    """Y, U and V of one contiguous yuv420p buffer, as 2-D views (no copies)."""
    luma, chroma = width * height, width * height // 4
    return (frame[:luma].reshape(height, width),
            frame[luma:luma + chroma].reshape(height // 2, width // 2),
            frame[luma + chroma:].reshape(height // 2, width // 2))  # fmt: skip


def warp_frame(source: tuple[Any, Any, Any], target: tuple[Any, Any, Any], zoom: float) -> None:
    """One zoomed frame: each 4:2:0 plane of `source` (the still, any size with the canvas's aspect)
    resampled (bilinear) into the same plane of `target` with its own centre mapping."""
    import cv2
    import numpy as np

    (source_h, source_w), (height, width) = source[0].shape, target[0].shape
    for index, (plane, into) in enumerate(zip(source, target, strict=True)):
        chroma = index > 0
        sx, ox = zoom_axis(zoom, width, source_length=source_w, chroma="h" if chroma else None)
        sy, oy = zoom_axis(zoom, height, source_length=source_h, chroma="v" if chroma else None)
        matrix = np.array([[sx, 0.0, ox], [0.0, sy, oy]])
        cv2.warpAffine(plane, matrix, (into.shape[1], into.shape[0]), dst=into,
                       flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)


def _pipeline(sink: Any, buffers: list[Any], frames: range, draw: Callable[[int, Any], None]) -> None:
    """Draw frames on this thread while a writer thread feeds the encoder, so warp and pipe overlap."""
    free: queue.Queue[Any] = queue.Queue()
    ready: queue.Queue[Any] = queue.Queue()
    for buffer in buffers:
        free.put(buffer)
    failed: list[BaseException] = []

    def writer() -> None:
        while (buffer := ready.get()) is not None:
            try:
                if not failed:
                    write_all(sink, memoryview(buffer))
            except BaseException as exc:  # the encoder went away: stop drawing, report after joining
                failed.append(exc)
            free.put(buffer)

    thread = threading.Thread(target=writer, name="zoom-writer", daemon=True)
    thread.start()
    try:
        for index in frames:
            buffer = free.get()
            if failed:
                break
            draw(index, buffer)
            ready.put(buffer)
    finally:
        ready.put(None)
        thread.join()
    if failed:
        raise failed[0]
