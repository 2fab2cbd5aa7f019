"""Fixed-window rate limits kept in the state table: one conditional counter per key and window."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError


class RateLimiter:
    def __init__(self, table: Any, *, clock: Callable[[], float] = time.time) -> None:
        self._table, self._clock = table, clock

    def take(self, key: str, limit: int, window_seconds: int) -> bool:
        """Count one use of `key` in the current window; False (nothing counted) once `limit` are used.

        A limit of 0 or less means unlimited. Windows are aligned to the epoch and expire by TTL."""
        if limit <= 0:
            return True
        window = int(self._clock() // window_seconds)
        try:
            self._table.update_item(
                Key={"pk": f"rate#{key}#{window}"},
                UpdateExpression="ADD #n :one SET expires_at = if_not_exists(expires_at, :ttl)",
                ConditionExpression="attribute_not_exists(#n) OR #n < :limit",
                ExpressionAttributeNames={"#n": "count"},
                ExpressionAttributeValues={":one": 1, ":limit": limit, ":ttl": (window + 2) * window_seconds},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True
