"""ReelgateStack: composes one construct per capability; the constructs build, the stack wires."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra import registry
from infra.constants import SERVICE, StageConfig
from infra.constructs.api import Api
from infra.constructs.cdn import Cdn
from infra.constructs.data import Data
from infra.constructs.flows import Flows
from infra.constructs.functions import Functions
from infra.constructs.grants import GrantTargets
from infra.constructs.integrations import Integrations
from infra.constructs.media import Media
from infra.constructs.observability import Observability
from infra.constructs.schedules import Schedules
from infra.constructs.shared_layers import LayerSources, SharedLayers
from infra.environment import FLOW_SETTING, SECRET_SETTING
from infra.outputs import API_URL_OUTPUT, CDN_URL_OUTPUT, OUTPUT_SETTINGS, output_key

NOTIFICATIONS_HANDLER_ID = "BucketNotificationsHandler050a0587b7544547bf325f094a3db834"  # fixed by aws-cdk-lib
BASIC_EXECUTION_POLICY = (
    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
)


class ReelgateStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, stage: StageConfig,
        layer_sources: LayerSources | None = None, **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.stage = stage
        self.data = data = Data(self, "Data", stage=stage)
        self.media = media = Media(self, "Media", stage=stage)
        self.cdn = Cdn(self, "Cdn", stage=stage, bucket=media.bucket) if stage.output_delivery == "cloudfront" else None
        self.integrations = integrations = Integrations(self, "Integrations", stage=stage)
        self.layers = layers = SharedLayers(self, "Layers", sources=layer_sources or LayerSources())
        targets = GrantTargets(
            jobs=data.jobs, jobs_index=data.jobs_owner_index, state=data.state, media=media.bucket,
            bus=integrations.bus, secrets=integrations.secrets, cdn=self.cdn.resources if self.cdn else None,
        )
        self.functions = functions = Functions(self, "Functions", stage=stage, targets=targets, layers=layers)
        self.flows = flows = Flows(self, "Flows", stage=stage, functions=functions.by_name)
        functions.connect_flows(flows.machines)
        self._connect_s3_triggers(media.bucket, functions)
        self.api = api = Api(self, "Api", stage=stage, functions=functions.by_name)
        self.schedules = Schedules(self, "Schedules", stage=stage, functions=functions.by_name)
        self.observability = Observability(self, "Observability", stage=stage, functions=functions.by_name,
                      machines=flows.machines, api=api.rest_api)
        Tags.of(self).add("service", SERVICE)
        Tags.of(self).add("stage", stage.name)
        self._suppress_cdk_handlers()
        CfnOutput(self, API_URL_OUTPUT, value=api.url)
        if self.cdn is not None:
            CfnOutput(self, CDN_URL_OUTPUT, value=self.cdn.resources.url)
        for setting, value in self._output_values().items():
            CfnOutput(self, output_key(setting), value=value)

    def _output_values(self) -> dict[str, str]:
        """Each resource an operator command needs, by the Settings field that names it."""
        data, media, integrations = self.data, self.media, self.integrations
        values = {"jobs_table": data.jobs.table_name, "state_table": data.state.table_name,
                  "media_bucket": media.bucket.bucket_name, "event_bus": integrations.bus.event_bus_name}
        values |= {FLOW_SETTING[name]: machine.state_machine_arn for name, machine in self.flows.machines.items()}
        values |= {SECRET_SETTING[key]: secret.secret_arn for key, secret in integrations.secrets.items()}
        if missing := set(OUTPUT_SETTINGS) - values.keys():
            raise ValueError(f"no stack output for {sorted(missing)}")
        return values

    @staticmethod
    def _connect_s3_triggers(bucket: s3.Bucket, functions: Functions) -> None:
        # S3 allows one suffix per filter, so each suffix gets its own notification rule.
        for trigger in registry.S3_TRIGGERS:
            destination = s3n.LambdaDestination(functions.by_name[trigger.function])
            for suffix in trigger.suffixes or (None,):
                bucket.add_event_notification(
                    s3.EventType.OBJECT_CREATED, destination,
                    s3.NotificationKeyFilter(prefix=trigger.prefix, suffix=suffix),
                )

    def _suppress_cdk_handlers(self) -> None:
        """CDK's singleton handler that writes the bucket's notification configuration at deploy time."""
        handler = self.node.try_find_child(NOTIFICATIONS_HANDLER_ID)
        if handler is not None:
            NagSuppressions.add_resource_suppressions(handler, [NagPackSuppression(
                id="AwsSolutions-IAM4", applies_to=[BASIC_EXECUTION_POLICY],
                reason="CDK-owned deploy-time handler for S3 notifications; aws-cdk-lib fixes its role's policy.",
            )], apply_to_children=True)
