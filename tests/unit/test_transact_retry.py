"""Transaction.commit: conflicts and throttling retried with jitter within the deadline, Busy after."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from reelgate import deadline
from reelgate.transact import Backoff, Busy, Transaction


def cancelled(*codes: str) -> ClientError:
    return ClientError({"Error": {"Code": "TransactionCanceledException",
                                  "Message": "Transaction cancelled ... arn:aws:dynamodb:us-east-1:1:table/x"},
                        "CancellationReasons": [{"Code": code} for code in codes]}, "TransactWriteItems")


def error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "AWS's own words"}}, "TransactWriteItems")


class Client:
    def __init__(self, *outcomes: Exception | None) -> None:
        self.outcomes, self.calls = list(outcomes), 0

    def transact_write_items(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        return {}


def tx() -> Transaction:
    t = Transaction()
    t.update("state", {"pk": "a"}, "ADD n :one", values={":one": 1})
    t.update("state", {"pk": "b"}, "ADD n :one", values={":one": 1})
    return t


def test_a_transaction_conflict_is_retried_after_a_jittered_wait() -> None:
    client, waits = Client(cancelled("None", "TransactionConflict"), error("ThrottlingException")), []

    assert tx().commit(client, sleep=waits.append, rng=lambda: 0.5) == set()

    assert client.calls == 3
    assert waits == [0.5 * 0.02, 0.5 * 0.04]  # uniform(0, base * 2**attempt)


def test_conflicts_that_outlast_the_attempts_raise_busy_without_aws_text() -> None:
    client = Client(*[cancelled("TransactionConflict", "None")] * 10)

    with pytest.raises(Busy) as busy:
        tx().commit(client, backoff=Backoff(attempts=4), sleep=lambda _: None)

    assert client.calls == 4
    assert str(busy.value) == "the service is busy; nothing was changed, please retry shortly"


def test_no_wait_starts_that_would_run_into_the_deadline() -> None:
    client, waits = Client(*[cancelled("TransactionConflict")] * 10), []

    with deadline.bounded(2.5), pytest.raises(Busy):
        tx().commit(client, backoff=Backoff(attempts=10, base=1.0, cap=1.0, reserve=2.0), sleep=waits.append,
                    rng=lambda: 1.0)

    assert client.calls == 1 and waits == []  # 1 s of waiting would leave less than the 2 s reserve


def test_failed_conditions_are_answered_at_once_even_beside_a_conflict() -> None:
    client = Client(cancelled("ConditionalCheckFailed", "TransactionConflict"))

    assert tx().commit(client, sleep=lambda _: pytest.fail("no retry")) == {0}
    assert client.calls == 1


def test_other_errors_are_not_retried() -> None:
    client = Client(error("ValidationException"))

    with pytest.raises(ClientError):
        tx().commit(client, sleep=lambda _: pytest.fail("no retry"))
    assert client.calls == 1
