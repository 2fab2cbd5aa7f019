"""Build step for the third-party dependency layers: `python -m infra.layers [arch ...]`.

Installs the locked `requirements/runtime.txt` for Lambda's interpreter into
`layers/deps/<arch>/python`, one tree per architecture because pydantic-core is compiled.
Idempotent: a stamp holding the hash of the lock (and of the build recipe) skips a rebuild.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from infra.constants import DEPS_LAYERS_DIR, FFMPEG_ARCH, PIP_PLATFORMS, PYTHON_VERSION, RUNTIME_REQUIREMENTS

# The Lambda runtime ships botocore; leaving it out saves ~30 MB, which the FFmpeg functions need
# to stay under Lambda's 250 MB unzipped limit (function + layers).
PROVIDED_BY_RUNTIME = frozenset({"boto3", "botocore", "s3transfer"})
# What one architecture's layer leaves out. The x86_64 layer serves only the FFmpeg functions, a few MB under
# that limit, which sign no output links: cryptography (15 MB, with cffi) is for the link signers, all arm64
# (tests/infra/test_cdn.py checks that every function granted "cdn:sign" gets it).
LEFT_OUT: dict[str, frozenset[str]] = {FFMPEG_ARCH: frozenset({"cryptography", "cffi", "pycparser"})}
RECIPE_VERSION = "1"  # bump when the pip flags below change, to force a rebuild


def layer_dir(arch: str) -> Path:
    """The layer asset for `arch`: it holds `python/`, which Lambda mounts at /opt/python."""
    return DEPS_LAYERS_DIR / arch


def stamp_path(arch: str) -> Path:
    return DEPS_LAYERS_DIR / f".{arch}.stamp"  # outside the asset, so it never reaches Lambda


def pinned_requirements(lock: Path = RUNTIME_REQUIREMENTS, arch: str | None = None) -> list[str]:
    """`name==version` lines of the lock, minus what the Lambda runtime already provides (and what
    `arch`'s layer leaves out)."""
    skipped = PROVIDED_BY_RUNTIME | LEFT_OUT.get(arch or "", frozenset())
    pins = []
    for raw in lock.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        name = line.split("==", 1)[0].split("[", 1)[0].strip().lower()
        if name not in skipped:
            pins.append(line)
    return pins


def requirements_hash(arch: str, pins: list[str]) -> str:
    text = "\n".join([RECIPE_VERSION, arch, PYTHON_VERSION, *pins])
    return hashlib.sha256(text.encode()).hexdigest()


def pip_command(arch: str, requirements: Path, target: Path) -> list[str]:
    return [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        *(option for platform in PIP_PLATFORMS[arch] for option in ("--platform", platform)),
        "--only-binary=:all:", "--python-version", PYTHON_VERSION,
        "--implementation", "cp", "--no-deps", "--no-compile",  # the lock is complete; no bytecode
        "-r", str(requirements), "-t", str(target),
    ]


def build(arch: str) -> bool:
    """Build the layer for `arch`; return False when the stamp says it is already current."""
    pins = pinned_requirements(arch=arch)
    digest = requirements_hash(arch, pins)
    stamp = stamp_path(arch)
    target = layer_dir(arch) / "python"
    if target.is_dir() and stamp.is_file() and stamp.read_text().strip() == digest:
        return False
    shutil.rmtree(layer_dir(arch), ignore_errors=True)
    target.mkdir(parents=True)
    requirements = DEPS_LAYERS_DIR / f".{arch}.requirements.txt"
    requirements.write_text("\n".join(pins) + "\n")
    subprocess.run(pip_command(arch, requirements, target), check=True)
    requirements.unlink()
    stamp.write_text(digest + "\n")
    return True


def main(argv: list[str]) -> int:
    for arch in argv or sorted(PIP_PLATFORMS):
        if arch not in PIP_PLATFORMS:
            print(f"unknown architecture {arch!r}; choose from {sorted(PIP_PLATFORMS)}", file=sys.stderr)
            return 2
        built = build(arch)
        print(f"deps layer {arch}: {'built' if built else 'up to date'} -> {layer_dir(arch)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
