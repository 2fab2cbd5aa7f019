"""Every registry function becomes one Lambda with the registry's runtime settings."""

from __future__ import annotations

import pytest
from infra_helpers import Synth, of_type, refs_in

from infra import environment, registry
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
    if spec.image:  # the image's base pins Python and its CMD names the handler (tests/infra/test_render_image.py)
        assert props["PackageType"] == "Image"
        assert {"Runtime", "Handler", "Layers"}.isdisjoint(props)
        assert "ImageUri" in props["Code"]
    else:
        assert props["Runtime"] == "python3.12"
        assert props["Handler"] == "handler.handler"
        assert "PackageType" not in props
    assert props["Architectures"] == [ARCH[spec.arch]]
    assert props["MemorySize"] == spec.memory
    assert props["Timeout"] == spec.timeout
    assert props["EphemeralStorage"] == {"Size": spec.ephemeral_mb}
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["Description"] == spec.description


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_reserved_concurrency_is_the_stages_else_the_registrys(synth: Synth, prod: Synth, name: str) -> None:
    for stage in (synth, prod):
        props = stage.resources[stage.function_id(name)]["Properties"]
        expected = stage.stack.stage.reserved(name, FUNCTIONS[name].reserved_concurrency)
        assert props.get("ReservedConcurrentExecutions") == expected
    assert FUNCTIONS["toolkit_render"].reserved_concurrency == registry.RENDER_CONCURRENCY


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_has_its_own_log_group_with_retention(synth: Synth, name: str) -> None:
    props = synth.resources[synth.function_id(name)]["Properties"]
    log_group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
    log_group = synth.resources[log_group_id]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] == synth.stack.stage.log_retention_days
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
    for flow in ("toolkit", "pixverse", "topview"):
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
    assert ("REELGATE_TOPVIEW_API_KEY_SECRET" in env) is ("secret:topview" in spec.grants)
    for variable in ("REELGATE_CDN_URL", "REELGATE_CDN_KEY_PAIR_ID", "REELGATE_CDN_PRIVATE_KEY_SECRET"):
        assert (variable in env) is ("cdn:sign" in spec.grants)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_layers_match_its_architecture(synth: Synth, name: str) -> None:
    spec = FUNCTIONS[name]
    layers = synth.stack.layers
    props = synth.resources[synth.function_id(name)]["Properties"]
    if spec.image:
        assert "Layers" not in props
        return
    attached = {ref["Ref"] for ref in props["Layers"]}
    expected = {synth.logical_id(layers.common), synth.logical_id(layers.deps[spec.arch])}
    assert attached == expected
    for layer_id in attached:
        assert ARCH[spec.arch] in synth.resources[layer_id]["Properties"]["CompatibleArchitectures"]


def test_ffmpeg_ships_only_in_x86_64_images_never_as_a_layer(synth: Synth) -> None:
    users = [fn for fn in registry.FUNCTIONS if fn.ffmpeg]
    assert users and all(fn.image and fn.arch == "x86_64" for fn in users)
    layers = of_type(synth.resources, "AWS::Lambda::LayerVersion").values()
    assert len(layers) == 1 + len({fn.arch for fn in registry.FUNCTIONS if not fn.image})  # common + deps
    assert not any("ffmpeg" in layer["Properties"]["Description"].lower() for layer in layers)


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
            tuple(sorted([("prefix", trigger.prefix)] + ([("suffix", suffix)] if suffix else [])))
            for suffix in trigger.suffixes or ("",)
        }


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_operator_setting_a_function_reads_is_in_its_deployed_environment(synth: Synth, name: str) -> None:
    env = synth.resources[synth.function_id(name)]["Properties"]["Environment"]["Variables"]
    reads = set(environment.operator_settings(FUNCTIONS[name])) & environment.stage_values({}).keys()  # set ones
    for setting in sorted({s for group in environment.SETTING_GROUPS.values() for s in group}):
        assert (environment.env_name(setting) in env) is (setting in reads), (name, setting)


@pytest.mark.parametrize(("setting", "value"), [
    ("max_queue_length", "7"), ("price_concatenate", "50"), ("api_wait_seconds", "12.5"),
    ("poll_initial_seconds", "3"), ("generation_deadline_seconds", "900"), ("entitlement_cache_seconds", "60"),
])
def test_stage_configuration_reaches_every_function_that_reads_the_setting(
        prod: Synth, setting: str, value: str) -> None:
    readers = [fn for fn in registry.FUNCTIONS if setting in environment.operator_settings(fn)]
    assert readers
    for fn in readers:
        env = prod.resources[prod.function_id(fn.name)]["Properties"]["Environment"]["Variables"]
        assert env[environment.env_name(setting)] == value, fn.name


def test_an_unknown_or_invalid_operator_setting_fails_the_synth() -> None:
    with pytest.raises(ValueError, match="unknown operator settings"):
        environment.stage_values({"max_queue_lenght": 3})
    with pytest.raises(ValueError, match="max_queue_length"):
        environment.stage_values({"max_queue_length": -1})


def test_every_setting_is_a_resource_an_operator_setting_or_the_local_clouds_own() -> None:
    """A new Settings field must be given to the functions that read it (or be declared not a function's)."""
    from reelgate.settings import Settings

    grouped = {s for group in environment.SETTING_GROUPS.values() for s in group}
    resources = set(environment.RESOURCE_SETTING.values()) | set(environment.SECRET_SETTING.values()) | set(
        environment.FLOW_SETTING.values()) | set(environment.CDN_SETTINGS)
    unplaced = set(Settings.model_fields) - grouped - resources - environment.NOT_FUNCTION_SETTINGS
    assert not unplaced, f"settings no function is given: {sorted(unplaced)}"
