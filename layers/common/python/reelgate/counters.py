"""Counters in the state table (queue slots, per-user slots, monthly quotas).

A counter that can be recounted carries a revision (`rev` next to `count`) that every change bumps
in the same write; a recount only stores its result if the revision did not move while it counted.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Snapshot:
    value: int  # as stored (may be negative after a drift; readers clamp at zero)
    rev: int | None  # None: the item or its revision does not exist yet
    exists: bool


def snapshot(client: Any, table: str, pk: str, *, attr: str = "count", rev: str = "rev") -> Snapshot:
    item = client.get_item(TableName=table, Key={"pk": {"S": pk}}, ConsistentRead=True).get("Item")
    if item is None:
        return Snapshot(0, None, False)
    number = item.get(rev, {}).get("N")
    return Snapshot(int(item.get(attr, {}).get("N", "0")), int(number) if number is not None else None, True)


def reset(client: Any, table: str, pk: str, value: int, *, seen: Snapshot, attr: str = "count",
          rev: str = "rev", must_exist: bool = False) -> bool:
    """Store `value` if the counter's revision is still the one `seen`; False when it moved (count again)."""
    unchanged = "attribute_not_exists(#rev)" if seen.rev is None else "#rev = :rev"
    values: dict[str, Any] = {":value": {"N": str(value)}, ":one": {"N": "1"}}
    if seen.rev is not None:
        values[":rev"] = {"N": str(seen.rev)}
    condition = f"attribute_exists(pk) AND {unchanged}" if must_exist else unchanged
    try:
        client.update_item(
            TableName=table, Key={"pk": {"S": pk}}, UpdateExpression="SET #attr = :value ADD #rev :one",
            ConditionExpression=condition, ExpressionAttributeNames={"#attr": attr, "#rev": rev},
            ExpressionAttributeValues=values,
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def items_with_prefix(client: Any, table: str, prefix: str, *attrs: str) -> list[dict[str, Any]]:
    """Every item whose `pk` starts with `prefix` (a consistent scan), with `pk` and `attrs` only, as
    DynamoDB returns them ({"pk": {"S": ...}, ...})."""
    names = {f"#a{i}": name for i, name in enumerate(("pk", *attrs))}
    scan: dict[str, Any] = {"TableName": table, "ConsistentRead": True, "ProjectionExpression": ", ".join(names),
                            "FilterExpression": "begins_with(#a0, :prefix)", "ExpressionAttributeNames": names,
                            "ExpressionAttributeValues": {":prefix": {"S": prefix}}}
    items: list[dict[str, Any]] = []
    while True:
        page = client.scan(**scan)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return items
        scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]
