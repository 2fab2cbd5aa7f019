"""Locate and run the FFmpeg layer's binaries on local files only, with errors that say why."""

from __future__ import annotations

import subprocess
from pathlib import Path

from reelgate.errors import ReelgateError
from reelgate.settings import get_settings

STDERR_TAIL_CHARS = 1500
# Every input is opened through the file protocol only: no http, no nested playlists reaching out.
LOCAL_ONLY = ("-protocol_whitelist", "file")
# Containers a user's video may come in; HLS/DASH playlists and other demuxers stay closed.
VIDEO_FORMATS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts,flv"


class MediaError(ReelgateError):
    """An FFmpeg step failed; the message carries the tail of FFmpeg's own explanation."""


def binary(name: str) -> Path:
    path = Path(get_settings().ffmpeg_dir) / name
    if not path.is_file():
        raise MediaError(f"{name} not found at {path}: build the FFmpeg layer (layers/ffmpeg/build.py)")
    return path


def local_input(path: Path, *, demuxer: str | None = None, formats: str = VIDEO_FORMATS) -> list[str]:
    """Arguments that open one local file, restricted to the file protocol and the listed demuxers."""
    forced = ["-f", demuxer] if demuxer else []
    return [*LOCAL_ONLY, "-format_whitelist", formats, *forced, "-i", str(path)]


def stderr_tail(stderr: str) -> str:
    tail = stderr.strip()[-STDERR_TAIL_CHARS:]
    return tail or "no diagnostics"


def _run(command: list[str], timeout: float | None) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise MediaError(f"{Path(command[0]).name} timed out after {timeout:g} s") from exc
    if done.returncode != 0:
        tool = Path(command[0]).name
        raise MediaError(f"{tool} failed (exit {done.returncode}): {stderr_tail(done.stderr)}")
    return done.stdout


def run_ffmpeg(args: list[str], *, timeout: float | None = None) -> None:
    """Run ffmpeg non-interactively, overwriting `out`; raise MediaError with its stderr on failure."""
    _run([str(binary("ffmpeg")), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], timeout)


def run_ffprobe(args: list[str], *, timeout: float | None = None) -> str:
    """Run ffprobe and return its stdout (JSON when asked for it)."""
    return _run([str(binary("ffprobe")), "-hide_banner", "-loglevel", "error", *args], timeout)
