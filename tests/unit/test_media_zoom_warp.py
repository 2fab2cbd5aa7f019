"""The OpenCV zoom of one 4:2:0 frame: every plane follows the same physical mapping (linear ramps,
which bilinear resampling reproduces exactly, show any wrong scale, centre or chroma siting), from a
still of the canvas's own size or a supersampled one."""

from __future__ import annotations

import numpy as np
import pytest
from reelgate.media.zoom_frames import warp_frame

WIDTH, HEIGHT = 96, 64


def canvas_position(position: np.ndarray, zoom: float, length: int) -> np.ndarray:
    """The canvas position (luma sample units) that output luma position `position` shows."""
    middle = (length - 1) / 2
    return middle + (position - middle) / zoom


def ramps(axis: int, width: int, height: int, ratio: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Planes of a width x height still whose samples hold their own canvas position along `axis`
    (0 rows, 1 columns); the still covers the canvas at `ratio` samples per canvas sample.

    Chroma sits on even luma columns (H.264's "left") and between two luma rows vertically.
    """
    luma = np.indices((height, width), np.float32)[axis]
    chroma = np.indices((height // 2, width // 2), np.float32)[axis] * 2 + (0.5 if axis == 0 else 0.0)
    as_canvas = [(plane + 0.5) / ratio - 0.5 for plane in (luma, chroma, chroma)]
    return as_canvas[0], as_canvas[1], as_canvas[2].copy()


def own_positions(axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each output sample's own luma position along `axis`, plane by plane."""
    return ramps(axis, WIDTH, HEIGHT, 1.0)


@pytest.mark.parametrize("ratio", [1.0, 1.5])
@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("zoom", [1.0, 1.5, 4.0])
def test_each_plane_shows_the_point_the_zoom_maps_it_to(axis, zoom, ratio):
    source = ramps(axis, round(WIDTH * ratio), round(HEIGHT * ratio), ratio)
    target = tuple(np.zeros_like(plane) for plane in own_positions(axis))
    warp_frame(source, target, zoom)  # type: ignore[arg-type]
    length = HEIGHT if axis == 0 else WIDTH
    for position, after in zip(own_positions(axis), target, strict=True):
        expected = canvas_position(position, zoom, length)
        assert np.abs(after - expected).max() < 0.05  # OpenCV places samples to 1/32 of a pixel
