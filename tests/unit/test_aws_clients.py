"""aws.client / aws.table: one per service (or table) and process, made on its first use."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from reelgate import aws


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    aws.reset()
    yield
    aws.reset()


def test_a_client_is_made_on_its_first_use_and_only_once(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []

    def make(service: str) -> SimpleNamespace:
        made.append(service)
        return SimpleNamespace(describe=lambda: f"{service} answer")

    monkeypatch.setattr(aws, "_client", make)
    events, s3 = aws.client("events"), aws.client("s3")
    assert made == []  # wired, not made: a request that never calls EventBridge never pays for its client
    assert s3.describe() == "s3 answer"
    assert s3.describe() == "s3 answer"
    assert aws.client("s3") is s3
    assert made == ["s3"]
    assert events.describe() == "events answer"
    assert made == ["s3", "events"]


def test_a_table_is_made_on_its_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []
    monkeypatch.setattr(aws, "_table", lambda name: made.append(name) or SimpleNamespace(name=name))
    jobs = aws.table("jobs")
    assert made == []
    assert jobs.name == "jobs"
    assert made == ["jobs"]


def test_the_stand_in_forwards_to_a_real_boto3_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    s3 = aws.client("s3")
    assert s3.meta.service_model.service_name == "s3"
    assert s3.exceptions.NoSuchKey.__name__ == "NoSuchKey"


def test_every_table_shares_one_dynamodb_resource_and_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """A resource makes a client of its own (service model, endpoint rules): one is enough for all tables."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    jobs, state = aws.table("jobs"), aws.table("state")
    assert (jobs.name, state.name) == ("jobs", "state")
    assert jobs.meta.client is state.meta.client
