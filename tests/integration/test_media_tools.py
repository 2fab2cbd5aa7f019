"""How FFmpeg and ffprobe are run (reelgate.media.tools): the binaries located, their text answers and
errors, the limits a run gets, and a run that goes wrong leaves no process behind."""

from __future__ import annotations

import fcntl
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from reelgate import deadline
from reelgate.media.tools import (
    PIPE_BYTES,
    STDERR_TAIL_CHARS,
    MediaError,
    MediaTimeout,
    _kill_group,
    ffmpeg_sink,
    run_ffmpeg,
    run_ffprobe,
    run_timeout,
    stderr_tail,
)


@pytest.fixture
def fake_tools(tmp_path: Path, settings_env: pytest.MonkeyPatch) -> Any:
    """Installs `ffmpeg` and `ffprobe` as the given shell script, in a layer directory of their own."""
    def install(script: str) -> None:
        tools = tmp_path / "bin"
        tools.mkdir(exist_ok=True)
        for name in ("ffmpeg", "ffprobe"):
            (tools / name).write_text(f"#!/bin/sh\n{script}\n")
            (tools / name).chmod(0o755)
        settings_env.setenv("REELGATE_FFMPEG_DIR", str(tools))
    return install


def test_a_missing_binary_is_named_with_how_to_build_it(tmp_path: Path, settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("REELGATE_FFMPEG_DIR", str(tmp_path))
    with pytest.raises(MediaError, match=rf"^ffprobe not found at {tmp_path}/ffprobe: build the FFmpeg layer"):
        run_ffprobe(["-version"])


def test_the_stderr_tail_is_the_end_of_the_text_or_says_there_is_none() -> None:
    assert stderr_tail("  \n ") == "no diagnostics"
    assert stderr_tail("  bad input\n") == "bad input"
    assert stderr_tail("x" * 10 + "y" * STDERR_TAIL_CHARS) == "y" * STDERR_TAIL_CHARS


def test_a_requested_limit_below_the_invocations_is_the_runs_limit(settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("REELGATE_FFMPEG_RESERVE_SECONDS", "0")
    with deadline.bounded(100):
        assert run_timeout(2.5) == 2.5
        assert 90 < run_timeout(500) <= 100  # what the invocation has left
        with pytest.raises(MediaTimeout, match=r"^no time left in this invocation for FFmpeg$"):
            run_timeout(0)  # nothing left is not a limit


def test_ffmpeg_and_ffprobe_stop_at_the_limit_their_caller_asks_for(fake_tools: Any) -> None:
    fake_tools("sleep 20")
    with pytest.raises(MediaTimeout, match=r"^ffmpeg timed out after 1\.0 s$"):
        run_ffmpeg(["-i", "x", "out.mp4"], timeout=1)
    with pytest.raises(MediaTimeout, match=r"^ffprobe timed out after 1\.0 s$"):
        run_ffprobe(["x"], timeout=1)


def test_answers_and_failures_are_text(fake_tools: Any) -> None:
    fake_tools('echo "format=mov"\n[ "$4" = "fail" ] && echo "boom" >&2 && exit 3\nexit 0')  # $4: the first argument
    assert run_ffprobe(["x"]) == "format=mov\n"
    with pytest.raises(MediaError, match=r"^ffprobe failed \(exit 3\): boom$"):
        run_ffprobe(["fail"])


def test_a_run_interrupted_by_anything_kills_its_tool(fake_tools: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_tools("sleep 20")
    started: list[subprocess.Popen[str]] = []

    class Interrupted(BaseException):
        pass

    def interrupted(self: subprocess.Popen[str], *args: Any, **kwargs: Any) -> Any:
        started.append(self)
        raise Interrupted

    monkeypatch.setattr(subprocess.Popen, "communicate", interrupted)
    with pytest.raises(Interrupted):
        run_ffmpeg(["-i", "x", "out.mp4"])
    assert started[0].returncode == -signal.SIGKILL  # killed, not waited for until it ended by itself


def test_killing_a_tool_that_already_ended_is_quiet() -> None:
    process = subprocess.Popen(["true"], start_new_session=True)
    process.wait()
    _kill_group(process)  # its group is gone: nothing to do, nothing raised


def test_raw_frames_reach_ffmpeg_through_a_one_mebibyte_pipe(fake_tools: Any) -> None:
    """A raw 1080p frame (3 MB) then crosses the pipe in 3 wake-ups of the encoder instead of 48."""
    fake_tools("cat > /dev/null")
    with ffmpeg_sink(["-i", "pipe:0"]) as sink:
        assert fcntl.fcntl(sink.fileno(), fcntl.F_GETPIPE_SZ) == PIPE_BYTES == 1 << 20
        sink.write(bytes(PIPE_BYTES))
