"""GET /health: answers when the API and its function runtime are up."""

from __future__ import annotations

from typing import Any

from reelgate.http import json_response
from reelgate.observability import logger


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return json_response(200, {"status": "ok"})
