"""REST API (API Gateway v1): one resource tree from the registry routes, Lambda proxy per route."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

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
        for route, spec in routes if routes is not None else registry.routes():
            method = self.rest_api.root.resource_for_path(route.path).add_method(
                route.method, integrations[spec.name]
            )
            self._suppress_method(method, spec.auth)
        self._suppress_api()

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
