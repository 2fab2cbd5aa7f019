"""The local cloud runs an image function (toolkit_render) with what its container image holds: the
render dependencies (requirements/render.txt: OpenCV, NumPy) and the FFmpeg binaries. No other function
gets them. The probe handler stands in for the function's code, in the function's own environment."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from infra import environment, registry
from infra.local import functions
from infra.local.cloud import FFMPEG_BIN
from infra.local.runtime import FunctionConfig, Runtime
from tests.helpers import ROOT

PROBE = ROOT / "tests" / "fixtures" / "lambdas" / "imports"
RENDER_DEPS = registry.RENDER_DIR / registry.HOST / "python"


@pytest.fixture
def configs(tmp_path: Path) -> dict[str, FunctionConfig]:
    if not (RENDER_DEPS.is_dir() and (FFMPEG_BIN / "ffmpeg").is_file()):
        pytest.fail("the render deps or FFmpeg are not built: run `make layers`")  # never a skip
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/"
    res = environment.Resources(
        account="123456789012", region="us-east-1", jobs_table="jobs", jobs_table_arn=table + "jobs",
        state_table="state", state_table_arn=table + "state", media_bucket="media",
        media_bucket_arn="arn:aws:s3:::media", event_bus="bus", event_bus_arn="arn:bus",
        secret_arns={key: f"arn:secret:{key}" for key in environment.SECRET_SETTING})
    settings = environment.stage_values({"ffmpeg_dir": str(FFMPEG_BIN)})  # as the local cloud sets it
    return functions.configs(res, "local", settings, aws_endpoint="http://127.0.0.1:9", work_dir=tmp_path)


def probe(configs: dict[str, FunctionConfig], name: str, tmp_path: Path) -> dict[str, Any]:
    config = dataclasses.replace(configs[name], code_dir=PROBE, timeout=60)
    runtime = Runtime({name: config}, log_dir=tmp_path / "logs")
    try:
        result = runtime.invoke(name, b"{}")
    finally:
        runtime.stop()
    assert not result.errored, result.payload
    return dict(json.loads(result.payload))


def test_the_render_function_imports_opencv_and_numpy_from_its_image_deps_and_has_ffmpeg(
        configs: dict[str, FunctionConfig], tmp_path: Path) -> None:
    found = probe(configs, "toolkit_render", tmp_path)

    assert found["cv2"] and found["numpy"]
    for name in ("cv2", "numpy"):
        assert Path(found[name]["file"]).is_relative_to(RENDER_DEPS)  # the lock's build, not something else
    pins = dict(line.split("==") for line in (ROOT / "requirements" / "render.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    assert found["numpy"]["version"] == pins["numpy"]
    assert found["cv2"]["version"] == pins["opencv-python-headless"].rsplit(".", 1)[0]  # 4.14.0.94 -> 4.14.0
    assert found["resized"] == [2, 4, 3]
    assert found["ffmpeg"] is True


@pytest.mark.parametrize("name", sorted(fn.name for fn in registry.FUNCTIONS if not fn.image))
def test_no_zip_function_gets_the_image_deps_or_ffmpeg(configs: dict[str, FunctionConfig], name: str) -> None:
    env = configs[name].env
    assert str(RENDER_DEPS) not in env["PYTHONPATH"].split(":")
    assert "REELGATE_FFMPEG_DIR" not in env


def test_a_zip_function_cannot_import_opencv(configs: dict[str, FunctionConfig], tmp_path: Path) -> None:
    found = probe(configs, "toolkit_settle", tmp_path)

    assert found["cv2"] is None and found["ffmpeg"] is False
