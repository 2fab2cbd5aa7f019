"""Every registry function built by one factory: role from its grants, log group, layers, env."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import CfnElement, Duration, Size, Stack
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra import environment, image, registry
from infra.constants import ARCHITECTURES, ASSET_EXCLUDES, RUNTIME, StageConfig
from infra.constructs import grants
from infra.constructs.shared_layers import SharedLayers

_PLATFORMS = {"arm64": ecr_assets.Platform.LINUX_ARM64, "x86_64": ecr_assets.Platform.LINUX_AMD64}


def pascal(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


# Wildcard object permissions a function's media grants give, each with why it cannot name one key.
_MEDIA_WILDCARDS: tuple[tuple[frozenset[str], str, str], ...] = (
    (frozenset({"media:read", "media:write"}), "",
     "Media keys are generated per job, so object access spans the media bucket's objects."),
    (frozenset({"media:inbox"}), "inbox/",
     "Presigned uploads name keys chosen per request, all under inbox/ (the caller's own prefix is enforced by "
     "the function, which signs for one key at a time)."),
    (frozenset({"media:mobile_inbox", "media:mobile_inbox_read"}), "inbox/mobile/",
     "Mobile uploads are keyed per caller and upload under inbox/mobile/; the function signs or reads one key at "
     "a time, only under the caller's own prefix."),
    (frozenset({"media:segments"}), "segments/",
     "A segmented render's parts are keyed per job under segments/; the render deletes only its own job's parts."),
)


class Functions(Construct):
    """`by_name` maps each registry name to its Lambda function."""

    def __init__(
        self, scope: Construct, construct_id: str, *, stage: StageConfig, targets: grants.GrantTargets,
        layers: SharedLayers, specs: tuple[registry.Function, ...] = registry.FUNCTIONS,
    ) -> None:
        super().__init__(scope, construct_id)
        self._stage, self._targets, self._layers = stage, targets, layers
        self.specs = {spec.name: spec for spec in specs}
        self.by_name: dict[str, lambda_.Function] = {spec.name: self._build(spec) for spec in specs}

    def _build(self, spec: registry.Function) -> lambda_.Function:
        if not (spec.directory / "handler.py").is_file():
            raise FileNotFoundError(f"{spec.directory}/handler.py is missing (registry function {spec.name!r})")
        construct_id = pascal(spec.name)
        log_group = logs.LogGroup(
            self, f"{construct_id}Logs", retention=self._stage.log_retention, removal_policy=self._stage.removal_policy
        )
        role = self._role(construct_id, spec, log_group)
        common: dict[str, Any] = {
            "description": spec.description, "architecture": ARCHITECTURES[spec.arch],
            "memory_size": spec.memory, "timeout": Duration.seconds(spec.timeout),
            "ephemeral_storage_size": Size.mebibytes(spec.ephemeral_mb), "tracing": lambda_.Tracing.ACTIVE,
            "log_group": log_group, "role": role, "environment": self._environment(spec),
            "reserved_concurrent_executions": self._stage.reserved(spec.name, spec.reserved_concurrency),
        }
        function: lambda_.Function
        if spec.image:  # its image holds handler, packages and binaries (infra/image.py); no layers
            context = image.stage(spec, self._layers.sources)
            code = lambda_.DockerImageCode.from_image_asset(str(context), platform=_PLATFORMS[spec.arch])
            function = lambda_.DockerImageFunction(self, construct_id, code=code, **common)
        else:
            function = lambda_.Function(
                self, construct_id, runtime=RUNTIME, handler="handler.handler",
                code=lambda_.Code.from_asset(str(spec.directory), exclude=ASSET_EXCLUDES),
                layers=self._layers.for_function(spec), **common,
            )
        self._suppress(function, role, spec)
        return function

    def _role(self, construct_id: str, spec: registry.Function, log_group: logs.ILogGroup) -> iam.Role:
        role = iam.Role(
            self, f"{construct_id}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Reelgate {spec.name}: {', '.join(sorted(spec.grants)) or 'no grants'}",
        )
        log_group.grant_write(role)  # instead of AWSLambdaBasicExecutionRole's account-wide log rights
        for statement in grants.statements(spec.grants, self._targets.resources(self)):
            role.add_to_policy(statement)
        return role

    def _environment(self, spec: registry.Function) -> dict[str, str]:
        return environment.function_environment(spec, self._targets.resources(self), self._stage.name,
                                                self._stage.settings, log_level=self._stage.log_level)

    def connect_flows(self, machines: Mapping[str, sfn.IStateMachine]) -> None:
        """Give each function granted `flow:<name>` that machine's ARN and StartExecution on it only."""
        for name, spec in self.specs.items():
            for flow in grants.flows_of(spec.grants):
                function = self.by_name[name]
                function.add_environment(grants.flow_env_name(flow), machines[flow].state_machine_arn)
                function.add_to_role_policy(grants.flow_statement(machines[flow]))

    def _suppress(self, function: lambda_.Function, role: iam.Role, spec: registry.Function) -> None:
        reason = "X-Ray's PutTraceSegments/PutTelemetryRecords support no resource-level permissions."
        if any(grant.startswith("tasks:") for grant in spec.grants):
            reason += (" SendTaskSuccess/Failure/Heartbeat answer a service integration's task token, which names"
                       " no resource IAM could scope.")
        suppressions = [NagPackSuppression(id="AwsSolutions-IAM5", applies_to=["Resource::*"], reason=reason)]
        bucket = self._targets.media.node.default_child
        assert isinstance(bucket, CfnElement)
        arn = f"<{Stack.of(self).get_logical_id(bucket)}.Arn>"
        for granted, prefix, why in _MEDIA_WILDCARDS:
            if spec.grants & granted:
                suppressions.append(NagPackSuppression(
                    id="AwsSolutions-IAM5", applies_to=[f"Resource::{arn}/{prefix}*"], reason=why))
        NagSuppressions.add_resource_suppressions(role, suppressions, apply_to_children=True)
        if spec.image:
            return  # no managed runtime: the image's base pins Python (infra/docker/render.Dockerfile)
        NagSuppressions.add_resource_suppressions(function, [NagPackSuppression(
            id="AwsSolutions-L1",
            reason="Pinned to Python 3.12: requirements/runtime.txt and the deps layer are built for cp312.",
        )])
