"""Ken Burns geometry as pure logic: canvas, fill-and-crop, frame maths and the zoom filter graph.

The zoom is a per-frame sub-pixel resample (ffmpeg `perspective`, evaluated per frame) of a still
that was decoded and scaled once, so it needs neither zoompan's 25 fps clock nor its integer crop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

LANDSCAPE = (1920, 1080)
PORTRAIT = (1080, 1920)
# Lossless EXIF orientation → ffmpeg filters that show the picture upright (EXIF 2.3, tag 0x0112).
ORIENTATION_FILTERS: dict[int, tuple[str, ...]] = {
    1: (),
    2: ("hflip",),
    3: ("hflip", "vflip"),
    4: ("vflip",),
    5: ("transpose=cclock_flip",),
    6: ("transpose=clock",),
    7: ("transpose=clock_flip",),
    8: ("transpose=cclock",),
}


def canvas_for(width: int, height: int) -> tuple[int, int]:
    """NCA's rule: landscape (width > height) → 1920x1080, else (square included) → 1080x1920."""
    return LANDSCAPE if width > height else PORTRAIT


def upright_size(width: int, height: int, orientation: int) -> tuple[int, int]:
    """Stored size → displayed size: orientations 5-8 swap width and height."""
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def frame_count(length: float, frame_rate: int) -> int:
    """round(length x frame_rate), halves up, at least one frame."""
    return max(1, math.floor(length * frame_rate + 0.5))


def final_zoom(zoom_speed: float, length: float) -> float:
    """zoom_speed is the API's 0-100; NCA divides by 100: zoom = 1 + zoom_speed/100 x length."""
    return 1 + zoom_speed / 100 * length


def zoom_at(frame: int, frames: int, target: float) -> float:
    """Linear zoom: exactly 1.0 on the first frame and `target` on the last."""
    return 1.0 if frames < 2 else 1 + (target - 1) * frame / (frames - 1)


def fill_size(source: tuple[int, int], target: tuple[int, int]) -> tuple[int, int]:
    """Smallest size with the source's aspect ratio that covers target (scale to fill, never stretch)."""
    (sw, sh), (tw, th) = source, target
    factor = max(tw / sw, th / sh)
    return max(tw, round(sw * factor)), max(th, round(sh * factor))


@dataclass(frozen=True)
class ZoomPlan:
    source: tuple[int, int]  # upright size of the still
    orientation: int
    frames: int
    frame_rate: int
    target_zoom: float

    @property
    def canvas(self) -> tuple[int, int]:
        return canvas_for(*self.source)


def plan_zoom(
    source: tuple[int, int], orientation: int, *, length: float, frame_rate: int, zoom_speed: float
) -> ZoomPlan:
    return ZoomPlan(
        source=source,
        orientation=orientation,
        frames=frame_count(length, frame_rate),
        frame_rate=frame_rate,
        target_zoom=final_zoom(zoom_speed, length),
    )


def frame_range(plan: ZoomPlan, first: int = 0, stop: int | None = None) -> tuple[int, int]:
    """[first, stop) of the plan's frames (stop None: to the end); ValueError if empty or outside the plan."""
    stop = plan.frames if stop is None else stop
    if not 0 <= first < stop <= plan.frames:
        raise ValueError(f"frame range [{first}, {stop}) is not inside the plan's {plan.frames} frames")
    return first, stop


def zoom_expression(plan: ZoomPlan, first: int = 0) -> str:
    """The zoom of the current frame; perspective's `in` counts frames from 1, `first` is the global
    index of the first frame rendered, so a segment continues the whole render's zoom exactly."""
    if plan.frames < 2:
        return "1"
    return f"(1+{plan.target_zoom - 1!r}*(in-1+{first})/{plan.frames - 1})"


def perspective_filter(plan: ZoomPlan, first: int = 0) -> str:
    """Centre window of size canvas/zoom, mapped onto the whole frame with sub-pixel accuracy.

    Pixel centres sit at i + 0.5, so the window's left edge in sample units is (W-1)/2·(1 - 1/z).
    """
    z = zoom_expression(plan, first)
    left, top = f"(W-1)/2*(1-1/{z})", f"(H-1)/2*(1-1/{z})"
    right, bottom = f"{left}+W/{z}", f"{top}+H/{z}"
    corners = f"x0='{left}':y0='{top}':x1='{right}':y1='{top}':x2='{left}':y2='{bottom}':x3='{right}':y3='{bottom}'"
    return f"perspective={corners}:interpolation=linear:eval=frame"


def zoom_filter_graph(plan: ZoomPlan, first: int = 0, stop: int | None = None) -> str:
    """Decode once → upright → fill+crop → loop in-graph → sub-pixel zoom, constant frame rate.

    Only frames [first, stop) of the plan are produced, each with the zoom of its global index.

    The still is resampled once at canvas size; a supersampled still measured no better at the
    default zoom (SSIM 0.972 vs 0.971) for about 1.3x the per-frame cost.
    """
    first, stop = frame_range(plan, first, stop)
    canvas_w, canvas_h = plan.canvas
    fill_w, fill_h = fill_size(plan.source, plan.canvas)
    steps = [
        "trim=end_frame=1",  # animated WebP/PNG: the first picture only
        "sidedata=mode=delete",  # EXIF rotation is applied below; players must not rotate again
        *ORIENTATION_FILTERS[plan.orientation],
        f"scale={fill_w}:{fill_h}:flags=lanczos",
        "format=gbrp",  # crop in full-resolution RGB: odd offsets would be rounded in 4:2:0
        f"crop={canvas_w}:{canvas_h}:{(fill_w - canvas_w) // 2}:{(fill_h - canvas_h) // 2}",
        "scale=out_range=limited",  # studio range, as players expect
        "format=yuv420p",
        "setsar=1",
        f"loop=loop={stop - first - 1}:size=1:start=0",
        f"settb=1/{plan.frame_rate}",
        "setpts=N",
        perspective_filter(plan, first),
        f"fps={plan.frame_rate}",
    ]
    return f"[0:v]{','.join(steps)}[video]"
