"""Toolkit API keys: stored hashed, each with a credit balance and a webhook signing secret."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError
from pydantic import BaseModel

from reelgate.dynamo import from_dynamo
from reelgate.errors import NotFound
from reelgate.jobs import now_iso

PREFIX = "apikey#"


def key_hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


class ApiKey(BaseModel):
    key_id: str  # first 16 hex digits of the hash: safe to show and log
    name: str
    credits: int
    active: int = 0  # unfinished jobs holding this key's slot (the per-key cap; see toolkit.ledger)
    webhook_secret: str
    revoked: bool = False
    created_at: str

    @property
    def owner(self) -> str:
        return f"key#{self.key_id}"

    @property
    def pk(self) -> str:
        return PREFIX + self.key_id


def pk_for(plaintext: str) -> str:
    return PREFIX + key_hash(plaintext)[:16]


class ApiKeys:
    def __init__(self, table: Any) -> None:
        self._table = table

    def create(self, name: str, credits: int, plaintext: str | None = None) -> tuple[str, ApiKey]:
        from reelgate.webhooks import new_secret  # httpx, standardwebhooks: only where keys are created

        plaintext = plaintext or "rg_" + secrets.token_urlsafe(32)
        digest = key_hash(plaintext)
        key = ApiKey(key_id=digest[:16], name=name, credits=credits, webhook_secret=new_secret(),
                     created_at=now_iso())
        item = key.model_dump() | {"pk": key.pk, "hash": digest}
        self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        return plaintext, key

    def authenticate(self, plaintext: str | None) -> ApiKey | None:
        """The key's record if `plaintext` is a valid, unrevoked key; the full hash is compared."""
        if not plaintext:
            return None
        digest = key_hash(plaintext)
        item = self._table.get_item(Key={"pk": PREFIX + digest[:16]}, ConsistentRead=True).get("Item")
        if not item or item.get("revoked") or not secrets.compare_digest(str(item.get("hash", "")), digest):
            return None
        return ApiKey.model_validate(from_dynamo(item))

    def get(self, key_id: str) -> ApiKey:
        item = self._table.get_item(Key={"pk": PREFIX + key_id}, ConsistentRead=True).get("Item")
        if not item:
            raise NotFound(f"no API key {key_id}")
        return ApiKey.model_validate(from_dynamo(item))

    def list(self) -> list[ApiKey]:
        items: list[dict[str, Any]] = []
        scan: dict[str, Any] = {"FilterExpression": Attr("pk").begins_with(PREFIX)}
        while True:
            page = self._table.scan(**scan)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return [ApiKey.model_validate(from_dynamo(i)) for i in items]
            scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def revoke(self, key_id: str) -> None:
        self._update(key_id, "SET revoked = :t", {":t": True})

    def top_up(self, key_id: str, amount: int) -> int:
        if amount <= 0:
            raise ValueError("a top-up must be a positive number of credits")
        return int(self._update(key_id, "ADD credits :a", {":a": amount})["credits"])

    def _update(self, key_id: str, expression: str, values: dict[str, Any]) -> dict[str, Any]:
        try:
            result = self._table.update_item(
                Key={"pk": PREFIX + key_id}, UpdateExpression=expression, ExpressionAttributeValues=values,
                ConditionExpression="attribute_exists(pk)", ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise NotFound(f"no API key {key_id}") from exc
            raise
        return dict(result["Attributes"])
