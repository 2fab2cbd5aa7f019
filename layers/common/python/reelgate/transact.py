"""All-or-nothing writes across Reelgate's tables (DynamoDB TransactWriteItems)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from reelgate.dynamo import to_dynamo

_serializer = TypeSerializer()


def serialize(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in to_dynamo(values).items()}


@dataclass
class Transaction:
    """Collects conditional writes; `commit` returns the indexes of the writes whose condition failed."""

    items: list[dict[str, Any]] = field(default_factory=list)

    def update(self, table: str, key: dict[str, Any], expression: str, *, condition: str | None = None,
               names: dict[str, str] | None = None, values: dict[str, Any] | None = None) -> int:
        update: dict[str, Any] = {"TableName": table, "Key": serialize(key), "UpdateExpression": expression}
        if condition:
            update["ConditionExpression"] = condition
        if names:
            update["ExpressionAttributeNames"] = names
        if values:
            update["ExpressionAttributeValues"] = serialize(values)
        self.items.append({"Update": update})
        return len(self.items) - 1

    def put(self, table: str, item: dict[str, Any], *, condition: str) -> int:
        self.items.append({"Put": {"TableName": table, "Item": serialize(item), "ConditionExpression": condition}})
        return len(self.items) - 1

    def commit(self, client: Any) -> set[int]:
        try:
            client.transact_write_items(TransactItems=self.items)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons") or []
            failed = {i for i, r in enumerate(reasons) if r.get("Code") == "ConditionalCheckFailed"}
            if not failed:
                raise
            return failed
        return set()
