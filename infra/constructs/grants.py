"""Registry grants -> IAM statements and environment, through `infra/environment.py` (shared with the
local cloud); this module only supplies the CloudFormation tokens that name the resources."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import environment, registry


@dataclass(frozen=True)
class GrantTargets:
    """The shared resources a grant can point at."""

    jobs: dynamodb.ITable
    jobs_index: str
    state: dynamodb.ITable
    media: s3.IBucket
    bus: events.IEventBus
    secrets: Mapping[str, secretsmanager.ISecret]
    cdn: environment.Cdn | None = None  # a stage that serves outputs through CloudFront

    def resources(self, scope: Construct) -> environment.Resources:
        stack = Stack.of(scope)
        return environment.Resources(
            account=stack.account, region=stack.region,
            jobs_table=self.jobs.table_name, jobs_table_arn=self.jobs.table_arn,
            state_table=self.state.table_name, state_table_arn=self.state.table_arn,
            media_bucket=self.media.bucket_name, media_bucket_arn=self.media.bucket_arn,
            event_bus=self.bus.event_bus_name, event_bus_arn=self.bus.event_bus_arn,
            secret_arns={key: secret.secret_arn for key, secret in self.secrets.items()},
            jobs_index=self.jobs_index, cdn=self.cdn,
        )


def statements(grants: frozenset[registry.Grant], res: environment.Resources) -> list[iam.PolicyStatement]:
    """The statements for a set of grants; flow grants are added later, once the machines exist."""
    return [iam.PolicyStatement(actions=list(s.actions), resources=list(s.resources))
            for s in environment.statements(grants, res)]


def flow_env_name(flow: str) -> str:
    return environment.env_name(environment.FLOW_SETTING[flow])


def flow_statement(machine: sfn.IStateMachine) -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=["states:StartExecution"], resources=[machine.state_machine_arn])


def flows_of(grants: frozenset[registry.Grant]) -> list[str]:
    return sorted(grant.partition(":")[2] for grant in grants if grant.startswith("flow:"))
