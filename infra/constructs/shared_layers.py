"""Lambda layers: the domain package, the third-party deps (per architecture) and FFmpeg."""

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
    FFMPEG_ARCH,
    FFMPEG_LAYER_DIR,
    RUNTIME,
)

FFMPEG_BINARIES = ("ffmpeg", "ffprobe")
# Only bin/ ships: the build script and its lock stay out of the layer.
FFMPEG_ASSET_FILTER = ["*", ".*", "!bin", "!bin/*"]


class LayerNotBuilt(RuntimeError):
    """A layer asset that a build step produces is missing."""


@dataclass(frozen=True)
class LayerSources:
    """Where the layer assets are; tests point these at small stand-ins."""

    common: Path = COMMON_LAYER_DIR
    deps: Path = DEPS_LAYERS_DIR  # holds <arch>/python
    ffmpeg: Path = FFMPEG_LAYER_DIR  # holds bin/ffmpeg and bin/ffprobe

    def check(self, archs: Iterable[str], ffmpeg: bool) -> None:
        missing = [self.deps / arch / "python" for arch in archs if not (self.deps / arch / "python").is_dir()]
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
        archs = sorted({spec.arch for spec in specs})
        uses_ffmpeg = any(spec.ffmpeg for spec in specs)
        sources.check(archs, uses_ffmpeg)
        self.common = self._layer("Common", sources.common, list(ARCHITECTURES), "Reelgate domain package")
        self.deps = {
            arch: self._layer(f"Deps{arch.title().replace('_', '')}", sources.deps / arch, [arch],
                              f"Third-party dependencies (requirements/runtime.txt) for {arch}")
            for arch in archs
        }
        self.ffmpeg = self._layer(
            "Ffmpeg", sources.ffmpeg, [FFMPEG_ARCH], "Static ffmpeg and ffprobe at /opt/bin",
            exclude=FFMPEG_ASSET_FILTER,
        ) if uses_ffmpeg else None

    def _layer(
        self, construct_id: str, path: Path, archs: list[str], description: str,
        exclude: list[str] = ASSET_EXCLUDES,
    ) -> lambda_.LayerVersion:
        return lambda_.LayerVersion(
            self, construct_id,
            code=lambda_.Code.from_asset(str(path), exclude=exclude),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURES[arch] for arch in archs],
            description=description,
        )

    def for_function(self, spec: registry.Function) -> list[lambda_.ILayerVersion]:
        layers: list[lambda_.ILayerVersion] = [self.deps[spec.arch], self.common]
        if spec.ffmpeg:
            if self.ffmpeg is None or spec.arch != FFMPEG_ARCH:
                raise ValueError(f"{spec.name}: the FFmpeg layer is built for {FFMPEG_ARCH}, not {spec.arch}")
            layers.append(self.ffmpeg)
        return layers
