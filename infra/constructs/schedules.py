"""EventBridge schedules: each registry.SCHEDULED function runs every `schedules.<name>` minutes (cdk.json)."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import registry
from infra.constants import StageConfig
from infra.constructs.functions import pascal


class Schedules(Construct):
    """`rules` maps each scheduled function's name to its rule."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: StageConfig,
                 functions: Mapping[str, lambda_.IFunction]) -> None:
        super().__init__(scope, construct_id)
        self.rules: dict[str, events.Rule] = {}
        for name in registry.SCHEDULED:
            minutes = stage.schedules[name]
            rule = events.Rule(self, pascal(name), description=f"Runs {name} every {minutes} minutes",
                               schedule=events.Schedule.rate(Duration.minutes(minutes)))
            # A missed run is not retried: the next one is minutes away and measures afresh.
            rule.add_target(targets.LambdaFunction(functions[name], retry_attempts=0))
            self.rules[name] = rule
