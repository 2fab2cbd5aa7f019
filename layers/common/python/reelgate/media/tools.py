"""Locate and run the FFmpeg layer's binaries on local files only, with errors that say why."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

from reelgate import deadline
from reelgate.errors import ReelgateError
from reelgate.settings import get_settings

STDERR_TAIL_CHARS = 1500
# Every input is opened through the file protocol only: no http, no nested playlists reaching out.
LOCAL_ONLY = ("-protocol_whitelist", "file")
# Containers a user's video may come in; HLS/DASH playlists and other demuxers stay closed.
VIDEO_FORMATS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts,flv"


class MediaError(ReelgateError):
    """An FFmpeg step failed; the message carries the tail of FFmpeg's own explanation."""


class MediaTimeout(MediaError):
    """An FFmpeg/ffprobe run was stopped (its whole process group killed) when its time ran out."""


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


def run_timeout(requested: float | None = None) -> float:
    """Seconds one run may take: the invocation's remaining time minus the reserve kept for what follows
    (upload, settling), capped by settings.ffmpeg_max_seconds and by `requested`."""
    settings = get_settings()
    allowed = min(settings.ffmpeg_max_seconds, deadline.remaining() - settings.ffmpeg_reserve_seconds)
    if requested is not None:
        allowed = min(allowed, requested)
    if allowed <= 0:
        raise MediaTimeout("no time left in this invocation for FFmpeg")
    return allowed


def _run(command: list[str], timeout: float | None) -> str:
    tool = Path(command[0]).name
    limit = run_timeout(timeout)
    # A session of its own: on timeout the whole group goes, including anything the tool started.
    with subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, start_new_session=True) as process:
        try:
            stdout, stderr = process.communicate(timeout=limit)
        except subprocess.TimeoutExpired as exc:
            _kill_group(process)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.communicate(timeout=5)  # reap; a survivor holding the pipes cannot hang us
            raise MediaTimeout(f"{tool} timed out after {limit:.1f} s") from exc
        except BaseException:
            _kill_group(process)
            raise
    if process.returncode != 0:
        raise MediaError(f"{tool} failed (exit {process.returncode}): {stderr_tail(stderr)}")
    return stdout


def _kill_group(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def run_ffmpeg(args: list[str], *, timeout: float | None = None) -> None:
    """Run ffmpeg non-interactively, overwriting `out`; raise MediaError with its stderr on failure."""
    _run([str(binary("ffmpeg")), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], timeout)


def run_ffprobe(args: list[str], *, timeout: float | None = None) -> str:
    """Run ffprobe and return its stdout (JSON when asked for it)."""
    return _run([str(binary("ffprobe")), "-hide_banner", "-loglevel", "error", *args], timeout)
