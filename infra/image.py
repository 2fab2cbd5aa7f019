"""The container image of a registry function with `image=True` (toolkit_render): its Docker build context.

The context is a directory staged at synth time holding only what the image holds, so what cdk copies into
cdk.out and sends to `docker build` is that and nothing else (infra/docker/render.Dockerfile copies each
part into place):

    Dockerfile   infra/docker/render.Dockerfile
    bin/         ffmpeg and ffprobe from layers/ffmpeg/bin (`make layers`), for a function with ffmpeg
    deps/        requirements/render.txt for Lambda's Python on the function's architecture (`make layers`)
    code/        the handler (functions/<name>/) and the common package (reelgate/)

Large files are hard-linked rather than copied where the file system allows.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from infra import registry
from infra.constants import ASSET_EXCLUDES, ROOT
from infra.constructs.shared_layers import FFMPEG_BINARIES, LayerSources

DOCKERFILE = ROOT / "infra" / "docker" / "render.Dockerfile"
# Lambda's limit for a function's image: 10 GB uncompressed, base image included.
LAMBDA_IMAGE_LIMIT = 10 * 1024**3
# What the Python 3.12 base image takes of it (Amazon Linux 2023 + Python + boto3); an upper bound, since
# no registry of images is reachable from the build machines to measure it.
BASE_IMAGE_ALLOWANCE = 1024**3


def context_dir(spec: registry.Function, sources: LayerSources) -> Path:
    return sources.render / "context" / spec.name


def _link(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or no hard links there
        shutil.copy2(source, target)


def _tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target, copy_function=_link, ignore=shutil.ignore_patterns(*ASSET_EXCLUDES),
                    dirs_exist_ok=True)


def stage(spec: registry.Function, sources: LayerSources) -> Path:
    """(Re)build the Docker build context of `spec`'s image from the current sources; return its directory."""
    if not spec.image:
        raise ValueError(f"{spec.name} is deployed as a zip, not a container image")
    sources.check([], ffmpeg=spec.ffmpeg, render=[spec.arch])
    target = context_dir(spec, sources)
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    shutil.copyfile(DOCKERFILE, target / "Dockerfile")
    (target / "bin").mkdir()
    for binary in FFMPEG_BINARIES if spec.ffmpeg else ():
        _link(str(sources.ffmpeg / "bin" / binary), str(target / "bin" / binary))
    _tree(sources.render / spec.arch / "python", target / "deps")
    _tree(spec.directory, target / "code")
    _tree(sources.common / "python" / "reelgate", target / "code" / "reelgate")
    return target


def content_size(directory: Path) -> int:
    """Bytes of the files the image's COPY instructions add (everything in the context but the Dockerfile)."""
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file() and path.name != "Dockerfile")
