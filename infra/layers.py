"""Build step for the third-party dependency trees: `python -m infra.layers [arch ...]`.

- The deps layers: the locked `requirements/runtime.txt` for Lambda's interpreter, into
  `layers/deps/<arch>/python`, one tree per architecture because pydantic-core is compiled.
- The render trees: the locked `requirements/render.txt` (runtime deps plus OpenCV and NumPy) into
  `layers/render/x86_64/python` for Lambda's interpreter (what the container image holds, infra/image.py)
  and into `layers/render/host/python` for this machine's interpreter (what the local cloud puts on the
  render function's path, so `import cv2, numpy` works there as in the image).
Idempotent: a stamp holding the hash of the lock (and of the build recipe) skips a rebuild.
"""

from __future__ import annotations

import hashlib
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from infra import registry
from infra.constants import (
    DEPS_LAYERS_DIR,
    PIP_PLATFORMS,
    PYTHON_VERSION,
    RENDER_REQUIREMENTS,
    RUNTIME_REQUIREMENTS,
)
from infra.registry import HOST, RENDER_DIR

# The Lambda runtime (zip and base image alike) ships botocore; leaving it out saves ~30 MB.
PROVIDED_BY_RUNTIME = frozenset({"boto3", "botocore", "s3transfer"})
RECIPE_VERSION = "1"  # bump when the pip flags below change, to force a rebuild


def layer_dir(arch: str, base: Path | None = None) -> Path:
    """The layer asset for `arch` (under the deps layers unless `base` says): it holds `python/`, which
    Lambda mounts at /opt/python."""
    return (base or DEPS_LAYERS_DIR) / arch


def stamp_path(arch: str, base: Path | None = None) -> Path:
    return (base or DEPS_LAYERS_DIR) / f".{arch}.stamp"  # outside the asset, so it never reaches Lambda


def pinned_requirements(lock: Path = RUNTIME_REQUIREMENTS) -> list[str]:
    """`name==version` lines of the lock, minus what the Lambda runtime already provides."""
    pins = []
    for raw in lock.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        name = line.split("==", 1)[0].split("[", 1)[0].strip().lower()
        if name not in PROVIDED_BY_RUNTIME:
            pins.append(line)
    return pins


def interpreter(arch: str) -> str:
    """Which Python a tree is for: Lambda's version, or this machine's exact interpreter and platform."""
    if arch == HOST:
        return f"{sys.implementation.cache_tag}-{sys.platform}-{platform.machine()}"
    return PYTHON_VERSION


def requirements_hash(arch: str, pins: list[str]) -> str:
    text = "\n".join([RECIPE_VERSION, arch, interpreter(arch), *pins])
    return hashlib.sha256(text.encode()).hexdigest()


def pip_command(arch: str, requirements: Path, target: Path) -> list[str]:
    if arch == HOST:  # wheels for the interpreter running this build
        lambda_flags: list[str] = []
    else:
        lambda_flags = [*(option for platform in PIP_PLATFORMS[arch] for option in ("--platform", platform)),
                        "--python-version", PYTHON_VERSION, "--implementation", "cp"]
    return [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        *lambda_flags, "--only-binary=:all:",
        "--no-deps", "--no-compile",  # the lock is complete; no bytecode
        "-r", str(requirements), "-t", str(target),
    ]


def build(arch: str, *, lock: Path = RUNTIME_REQUIREMENTS, base: Path | None = None) -> bool:
    """Build `<base>/<arch>/python` from `lock`; return False when the stamp says it is already current."""
    base = base or DEPS_LAYERS_DIR
    pins = pinned_requirements(lock)
    digest = requirements_hash(arch, pins)
    stamp = stamp_path(arch, base)
    target = layer_dir(arch, base) / "python"
    if target.is_dir() and stamp.is_file() and stamp.read_text().strip() == digest:
        return False
    shutil.rmtree(layer_dir(arch, base), ignore_errors=True)
    target.mkdir(parents=True)
    requirements = base / f".{arch}.requirements.txt"
    requirements.write_text("\n".join(pins) + "\n")
    subprocess.run(pip_command(arch, requirements, target), check=True)
    requirements.unlink()
    stamp.write_text(digest + "\n")
    return True


def render_archs() -> list[str]:
    """Lambda's architectures of the image functions, and this machine's (for the local cloud)."""
    return [*sorted({fn.arch for fn in registry.FUNCTIONS if fn.image}), HOST]


def build_render(archs: list[str]) -> None:
    for arch in archs:
        built = build(arch, lock=RENDER_REQUIREMENTS, base=RENDER_DIR)
        print(f"render deps {arch}: {'built' if built else 'up to date'} -> {layer_dir(arch, RENDER_DIR)}")


def main(argv: list[str]) -> int:
    """Every tree (no arguments), the deps layers of the given architectures, or `host`: only the render
    deps for this machine, which the local cloud needs (make dev, integration, e2e)."""
    if argv == [HOST]:
        build_render([HOST])
        return 0
    for arch in argv or sorted(PIP_PLATFORMS):
        if arch not in PIP_PLATFORMS:
            print(f"unknown architecture {arch!r}; choose from {sorted(PIP_PLATFORMS)} or {HOST}", file=sys.stderr)
            return 2
        built = build(arch)
        print(f"deps layer {arch}: {'built' if built else 'up to date'} -> {layer_dir(arch)}")
    build_render(render_archs())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
