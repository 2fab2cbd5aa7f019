"""The stack's event bus: its archive, and who may put events on it (job state changes, reelgate.events)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Template
from infra_helpers import Synth, actions_of, of_type, role_statements

from infra import registry
from infra.app import CDK_JSON
from infra.constants import stage_config
from infra.constructs.integrations import Integrations


def _archive(resources: dict[str, Any]) -> dict[str, Any]:
    [archive] = of_type(resources, "AWS::Events::Archive").values()
    return dict(archive["Properties"])


def test_the_bus_archives_every_event_for_the_stages_days(synth: Synth) -> None:
    [bus_id] = of_type(synth.resources, "AWS::Events::EventBus")
    archive = _archive(synth.resources)
    assert synth.stack.stage.event_archive_days == 30
    assert archive["RetentionDays"] == 30
    assert archive["SourceArn"] == {"Fn::GetAtt": [bus_id, "Arn"]}
    assert "account" in archive["EventPattern"]  # every event the stack's account puts, not one source


@pytest.mark.parametrize(("days", "retention"), [("7", 7), ("0", 0)])  # 0: EventBridge keeps forever
def test_the_archive_retention_is_configurable(days: str, retention: int | None) -> None:
    context = {**json.loads(CDK_JSON.read_text())["context"], "event_archive_days": days}
    stack = Stack(App(context=context), "S")
    Integrations(stack, "Integrations", stage=stage_config(context, "dev"))
    assert _archive(Template.from_stack(stack).to_json()["Resources"]).get("RetentionDays") == retention


def test_every_function_that_writes_jobs_may_publish_their_changes() -> None:
    assert [fn.name for fn in registry.FUNCTIONS if "jobs:write" in fn.grants and "events:put" not in fn.grants] == []


def test_put_events_is_granted_on_the_stacks_bus_only_and_only_where_granted(synth: Synth) -> None:
    [bus_id] = of_type(synth.resources, "AWS::Events::EventBus")
    for fn in registry.FUNCTIONS:
        statements = role_statements(synth.resources, _role_id(synth, fn.name))
        puts = [s for s in statements if "events:PutEvents" in actions_of([s])]
        if "events:put" not in fn.grants:
            assert puts == [], fn.name
            continue
        [put] = puts
        assert put["Action"] == "events:PutEvents" and put["Effect"] == "Allow"
        assert put["Resource"] == {"Fn::GetAtt": [bus_id, "Arn"]}, fn.name
    assert not any(a.startswith("events:") and a != "events:PutEvents"
                   for fn in registry.FUNCTIONS
                   for a in actions_of(role_statements(synth.resources, _role_id(synth, fn.name))))


def _role_id(synth: Synth, name: str) -> str:
    function = synth.resources[synth.function_id(name)]
    return str(function["Properties"]["Role"]["Fn::GetAtt"][0])
