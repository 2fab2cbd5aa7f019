"""Counters in the state table (queue slots, per-user slots, monthly quotas)."""

from __future__ import annotations

import contextlib
from typing import Any


def read(client: Any, table: str, pk: str) -> int:
    item = client.get_item(TableName=table, Key={"pk": {"S": pk}}, ConsistentRead=True).get("Item", {})
    return max(int(item.get("count", {}).get("N", "0")), 0)


def decrement(client: Any, table: str, pk: str) -> None:
    """Count one down, never below zero."""
    with contextlib.suppress(client.exceptions.ConditionalCheckFailedException):
        client.update_item(
            TableName=table, Key={"pk": {"S": pk}}, UpdateExpression="ADD #n :minus",
            ConditionExpression="#n > :zero", ExpressionAttributeNames={"#n": "count"},
            ExpressionAttributeValues={":minus": {"N": "-1"}, ":zero": {"N": "0"}},
        )
