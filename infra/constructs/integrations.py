"""The event bus other systems subscribe to and the third-party secrets the functions read."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_secretsmanager as secretsmanager
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.constants import SERVICE, StageConfig
from infra.environment import SECRET_NAMES

EVENT_ARCHIVE_CONTEXT = "event_archive_days"  # `-c event_archive_days=<n>` overrides the stage's (0: keep forever)

# grant suffix (secret:<key>) -> (construct id, secret name suffix, what the operator stores)
SECRETS: dict[str, tuple[str, str, str]] = {
    "pixverse": ("PixverseApiKey", SECRET_NAMES["pixverse"], "Pixverse OpenAPI key"),
    "apphud": ("ApphudWebhookToken", SECRET_NAMES["apphud"], "Apphud S2S webhook shared token"),
    "apphud_apps": ("ApphudAppKeys", SECRET_NAMES["apphud_apps"],
                    'Apphud api keys of the registered apps, as JSON {"<bundle id>": "app_..."}'),
    "pixverse_webhook": ("PixverseWebhookKey", SECRET_NAMES["pixverse_webhook"],
                         "PixVerse webhook secret key (signs the webhooks PixVerse sends)"),
    "topview": ("TopviewApiKey", SECRET_NAMES["topview"], "TopView OpenAPI key (its uid is the topview_uid setting)"),
}


class Integrations(Construct):
    """A stack-owned bus (so PutEvents is scoped to it) and placeholder secrets set by the operator."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", event_bus_name=f"{SERVICE}-{stage.name}")
        # Every event the bus receives (job state changes included) can be replayed for this long.
        override = self.node.try_get_context(EVENT_ARCHIVE_CONTEXT)
        days = stage.event_archive_days if override is None else int(override)
        self.archive = self.bus.archive(
            "Archive", archive_name=f"{SERVICE}-{stage.name}-events",
            description="Every event of the stack's bus, replayable", event_pattern=events.EventPattern(account=[
                self.bus.stack.account]),
            retention=Duration.days(days) if days > 0 else None,
        )
        self.secrets = {key: self._secret(stage, *spec) for key, spec in SECRETS.items()}

    def _secret(self, stage: StageConfig, construct_id: str, name: str, what: str) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(
            self, construct_id,
            secret_name=f"{SERVICE}/{stage.name}/{name}",
            description=f"{what}; a generated placeholder until the operator sets the real value",
            generate_secret_string=secretsmanager.SecretStringGenerator(exclude_punctuation=True),
            removal_policy=stage.removal_policy,
        )
        NagSuppressions.add_resource_suppressions(secret, [NagPackSuppression(
            id="AwsSolutions-SMG4",
            reason=f"The {what} is issued by a third party; it is rotated there and pasted in by hand.",
        )])
        return secret
