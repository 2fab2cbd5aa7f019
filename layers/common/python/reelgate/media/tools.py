"""Locate and run the FFmpeg layer's binaries on local files only, with errors that say why."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reelgate import deadline
from reelgate.errors import ReelgateError
from reelgate.settings import get_settings

STDERR_TAIL_CHARS = 1500
PIPE_BYTES = 1 << 20  # the raw-frame pipe to ffmpeg (see _widen)
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


def _run(command: list[str], timeout: float | None) -> bytes:
    tool = Path(command[0]).name
    limit = run_timeout(timeout)
    # A session of its own: on timeout the whole group goes, including anything the tool started.
    with subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          start_new_session=True) as process:
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
    _check_exit(tool, process.returncode, stderr)
    return stdout


def _check_exit(tool: str, returncode: int, stderr: bytes) -> None:
    if returncode != 0:
        raise MediaError(f"{tool} failed (exit {returncode}): {stderr_tail(stderr.decode(errors='replace'))}")


def _kill_group(process: subprocess.Popen[Any]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def ffmpeg_command(args: list[str]) -> list[str]:
    """ffmpeg, non-interactive (stdin is never read as keys), errors only, overwriting its output."""
    return [str(binary("ffmpeg")), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args]


def run_ffmpeg(args: list[str], *, timeout: float | None = None) -> bytes:
    """Run ffmpeg; return its stdout (raw frames when asked for them); MediaError with its stderr on failure."""
    return _run(ffmpeg_command(args), timeout)


def run_ffprobe(args: list[str], *, timeout: float | None = None) -> str:
    """Run ffprobe and return its stdout (JSON when asked for it)."""
    return _run([str(binary("ffprobe")), "-hide_banner", "-loglevel", "error", *args], timeout).decode()


@contextlib.contextmanager
def ffmpeg_sink(args: list[str], *, timeout: float | None = None) -> Iterator[Any]:
    """Run ffmpeg reading `pipe:0`; yield its stdin (unbuffered) to write to; on exit, wait and check it.

    ffmpeg dying mid-stream ends the writing and raises MediaError with its stderr (or, had it exited
    cleanly without reading everything, saying so); at the time limit its whole process group is killed
    (MediaTimeout); any error of the writer kills the group too. The process is always reaped; stderr
    goes to an anonymous temporary file (nothing left behind, and no pipe to drain).
    """
    command = ffmpeg_command(args)
    limit = run_timeout(timeout)
    expired, broken = threading.Event(), False
    with tempfile.TemporaryFile() as errors, subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors, bufsize=0, start_new_session=True
    ) as process:

        def stop() -> None:
            expired.set()
            _kill_group(process)

        timer = threading.Timer(limit, stop)
        timer.daemon = True
        timer.start()
        try:
            assert process.stdin is not None
            _widen(process.stdin)
            try:
                yield process.stdin
                process.stdin.close()
            except BrokenPipeError:
                broken = True
            process.wait()
        except BaseException:
            _kill_group(process)
            raise
        finally:
            timer.cancel()
        errors.seek(0)
        stderr = errors.read()
    if expired.is_set():
        raise MediaTimeout(f"ffmpeg timed out after {limit:.1f} s")
    _check_exit("ffmpeg", process.returncode, stderr)
    if broken:
        raise MediaError("ffmpeg stopped reading its input before the end")


def _widen(pipe: Any) -> None:
    """A 1 MiB pipe (Linux's default ceiling for a user): a raw 1080p frame crosses it in 3 wake-ups, not 48."""
    with contextlib.suppress(AttributeError, OSError):  # no F_SETPIPE_SZ off Linux; EPERM above the ceiling
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def write_all(sink: Any, data: memoryview) -> None:
    """Write every byte of `data` (an unbuffered pipe may take part of it per call)."""
    while data:
        data = data[sink.write(data):]
