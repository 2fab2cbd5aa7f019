"""Step Functions for jobs: one execution per job, named after the job so a retry cannot start two, and
resuming a flow that waits for a provider's callback (.waitForTaskToken)."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

GONE_TOKEN = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})


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


def resume(sfn: Any, token: str, output: dict[str, Any]) -> bool:
    """SendTaskSuccess; False when that wait is already over (timed out, resumed, or its flow ended)."""
    try:
        sfn.send_task_success(taskToken=token, output=json.dumps(output))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in GONE_TOKEN:
            return False
        raise
    return True
