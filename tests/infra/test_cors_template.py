"""CORS on the REST API: a preflight answered by API Gateway on every route, echoing the stage's allowed origins
(stage configuration), and API Gateway's own error answers carrying the same headers."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template
from infra_helpers import Synth, of_type, resource_paths
from reelgate import cors

from infra import registry
from infra.app import CDK_JSON
from infra.constants import stage_config
from infra.constructs.api import Api

DEV_ORIGINS = cors.parse(json.loads(CDK_JSON.read_text())["context"]["settings"]["dev"]["cors_origins"])


def preflights(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Path -> the OPTIONS method's properties."""
    paths = resource_paths(resources)
    return {paths[m["Properties"]["ResourceId"]["Ref"]]: m["Properties"]
            for m in of_type(resources, "AWS::ApiGateway::Method").values()
            if m["Properties"]["HttpMethod"] == "OPTIONS"}


def echoed_origins(props: dict[str, Any]) -> tuple[str, ...]:
    """The origins a preflight answers: the static header, then those its mapping template echoes."""
    (response,) = props["Integration"]["IntegrationResponses"]
    first = response["ResponseParameters"]["method.response.header.Access-Control-Allow-Origin"].strip("'")
    template = (response.get("ResponseTemplates") or {}).get("application/json", "")
    return (first, *re.findall(r'\$origin == "([^"]+)"', template))


def test_the_dev_stage_lists_its_origins_in_stage_configuration() -> None:
    assert DEV_ORIGINS and all(not origin.endswith(cors.ANY_PORT) for origin in DEV_ORIGINS)


def test_every_route_has_a_preflight_answered_by_api_gateway(synth: Synth) -> None:
    found = preflights(synth.resources)

    assert set(found) == {route.path for route, _ in registry.routes()}
    for path, props in found.items():
        assert props["Integration"]["Type"] == "MOCK", path
        assert props["AuthorizationType"] == "NONE"
        (response,) = props["Integration"]["IntegrationResponses"]
        headers = {k.removeprefix("method.response.header."): v.strip("'")
                   for k, v in response["ResponseParameters"].items()}
        assert response["StatusCode"] == "204"
        assert headers["Access-Control-Allow-Credentials"] == "true"
        assert headers["Vary"] == "Origin"
        assert {"content-type", "x-api-key", "idempotency-key"} <= set(
            headers["Access-Control-Allow-Headers"].lower().split(","))
        assert {"GET", "POST", "OPTIONS"} <= set(headers["Access-Control-Allow-Methods"].split(","))
        assert "Idempotent-Replayed" in headers["Access-Control-Expose-Headers"].split(",")
        assert echoed_origins(props) == DEV_ORIGINS, path
        assert "*" not in headers["Access-Control-Allow-Origin"]


def test_api_gateways_own_errors_carry_the_cors_headers(synth: Synth) -> None:
    responses = {r["Properties"]["ResponseType"]: r["Properties"]["ResponseParameters"]
                 for r in of_type(synth.resources, "AWS::ApiGateway::GatewayResponse").values()}

    assert set(responses) == {"DEFAULT_4XX", "DEFAULT_5XX"}  # every 401/403/413/429/5xx the gateway answers
    for params in responses.values():
        assert params["gatewayresponse.header.Access-Control-Allow-Origin"] == "method.request.header.origin"
        assert params["gatewayresponse.header.Access-Control-Allow-Credentials"] == "'true'"
        assert params["gatewayresponse.header.Vary"] == "'Origin'"


def test_every_routed_function_reads_the_origins_but_the_liveness_probe(synth: Synth) -> None:
    for spec in registry.FUNCTIONS:
        variables = synth.resources[synth.function_id(spec.name)]["Properties"]["Environment"]["Variables"]
        reads = "REELGATE_CORS_ORIGINS" in variables
        assert reads == (bool(spec.routes) and spec.name != "health"), spec.name
        if reads:
            assert variables["REELGATE_CORS_ORIGINS"] == ",".join(DEV_ORIGINS)


def small_api(origins: str) -> dict[str, Any]:
    """One route's API for a stage whose cors_origins setting is `origins`."""
    stack = Stack(App(analytics_reporting=False), "Small")
    fn = lambda_.Function(stack, "Fn", runtime=lambda_.Runtime.PYTHON_3_12, handler="index.handler",
                          code=lambda_.Code.from_inline("def handler(e, c): pass"))
    prod = stage_config(json.loads((registry.ROOT / "cdk.json").read_text())["context"], "prod")
    stage = prod.model_copy(update={"settings": {"cors_origins": origins}})
    Api(stack, "Api", stage=stage, functions={"health": fn},
        routes=[(registry.Route("POST", "/v1/image/transform/video"), registry.function("health"))])
    return dict(Template.from_stack(stack).to_json()["Resources"])


def test_the_origins_come_from_the_stage_and_none_means_no_cors() -> None:
    configured = small_api("https://app.example.com,https://admin.example.com")
    off = small_api("")

    (props,) = preflights(configured).values()
    assert echoed_origins(props) == ("https://app.example.com", "https://admin.example.com")
    assert preflights(off) == {} and of_type(off, "AWS::ApiGateway::GatewayResponse") == {}


def test_a_port_wildcard_cannot_be_deployed() -> None:
    with pytest.raises(ValueError, match="exact origins"):
        small_api("https://app.example.com,http://localhost:*")
