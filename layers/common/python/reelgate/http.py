"""API Gateway REST proxy events in, proxy responses out; strict JSON bodies; request ids."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

# Deepest JSON body accepted: far above any valid request (3 levels), and well under DynamoDB's
# 32-level limit once a body is stored inside a job record.
MAX_JSON_DEPTH = 16
_MAX_DIGITS = 64  # an integer literal longer than this is no request's number (Python would take 4300)
_SURROGATE = re.compile("[\ud800-\udfff]")  # only a lone \uXXXX escape can put one in a str


class InvalidJson(ValueError):
    """The body is not JSON Reelgate accepts; the message says why, in words safe to show the caller."""


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


def strict_json(text: str | bytes) -> Any:
    """Parse a request body as strict JSON (RFC 8259): no NaN or Infinity (Python's json takes them,
    and 1e400 becomes inf), at most MAX_JSON_DEPTH levels, no lone UTF-16 surrogates in strings."""
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite, parse_int=_short_int)
    except RecursionError as exc:
        raise InvalidJson(f"nested more than {MAX_JSON_DEPTH} levels deep") from exc
    except UnicodeDecodeError as exc:
        raise InvalidJson("the body is not UTF-8 text") from exc
    except ValueError as exc:  # JSONDecodeError and the refusals below
        raise InvalidJson(str(exc.args[0]) if exc.args else "not JSON") from exc
    _check_tree(value)
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is out of range")
    return number


def _short_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_DIGITS:
        raise ValueError(f"a number has more than {_MAX_DIGITS} digits")
    return int(text)


def _check_tree(value: Any) -> None:
    """Depth and strings of a parsed body, walked without recursion."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise InvalidJson(f"nested more than {MAX_JSON_DEPTH} levels deep")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
        elif isinstance(item, str) and _SURROGATE.search(item):
            raise InvalidJson("a string holds an unpaired UTF-16 surrogate (\\ud800-\\udfff)")


def source_ip(event: dict[str, Any]) -> str | None:
    """The caller's address as API Gateway saw it (REST proxy events), if the event has one."""
    identity = (event.get("requestContext") or {}).get("identity") or {}
    value = identity.get("sourceIp")
    return value if isinstance(value, str) and value else None


def request_id(event: dict[str, Any], context: Any) -> str:
    """The id a caller can quote to find a request in the logs: API Gateway's, else Lambda's."""
    found = (event.get("requestContext") or {}).get("requestId") or getattr(context, "aws_request_id", None)
    return str(found or "unknown")
