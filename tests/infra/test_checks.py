"""cfn-lint and cdk-nag are clean; alarms and the dashboard cover functions, flows and the API."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk.assertions import Annotations, Match
from infra_helpers import Synth, of_type

from infra import registry
from infra.account import ACCOUNT_STACK_ID
from infra.constants import STACK_ID
from infra.constructs.shared_layers import LayerNotBuilt, LayerSources


@pytest.mark.parametrize("stack_id", [STACK_ID, ACCOUNT_STACK_ID])
def test_cfn_lint_reports_no_errors(synth: Synth, stack_id: str) -> None:
    from cfnlint.api import lint_file

    matches = lint_file(synth.outdir / f"{stack_id}.template.json")
    errors = [f"{m.rule.id} {m.message} ({m.path})" for m in matches if m.rule.id.startswith("E")]
    assert errors == []
    # W3005 (explicit DependsOn next to GetAtt) is how CDK orders roles before their users.
    assert {m.rule.id for m in matches} <= {"W3005"}


def test_cdk_nag_has_no_unsuppressed_findings(synth: Synth) -> None:
    pattern = Match.string_like_regexp("AwsSolutions-.*")
    account = Annotations.from_stack(synth.stack.node.scope.node.find_child(ACCOUNT_STACK_ID))
    for found in (synth.annotations, account):
        errors = found.find_error("*", pattern)
        warnings = found.find_warning("*", pattern)
        assert [e.entry.data for e in errors] == []
        assert [w.entry.data for w in warnings] == []


def test_every_nag_suppression_has_a_reason(synth: Synth) -> None:
    for key, res in synth.resources.items():
        for rule in res.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
            assert len(rule["reason"]) >= 10, (key, rule)


def test_alarms_cover_functions_flows_and_api(synth: Synth) -> None:
    alarms = [a["Properties"] for a in of_type(synth.resources, "AWS::CloudWatch::Alarm").values()]
    errors = {a["Dimensions"][0]["Value"]["Ref"] for a in alarms if a.get("MetricName") == "Errors"}
    assert errors == {synth.function_id(fn.name) for fn in registry.FUNCTIONS}
    failed = {a["Dimensions"][0]["Value"]["Ref"] for a in alarms if a.get("MetricName") == "ExecutionsFailed"}
    assert failed == {synth.logical_id(m) for m in synth.stack.flows.machines.values()}
    assert [a for a in alarms if a.get("MetricName") == "5XXError" and a["Namespace"] == "AWS/ApiGateway"]
    topic = {"Ref": synth.logical_id(synth.stack.observability.topic)}
    assert all(a["AlarmActions"] == [topic] for a in alarms)
    assert len(of_type(synth.resources, "AWS::CloudWatch::Dashboard")) == 1


def test_missing_layer_assets_name_the_fix(tmp_path: Path) -> None:
    sources = LayerSources(deps=tmp_path / "deps", ffmpeg=tmp_path / "ffmpeg")
    with pytest.raises(LayerNotBuilt, match="run `make layers`") as caught:
        sources.check(["arm64", "x86_64"], ffmpeg=True)
    assert "ffprobe" in str(caught.value)
    assert "x86_64" in str(caught.value)
