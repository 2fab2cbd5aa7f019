"""The scheduled counter_drift function on moto: `CounterDrift` (by Counter) is the distance between each
queue or slot counter and the jobs really holding it: 0 when in step, the drift when not; it changes
nothing, and an admission landing during its scan is not drift."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from reelgate import aws, counters, drift
from reelgate.jobs import Job, JobStatus, JobStore
from reelgate.mobile.access import Limits
from reelgate.mobile.apps import App
from reelgate.toolkit.keys import ApiKey, ApiKeys
from reelgate.toolkit.ledger import ACTIVE, ACTIVE_REV, QUEUE_PK, Ledger

from infra.local import lambdas
from tests.helpers import ROOT

APP = App(bundle_id="com.example.app", apphud_key_ref="env:NONE", concurrent_generations=2, monthly_generations=9)
PRICE = 35


@pytest.fixture
def tables(cloud: Any) -> dict[str, str]:
    return {"jobs_table": cloud.env["REELGATE_JOBS_TABLE"], "state_table": cloud.env["REELGATE_STATE_TABLE"]}


@pytest.fixture
def in_a_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "counter_drift")  # metrics are written by functions only


def admit_toolkit_job(tables: dict[str, str], key: ApiKey) -> Job:
    job = Job(kind="toolkit.concatenate", owner=key.owner, cost=PRICE, input={"endpoint": "/v1/video/concatenate"})
    Ledger(aws.client("dynamodb"), **tables, max_queue_length=10).admit(job, key, PRICE)
    return job


def start_mobile_job(tables: dict[str, str], user: str) -> Job:
    """A running Pixverse generation holding a slot lease, as Submissions.open and hand_over leave it."""
    job = Job(kind="pixverse.text2video", owner=f"app#{APP.bundle_id}#{user}", status=JobStatus.RUNNING)
    held = Limits(aws.client("dynamodb"), tables["state_table"]).reserve(APP, user, job.job_id, 600)
    job.provider = {"name": "pixverse", "month": held.month, "slot": held.slot}
    JobStore(aws.table(tables["jobs_table"])).create(job)
    return job


def set_number(tables: dict[str, str], pk: str, attr: str, value: int) -> None:
    aws.client("dynamodb").update_item(
        TableName=tables["state_table"], Key={"pk": {"S": pk}}, UpdateExpression="SET #a = :n",
        ExpressionAttributeNames={"#a": attr}, ExpressionAttributeValues={":n": {"N": str(value)}})


def emitted(out: str) -> dict[str, float]:
    """CounterDrift values by Counter, from the EMF records in the function's output."""
    found = {}
    for line in out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            record = json.loads(line)
            if record["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] == "CounterDrift":
                value = record["CounterDrift"]
                found[record["Counter"]] = value[0] if isinstance(value, list) else value
    return found


def logged(caplog: pytest.LogCaptureFixture) -> dict[str, tuple[int, int]]:
    """(stored, running) of each counter, from the function's log records."""
    return {record.counter: (record.stored, record.running)  # type: ignore[attr-defined]
            for record in caplog.records if record.getMessage() == "counter drift"}


def test_counters_in_step_emit_zero_drift_for_every_counter(tables, in_a_lambda, capsys, caplog) -> None:
    key = ApiKeys(aws.table(tables["state_table"])).create("k", credits=1000)[1]
    admit_toolkit_job(tables, key)
    admit_toolkit_job(tables, key)
    start_mobile_job(tables, "u1")

    answer = lambdas.invoke("counter_drift", json.loads((ROOT / "events" / "counter_drift.json").read_text()))

    out = capsys.readouterr().out
    assert emitted(out) == {"toolkit_queue": 0, "toolkit_keys": 0, "mobile_slots": 0}
    assert logged(caplog) == {"toolkit_queue": (2, 2), "toolkit_keys": (2, 2), "mobile_slots": (1, 1)}
    assert {row["counter"]: row["drift"] for row in answer["counters"]} == dict.fromkeys(drift.COUNTERS, 0)


def test_drifted_counters_emit_their_drift_and_are_left_as_they_are(tables, in_a_lambda, capsys,
                                                                    caplog) -> None:
    keys = ApiKeys(aws.table(tables["state_table"]))
    first, second = keys.create("a", credits=1000)[1], keys.create("b", credits=1000)[1]
    admit_toolkit_job(tables, first)
    set_number(tables, QUEUE_PK, "count", 4)  # 3 more than the one job holding a queue slot
    set_number(tables, first.pk, ACTIVE, 3)  # 2 over
    set_number(tables, second.pk, ACTIVE, 2)  # 2 over, with no job at all: per key, so 4 in all
    ended = start_mobile_job(tables, "u1")
    JobStore(aws.table(tables["jobs_table"])).transition(ended.job_id, JobStatus.SUCCEEDED)  # lease never released
    unleased = start_mobile_job(tables, "u2")
    aws.client("dynamodb").delete_item(TableName=tables["state_table"],
                                       Key={"pk": {"S": f"slot#{APP.bundle_id}#u2#0"}})  # its lease is gone

    lambdas.invoke("counter_drift", {})

    out = capsys.readouterr().out
    assert emitted(out) == {"toolkit_queue": 3, "toolkit_keys": 4, "mobile_slots": 2}
    assert logged(caplog) == {"toolkit_queue": (4, 1), "toolkit_keys": (5, 1), "mobile_slots": (1, 1)}
    client = aws.client("dynamodb")
    assert counters.snapshot(client, tables["state_table"], QUEUE_PK).value == 4  # read-only
    assert counters.snapshot(client, tables["state_table"], second.pk, attr=ACTIVE, rev=ACTIVE_REV).value == 2
    assert unleased.job_id not in {item["job_id"]["S"] for item in counters.items_with_prefix(
        client, tables["state_table"], "slot#", "job_id")}


def test_an_admission_during_the_scan_is_not_drift(tables, monkeypatch) -> None:
    key = ApiKeys(aws.table(tables["state_table"])).create("k", credits=1000)[1]
    admit_toolkit_job(tables, key)
    scan = drift.unfinished
    calls: list[int] = []

    def scan_while_another_job_is_admitted(*args: Any, **kwargs: Any) -> list[Job]:
        jobs = scan(*args, **kwargs)
        if not calls:  # after the scan, before the second read of the counters: an admission lands
            admit_toolkit_job(tables, key)
        calls.append(len(jobs))
        return jobs

    monkeypatch.setattr(drift, "unfinished", scan_while_another_job_is_admitted)
    found = {item.counter: item for item in drift.measure(aws.client("dynamodb"), **tables, clock=time.time)}

    assert calls == [1, 2]  # the counters moved, so it measured again
    assert found["toolkit_queue"] == drift.Drift("toolkit_queue", 2, 2, 0)
    assert found["toolkit_keys"].drift == 0


def test_admin_counters_drift_reports_without_changing_anything(tables, capsys) -> None:
    from infra import admin

    key = ApiKeys(aws.table(tables["state_table"])).create("k", credits=1000)[1]
    admit_toolkit_job(tables, key)
    set_number(tables, key.pk, ACTIVE, 4)

    assert admin.main(["counters", "drift"]) == 0

    report = {row["counter"]: row for row in json.loads(capsys.readouterr().out)}
    assert report["toolkit_keys"] == {"counter": "toolkit_keys", "stored": 4, "running": 1, "drift": 3}
    assert counters.snapshot(aws.client("dynamodb"), tables["state_table"], key.pk, attr=ACTIVE,
                             rev=ACTIVE_REV).value == 4
