"""Inspect a still with Pillow before FFmpeg sees it: real format, upright size, EXIF orientation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from reelgate.media.limits import InputRefused, Limits, check_sizes, check_still
from reelgate.media.tools import MediaError
from reelgate.media.zoom import ORIENTATION_FILTERS, upright_size

# Pillow format → the only FFmpeg demuxer allowed to open it (the name of the file is never trusted).
DEMUXERS = {"JPEG": "jpeg_pipe", "PNG": "png_pipe", "WEBP": "webp_pipe"}
EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class Still:
    path: Path
    demuxer: str
    size: tuple[int, int]  # upright (displayed) size
    orientation: int


def inspect_still(path: Path) -> Still:
    """Read the header only (no full decode); MediaError for anything but JPEG, PNG or WebP."""
    try:
        with Image.open(path) as image:
            kind, stored = image.format or "", image.size
            orientation = int(image.getexif().get(EXIF_ORIENTATION, 1))
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError) as exc:
        raise MediaError(f"not a readable image: {exc}") from exc
    if kind not in DEMUXERS:
        raise MediaError(f"unsupported image format {kind or 'unknown'}: expected JPEG, PNG or WebP")
    if orientation not in ORIENTATION_FILTERS:
        orientation = 1  # out-of-range tags are ignored, as viewers do
    return Still(path, DEMUXERS[kind], upright_size(*stored, orientation), orientation)


def checked_still(path: Path, limits: Limits, label: str) -> Still:
    """The still, refused (InputRefused naming `label`) if over the byte or pixel limits or not an image."""
    check_sizes([path], limits, [label])
    try:
        still = inspect_still(path)
    except MediaError as exc:
        raise InputRefused(f"{label} is not a JPEG, PNG or WebP image that can be read") from exc
    check_still(still.size, limits, label)
    return still
