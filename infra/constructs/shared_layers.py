"""Lambda layers of the zip functions: the domain package and the third-party deps (per architecture).

Functions with FFmpeg are container images (infra/image.py), which hold the binaries themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import registry
from infra.constants import (
    ARCHITECTURES,
    ASSET_EXCLUDES,
    COMMON_LAYER_DIR,
    DEPS_LAYERS_DIR,
    FFMPEG_LAYER_DIR,
    RUNTIME,
)
from infra.registry import RENDER_DIR

FFMPEG_BINARIES = ("ffmpeg", "ffprobe")


class LayerNotBuilt(RuntimeError):
    """A layer asset that a build step produces is missing."""


@dataclass(frozen=True)
class LayerSources:
    """Where the built assets are; tests point these at small stand-ins."""

    common: Path = COMMON_LAYER_DIR
    deps: Path = DEPS_LAYERS_DIR  # holds <arch>/python
    ffmpeg: Path = FFMPEG_LAYER_DIR  # holds bin/ffmpeg and bin/ffprobe
    render: Path = RENDER_DIR  # holds <arch>/python (requirements/render.txt) and the staged image contexts

    def check(self, archs: Iterable[str], ffmpeg: bool, render: Iterable[str] = ()) -> None:
        missing = [self.deps / arch / "python" for arch in archs if not (self.deps / arch / "python").is_dir()]
        missing += [self.render / arch / "python" for arch in render if not (self.render / arch / "python").is_dir()]
        if ffmpeg:
            missing += [self.ffmpeg / "bin" / b for b in FFMPEG_BINARIES if not (self.ffmpeg / "bin" / b).is_file()]
        if missing:
            listed = ", ".join(str(path) for path in missing)
            raise LayerNotBuilt(f"layer assets missing ({listed}); run `make layers` first")


class SharedLayers(Construct):
    """One layer version per asset, each declared only for the architectures it can run on."""

    def __init__(
        self, scope: Construct, construct_id: str, *,
        sources: LayerSources, specs: tuple[registry.Function, ...] = registry.FUNCTIONS,
    ) -> None:
        super().__init__(scope, construct_id)
        self.sources = sources
        zipped = [spec for spec in specs if not spec.image]
        if with_ffmpeg := [spec.name for spec in zipped if spec.ffmpeg]:
            raise ValueError(f"{with_ffmpeg}: FFmpeg does not fit a zip function with its layers; set image=True")
        archs = sorted({spec.arch for spec in zipped})
        sources.check(archs, ffmpeg=False)
        self.common = self._layer("Common", sources.common, list(ARCHITECTURES), "Reelgate domain package")
        self.deps = {
            arch: self._layer(f"Deps{arch.title().replace('_', '')}", sources.deps / arch, [arch],
                              f"Third-party dependencies (requirements/runtime.txt) for {arch}")
            for arch in archs
        }

    def _layer(self, construct_id: str, path: Path, archs: list[str], description: str) -> lambda_.LayerVersion:
        return lambda_.LayerVersion(
            self, construct_id,
            code=lambda_.Code.from_asset(str(path), exclude=ASSET_EXCLUDES),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURES[arch] for arch in archs],
            description=description,
        )

    def for_function(self, spec: registry.Function) -> list[lambda_.ILayerVersion]:
        if spec.image:
            raise ValueError(f"{spec.name} is a container image: it holds its dependencies and takes no layers")
        return [self.deps[spec.arch], self.common]
