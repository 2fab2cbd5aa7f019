"""Alarms to one SNS topic, and a one-screen dashboard.

Alarms: API 5xx; every function's errors and throttles; every flow's failures and timeouts; webhook
deliveries that failed and provider errors (the business metrics `reelgate.metrics` writes as EMF).
The topic's e-mail subscriptions and the thresholds are stage configuration (cdk.json `stages.<stage>`:
`alarm_emails`, `api_5xx_alarm_threshold`, `webhook_failures_alarm_threshold`,
`provider_errors_alarm_threshold`, each per five minutes; `counter_drift_alarm_threshold`, the drift of one
queue or slot counter from the jobs holding it, in two checks running).
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct
from reelgate.drift import COUNTERS

from infra.constants import SERVICE, StageConfig
from infra.constructs.functions import pascal
from infra.environment import METRICS_NAMESPACE

PERIOD = Duration.minutes(5)
PROVIDERS = ("pixverse", "topview")


class Observability(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, stage: StageConfig,
        functions: Mapping[str, lambda_.IFunction], machines: Mapping[str, sfn.IStateMachine],
        api: apigw.RestApi,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "AlarmTopic", display_name=f"{SERVICE} {stage.name} alarms", enforce_ssl=True)
        NagSuppressions.add_resource_suppressions(self.topic, [NagPackSuppression(
            id="AwsSolutions-SNS2",
            reason="Carries alarm state changes only; CloudWatch cannot publish with the AWS-managed SNS key.",
        )])
        for address in stage.alarm_emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(address))
        errors = {name: fn.metric_errors(period=PERIOD, statistic="Sum") for name, fn in functions.items()}
        throttles = {name: fn.metric_throttles(period=PERIOD, statistic="Sum") for name, fn in functions.items()}
        failed = {name: m.metric_failed(period=PERIOD, statistic="Sum") for name, m in machines.items()}
        timed_out = {name: m.metric_timed_out(period=PERIOD, statistic="Sum") for name, m in machines.items()}
        server_errors = api.metric_server_error(period=PERIOD, statistic="Sum")
        webhook_failures = self._business("WebhookAttempts", {"Outcome": "failed"})
        provider_errors = {name: self._business("ProviderErrors", {"Provider": name}) for name in PROVIDERS}
        drift = {name: self._business("CounterDrift", {"Counter": name}, "Maximum") for name in COUNTERS}
        self.alarms = [
            *(self._alarm(f"{pascal(name)}Errors", metric, 1) for name, metric in errors.items()),
            *(self._alarm(f"{pascal(name)}Throttles", metric, 1) for name, metric in throttles.items()),
            *(self._alarm(f"{pascal(name)}FlowFailed", metric, 1) for name, metric in failed.items()),
            *(self._alarm(f"{pascal(name)}FlowTimedOut", metric, 1) for name, metric in timed_out.items()),
            self._alarm("Api5xx", server_errors, stage.api_5xx_alarm_threshold),
            self._alarm("WebhookFailures", webhook_failures, stage.webhook_failures_alarm_threshold),
            *(self._alarm(f"{pascal(name)}ProviderErrors", metric, stage.provider_errors_alarm_threshold)
              for name, metric in provider_errors.items()),
            # Two checks running: an admission or settle racing one measurement is not an alarm.
            *(self._alarm(f"{pascal(name)}Drift", metric, stage.counter_drift_alarm_threshold, periods=2)
              for name, metric in drift.items()),
        ]
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"{SERVICE}-{stage.name}")
        self.dashboard.add_widgets(
            self._graph("API requests and errors", [
                api.metric_count(period=PERIOD), api.metric_client_error(period=PERIOD), server_errors,
            ]),
            self._graph("API latency p90 (ms)", [api.metric_latency(period=PERIOD, statistic="p90")]),
        )
        self.dashboard.add_widgets(
            self._graph("Function errors", list(errors.values()), labels=list(errors)),
            self._graph("Flow failures", list(failed.values()), labels=list(failed)),
        )
        self.dashboard.add_widgets(
            self._graph("Jobs (all kinds and providers)", [self._jobs(name) for name in (
                "JobsAccepted", "JobsSucceeded", "JobsFailed")]),
            self._graph("Webhooks and provider errors", [
                webhook_failures, self._business("WebhookAttempts", {"Outcome": "delivered"}),
                *provider_errors.values()]),
        )
        self.dashboard.add_widgets(self._graph("Counter drift (max per check)", list(drift.values()), width=24))
        self.dashboard.add_widgets(cloudwatch.AlarmStatusWidget(alarms=self.alarms, title="Alarms", width=24))

    def _alarm(self, construct_id: str, metric: cloudwatch.IMetric, threshold: int,
               periods: int = 1) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self, construct_id, metric=metric, threshold=threshold, evaluation_periods=periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,  # no traffic is not an outage
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        return alarm

    @staticmethod
    def _jobs(name: str) -> cloudwatch.MathExpression:
        """A job metric summed over its Kind and Provider dimensions."""
        search = f"SEARCH('{{{METRICS_NAMESPACE},Kind,Provider}} MetricName=\"{name}\"', 'Sum', {PERIOD.to_seconds()})"
        return cloudwatch.MathExpression(expression=f"SUM({search})", label=name, period=PERIOD)

    @staticmethod
    def _business(name: str, dimensions: dict[str, str], statistic: str = "Sum") -> cloudwatch.Metric:
        return cloudwatch.Metric(namespace=METRICS_NAMESPACE, metric_name=name, dimensions_map=dimensions or None,
                                 period=PERIOD, statistic=statistic)

    @staticmethod
    def _graph(
        title: str, metrics: list[cloudwatch.IMetric], labels: list[str] | None = None, width: int = 12
    ) -> cloudwatch.GraphWidget:
        if labels:
            metrics = [metric.with_(label=label) for metric, label in zip(metrics, labels, strict=True)
                       if isinstance(metric, cloudwatch.Metric)]
        return cloudwatch.GraphWidget(title=title, left=list(metrics), width=width)
