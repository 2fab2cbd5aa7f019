"""Business metrics as CloudWatch embedded metric format (EMF) lines in the function's log.

Each call writes one EMF record at once (Powertools' `single_metric`), so a metric never waits for
the end of an invocation and each carries only its own dimensions. Names and dimensions are the
contract of the dashboards and alarms in `infra/constructs/observability.py`; `docs/operations.md`
lists them. Only a Lambda function writes them (its stdout is its log): the operator's command line
(`infra.admin`), which runs the same domain code, keeps its stdout for its own answer.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from aws_lambda_powertools.metrics import MetricUnit, single_metric

NAMESPACE = "Reelgate"


def _put(name: str, value: float, unit: MetricUnit, dimensions: dict[str, str]) -> None:
    if not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return
    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or NAMESPACE
    with single_metric(name=name, unit=unit, value=value, namespace=namespace) as metric:
        for key, dimension in dimensions.items():
            metric.add_dimension(key, dimension or "none")


def job_changed(kind: str, provider: str, status: str, created_at: str | None = None) -> None:
    """`JobsAccepted` when a job is created, `JobsSucceeded` / `JobsFailed` when it ends (with the job's
    whole duration as `JobDuration`), by Kind and Provider."""
    dims = {"Kind": kind, "Provider": provider}
    if status in ("queued", "submitting"):
        _put("JobsAccepted", 1, MetricUnit.Count, dims)
    elif status in ("succeeded", "failed"):
        _put("JobsSucceeded" if status == "succeeded" else "JobsFailed", 1, MetricUnit.Count, dims)
        if created_at:
            seconds = (datetime.now(UTC) - datetime.fromisoformat(created_at)).total_seconds()
            _put("JobDuration", max(seconds, 0.0), MetricUnit.Seconds, dims)


def provider_error(provider: str, code: str) -> None:
    """One failed call to a provider: `ProviderErrors` by Provider (alarms) and by Provider and Code."""
    _put("ProviderErrors", 1, MetricUnit.Count, {"Provider": provider})
    _put("ProviderErrorsByCode", 1, MetricUnit.Count, {"Provider": provider, "Code": code})


def webhook_attempt(delivered: bool) -> None:
    """One attempt to deliver a caller's webhook: `WebhookAttempts` by Outcome (delivered / failed)."""
    _put("WebhookAttempts", 1, MetricUnit.Count, {"Outcome": "delivered" if delivered else "failed"})


def credits(spent: int, refunded: int = 0) -> None:
    """Toolkit credits charged (`CreditsSpent`) or given back (`CreditsRefunded`)."""
    if spent:
        _put("CreditsSpent", spent, MetricUnit.Count, {})
    if refunded:
        _put("CreditsRefunded", refunded, MetricUnit.Count, {})


def queue_depth(depth: int) -> None:
    """Unfinished toolkit jobs across the deployment, as the admission counter saw them."""
    _put("QueueDepth", depth, MetricUnit.Count, {})


def counter_drift(counter: str, drift: int) -> None:
    """How far a queue or slot counter is from the jobs really holding it (`CounterDrift` by Counter)."""
    _put("CounterDrift", drift, MetricUnit.Count, {"Counter": counter})
