"""Business metrics reach CloudWatch as EMF records in the function's log, one per fact."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from reelgate import metrics
from reelgate.events import JobEvents
from reelgate.jobs import Job, JobStatus


def _records(out: str) -> list[dict[str, Any]]:
    found = []
    for line in out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            record = json.loads(line)
            directive = record["_aws"]["CloudWatchMetrics"][0]
            name = directive["Metrics"][0]["Name"]
            value = record[name][0] if isinstance(record[name], list) else record[name]
            found.append({"name": name, "value": value, "namespace": directive["Namespace"],
                          "dimensions": {d: record[d] for d in directive["Dimensions"][0]}})
    return found


@pytest.fixture(autouse=True)
def in_a_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "toolkit_settle")


def _job(status: JobStatus, *, age: float = 0) -> Job:
    created = (datetime.now(UTC) - timedelta(seconds=age)).isoformat()
    return Job(job_id="j-1", kind="toolkit.image_to_video", owner="key#k", status=status, input={},
               created_at=created, provider={"name": "reelgate"})


def test_every_job_state_change_counts_once_by_kind_and_provider(capsys: pytest.CaptureFixture[str]) -> None:
    events = JobEvents(client=None, bus="")  # no bus: metrics still go out
    events.changed(_job(JobStatus.QUEUED), None)
    events.changed(_job(JobStatus.RUNNING), JobStatus.QUEUED)
    events.changed(_job(JobStatus.FAILED, age=12), JobStatus.RUNNING)

    found = _records(capsys.readouterr().out)
    assert [r["name"] for r in found] == ["JobsAccepted", "JobsFailed", "JobDuration"]
    assert all(r["dimensions"] == {"Kind": "toolkit.image_to_video", "Provider": "reelgate"} for r in found)
    assert all(r["namespace"] == "Reelgate" for r in found)
    assert 12 <= found[2]["value"] < 60


def test_outside_a_lambda_nothing_is_written(capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME")  # the operator's command line runs the same code
    metrics.credits(spent=10)
    assert _records(capsys.readouterr().out) == []


def test_provider_errors_webhook_attempts_credits_and_queue_depth(capsys: pytest.CaptureFixture[str]) -> None:
    metrics.provider_error("pixverse", "500044")
    metrics.webhook_attempt(delivered=False)
    metrics.credits(spent=10)
    metrics.credits(spent=0, refunded=10)
    metrics.queue_depth(3)

    found = _records(capsys.readouterr().out)
    assert [(r["name"], r["value"], r["dimensions"]) for r in found] == [
        ("ProviderErrors", 1.0, {"Provider": "pixverse"}),
        ("ProviderErrorsByCode", 1.0, {"Provider": "pixverse", "Code": "500044"}),
        ("WebhookAttempts", 1.0, {"Outcome": "failed"}),
        ("CreditsSpent", 10.0, {}),
        ("CreditsRefunded", 10.0, {}),
        ("QueueDepth", 3.0, {}),
    ]
