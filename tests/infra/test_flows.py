"""State machines: the ASL files with every placeholder bound, logging, tracing, a narrow role."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from infra_helpers import Synth, actions_of, as_list, role_statements

from infra import registry

FLOWS = {flow.name: flow for flow in registry.FLOWS}


def machine(synth: Synth, name: str) -> dict[str, Any]:
    return synth.resources[synth.logical_id(synth.stack.flows.machines[name])]["Properties"]


def effective_definition(synth: Synth, props: dict[str, Any]) -> str:
    """The deployed definition: the staged ASL asset with CloudFormation's substitutions applied."""
    key = props["DefinitionS3Location"]["Key"]
    text = (synth.outdir / f"asset.{key}").read_text()
    for name, value in props["DefinitionSubstitutions"].items():
        text = text.replace("${" + name + "}", f"<{value['Fn::GetAtt'][0]}>" if isinstance(value, dict) else value)
    return text


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_definition_binds_every_placeholder_to_the_registry_function(synth: Synth, name: str) -> None:
    flow = FLOWS[name]
    props = machine(synth, name)
    definition = effective_definition(synth, props)
    assert "${" not in definition
    json.loads(definition)  # still valid ASL JSON
    for key, function in flow.functions.items():
        assert props["DefinitionSubstitutions"][key] == {"Fn::GetAtt": [synth.function_id(function), "Arn"]}
    invoked = set(re.findall(r"<(\w+)>", definition))
    assert invoked == {synth.function_id(function) for function in flow.functions.values()}


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_logging_and_tracing(synth: Synth, name: str) -> None:
    props = machine(synth, name)
    assert props["StateMachineType"] == "STANDARD"
    assert props["TracingConfiguration"] == {"Enabled": True}
    logging = props["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    assert logging["IncludeExecutionData"] is True
    log_group_id = logging["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    log_group = synth.resources[log_group_id]["Properties"]
    assert log_group["LogGroupName"].startswith("/aws/vendedlogs/states/")
    assert log_group["RetentionInDays"] == synth.stack.stage.log_retention_days


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_role_invokes_exactly_the_flow_functions(synth: Synth, name: str) -> None:
    role_id = machine(synth, name)["RoleArn"]["Fn::GetAtt"][0]
    statements = role_statements(synth.resources, role_id)
    invoke = [s for s in statements if "lambda:InvokeFunction" in as_list(s["Action"])]
    resources = [r for s in invoke for r in as_list(s["Resource"])]
    assert sorted(r["Fn::GetAtt"][0] for r in resources) == sorted(
        synth.function_id(function) for function in FLOWS[name].functions.values()
    )
    assert all(r["Fn::GetAtt"][1] == "Arn" for r in resources)  # unqualified ARNs only, no ":*"
    assert not {a for a in actions_of(statements) if a.startswith(("dynamodb:", "s3:", "states:"))}
