"""The deps layer build step: locked pins, per-architecture pip flags, skipped when current."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra import layers


def test_pins_come_from_the_lock_minus_the_runtime_botocore() -> None:
    pins = layers.pinned_requirements()
    names = {pin.split("==")[0].lower() for pin in pins}
    assert all("==" in pin for pin in pins)
    assert {"pydantic", "pydantic-core", "aws-lambda-powertools", "httpx"} <= names
    assert "botocore" not in names


@pytest.mark.parametrize(("arch", "machine"), [("arm64", "aarch64"), ("x86_64", "x86_64")])
def test_pip_targets_lambda_python_on_the_architecture(arch: str, machine: str) -> None:
    command = layers.pip_command(arch, Path("req.txt"), Path("out"))
    platforms = {command[i + 1] for i, word in enumerate(command) if word == "--platform"}
    assert platforms == {f"manylinux2014_{machine}", f"manylinux_2_28_{machine}"}
    assert command[command.index("--python-version") + 1] == "3.12"
    assert {"--only-binary=:all:", "--no-deps"} <= set(command)
    assert command[command.index("--implementation") + 1] == "cp"


def test_build_skips_when_the_stamp_matches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def fake_pip(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(layers, "DEPS_LAYERS_DIR", tmp_path)
    monkeypatch.setattr(layers.subprocess, "run", fake_pip)
    assert layers.build("arm64") is True
    assert layers.build("arm64") is False  # stamp matches: no pip run
    assert len(calls) == 1
    assert (tmp_path / ".arm64.stamp").is_file()
    assert not (tmp_path / "arm64" / ".arm64.stamp").exists()  # the stamp never ships in the layer


def test_the_host_tree_is_built_for_this_interpreter_and_the_image_tree_for_lambdas() -> None:
    host = layers.pip_command(layers.HOST, Path("req.txt"), Path("out"))
    assert not {"--platform", "--python-version", "--implementation"} & set(host)
    assert {"--only-binary=:all:", "--no-deps"} <= set(host)
    assert layers.render_archs() == ["x86_64", layers.HOST]  # toolkit_render's architecture, and the local cloud's


def test_the_render_lock_is_the_runtime_lock_plus_opencv_and_numpy() -> None:
    from infra.constants import RENDER_REQUIREMENTS

    runtime = set(layers.pinned_requirements())
    render = set(layers.pinned_requirements(RENDER_REQUIREMENTS))
    assert runtime < render  # the same versions as the zip functions run
    assert {pin.split("==")[0] for pin in render - runtime} == {"numpy", "opencv-python-headless"}


def test_hash_changes_with_architecture_and_pins() -> None:
    pins = ["a==1"]
    assert layers.requirements_hash("arm64", pins) != layers.requirements_hash("x86_64", pins)
    assert layers.requirements_hash("arm64", pins) != layers.requirements_hash("arm64", ["a==2"])


LAMBDA_UNZIPPED_LIMIT = 262_144_000  # bytes, function code plus all its layers


def tree_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and "__pycache__" not in f.parts)


def test_built_layers_fit_lambdas_unzipped_limit() -> None:
    """On the real layers (`make infra` and `make test` build them first; missing ones fail, never skip)."""
    from infra import registry
    from infra.constructs.shared_layers import LayerSources

    sources = LayerSources()
    zipped = [fn for fn in registry.FUNCTIONS if not fn.image]
    # Unbuilt layers fail (LayerNotBuilt), never skip: `make test` and `make infra` build them first.
    sources.check(sorted({fn.arch for fn in zipped}), ffmpeg=False)
    assert not any(fn.ffmpeg for fn in zipped)  # FFmpeg alone is 221 MB: its functions are images
    for fn in zipped:
        total = tree_size(fn.directory) + tree_size(sources.common) + tree_size(sources.deps / fn.arch)
        margin_mb = (LAMBDA_UNZIPPED_LIMIT - total) / 1e6
        assert total < LAMBDA_UNZIPPED_LIMIT, f"{fn.name}: {total} bytes, {-margin_mb:.1f} MB over Lambda's limit"
        print(f"{fn.name}: {total / 1e6:.1f} MB unzipped, {margin_mb:.1f} MB under Lambda's 262.1 MB limit")


def test_built_images_fit_lambdas_image_limit() -> None:
    """The staged build context of each image function (real layers; missing ones fail, never skip) plus an
    upper bound for the base image, against Lambda's 10 GB."""
    from infra import image, registry
    from infra.constructs.shared_layers import LayerSources

    images = [fn for fn in registry.FUNCTIONS if fn.image]
    assert images
    for fn in images:
        context = image.stage(fn, LayerSources())
        content = image.content_size(context)
        assert content > tree_size(LayerSources().ffmpeg / "bin")  # FFmpeg, its deps and code are all in
        total = content + image.BASE_IMAGE_ALLOWANCE
        margin_gb = (image.LAMBDA_IMAGE_LIMIT - total) / 1e9
        assert total < image.LAMBDA_IMAGE_LIMIT, f"{fn.name}: {total} bytes, {-margin_gb:.2f} GB over the limit"
        print(f"{fn.name} image: {content / 1e6:.1f} MB staged + {image.BASE_IMAGE_ALLOWANCE / 1e6:.0f} MB base "
              f"allowance, {margin_gb:.2f} GB under Lambda's 10.7 GB image limit")
