"""DynamoDB faults moto never produces, injected on one boto3 client, and a lock that makes moto's
DynamoDB safe to call from many threads.

moto's TransactWriteItems deep-copies the tables and restores the copy when a transaction fails, so
two threads inside it at once lose each other's writes (real DynamoDB serialises per item). Tests
that run admissions in parallel hold `serial_moto_dynamodb()` so that every lost update they could
observe is the code's, not moto's.
"""

from __future__ import annotations

import contextlib
import json
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from botocore.awsrequest import AWSResponse
from moto.core.botocore_stubber import BotocoreStubber


def transaction_conflict(items: int, *, at: int = 0) -> tuple[AWSResponse, dict[str, Any]]:
    """What DynamoDB answers when another transaction holds item `at`: nothing was written."""
    reasons = [{"Code": "None"} for _ in range(items)]
    reasons[min(at, items - 1)] = {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
    listed = ", ".join(r["Code"] for r in reasons)
    parsed = {
        "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled, please refer "
                  f"cancellation reasons for specific reasons [{listed}]"},
        "CancellationReasons": reasons,
        "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": "injected"},
    }
    return AWSResponse("https://dynamodb.us-east-1.amazonaws.com/", 400, {}, None), parsed


class ConflictInjector:
    """A `before-call` hook on TransactWriteItems answering TransactionConflict to some transactions.

    `first_attempts` of the transactions picked by `share` (out of 10, chosen by a hash of the items,
    so the same transaction retried is recognised) are cancelled; later attempts reach moto.
    """

    def __init__(self, *, share: int = 4, first_attempts: int = 2,
                 pick: Callable[[str], bool] | None = None) -> None:
        self.share, self.first_attempts = share, first_attempts
        self._pick = pick
        self.attempts: Counter[str] = Counter()
        self.injected = 0
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        body = json.loads(params["body"])
        body.pop("ClientRequestToken", None)  # a fresh token per call: not part of "the same transaction"
        identity = json.dumps(body, sort_keys=True)
        with self._lock:
            self.calls += 1
            self.attempts[identity] += 1
            picked = self._pick(identity) if self._pick else zlib.crc32(identity.encode()) % 10 < self.share
            if not picked or self.attempts[identity] > self.first_attempts:
                return None
            self.injected += 1
        items = len(body["TransactItems"])
        return transaction_conflict(items, at=items - 1)

    def install(self, client: Any) -> None:
        client.meta.events.register("before-call.dynamodb.TransactWriteItems", self)

    def uninstall(self, client: Any) -> None:
        client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", self)


@contextlib.contextmanager
def serial_moto_dynamodb() -> Iterator[None]:
    """Let one DynamoDB request at a time into moto (other services run as before)."""
    lock = threading.RLock()
    original = BotocoreStubber.__call__

    def serialised(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
        if "dynamodb" not in str(getattr(request, "url", "")):
            return original(self, event_name, request, **kwargs)
        with lock:
            return original(self, event_name, request, **kwargs)

    BotocoreStubber.__call__ = serialised  # type: ignore[method-assign]
    try:
        yield
    finally:
        BotocoreStubber.__call__ = original  # type: ignore[method-assign]
