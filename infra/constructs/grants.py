"""Registry grants -> the narrowest IAM statements and the environment that names each resource."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_stepfunctions as sfn

from infra import registry

TABLE_READ = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"]
# ConditionCheckItem lets a TransactWriteItems guard one item while writing another.
TABLE_WRITE = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"]
MEDIA_READ = ["s3:GetObject"]  # also authorizes HeadObject and presigned GETs
MEDIA_WRITE = ["s3:PutObject", "s3:AbortMultipartUpload"]  # PutObject covers multipart parts
SECRET_ENV = {"pixverse": "REELGATE_PIXVERSE_API_KEY_SECRET", "apphud": "REELGATE_APPHUD_WEBHOOK_TOKEN_SECRET",
              "apphud_apps": "REELGATE_APPHUD_APP_KEYS_SECRET"}


@dataclass(frozen=True)
class GrantTargets:
    """The shared resources a grant can point at."""

    jobs: dynamodb.ITable
    jobs_index: str
    state: dynamodb.ITable
    media: s3.IBucket
    bus: events.IEventBus
    secrets: Mapping[str, secretsmanager.ISecret]


def _allow(actions: list[str], resources: list[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=actions, resources=resources)


def statement(grant: registry.Grant, t: GrantTargets) -> iam.PolicyStatement | None:
    """The statement for one grant; flow grants are added later, once the machines exist."""
    kind, _, target = grant.partition(":")
    tables = {"jobs": [t.jobs.table_arn, f"{t.jobs.table_arn}/index/{t.jobs_index}"],
              "state": [t.state.table_arn]}
    if kind in tables:
        return _allow(TABLE_READ if target == "read" else TABLE_WRITE, tables[kind])
    if kind == "media":
        return _allow(MEDIA_READ if target == "read" else MEDIA_WRITE, [t.media.arn_for_objects("*")])
    if kind == "events":
        return _allow(["events:PutEvents"], [t.bus.event_bus_arn])
    if kind == "secret":
        return _allow(["secretsmanager:GetSecretValue"], [t.secrets[target].secret_arn])
    if kind == "flow":
        return None
    raise ValueError(f"unknown grant {grant!r}")


def environment(grants: frozenset[registry.Grant], t: GrantTargets) -> dict[str, str]:
    """Name only the resources a function is granted, so its env documents what it may touch."""
    kinds = {grant.partition(":")[0] for grant in grants}
    names = {"jobs": ("REELGATE_JOBS_TABLE", t.jobs.table_name),
             "state": ("REELGATE_STATE_TABLE", t.state.table_name),
             "media": ("REELGATE_MEDIA_BUCKET", t.media.bucket_name),
             "events": ("REELGATE_EVENT_BUS", t.bus.event_bus_name)}
    env = dict(names[kind] for kind in kinds if kind in names)
    for grant in grants:
        kind, _, target = grant.partition(":")
        if kind == "secret":
            env[SECRET_ENV[target]] = t.secrets[target].secret_arn
    return env


def flow_env_name(flow: str) -> str:
    return f"REELGATE_{flow.upper()}_FLOW_ARN"


def flow_statement(machine: sfn.IStateMachine) -> iam.PolicyStatement:
    return _allow(["states:StartExecution"], [machine.state_machine_arn])


def flows_of(grants: frozenset[registry.Grant]) -> list[str]:
    return sorted(grant.partition(":")[2] for grant in grants if grant.startswith("flow:"))
