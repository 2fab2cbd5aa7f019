"""Starting Step Functions executions: one per job, named after the job so a retry cannot start two."""

from __future__ import annotations

import json
from typing import Any


def start(sfn: Any, state_machine_arn: str, job_id: str, payload: dict[str, Any]) -> str:
    try:
        result = sfn.start_execution(stateMachineArn=state_machine_arn, name=job_id, input=json.dumps(payload))
    except sfn.exceptions.ExecutionAlreadyExists:
        return f"{state_machine_arn.replace(':stateMachine:', ':execution:')}:{job_id}"
    return str(result["executionArn"])


def failure_message(error: dict[str, Any]) -> str:
    """The reason a task failed, from Step Functions' {Error, Cause} (Cause is Lambda's error payload)."""
    cause = error.get("Cause") or ""
    try:
        parsed = json.loads(cause)
    except (TypeError, ValueError):
        parsed = None
    if isinstance(parsed, dict) and parsed.get("errorMessage"):
        return str(parsed["errorMessage"])
    return str(cause or error.get("Error") or "the job failed")
