"""cfn-lint and cdk-nag are clean; alarms and the dashboard cover functions, flows and the API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Annotations, Match
from infra_helpers import Synth, of_type, synthesize
from reelgate.drift import COUNTERS

from infra import registry
from infra.account import ACCOUNT_STACK_ID
from infra.constants import STACK_ID
from infra.constructs.shared_layers import LayerNotBuilt, LayerSources
from infra.registry import ROOT


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
    throttled = {a["Dimensions"][0]["Value"]["Ref"] for a in alarms if a.get("MetricName") == "Throttles"}
    assert throttled == errors
    timed_out = {a["Dimensions"][0]["Value"]["Ref"] for a in alarms if a.get("MetricName") == "ExecutionsTimedOut"}
    assert timed_out == failed
    topic = {"Ref": synth.logical_id(synth.stack.observability.topic)}
    assert all(a["AlarmActions"] == [topic] for a in alarms)
    assert len(of_type(synth.resources, "AWS::CloudWatch::Dashboard")) == 1


def _business_alarms(synth: Synth) -> dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, Any]]:
    alarms = [a["Properties"] for a in of_type(synth.resources, "AWS::CloudWatch::Alarm").values()]
    return {(a["MetricName"], tuple((d["Name"], d["Value"]) for d in a.get("Dimensions", []))): a
            for a in alarms if a.get("Namespace") == "Reelgate"}


def test_webhook_failures_and_provider_errors_alarm_on_the_metrics_the_code_writes(synth: Synth) -> None:
    found = _business_alarms(synth)
    assert set(found) == {("WebhookAttempts", (("Outcome", "failed"),)),
                          ("ProviderErrors", (("Provider", "pixverse"),)),
                          ("ProviderErrors", (("Provider", "topview"),)),
                          *(("CounterDrift", (("Counter", name),)) for name in COUNTERS)}  # test_drift_schedule
    assert found[("WebhookAttempts", (("Outcome", "failed"),))]["Threshold"] == 20
    # the names and dimensions are those reelgate.metrics writes
    source = (ROOT / "layers/common/python/reelgate/metrics.py").read_text()
    assert '"WebhookAttempts"' in source and '{"Outcome": "delivered" if delivered else "failed"}' in source
    assert '_put("ProviderErrors", 1, MetricUnit.Count, {"Provider": provider})' in source
    assert not of_type(synth.resources, "AWS::SNS::Subscription")  # dev configures no e-mail


def test_alarm_subscriptions_and_thresholds_are_stage_configuration(tmp_path: Path) -> None:
    stages = json.loads((ROOT / "cdk.json").read_text())["context"]["stages"]
    stages["prod"] |= {"alarm_emails": ["oncall@example.com"], "webhook_failures_alarm_threshold": 50}
    prod = synthesize(tmp_path / "layers", tmp_path / "out", stage="prod", extra_context={"stages": stages})

    subscriptions = [s["Properties"] for s in of_type(prod.resources, "AWS::SNS::Subscription").values()]
    assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions] == [("email", "oncall@example.com")]
    assert _business_alarms(prod)[("WebhookAttempts", (("Outcome", "failed"),))]["Threshold"] == 50


def test_missing_layer_assets_name_the_fix(tmp_path: Path) -> None:
    sources = LayerSources(deps=tmp_path / "deps", ffmpeg=tmp_path / "ffmpeg", render=tmp_path / "render")
    with pytest.raises(LayerNotBuilt, match="run `make layers`") as caught:
        sources.check(["arm64", "x86_64"], ffmpeg=True, render=["x86_64"])
    assert "ffprobe" in str(caught.value)
    assert "x86_64" in str(caught.value)
    assert str(tmp_path / "render" / "x86_64" / "python") in str(caught.value)
