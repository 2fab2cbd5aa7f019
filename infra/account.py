"""ReelgateAccount: API Gateway's account-level CloudWatch Logs role, in a stack of its own.

`AWS::ApiGateway::Account` is one setting per account and region, shared by every REST API there, so
no stage stack owns it: destroying dev must not break prod's API logging. Deployed once, explicitly
(`make account`), and retained: deleting this stack leaves the role and the setting in place.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

ACCOUNT_STACK_ID = "ReelgateAccount"
PUSH_TO_CLOUDWATCH = "service-role/AmazonAPIGatewayPushToCloudWatchLogs"


class AccountStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, termination_protection=True, **kwargs)
        self.role = iam.Role(
            self, "ApiGatewayCloudWatchRole", assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description="API Gateway execution logging for every REST API in this account and region",
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(PUSH_TO_CLOUDWATCH)],
        )
        self.role.apply_removal_policy(RemovalPolicy.RETAIN)
        self.api_gateway = apigw.CfnAccount(self, "ApiGatewayAccount", cloud_watch_role_arn=self.role.role_arn)
        self.api_gateway.apply_removal_policy(RemovalPolicy.RETAIN)
        NagSuppressions.add_resource_suppressions(self.role, [NagPackSuppression(
            id="AwsSolutions-IAM4",
            reason="The AWS-managed push-to-CloudWatch policy is the documented role for API Gateway logging.",
            applies_to=[f"Policy::arn:<AWS::Partition>:iam::aws:policy/{PUSH_TO_CLOUDWATCH}"],
        )])
