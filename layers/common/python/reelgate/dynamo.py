"""Plain Python values <-> DynamoDB attribute values (floats travel as Decimal)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

# DynamoDB's smallest magnitude; boto3 raises `decimal.Underflow` on anything nearer zero (a valid float
# such as 5e-324 in a request would otherwise be a 500). Such a value is zero for every purpose here.
_SMALLEST = Decimal("1e-130")


def _number(text: str) -> Decimal:
    value = Decimal(text)
    return Decimal(0) if abs(value) < _SMALLEST else value


def to_dynamo(value: Any) -> Any:
    """JSON-compatible value -> value the boto3 resource layer accepts (no floats)."""
    return json.loads(json.dumps(value), parse_float=_number)


def from_dynamo(value: Any) -> Any:
    """Value read through the boto3 resource layer -> plain JSON-compatible Python."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [from_dynamo(v) for v in value]
    return value
