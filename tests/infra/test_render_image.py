"""The render function's container image: what the template says, what its build context holds and
whether its Dockerfile would build from that context (as far as can be checked without a Docker engine)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from infra_helpers import Synth

from infra import image, registry
from infra.constants import FFMPEG_DIR

RENDER = registry.function("toolkit_render")
HADOLINT = Path(sys.executable).parent / "hadolint"


def docker_assets(synth: Synth) -> list[dict[str, Any]]:
    manifest = json.loads((synth.outdir / "ReelgateStack.assets.json").read_text())
    return list(manifest.get("dockerImages", {}).values())


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    lines = [line.strip() for line in dockerfile.read_text().splitlines()]
    return [(line.split()[0].upper(), line.split(None, 1)[1]) for line in lines if line and not line.startswith("#")]


def test_render_is_an_x86_64_image_function_with_its_registry_settings(synth: Synth, prod: Synth) -> None:
    for stage in (synth, prod):
        props = stage.resources[stage.function_id("toolkit_render")]["Properties"]
        assert props["PackageType"] == "Image"
        assert props["Architectures"] == ["x86_64"]
        assert (props["MemorySize"], props["Timeout"]) == (RENDER.memory, RENDER.timeout)
        assert props["EphemeralStorage"] == {"Size": RENDER.ephemeral_mb}
        assert props["ReservedConcurrentExecutions"] == stage.stack.stage.reserved("toolkit_render", 10)
        assert "Layers" not in props and "Runtime" not in props
        assert props["Environment"]["Variables"]["REELGATE_FFMPEG_DIR"] == FFMPEG_DIR
    # Its IAM is checked with every function's: tests/infra/test_iam.py (role actions are exactly the grants).


def test_the_image_asset_is_built_for_linux_amd64_from_the_staged_context(synth: Synth) -> None:
    (asset,) = docker_assets(synth)
    assert asset["source"]["platform"] == "linux/amd64"
    staged = synth.outdir / asset["source"]["directory"]
    assert sorted(path.name for path in staged.iterdir()) == ["Dockerfile", "bin", "code", "deps"]
    assert (staged / "code" / "handler.py").read_bytes() == (RENDER.directory / "handler.py").read_bytes()
    assert (staged / "code" / "reelgate" / "media" / "tools.py").is_file()
    assert sorted(path.name for path in (staged / "bin").iterdir()) == ["ffmpeg", "ffprobe"]
    assert not list(staged.rglob("__pycache__"))


def test_every_copy_source_exists_in_the_staged_context(synth: Synth) -> None:
    (asset,) = docker_assets(synth)
    staged = synth.outdir / asset["source"]["directory"]
    copies = [args.split()[:-1] for op, args in instructions(staged / "Dockerfile") if op == "COPY"]
    assert copies
    for sources in copies:
        for source in sources:
            assert not source.startswith("--"), "COPY flags need BuildKit; keep the Dockerfile plain"
            assert (staged / source).exists(), f"COPY {source}: not in the build context"
    copied = {source.rstrip("/") for sources in copies for source in sources}
    assert copied == {"bin", "deps", "code"}  # everything staged reaches the image, nothing more is staged


def test_the_base_is_lambdas_python_312_x86_64_pinned_and_the_command_is_the_handler() -> None:
    steps = instructions(image.DOCKERFILE)
    (base,) = [args for op, args in steps if op == "FROM"]
    # A dated release of the x86_64 variant, never a moving tag (3.12, latest).
    dated = r"public\.ecr\.aws/lambda/python:3\.12\.\d{4}\.\d{2}\.\d{2}\.\d{2}-x86_64(@sha256:[0-9a-f]{64})?"
    assert re.fullmatch(dated, base), base
    assert [args for op, args in steps if op == "CMD"] == ['["handler.handler"]']


def test_hadolint_passes_the_dockerfile_and_catches_a_moving_base(tmp_path: Path) -> None:
    assert subprocess.run([str(HADOLINT), str(image.DOCKERFILE)], check=False, capture_output=True).returncode == 0
    base = next(args for op, args in instructions(image.DOCKERFILE) if op == "FROM")
    moving = tmp_path / "Dockerfile"
    moving.write_text(image.DOCKERFILE.read_text().replace(base, "public.ecr.aws/lambda/python:latest"))
    result = subprocess.run([str(HADOLINT), str(moving)], check=False, capture_output=True, text=True)
    assert result.returncode != 0 and "DL3007" in result.stdout


def test_staging_refuses_a_zip_function_and_missing_render_deps(tmp_path: Path) -> None:
    from infra.constructs.shared_layers import LayerNotBuilt, LayerSources

    with pytest.raises(ValueError, match="zip"):
        image.stage(registry.function("health"), LayerSources(render=tmp_path))
    with pytest.raises(LayerNotBuilt, match="make layers"):
        image.stage(RENDER, LayerSources(render=tmp_path))


def test_a_synth_prunes_the_staged_assets_its_assembly_no_longer_names(tmp_path: Path) -> None:
    """Every change to the render code stages a new ~0.5 GB context; old ones must not pile up in cdk.out."""
    from infra.app import prune_stale_assets

    manifest = {"files": {"a": {"source": {"path": "asset.layer", "packaging": "zip"}}},
                "dockerImages": {"b": {"source": {"directory": "asset.image"}}}}
    (tmp_path / "ReelgateStack.assets.json").write_text(json.dumps(manifest))
    for name in ("asset.layer", "asset.image", "asset.old-image"):
        (tmp_path / name).mkdir()
    (tmp_path / "asset.old.zip").write_text("stale")

    assert prune_stale_assets(tmp_path) == ["asset.old-image", "asset.old.zip"]
    assert sorted(path.name for path in tmp_path.glob("asset.*")) == ["asset.image", "asset.layer"]
    assert (tmp_path / "ReelgateStack.assets.json").is_file()
