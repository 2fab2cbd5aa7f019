"""Logger, tracer and metrics, created once and shared by every handler.

One correlation id follows a job: an API request logs under its request id until it creates a job,
then under the job's id (`follow`); every flow task, callback and webhook attempt of that job logs
under the job's id too, and its X-Ray segment carries it as the `job_id` annotation. So one search for
a job id finds its whole trail, from the request to the webhook.
"""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer

# Task functions may publish no metric on a given invocation; that is expected, not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(service="reelgate")
tracer = Tracer(service="reelgate")
metrics = Metrics(namespace="Reelgate", service="reelgate")


def follow(job_id: str) -> None:
    """From now on this invocation's logs and trace are about `job_id` (its correlation id)."""
    logger.set_correlation_id(job_id)
    tracer.put_annotation(key="job_id", value=job_id)
