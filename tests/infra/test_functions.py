"""Every registry function becomes one Lambda with the registry's runtime settings."""

from __future__ import annotations

import pytest
from infra_helpers import Synth, of_type, refs_in

from infra import registry
from infra.constants import FFMPEG_DIR

FUNCTIONS = {fn.name: fn for fn in registry.FUNCTIONS}
ARCH = {"arm64": "arm64", "x86_64": "x86_64"}
# S3 notification writer and the dev-only bucket emptier, both owned by aws-cdk-lib.
CDK_HANDLERS = ("BucketNotificationsHandler", "CustomS3AutoDeleteObjectsCustomResourceProvider")


def test_one_lambda_per_registry_function(synth: Synth) -> None:
    # Given the registry, When synthesized, Then each function exists once; the rest are CDK's handlers.
    ids = {synth.function_id(name) for name in FUNCTIONS}
    lambdas = of_type(synth.resources, "AWS::Lambda::Function")
    assert len(ids) == len(FUNCTIONS)
    assert ids <= lambdas.keys()
    assert all(key.startswith(CDK_HANDLERS) for key in lambdas.keys() - ids), lambdas.keys() - ids


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_properties(synth: Synth, name: str) -> None:
    spec = FUNCTIONS[name]
    props = synth.resources[synth.function_id(name)]["Properties"]
    assert props["Runtime"] == "python3.12"
    assert props["Handler"] == "handler.handler"
    assert props["Architectures"] == [ARCH[spec.arch]]
    assert props["MemorySize"] == spec.memory
    assert props["Timeout"] == spec.timeout
    assert props["EphemeralStorage"] == {"Size": spec.ephemeral_mb}
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["Description"] == spec.description


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_has_its_own_log_group_with_retention(synth: Synth, name: str) -> None:
    props = synth.resources[synth.function_id(name)]["Properties"]
    log_group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
    log_group = synth.resources[log_group_id]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] == 30
    role_policies = [p for p in of_type(synth.resources, "AWS::IAM::Policy").values()
                     if log_group_id in refs_in(p["Properties"]["PolicyDocument"])]
    assert len(role_policies) == 1  # only this function's role may write to it


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_environment(synth: Synth, name: str) -> None:
    spec = FUNCTIONS[name]
    env = synth.resources[synth.function_id(name)]["Properties"]["Environment"]["Variables"]
    assert env["POWERTOOLS_SERVICE_NAME"] == name
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Reelgate"
    assert env["LOG_LEVEL"] in {"DEBUG", "INFO"}
    assert env["REELGATE_STAGE"] == "dev"
    assert ("REELGATE_FFMPEG_DIR" in env) is spec.ffmpeg
    if spec.ffmpeg:
        assert env["REELGATE_FFMPEG_DIR"] == FFMPEG_DIR
    for flow in ("toolkit", "pixverse"):
        key = f"REELGATE_{flow.upper()}_FLOW_ARN"
        assert (key in env) is (f"flow:{flow}" in spec.grants)
        if key in env:
            assert env[key] == {"Ref": synth.logical_id(synth.stack.flows.machines[flow])}
    kinds = {grant.split(":")[0] for grant in spec.grants}
    assert ("REELGATE_JOBS_TABLE" in env) is ("jobs" in kinds)
    assert ("REELGATE_STATE_TABLE" in env) is ("state" in kinds)
    assert ("REELGATE_MEDIA_BUCKET" in env) is ("media" in kinds)
    assert ("REELGATE_EVENT_BUS" in env) is ("events" in kinds)
    assert ("REELGATE_PIXVERSE_API_KEY_SECRET" in env) is ("secret:pixverse" in spec.grants)
    assert ("REELGATE_APPHUD_WEBHOOK_TOKEN_SECRET" in env) is ("secret:apphud" in spec.grants)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_layers_match_its_architecture(synth: Synth, name: str) -> None:
    spec = FUNCTIONS[name]
    layers = synth.stack.layers
    attached = {ref["Ref"] for ref in synth.resources[synth.function_id(name)]["Properties"]["Layers"]}
    expected = {synth.logical_id(layers.common), synth.logical_id(layers.deps[spec.arch])}
    if spec.ffmpeg:
        assert layers.ffmpeg is not None
        expected.add(synth.logical_id(layers.ffmpeg))
    assert attached == expected
    for layer_id in attached:
        assert ARCH[spec.arch] in synth.resources[layer_id]["Properties"]["CompatibleArchitectures"]


def test_ffmpeg_layer_is_x86_64_only(synth: Synth) -> None:
    assert synth.stack.layers.ffmpeg is not None
    props = synth.resources[synth.logical_id(synth.stack.layers.ffmpeg)]["Properties"]
    assert props["CompatibleArchitectures"] == ["x86_64"]
    assert props["CompatibleRuntimes"] == ["python3.12"]


def test_s3_triggers_notify_their_functions(synth: Synth) -> None:
    notifications = of_type(synth.resources, "Custom::S3BucketNotifications")
    assert len(notifications) == 1
    config = next(iter(notifications.values()))["Properties"]["NotificationConfiguration"]
    rules = config["LambdaFunctionConfigurations"]
    for trigger in registry.S3_TRIGGERS:
        arn = {"Fn::GetAtt": [synth.function_id(trigger.function), "Arn"]}
        filters = {
            tuple(sorted((rule["Name"], rule["Value"]) for rule in r["Filter"]["Key"]["FilterRules"]))
            for r in rules if r["LambdaFunctionArn"] == arn and r["Events"] == ["s3:ObjectCreated:*"]
        }
        assert filters == {
            tuple(sorted([("prefix", trigger.prefix), ("suffix", suffix)])) for suffix in trigger.suffixes
        }
