"""Step Functions: one state machine per registry flow, from its ASL file with substitutions."""

from __future__ import annotations

import re
from collections.abc import Mapping

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra import registry
from infra.constants import SERVICE, StageConfig

_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


def substitution_keys(flow: registry.Flow) -> set[str]:
    return set(_PLACEHOLDER.findall(flow.path.read_text()))


class Flows(Construct):
    """`machines` maps each flow name to its state machine."""

    def __init__(
        self, scope: Construct, construct_id: str, *, stage: StageConfig,
        functions: Mapping[str, lambda_.IFunction], flows: tuple[registry.Flow, ...] = registry.FLOWS,
    ) -> None:
        super().__init__(scope, construct_id)
        self._stage = stage
        self.machines = {flow.name: self._machine(flow, functions) for flow in flows}

    def _machine(self, flow: registry.Flow, functions: Mapping[str, lambda_.IFunction]) -> sfn.StateMachine:
        tasks = {key: functions[name] for key, name in flow.functions.items()}
        substitutions = {**{key: fn.function_arn for key, fn in tasks.items()}, **flow.values}
        if missing := substitution_keys(flow) - substitutions.keys():
            raise ValueError(f"{flow.asl}: no registry value for {sorted(missing)}")
        construct_id = flow.name.title()
        log_group = logs.LogGroup(
            self, f"{construct_id}Logs",
            # The vended-logs prefix keeps CloudWatch's log resource policy from growing per machine.
            log_group_name=f"/aws/vendedlogs/states/{SERVICE}-{self._stage.name}-{flow.name}",
            retention=self._stage.log_retention, removal_policy=self._stage.removal_policy,
        )
        machine = sfn.StateMachine(
            self, construct_id,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_file(str(flow.path)),
            definition_substitutions=substitutions,
            # Execution data is small by design (job ids, output keys) and no secrets travel in it.
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
            tracing_enabled=True,
        )
        machine.add_to_role_policy(iam.PolicyStatement(  # exactly the functions this ASL invokes
            actions=["lambda:InvokeFunction"], resources=[fn.function_arn for fn in tasks.values()],
        ))
        NagSuppressions.add_resource_suppressions(machine.role, [NagPackSuppression(
            id="AwsSolutions-IAM5",
            reason="Log delivery (logs:*LogDelivery, DescribeLogGroups ...) and X-Ray accept only Resource '*'.",
            applies_to=["Resource::*"],
        )], apply_to_children=True)
        return machine
