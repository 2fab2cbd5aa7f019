"""Lambda entry points with observability applied once, in the same order everywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths

from reelgate import deadline
from reelgate.observability import follow, logger, metrics, tracer

Handler = Callable[[dict[str, Any], Any], Any]


def rest_entry(app: APIGatewayRestResolver) -> Handler:
    """The handler of an API function: logs with the request id, traces, flushes metrics, routes."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> Any:
        with deadline.invocation(context):
            answer = app.resolve(event, context)
        logger.info("answered", extra={"method": event.get("httpMethod"), "path": event.get("resource"),
                                       "status": answer.get("statusCode") if isinstance(answer, dict) else None})
        return answer

    return handler


def task_entry(task: Callable[[dict[str, Any]], Any]) -> Handler:
    """The handler of a flow-task or event function: the same observability around one domain call."""

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> Any:
        job_id = event.get("job_id") if isinstance(event, dict) else None
        if isinstance(job_id, str) and job_id:
            follow(job_id)
            logger.info("task", extra={"job_id": job_id})
        with deadline.invocation(context):
            return task(event)

    return handler
