"""Run a registry function's handler in this process, the way Lambda would call it."""

from __future__ import annotations

import importlib
import json
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any

from infra.registry import function


@dataclass
class LocalContext:
    """The attributes of a Lambda context object that Powertools and handlers read."""

    function_name: str
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    timeout_ms: int = 29_000

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return self.aws_request_id

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_ms


def context_for(name: str) -> LocalContext:
    fn = function(name)
    return LocalContext(function_name=name, memory_limit_in_mb=fn.memory, timeout_ms=fn.timeout * 1000)


def invoke(name: str, event: Any) -> Any:
    """Call functions/<name>/handler.py:handler(event, context) and return its result."""
    module = importlib.import_module(function(name).module)
    return module.handler(event, context_for(name))


def invoke_as_lambda(name: str, event: Any) -> tuple[str, bool]:
    """Like Lambda's Invoke API: (JSON payload, errored). Errors become Lambda's error payload."""
    try:
        return json.dumps(invoke(name, event)), False
    except Exception as exc:
        payload = {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "stackTrace": traceback.format_exception(exc)[-5:],
        }
        return json.dumps(payload), True
