"""The OpenCV zoom of one 4:2:0 frame: every plane follows the same physical mapping (linear ramps,
which bilinear resampling reproduces exactly, show any wrong scale, centre or chroma siting)."""

from __future__ import annotations

import numpy as np
import pytest
from reelgate.media.zoom_frames import warp_frame

WIDTH, HEIGHT = 96, 64


def luma_source(index: np.ndarray, zoom: float, length: int) -> np.ndarray:
    """Where output luma position `index` (sample units, centres at i + 0.5 minus 0.5) comes from."""
    middle = (length - 1) / 2
    return middle + (index - middle) / zoom


def ramps(axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each plane holds the luma coordinate of its own samples along `axis` (0 rows, 1 columns).

    Chroma sits on even luma columns (H.264's "left") and between two luma rows vertically.
    """
    y = np.indices((HEIGHT, WIDTH), np.float32)[axis]
    c = np.indices((HEIGHT // 2, WIDTH // 2), np.float32)[axis] * 2 + (0.5 if axis == 0 else 0.0)
    return y, c.copy(), c.copy()


@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("zoom", [1.0, 1.5, 4.0])
def test_each_plane_shows_the_point_the_zoom_maps_it_to(axis, zoom):
    source = ramps(axis)
    target = tuple(np.zeros_like(plane) for plane in source)
    warp_frame(source, target, zoom)  # type: ignore[arg-type]
    length = HEIGHT if axis == 0 else WIDTH
    for before, after in zip(source, target, strict=True):
        expected = luma_source(before, zoom, length)  # each sample's own luma position, mapped
        assert np.abs(after - expected).max() < 0.05  # OpenCV places samples to 1/32 of a pixel
