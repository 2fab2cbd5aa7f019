"""REST API (API Gateway v1): one resource tree from the registry routes, Lambda proxy per route; CORS for the
stage's allowed origins (the `cors_origins` setting): preflights answered by API Gateway, its own errors too."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct
from reelgate import cors

from infra import registry
from infra.constants import SERVICE, StageConfig

BINARY_MEDIA_TYPES = ["multipart/form-data", "image/*"]
# Who checks the caller, per registry auth kind; the reason a method has no API Gateway authorizer.
AUTH_REASONS: dict[str, str] = {
    "none": "Public liveness probe; it reads nothing and returns a constant.",
    "api_key": "The function checks x-api-key against salted hashes in DynamoDB (NCA-compatible keys).",
    "app": "The function checks the app registry and the caller's Apphud entitlement.",
    "apphud_token": "Apphud's server-to-server webhook; the function checks its shared token.",
    "topview_uid": "TopView's noticeUrl callback; the function checks the Topview-Uid header and that a job "
                   "follows the task, and trusts nothing else in it (the task is re-read from TopView).",
    "pixverse_signature": "PixVerse's webhook; the function checks its HMAC signature, timestamp window and nonce, "
                          "and confirms the video's state with Pixverse before finishing a job.",
    "preflight": "CORS preflight: a MOCK integration that only answers the CORS headers; browsers send no "
                 "credentials with it.",
}


class Api(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, stage: StageConfig,
        functions: Mapping[str, lambda_.IFunction],
        routes: list[tuple[registry.Route, registry.Function]] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        access_logs = logs.LogGroup(self, "AccessLogs", retention=stage.log_retention,
                                    removal_policy=stage.removal_policy)
        self.rest_api = apigw.RestApi(
            self, "RestApi",
            rest_api_name=f"{SERVICE}-{stage.name}",
            description="Reelgate: the video toolkit and the mobile video API",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            binary_media_types=BINARY_MEDIA_TYPES,
            # Execution logging uses the account-level CloudWatch role, which the ReelgateAccount stack sets.
            cloud_watch_role=False,
            deploy_options=self._stage_options(stage, access_logs),
        )
        # One integration per function, shared by its routes; no test-invoke permissions.
        integrations = {name: apigw.LambdaIntegration(fn, allow_test_invoke=False) for name, fn in functions.items()}
        resources: dict[str, apigw.Resource] = {}
        for route, spec in routes if routes is not None else registry.routes():
            resources[route.path] = resource = self.rest_api.root.resource_for_path(route.path)
            method = resource.add_method(route.method, integrations[spec.name])
            self._suppress_method(method, spec.auth)
        self._add_cors(deployed_origins(stage), resources.values())
        self._suppress_api()

    def _add_cors(self, origins: tuple[str, ...], resources: Iterable[apigw.Resource]) -> None:
        """Each route's preflight (OPTIONS) is a MOCK answered by API Gateway; CDK's mapping template echoes the
        request's Origin when it is one of the stage's (docs/decisions.md). API Gateway's own error answers
        echo the Origin header too (gateway responses cannot test it against a list)."""
        if not origins:
            return
        for resource in resources:
            method = resource.add_cors_preflight(
                allow_origins=list(origins), allow_methods=list(cors.ALLOW_METHODS),
                allow_headers=list(cors.ALLOW_HEADERS), expose_headers=list(cors.EXPOSE_HEADERS),
                allow_credentials=True, max_age=Duration.seconds(cors.MAX_AGE_SECONDS),
            )
            self._suppress_method(method, "preflight")
        headers = {name: f"'{value}'" for name, value in cors.answer_headers("").items()}
        headers["Access-Control-Allow-Origin"] = "method.request.header.origin"
        for kind in (apigw.ResponseType.DEFAULT_4_XX, apigw.ResponseType.DEFAULT_5_XX):
            self.rest_api.add_gateway_response(f"Cors{kind.response_type}", type=kind, response_headers=headers)

    @staticmethod
    def _stage_options(stage: StageConfig, access_logs: logs.ILogGroup) -> apigw.StageOptions:
        return apigw.StageOptions(
            stage_name=stage.name,
            access_log_destination=apigw.LogGroupLogDestination(access_logs),
            access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                caller=False, http_method=True, ip=True, protocol=True, request_time=True,
                resource_path=True, response_length=True, status=True, user=False,
            ),
            tracing_enabled=True,
            metrics_enabled=True,
            logging_level=apigw.MethodLoggingLevel.ERROR,
            data_trace_enabled=False,  # bodies may carry prompts and images; never log them
            throttling_rate_limit=stage.api_rate_limit,
            throttling_burst_limit=stage.api_burst_limit,
        )

    @staticmethod
    def _suppress_method(method: apigw.Method, auth: str) -> None:
        reason = AUTH_REASONS[auth]
        NagSuppressions.add_resource_suppressions(method, [
            NagPackSuppression(id="AwsSolutions-APIG4", reason=reason),
            NagPackSuppression(id="AwsSolutions-COG4", reason=reason),
        ])

    def _suppress_api(self) -> None:
        NagSuppressions.add_resource_suppressions(self.rest_api, [NagPackSuppression(
            id="AwsSolutions-APIG2",
            reason="Each function validates its body with pydantic and answers the documented error shape.",
        )])
        NagSuppressions.add_resource_suppressions(self.rest_api.deployment_stage, [NagPackSuppression(
            id="AwsSolutions-APIG3",
            reason="No WAF yet: stage throttling plus per-key credits and queue limits bound abuse; revisit at launch.",
        )])

    @property
    def url(self) -> str:
        return self.rest_api.url


def deployed_origins(stage: StageConfig) -> tuple[str, ...]:
    """The stage's allowed origins; API Gateway's preflight compares exact origins, so no port wildcard."""
    origins = cors.parse(stage.settings.get("cors_origins", ""))
    if wildcards := [origin for origin in origins if origin.endswith(cors.ANY_PORT)]:
        raise ValueError(f"cors_origins of stage {stage.name!r}: API Gateway's preflight takes exact origins, "
                         f"not {', '.join(wildcards)}; list each origin (scheme://host:port)")
    return origins
