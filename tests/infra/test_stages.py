"""`-c stage=dev|prod` selects every stage setting from cdk.json; prod keeps its data, dev does not."""

from __future__ import annotations

import json
from typing import Any

import pytest
from infra_helpers import Synth, of_type
from pydantic import ValidationError

from infra import environment
from infra.app import CDK_JSON, stage_of
from infra.constants import stage_config

CONTEXT = json.loads(CDK_JSON.read_text())["context"]
STAGES = CONTEXT["stages"]


def function_env(stage: Synth, name: str) -> dict[str, str]:
    return dict(stage.resources[stage.function_id(name)]["Properties"]["Environment"]["Variables"])


def test_each_stage_is_named_after_itself(synth: Synth, prod: Synth) -> None:
    for stage, name in ((synth, "dev"), (prod, "prod")):
        assert stage.stack.stack_name == f"reelgate-{name}"
        [bus] = of_type(stage.resources, "AWS::Events::EventBus").values()
        assert bus["Properties"]["Name"] == f"reelgate-{name}"
        [api] = of_type(stage.resources, "AWS::ApiGateway::RestApi").values()
        assert api["Properties"]["Name"] == f"reelgate-{name}"
        [api_stage] = of_type(stage.resources, "AWS::ApiGateway::Stage").values()
        assert api_stage["Properties"]["StageName"] == name
        secrets = of_type(stage.resources, "AWS::SecretsManager::Secret").values()
        assert all(s["Properties"]["Name"].startswith(f"reelgate/{name}/") for s in secrets)


def test_prod_retains_its_data_and_dev_does_not(synth: Synth, prod: Synth) -> None:
    for stage, policy in ((synth, "Delete"), (prod, "Retain")):
        data = (stage.stack.data.jobs, stage.stack.data.state, stage.stack.media.bucket)
        assert {stage.resources[stage.logical_id(c)]["DeletionPolicy"] for c in data} == {policy}
        logs = of_type(stage.resources, "AWS::Logs::LogGroup").values()
        assert {group["DeletionPolicy"] for group in logs} == {policy}
    assert of_type(prod.resources, "Custom::S3AutoDeleteObjects") == {}
    assert of_type(synth.resources, "Custom::S3AutoDeleteObjects")  # dev: a stack delete empties the bucket


def test_log_retention_and_level_are_the_stages(synth: Synth, prod: Synth) -> None:
    for stage, name in ((synth, "dev"), (prod, "prod")):
        logs = of_type(stage.resources, "AWS::Logs::LogGroup").values()
        assert {group["Properties"]["RetentionInDays"] for group in logs} == {STAGES[name]["log_retention_days"]}
        assert function_env(stage, "toolkit_render")["LOG_LEVEL"] == STAGES[name]["log_level"]
    assert STAGES["dev"]["log_retention_days"] != STAGES["prod"]["log_retention_days"]


def test_throttling_and_alarm_threshold_are_the_stages(synth: Synth, prod: Synth) -> None:
    for stage, name in ((synth, "dev"), (prod, "prod")):
        [api_stage] = of_type(stage.resources, "AWS::ApiGateway::Stage").values()
        [settings] = api_stage["Properties"]["MethodSettings"]
        assert settings["ThrottlingRateLimit"] == STAGES[name]["api_rate_limit"]
        assert settings["ThrottlingBurstLimit"] == STAGES[name]["api_burst_limit"]
        alarms = of_type(stage.resources, "AWS::CloudWatch::Alarm").values()
        [api_5xx] = [a["Properties"] for a in alarms if a["Properties"].get("MetricName") == "5XXError"]
        assert api_5xx["Threshold"] == STAGES[name]["api_5xx_alarm_threshold"]
    assert STAGES["dev"]["api_rate_limit"] < STAGES["prod"]["api_rate_limit"]


def test_operator_settings_are_the_stages_and_the_command_line_wins(synth: Synth, prod: Synth) -> None:
    queue, per_key = environment.env_name("max_queue_length"), environment.env_name("toolkit_max_active_jobs_per_key")
    dev_env, prod_env = function_env(synth, "toolkit_concatenate"), function_env(prod, "toolkit_concatenate")
    assert dev_env[queue] == str(CONTEXT["settings"]["dev"]["max_queue_length"])
    assert prod_env[queue] == "7"  # -c setting.max_queue_length=7 over cdk.json's prod value
    assert CONTEXT["settings"]["prod"]["max_queue_length"] != 7
    assert dev_env[per_key] == str(CONTEXT["settings"]["dev"]["toolkit_max_active_jobs_per_key"])
    assert prod_env[per_key] == str(CONTEXT["settings"]["prod"]["toolkit_max_active_jobs_per_key"])


def test_media_expires_with_the_stages_job_records(synth: Synth, prod: Synth) -> None:
    for stage, name in ((synth, "dev"), (prod, "prod")):
        bucket = stage.resources[stage.logical_id(stage.stack.media.bucket)]["Properties"]
        (rule,) = [rule for rule in bucket["LifecycleConfiguration"]["Rules"] if "Prefix" not in rule]  # all media
        assert rule["ExpirationInDays"] == CONTEXT["settings"][name]["job_ttl_days"]
        assert function_env(stage, "toolkit_settle")[environment.env_name("job_ttl_days")] == str(
            CONTEXT["settings"][name]["job_ttl_days"])


def stage_context(**stage: Any) -> dict[str, Any]:
    return {**CONTEXT, "stage": "dev", "stages": {"dev": {**STAGES["dev"], **stage}}}


@pytest.mark.parametrize(("context", "error"), [
    ({**CONTEXT, "stage": "staging"}, "unknown stage 'staging'"),
    (stage_context(log_retention_days=10), "not a CloudWatch Logs retention"),
    (stage_context(api_rate_limit=0), "api_rate_limit"),
    (stage_context(log_level="VERBOSE"), "log_level"),
    (stage_context(retention=7), "retention"),  # a misspelt key is refused, not ignored
    (stage_context(reserved_concurrency={"toolkit_rendr": 2}), "unknown functions"),
])
def test_a_wrong_stage_fails_before_anything_is_built(context: dict[str, Any], error: str) -> None:
    with pytest.raises((ValueError, ValidationError), match=error):
        stage_of(context)


def test_every_stage_field_is_set_in_cdk_json() -> None:
    for name in ("dev", "prod"):
        stage = stage_config(CONTEXT, name)
        assert stage.name == name
        required = {n for n, f in type(stage).model_fields.items() if f.is_required()} - {"name"}
        assert required <= STAGES[name].keys()
