"""The counter_drift function: an EventBridge schedule of the stage's period, alarms on CounterDrift (by
Counter) at the stage's threshold to the alarm topic, and a role that can only read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from infra_helpers import Synth, actions_of, as_list, of_type, role_id_of, role_statements, synthesize
from pydantic import ValidationError
from reelgate.drift import COUNTERS

from infra import registry
from infra.app import CDK_JSON, stage_of

STAGES = json.loads(CDK_JSON.read_text())["context"]["stages"]
WRITES = ("Put", "Update", "Delete", "BatchWrite", "TransactWrite", "Create")


def rule_of(stage: Synth, function: str) -> dict[str, Any]:
    arn = {"Fn::GetAtt": [stage.function_id(function), "Arn"]}
    rules = [r["Properties"] for r in of_type(stage.resources, "AWS::Events::Rule").values()
             if any(t["Arn"] == arn for t in r["Properties"].get("Targets", []))]
    assert len(rules) == 1
    return rules[0]


def drift_alarms(stage: Synth) -> dict[str, dict[str, Any]]:
    alarms = [a["Properties"] for a in of_type(stage.resources, "AWS::CloudWatch::Alarm").values()]
    return {a["Dimensions"][0]["Value"]: a for a in alarms if a.get("MetricName") == "CounterDrift"}


def test_counter_drift_runs_on_the_stages_schedule_without_retries(synth: Synth, prod: Synth) -> None:
    assert registry.SCHEDULED == ("counter_drift",)
    for stage, name in ((synth, "dev"), (prod, "prod")):
        rule = rule_of(stage, "counter_drift")
        assert rule["ScheduleExpression"] == f"rate({STAGES[name]['schedules']['counter_drift']} minutes)"
        assert rule["State"] == "ENABLED"
        assert rule["Targets"][0]["RetryPolicy"]["MaximumRetryAttempts"] == 0
    permissions = [p["Properties"] for p in of_type(synth.resources, "AWS::Lambda::Permission").values()
                   if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [synth.function_id("counter_drift"), "Arn"]}]
    assert [p["Principal"] for p in permissions] == ["events.amazonaws.com"]


def test_each_counter_alarms_at_the_stages_threshold_to_the_alarm_topic(synth: Synth) -> None:
    alarms = drift_alarms(synth)
    topic = {"Ref": synth.logical_id(synth.stack.observability.topic)}
    assert set(alarms) == set(COUNTERS)
    for alarm in alarms.values():
        assert alarm["Namespace"] == "Reelgate" and alarm["Statistic"] == "Maximum"
        assert alarm["Threshold"] == STAGES["dev"]["counter_drift_alarm_threshold"]
        assert alarm["EvaluationPeriods"] == 2  # two checks running: one raced measurement never pages
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["AlarmActions"] == [topic]


def test_schedule_and_threshold_are_stage_configuration(tmp_path: Path) -> None:
    stages = json.loads(json.dumps(STAGES))
    stages["prod"] |= {"schedules": {"counter_drift": 15}, "counter_drift_alarm_threshold": 3}
    prod = synthesize(tmp_path / "layers", tmp_path / "out", stage="prod", extra_context={"stages": stages})

    assert rule_of(prod, "counter_drift")["ScheduleExpression"] == "rate(15 minutes)"
    assert {alarm["Threshold"] for alarm in drift_alarms(prod).values()} == {3}


@pytest.mark.parametrize("schedules", [{}, {"counter_drift": 0}, {"counter_drift": 5, "health": 5}])
def test_a_stage_must_schedule_exactly_the_scheduled_functions(schedules: dict[str, int]) -> None:
    context = {"stage": "dev", "stages": {"dev": {**STAGES["dev"], "schedules": schedules}}}
    with pytest.raises((ValueError, ValidationError), match="schedules"):
        stage_of(context)


def test_counter_drift_can_only_read(synth: Synth) -> None:
    function = synth.resources[synth.function_id("counter_drift")]
    statements = role_statements(synth.resources, role_id_of(function))
    actions = actions_of(statements)
    dynamodb = {action for action in actions if action.startswith("dynamodb:")}
    assert dynamodb == {"dynamodb:Scan", "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}
    assert not [action for action in dynamodb if action.split(":")[1].startswith(WRITES)]
    assert not [action for action in actions if action.split(":")[0] in {"s3", "events", "states", "secretsmanager"}]
    scanned = [resource for st in statements if "dynamodb:Scan" in as_list(st["Action"])
               for resource in as_list(st["Resource"])]
    data = synth.stack.data
    tables = [{"Fn::GetAtt": [synth.logical_id(table), "Arn"]} for table in (data.jobs, data.state)]
    assert sorted(map(json.dumps, scanned)) == sorted(map(json.dumps, tables))  # the tables, not their index
