"""Run the real API handlers in-process on sample events, with the domain behind them faked.

No AWS and no sockets: each test swaps the composition root (`toolkit()` / `mobile()`) for a fake.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any

from tests.helpers import ROOT, event, reply

REQUEST_ID = "rq-5f1d2c3b-7e8a-4b9c-8d0e-1f2a3b4c5d6e"


@dataclass
class Context:
    function_name: str = "test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id: str = "lambda-request-id"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


@cache
def handler_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"handler_{name}", ROOT / "functions" / name / "handler.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def call(name: str, body: Any = None, *, sample: str | None = None, path: str | None = None,
         **kw: Any) -> tuple[int, Any]:
    """(status, JSON answer) of function `name` for a sample event (its own by default) with this body."""
    ev = event(sample or name, body, **kw)
    ev["requestContext"]["requestId"] = REQUEST_ID
    if path is not None:
        ev["path"] = ev["resource"] = ev["requestContext"]["resourcePath"] = path
    return reply(handler_module(name).handler(ev, Context()))
