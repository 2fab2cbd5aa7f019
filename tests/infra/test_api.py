"""The REST API: every registry route, proxied to its function, on a logged, traced, throttled stage."""

from __future__ import annotations

import json

import pytest
from infra_helpers import Synth, of_type, refs_in, resource_paths

from infra import registry

ROUTES = [(route.method, route.path, fn.name) for route, fn in registry.routes()]


def test_methods_are_exactly_the_registry_routes(synth: Synth) -> None:
    paths = resource_paths(synth.resources)
    found = set()
    for method in of_type(synth.resources, "AWS::ApiGateway::Method").values():
        props = method["Properties"]
        if props["HttpMethod"] == "OPTIONS":  # CORS preflights (tests/infra/test_cors_template.py)
            continue
        path = "/" if "Fn::GetAtt" in props["ResourceId"] else paths[props["ResourceId"]["Ref"]]
        uri = props["Integration"]["Uri"]["Fn::Join"][1]
        function_id = next(part["Fn::GetAtt"][0] for part in uri if isinstance(part, dict) and "Fn::GetAtt" in part)
        found.add((props["HttpMethod"], path, function_id))
        assert props["Integration"]["Type"] == "AWS_PROXY"
        assert props["Integration"]["IntegrationHttpMethod"] == "POST"
        assert props["AuthorizationType"] == "NONE"  # the functions authorize (see decisions-infra.md)
    expected = {(method, path, synth.function_id(name)) for method, path, name in ROUTES}
    assert found == expected


@pytest.mark.parametrize(("method", "path", "name"), ROUTES)
def test_each_route_may_invoke_its_function(synth: Synth, method: str, path: str, name: str) -> None:
    permissions = [
        p["Properties"] for p in of_type(synth.resources, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [synth.function_id(name), "Arn"]}
        and p["Properties"]["Principal"] == "apigateway.amazonaws.com"
    ]
    source_paths = {"".join(str(x) for x in p["SourceArn"]["Fn::Join"][1][-1:]) for p in permissions}
    assert any(src.endswith(f"/{method}{path}") for src in source_paths), source_paths


def test_rest_api_binary_media_types(synth: Synth) -> None:
    (api,) = of_type(synth.resources, "AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["BinaryMediaTypes"] == ["multipart/form-data", "image/*"]
    assert api["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}


def test_stage_logs_traces_and_throttles(synth: Synth) -> None:
    (stage,) = of_type(synth.resources, "AWS::ApiGateway::Stage").values()
    props = stage["Properties"]
    assert props["StageName"] == "dev"
    assert props["TracingEnabled"] is True
    (log_group,) = refs_in(props["AccessLogSetting"]["DestinationArn"]) & synth.resources.keys()
    assert synth.resources[log_group]["Type"] == "AWS::Logs::LogGroup"
    assert '"status":"$context.status"' in props["AccessLogSetting"]["Format"]
    (settings,) = props["MethodSettings"]
    assert settings["LoggingLevel"] == "ERROR"
    assert settings["DataTraceEnabled"] is False
    assert settings["ThrottlingRateLimit"] > 0
    assert settings["ThrottlingBurstLimit"] >= settings["ThrottlingRateLimit"]


def test_no_stage_stack_sets_the_account_level_api_gateway_role(synth: Synth, prod: Synth) -> None:
    for stage in (synth, prod):
        assert of_type(stage.resources, "AWS::ApiGateway::Account") == {}
        roles = of_type(stage.resources, "AWS::IAM::Role").values()
        assert not [r for r in roles if "apigateway.amazonaws.com" in json.dumps(r["Properties"])]


def test_the_account_stack_sets_the_cloudwatch_role_and_keeps_it(synth: Synth) -> None:
    (account_id, account), = of_type(synth.account_resources, "AWS::ApiGateway::Account").items()
    role_id = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    role = synth.account_resources[role_id]
    assert role["Type"] == "AWS::IAM::Role"
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "apigateway.amazonaws.com"}
    assert {account["DeletionPolicy"], role["DeletionPolicy"]} == {"Retain"}
    assert set(synth.account_resources) == {account_id, role_id}
