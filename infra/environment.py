"""What each function is given: its environment and its IAM statements, computed once for both consumers.

The CDK app calls these with CloudFormation tokens for the resource names and ARNs; the local cloud
calls them with the emulated resources' real names. Neither adds anything of its own, so a variable
or a permission a deployed function lacks is missing locally too. Pure data: no CDK, no boto3.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, create_model
from reelgate.settings import Settings
from reelgate.storage import MOBILE_INBOX, SEGMENTS

from infra import registry

METRICS_NAMESPACE = "Reelgate"
TABLE_READ = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query")
# ConditionCheckItem lets a TransactWriteItems guard one item while writing another.
TABLE_WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem")
TABLE_ACTIONS = {"read": TABLE_READ, "write": TABLE_WRITE, "scan": ("dynamodb:Scan",)}
MEDIA_READ = ("s3:GetObject",)  # also authorizes HeadObject and presigned GETs
MEDIA_WRITE = ("s3:PutObject", "s3:AbortMultipartUpload")  # PutObject covers multipart parts
# Grants scoped to one prefix of the media bucket: grant -> (actions, key prefix).
MEDIA_PREFIX_GRANTS: dict[str, tuple[tuple[str, ...], str]] = {
    "media:inbox": (("s3:PutObject",), "inbox/"),
    "media:mobile_inbox": (("s3:PutObject",), MOBILE_INBOX),
    "media:mobile_inbox_read": (MEDIA_READ, MOBILE_INBOX),
    "media:segments": (("s3:DeleteObject",), SEGMENTS),
}
SECRET_SETTING = {"pixverse": "pixverse_api_key_secret", "apphud": "apphud_webhook_token_secret",
                  "apphud_apps": "apphud_app_keys_secret", "topview": "topview_api_key_secret",
                  "pixverse_webhook": "pixverse_webhook_key_secret"}
# grant suffix (secret:<key>) -> the secret's name after reelgate/<stage>/, in the stack and in the local cloud
SECRET_NAMES = {"pixverse": "pixverse-api-key", "apphud": "apphud-webhook-token", "apphud_apps": "apphud-app-keys",
                "topview": "topview-api-key", "pixverse_webhook": "pixverse-webhook-key"}
# The output links' key pair (reelgate.links), created by the operator (`python -m infra.admin cdn-key`), not
# by the stack: the private half a secret reelgate/<stage>/cdn-private-key, the public half an SSM parameter
# the stack's CloudFront public key reads at deploy time.
CDN_SETTINGS = ("cdn_url", "cdn_key_pair_id", "cdn_private_key_secret")
RESOURCE_SETTING = {"jobs": "jobs_table", "state": "state_table", "media": "media_bucket", "events": "event_bus"}
FLOW_SETTING = {"toolkit": "toolkit_flow_arn", "pixverse": "pixverse_flow_arn", "topview": "topview_flow_arn"}
# SendTask{Success,Failure,Heartbeat}: a service integration's task token names no resource IAM could scope.
TASK_TOKEN_ACTIONS = ("states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat")

# Operator settings (stage configuration), by the registry group that reads them.
SETTING_GROUPS: dict[registry.SettingGroup, tuple[str, ...]] = {
    "jobs": ("job_ttl_days", "build_number"),
    "media_urls": ("cdn_url_seconds", "presign_seconds"),
    "toolkit": ("max_queue_length", "price_image_to_video", "price_concatenate", "api_wait_seconds",
                "toolkit_max_active_jobs_per_key", "toolkit_max_video_urls", "toolkit_refund_refused_input",
                "toolkit_stale_job_seconds"),
    "fetch": ("url_allowlist", "fetch_timeout_seconds", "fetch_max_bytes", "fetch_max_redirects"),
    "webhooks": ("webhook_attempts", "webhook_backoff_seconds", "webhook_timeout_seconds", "webhook_schedule"),
    "media": ("ffmpeg_dir", "ffmpeg_max_seconds", "ffmpeg_reserve_seconds", "toolkit_max_input_bytes",
              "toolkit_max_total_input_bytes", "toolkit_max_duration_seconds", "toolkit_max_video_pixels",
              "toolkit_max_image_pixels", "toolkit_refund_refused_input", "toolkit_segment_frames",
              "toolkit_segment_concurrency"),
    "pixverse": ("pixverse_base_url", "pixverse_timeout_seconds", "pixverse_max_retries",
                 "pixverse_retry_base_seconds", "pixverse_max_retry_after_seconds", "pixverse_deadline_margin_seconds"),
    "generation": ("poll_initial_seconds", "poll_max_seconds", "poll_growth", "generation_deadline_seconds",
                   "mirror_attempts", "mirror_backoff_seconds", "slot_lease_slack_seconds",
                   "slot_submit_lease_seconds"),
    "apphud": ("apphud_base_url", "apphud_timeout_seconds", "entitlement_cache_seconds",
               "entitlement_negative_cache_seconds", "apphud_lookups_per_app_per_minute",
               "apphud_lookups_per_source_per_minute"),
    "topview": ("topview_base_url", "topview_uid", "topview_timeout_seconds", "topview_upload_timeout_seconds",
                "topview_max_retries", "topview_retry_base_seconds", "topview_notice_url",
                "topview_callback_wait_seconds", "topview_poll_initial_seconds", "topview_poll_max_seconds",
                "topview_poll_growth", "topview_deadline_seconds", "topview_busy_wait_seconds",
                "topview_busy_retry_seconds", "topview_need_cloudfront_url", "topview_enum_style",
                "topview_product_video_prompt_field", "topview_send_masks", "topview_text2video_model",
                "topview_text2image_model"),
    "routing": ("failover_breaker_failures", "failover_breaker_window_seconds"),
    "idempotency": ("idempotency_ttl_seconds", "idempotency_wait_seconds"),
    "pixverse_webhooks": ("pixverse_webhook_url", "pixverse_webhook_wait_seconds", "pixverse_webhook_window_seconds",
                          "pixverse_webhook_canonical", "pixverse_webhook_request_field"),
    "uploads": ("mobile_upload_max_bytes", "mobile_direct_image_max_bytes", "mobile_upload_seconds"),
    "cors": ("cors_origins",),
}
# Settings no deployed function reads: the local cloud's own, and explicit values that stand in for secrets.
NOT_FUNCTION_SETTINGS = frozenset({"host", "port", "aws_port", "dev_api_key", "stage", "work_dir",
                                   "pixverse_api_key", "apphud_webhook_token", "topview_api_key",
                                   "pixverse_webhook_key"})


def cdn_secret_name(stage: str) -> str:
    return f"reelgate/{stage}/cdn-private-key"


def cdn_public_key_parameter(stage: str) -> str:
    return f"/reelgate/{stage}/cdn-public-key"


@dataclass(frozen=True)
class Cdn:
    """The distribution that serves outputs and its signing key (a stage that delivers outputs by CloudFront)."""

    url: str  # https://<distribution domain>; locally the stand-in's http://127.0.0.1:<port>
    key_pair_id: str  # the CloudFront public key's id
    secret_id: str  # the private key's secret, as the function reads it (name or ARN)
    secret_arn: str  # what the role may read: the secret's ARN (a pattern when the stack does not own it)


@dataclass(frozen=True)
class Resources:
    """Names and ARNs of the shared resources (tokens under CDK, real values locally)."""

    account: str
    region: str
    jobs_table: str
    jobs_table_arn: str
    state_table: str
    state_table_arn: str
    media_bucket: str
    media_bucket_arn: str
    event_bus: str
    event_bus_arn: str
    secret_arns: Mapping[str, str]
    flow_arns: Mapping[str, str] = field(default_factory=dict)
    jobs_index: str = registry.JOBS_OWNER_INDEX[0]
    cdn: Cdn | None = None  # None: the stage answers presigned S3 links


@dataclass(frozen=True)
class Statement:
    actions: tuple[str, ...]
    resources: tuple[str, ...]


def env_name(setting: str) -> str:
    """The environment variable a Settings field is read from (its first alias, else REELGATE_<NAME>)."""
    return env_names(setting)[0]


def env_names(setting: str) -> tuple[str, ...]:
    """Every variable a Settings field may be read from, in the model's order of preference."""
    alias = Settings.model_fields[setting].validation_alias
    if isinstance(alias, AliasChoices):
        return tuple(str(choice) for choice in alias.choices)
    return (str(alias),) if alias else (f"REELGATE_{setting.upper()}",)


