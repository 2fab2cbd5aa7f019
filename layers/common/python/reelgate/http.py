"""API Gateway REST proxy events in, proxy responses out."""

from __future__ import annotations

import base64
import json
from typing import Any


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"} | (headers or {}),
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def raw_body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    return base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8")
