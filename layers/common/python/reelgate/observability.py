"""Logger, tracer and metrics, created once and shared by every handler."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="reelgate")
tracer = Tracer(service="reelgate")
metrics = Metrics(namespace="Reelgate", service="reelgate")
