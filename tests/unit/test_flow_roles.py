"""A state machine may invoke only the functions its role names, locally as on AWS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.local.provision import check_flow_role, definition
from infra.registry import FLOWS, Flow

ARNS = {name: f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        for flow in FLOWS for name in flow.functions.values()} | {
    "health": "arn:aws:lambda:us-east-1:123456789012:function:health"}


@pytest.mark.parametrize("flow", FLOWS, ids=lambda f: f.name)
def test_every_registry_flow_invokes_only_what_its_role_allows(flow: Flow) -> None:
    check_flow_role(flow, definition(flow, ARNS), ARNS)


def test_a_flow_naming_another_function_is_refused(tmp_path: Path) -> None:
    asl = {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                            "Parameters": {"FunctionName": ARNS["health"]}, "End": True}}}
    (tmp_path / "x.asl.json").write_text(json.dumps(asl))
    flow = Flow("x", "x.asl.json", {"PollFunctionArn": "pixverse_poll"})
    object.__setattr__(flow, "asl", str(tmp_path / "x.asl.json"))  # Flow.path joins; an absolute asl wins

    with pytest.raises(PermissionError, match="function:health"):
        check_flow_role(flow, flow.path.read_text(), ARNS)
