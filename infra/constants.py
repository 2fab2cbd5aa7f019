"""Names, runtime, architectures and per-stage settings shared by the CDK app and the layer build."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aws_cdk import RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

ROOT = Path(__file__).resolve().parent.parent
STACK_ID = "ReelgateStack"  # construct id: names the template file cdk.out/ReelgateStack.template.json
SERVICE = "reelgate"
METRICS_NAMESPACE = "Reelgate"

# The deps layer is built for this interpreter (requirements/runtime.txt is compiled for 3.12).
PYTHON_VERSION = "3.12"
RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURES: dict[str, lambda_.Architecture] = {
    "arm64": lambda_.Architecture.ARM_64,
    "x86_64": lambda_.Architecture.X86_64,
}
# Lambda's python3.12 runtime is Amazon Linux 2023 (glibc 2.34): manylinux_2_28 wheels run there too.
PIP_PLATFORMS = {"arm64": ("manylinux2014_aarch64", "manylinux_2_28_aarch64"),
                 "x86_64": ("manylinux2014_x86_64", "manylinux_2_28_x86_64")}
# The FFmpeg layer holds x86_64 binaries (newest patched ffmpeg build), so its users run on x86_64.
FFMPEG_ARCH = "x86_64"
FFMPEG_DIR = "/opt/bin"  # where Lambda mounts the layer's bin/

LAYERS_DIR = ROOT / "layers"
COMMON_LAYER_DIR = LAYERS_DIR / "common"
DEPS_LAYERS_DIR = LAYERS_DIR / "deps"
FFMPEG_LAYER_DIR = LAYERS_DIR / "ffmpeg"
RUNTIME_REQUIREMENTS = ROOT / "requirements" / "runtime.txt"

ASSET_EXCLUDES = ["__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache"]
TTL_ATTRIBUTE = "expires_at"
MEDIA_RETENTION_DAYS = 30  # equals the job record TTL (Settings.job_ttl_days)
ACCESS_LOG_RETENTION_DAYS = 90
LOG_RETENTION = logs.RetentionDays.ONE_MONTH


@dataclass(frozen=True)
class StageConfig:
    """What differs between dev and prod."""

    name: str
    retain_data: bool
    log_level: str
    api_rate_limit: int
    api_burst_limit: int
    # Operator settings (queue limit, prices, waits...) as environment strings, from CDK context.
    settings: Mapping[str, str] = field(default_factory=dict)

    @property
    def removal_policy(self) -> RemovalPolicy:
        return RemovalPolicy.RETAIN if self.retain_data else RemovalPolicy.DESTROY


STAGES: dict[str, StageConfig] = {
    "dev": StageConfig("dev", retain_data=False, log_level="DEBUG", api_rate_limit=20, api_burst_limit=40),
    "prod": StageConfig("prod", retain_data=True, log_level="INFO", api_rate_limit=200, api_burst_limit=400),
}


def stage_config(name: str | None) -> StageConfig:
    stage = name or "dev"
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; use -c stage={'|'.join(STAGES)}")
    return STAGES[stage]
