"""All-or-nothing writes across Reelgate's tables (DynamoDB TransactWriteItems).

A transaction DynamoDB cancels for a reason that is not ours (another transaction touching the same
item: `TransactionConflict`; throttling) wrote nothing, so it is retried with jittered exponential
backoff, never past the invocation's deadline. When the retries run out the caller gets `Busy`, a
stable message with nothing written; AWS's own text goes to the logs only.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from reelgate import deadline
from reelgate.dynamo import to_dynamo
from reelgate.errors import ReelgateError
from reelgate.observability import logger

_serializer = TypeSerializer()

# Cancellation reasons and error codes that mean "nothing was written, the same request may succeed later".
RETRYABLE_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded",
                               "RequestLimitExceeded"})
RETRYABLE_ERRORS = frozenset({"ThrottlingException", "ProvisionedThroughputExceededException",
                              "RequestLimitExceeded", "TransactionConflictException",
                              "TransactionInProgressException"})


class Busy(ReelgateError):
    """Concurrent writers or throttling outlasted the retries; nothing was written."""

    def __init__(self) -> None:
        super().__init__("the service is busy; nothing was changed, please retry shortly")


@dataclass(frozen=True)
class Backoff:
    """Full-jitter exponential backoff: attempt n waits uniform(0, min(cap, base * 2**n)) seconds."""

    attempts: int = 8
    base: float = 0.02
    cap: float = 1.0
    # Never start a wait that would leave less than this much of the invocation to the caller.
    reserve: float = 2.0

    def delay(self, attempt: int, rng: Callable[[], float]) -> float:
        return rng() * min(self.cap, self.base * 2**attempt)


DEFAULT_BACKOFF = Backoff()


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

    def commit(self, client: Any, *, backoff: Backoff = DEFAULT_BACKOFF, sleep: Callable[[float], None] = time.sleep,
               rng: Callable[[], float] = random.random) -> set[int]:
        """Write everything or nothing; the indexes whose condition failed, or Busy when retries run out."""
        for attempt in range(backoff.attempts):
            try:
                client.transact_write_items(TransactItems=self.items)
                return set()
            except ClientError as exc:
                failed, retryable = _classify(exc)
                if failed:
                    return failed
                if not retryable:
                    raise
                wait = backoff.delay(attempt, rng)
                last = attempt + 1 >= backoff.attempts or deadline.remaining() < wait + backoff.reserve
                logger.info("transaction not applied; " + ("giving up" if last else "retrying"),
                            extra={"attempt": attempt + 1, "reason": _reason(exc), "wait": round(wait, 3)})
                if last:
                    raise Busy from exc
                sleep(wait)
        raise Busy  # attempts < 1: nothing was tried


def _classify(exc: ClientError) -> tuple[set[int], bool]:
    """(indexes whose condition failed, whether the whole request may simply be retried)."""
    error = exc.response.get("Error", {}).get("Code", "")
    if error != "TransactionCanceledException":
        return set(), error in RETRYABLE_ERRORS
    reasons = [r.get("Code") or "None" for r in exc.response.get("CancellationReasons") or []]
    failed = {i for i, code in enumerate(reasons) if code == "ConditionalCheckFailed"}
    others = {code for code in reasons if code not in ("None", "ConditionalCheckFailed")}
    return failed, bool(others) and others <= RETRYABLE_REASONS


def _reason(exc: ClientError) -> str:
    reasons = [r.get("Code") or "None" for r in exc.response.get("CancellationReasons") or []]
    return ",".join(reasons) or exc.response.get("Error", {}).get("Code", "unknown")
