"""Every FFmpeg/ffprobe run ends by the invocation's deadline (minus the reserve): the whole process
group is killed, and the caller gets MediaTimeout instead of a Lambda killed mid-render."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from reelgate import deadline
from reelgate.media import MediaTimeout
from reelgate.media.tools import run_ffmpeg, run_ffprobe


@pytest.fixture
def reserve(settings_env: pytest.MonkeyPatch) -> float:
    settings_env.setenv("REELGATE_FFMPEG_RESERVE_SECONDS", "1")
    return 1.0


def test_an_ffmpeg_run_longer_than_the_invocation_has_left_is_stopped(reserve: float) -> None:
    started = time.monotonic()
    # 15 s of video at its real pace (-re): far longer than the 1.5 s this invocation can give it.
    with deadline.bounded(reserve + 1.5), pytest.raises(MediaTimeout, match=r"^ffmpeg timed out after 1\.[45] s$"):
        run_ffmpeg(["-re", "-f", "lavfi", "-i", "testsrc=size=64x64:rate=10:duration=15", "-f", "null", "-"])
    assert time.monotonic() - started < 5


def test_no_run_starts_without_time_left_for_it(reserve: float) -> None:
    with deadline.bounded(reserve - 0.5), pytest.raises(MediaTimeout, match="no time left"):
        run_ffprobe(["-version"])


def test_the_whole_process_group_is_killed(tmp_path: Path, settings_env: pytest.MonkeyPatch) -> None:
    """A tool that started a child of its own: the child goes with it (nothing keeps running, or holds /tmp)."""
    tools = tmp_path / "bin"
    tools.mkdir()
    child_pid = tmp_path / "child.pid"
    script = f"#!/bin/sh\nsleep 12 &\necho $! > {child_pid}\nwait\n"
    for name in ("ffmpeg", "ffprobe"):
        (tools / name).write_text(script)
        (tools / name).chmod(0o755)
    settings_env.setenv("REELGATE_FFMPEG_DIR", str(tools))
    settings_env.setenv("REELGATE_FFMPEG_RESERVE_SECONDS", "0")

    started = time.monotonic()
    with deadline.bounded(1.0), pytest.raises(MediaTimeout):
        run_ffmpeg(["-i", "x", "out.mp4"])
    assert time.monotonic() - started < 5

    pid = int(child_pid.read_text())
    time.sleep(0.2)
    assert not _alive(pid), "the tool's own child outlived the timeout"


def test_without_an_invocation_a_run_is_still_capped(settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("REELGATE_FFMPEG_MAX_SECONDS", "1")
    with pytest.raises(MediaTimeout, match=r"after 1\.0 s$"):
        run_ffmpeg(["-re", "-f", "lavfi", "-i", "testsrc=size=64x64:rate=10:duration=15", "-f", "null", "-"])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by init) counts as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False