def from_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The operator settings a process environment sets (the local cloud's configuration)."""
    known = {name for names in SETTING_GROUPS.values() for name in names}
    found = {}
    for name in sorted(known):
        for variable in env_names(name):
            if variable in env:
                found[name] = env[variable]
                break
    return found


def operator_settings(spec: registry.Function) -> tuple[str, ...]:
    return tuple(name for group in spec.settings for name in SETTING_GROUPS[group])


def stage_values(values: Mapping[str, Any]) -> dict[str, str]:
    """Every operator setting as an environment string: `values` where given, else the model's default.

    Unknown names and invalid values fail here, at synth or start-up, not inside a function.
    """
    known = {name for names in SETTING_GROUPS.values() for name in names}
    if unknown := set(values) - known:
        raise ValueError(f"unknown operator settings {sorted(unknown)}; known: {sorted(known)}")
    validated = _operator_model().model_validate(dict(values))  # never this process's environment
    out = {}
    for name in sorted(known):
        value = getattr(validated, name)
        if value is not None:
            out[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


@cache
def _operator_model() -> type[BaseModel]:
    """The operator settings' fields of the Settings model, on a plain model that reads no environment."""
    fields: dict[str, Any] = {name: (Settings.model_fields[name].annotation, Settings.model_fields[name])
                              for names in SETTING_GROUPS.values() for name in names}
    return create_model("OperatorSettings", __config__=ConfigDict(populate_by_name=True), **fields)


def function_environment(spec: registry.Function, res: Resources, stage: str,
                         settings: Mapping[str, str], *, log_level: str = "INFO") -> dict[str, str]:
    """The whole environment of one function: observability, stage, granted resources, its operator settings."""
    env = {
        "POWERTOOLS_SERVICE_NAME": spec.name,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "LOG_LEVEL": log_level,
        env_name("stage"): stage,
    }
    names = {"jobs": res.jobs_table, "state": res.state_table, "media": res.media_bucket, "events": res.event_bus}
    for grant in sorted(spec.grants):
        kind, _, target = grant.partition(":")
        if kind in RESOURCE_SETTING:
            env[env_name(RESOURCE_SETTING[kind])] = names[kind]
        elif kind == "secret":
            env[env_name(SECRET_SETTING[target])] = res.secret_arns[target]
        elif kind == "flow" and target in res.flow_arns:
            env[env_name(FLOW_SETTING[target])] = res.flow_arns[target]
        elif kind == "cdn" and res.cdn is not None:
            values = (res.cdn.url, res.cdn.key_pair_id, res.cdn.secret_id)
            env |= {env_name(name): value for name, value in zip(CDN_SETTINGS, values, strict=True)}
    for name in operator_settings(spec):
        if name in settings:
            env[env_name(name)] = settings[name]
    return env


def statements(grants: frozenset[registry.Grant], res: Resources) -> list[Statement]:
    """The narrowest IAM statements for a set of grants (flow grants need `res.flow_arns`)."""
    out = []
    tables = {"jobs": (res.jobs_table_arn, f"{res.jobs_table_arn}/index/{res.jobs_index}"),
              "state": (res.state_table_arn,)}
    for grant in sorted(grants):
        kind, _, target = grant.partition(":")
        if kind in tables:  # a scan (a read-only recount) covers the table alone, never its index
            out.append(Statement(TABLE_ACTIONS[target], tables[kind][:1] if target == "scan" else tables[kind]))
        elif grant in MEDIA_PREFIX_GRANTS:
            actions, prefix = MEDIA_PREFIX_GRANTS[grant]
            out.append(Statement(actions, (f"{res.media_bucket_arn}/{prefix}*",)))
        elif kind == "media":
            out.append(Statement(MEDIA_READ if target == "read" else MEDIA_WRITE, (f"{res.media_bucket_arn}/*",)))
        elif kind == "events":
            out.append(Statement(("events:PutEvents",), (res.event_bus_arn,)))
        elif kind in ("secret", "cdn"):
            if secret := _secret_arn(kind, target, res):  # no CDN: presigned links need media:read only
                out.append(Statement(("secretsmanager:GetSecretValue",), (secret,)))
        elif kind == "flow":
            if target in res.flow_arns:
                out.append(Statement(("states:StartExecution",), (res.flow_arns[target],)))
        elif kind == "tasks":
            out.append(Statement(TASK_TOKEN_ACTIONS, ("*",)))
        else:
            raise ValueError(f"unknown grant {grant!r}")
    return out


def _secret_arn(kind: str, target: str, res: Resources) -> str | None:
    if kind == "secret":
        return res.secret_arns[target]
    return res.cdn.secret_arn if res.cdn is not None else None


def flow_statements(flow: registry.Flow, function_arns: Mapping[str, str]) -> list[Statement]:
    """A state machine's role: invoke exactly the functions its ASL names."""
    return [Statement(("lambda:InvokeFunction",), tuple(function_arns[name] for name in flow.functions.values()))]
