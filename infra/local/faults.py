"""Faults on demand: AWS's real failure answers, per function and per operation, switched on by tests.

A rule matches requests by the calling function (from its credentials), service and operation, and
either answers with an AWS error (TransactionConflict, throttling, any error code), delays the call, or
makes the calling invocation time out right there (`timeout`: Lambda kills it, as if its timeout had
struck at that point). Rules fire `count` times
(unlimited when absent) with `probability` (1 when absent).
"""

from __future__ import annotations

import json
import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

JSON_SERVICES_STATUS = 400
CONFLICT_REASON = {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}


@dataclass
class Rule:
    service: str
    operation: str
    function: str = "*"
    error: str | None = None  # "TransactionConflict", "Throttling" or any AWS error code
    delay: float = 0.0
    timeout: bool = False  # the calling function's invocation times out at this call (killed, no cleanup)
    count: int | None = None
    probability: float = 1.0
    fired: int = 0

    def matches(self, function: str | None, service: str, operation: str) -> bool:
        return (self.function in ("*", function) and self.service == service
                and self.operation in ("*", operation) and (self.count is None or self.fired < self.count))


@dataclass
class Faults:
    rules: list[Rule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _random: random.Random = field(default_factory=lambda: random.Random(7))  # noqa: S311 - not security

    def replace(self, rules: list[dict[str, Any]]) -> None:
        parsed = [Rule(**{k: v for k, v in rule.items() if k != "fired"}) for rule in rules]
        with self._lock:
            self.rules = parsed

    def report(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(rule) for rule in self.rules]

    def pick(self, function: str | None, service: str, operation: str) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(function, service, operation) and self._random.random() < rule.probability:
                    rule.fired += 1
                    return rule
        return None


def error_answer(rule: Rule, service: str, operation: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    """The HTTP answer AWS gives for the rule's error, in the service's wire format."""
    assert rule.error is not None
    if service == "s3":
        code = "SlowDown" if rule.error == "Throttling" else rule.error
        xml = f"<Error><Code>{code}</Code><Message>Injected {code}</Message></Error>"
        return (503 if code == "SlowDown" else 400), {"Content-Type": "application/xml"}, xml.encode()
    answer: dict[str, Any]
    if rule.error == "TransactionConflict" and operation == "TransactWriteItems":
        items = len(json.loads(body or b"{}").get("TransactItems", [])) or 1
        reasons = [CONFLICT_REASON] + [{"Code": "None"}] * (items - 1)
        answer = {"__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                  "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons "
                             f"[{', '.join(r['Code'] for r in reasons)}]",
                  "CancellationReasons": reasons}
    else:
        code = {"TransactionConflict": "TransactionConflictException",
                "Throttling": "ThrottlingException"}.get(rule.error, rule.error)
        answer = {"__type": f"com.amazonaws.dynamodb.v20120810#{code}" if service == "dynamodb" else code,
                  "message": f"Injected {code}"}
    content_type = "application/x-amz-json-1.0" if service == "dynamodb" else "application/x-amz-json-1.1"
    return JSON_SERVICES_STATUS, {"Content-Type": content_type}, json.dumps(answer).encode()
