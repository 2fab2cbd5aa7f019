"""Names, runtime, architectures and the stage configuration shared by the CDK app and the layer build."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from aws_cdk import RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from pydantic import BaseModel, ConfigDict, Field, field_validator

from infra.registry import LAYERS_DIR

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
# The FFmpeg binaries are x86_64 (newest patched ffmpeg build), so their functions run on x86_64, as container
# images that hold them at FFMPEG_DIR (infra/image.py).
FFMPEG_DIR = "/opt/bin"

COMMON_LAYER_DIR = LAYERS_DIR / "common"
DEPS_LAYERS_DIR = LAYERS_DIR / "deps"
FFMPEG_LAYER_DIR = LAYERS_DIR / "ffmpeg"
RUNTIME_REQUIREMENTS = ROOT / "requirements" / "runtime.txt"
# Container-image functions (registry `image=True`): their locked dependencies (built into registry.RENDER_DIR).
RENDER_REQUIREMENTS = ROOT / "requirements" / "render.txt"

ASSET_EXCLUDES = ["__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache"]
TTL_ATTRIBUTE = "expires_at"


class StageConfig(BaseModel):
    """What differs between dev and prod: cdk.json's `stages.<name>`, plus its operator settings.

    Every field is required, so a stage cannot silently inherit another's value; unknown keys fail the synth.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    retain_data: bool  # tables, buckets, secrets and log groups survive a stack delete
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"]
    log_retention_days: int  # every log group of the stage (function, flow, API access logs)
    access_log_retention_days: int  # S3 server access logs of the media bucket
    api_rate_limit: int = Field(gt=0)
    api_burst_limit: int = Field(gt=0)
    api_5xx_alarm_threshold: int = Field(ge=1)  # API 5xx answers in five minutes that raise the alarm
    webhook_failures_alarm_threshold: int = Field(ge=1)  # failed webhook attempts in five minutes
    provider_errors_alarm_threshold: int = Field(ge=1)  # errors of one provider in five minutes
    counter_drift_alarm_threshold: int = Field(ge=1)  # slots a counter is off from the jobs, two checks running
    # Minutes between runs of each scheduled function (registry.SCHEDULED), e.g. {"counter_drift": 5}.
    schedules: dict[str, int]
    alarm_emails: list[str]  # who the alarm topic e-mails (each confirms its subscription)
    event_archive_days: int = Field(ge=0)  # replay window of the event bus; 0 keeps every event
    # How callers download outputs (reelgate.links): "cloudfront" (a distribution with origin access control and
    # signed URLs; lifetime cdn_url_seconds) or "presigned" (presigned S3 GETs; lifetime at most an hour).
    output_delivery: Literal["cloudfront", "presigned"]
    # Per function, instead of the registry's reserved concurrency: a number, or null for the unreserved pool.
    reserved_concurrency: dict[str, int | None] = Field(default_factory=dict)
    # Operator settings (queue limit, prices, waits...) as environment strings, from cdk.json's `settings`.
    settings: Mapping[str, str] = Field(default_factory=dict)

    @field_validator("log_retention_days", "access_log_retention_days")
    @classmethod
    def _a_log_retention(cls, days: int) -> int:
        if days not in _RETENTION_DAYS:
            raise ValueError(f"{days} is not a CloudWatch Logs retention; use one of {sorted(_RETENTION_DAYS)}")
        return days

    @property
    def removal_policy(self) -> RemovalPolicy:
        return RemovalPolicy.RETAIN if self.retain_data else RemovalPolicy.DESTROY

    @property
    def log_retention(self) -> logs.RetentionDays:
        return _RETENTION_DAYS[self.log_retention_days]

    @property
    def media_retention_days(self) -> int:
        """Media expires with the job records (the job_ttl_days operator setting)."""
        return int(self.settings["job_ttl_days"])

    def reserved(self, function: str, registry_value: int | None) -> int | None:
        return self.reserved_concurrency.get(function, registry_value)


_R = logs.RetentionDays
_RETENTION_DAYS = {1: _R.ONE_DAY, 3: _R.THREE_DAYS, 7: _R.ONE_WEEK, 14: _R.TWO_WEEKS, 30: _R.ONE_MONTH,
                   60: _R.TWO_MONTHS, 90: _R.THREE_MONTHS, 180: _R.SIX_MONTHS, 365: _R.ONE_YEAR,
                   731: _R.TWO_YEARS, 1827: _R.FIVE_YEARS, 3653: _R.TEN_YEARS}


def stage_config(context: Mapping[str, Any], name: str | None = None) -> StageConfig:
    """The stage `name` (else the context's `stage`, else dev) as cdk.json's `stages` defines it."""
    stages = context.get("stages") or {}
    stage = name or context.get("stage") or "dev"
    if stage not in stages:
        raise ValueError(f"unknown stage {stage!r}; use -c stage={'|'.join(stages) or '<a stage of cdk.json>'}")
    return StageConfig.model_validate({**stages[stage], "name": stage})
