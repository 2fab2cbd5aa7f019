"""Logger, tracer and metrics, created once and shared by every handler."""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer

# Task functions may publish no metric on a given invocation; that is expected, not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(service="reelgate")
tracer = Tracer(service="reelgate")
metrics = Metrics(namespace="Reelgate", service="reelgate")
