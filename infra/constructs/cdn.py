"""CloudFront in front of the media bucket's outputs: origin access control, signed URLs only.

The key pair is the operator's (`python -m infra.admin cdn-key STAGE`): its public half is an SSM
parameter this stack's CloudFront public key reads at deploy time, its private half a secret the
functions granted "cdn:sign" read (reelgate.links). The bucket policy lets only this distribution
read, and only the output prefixes.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ssm as ssm
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct
from reelgate.links import OUTPUT_PREFIXES

from infra import environment
from infra.constants import StageConfig


class Cdn(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: StageConfig, bucket: s3.IBucket) -> None:
        super().__init__(scope, construct_id)
        access = cloudfront.S3OriginAccessControl(
            self, "OriginAccess", signing=cloudfront.Signing.SIGV4_ALWAYS,
            description=f"Reelgate {stage.name}: the output distribution reads the media bucket")
        encoded = ssm.StringParameter.value_for_string_parameter(
            self, environment.cdn_public_key_parameter(stage.name))
        self.public_key = cloudfront.PublicKey(
            self, "PublicKey", encoded_key=encoded,
            comment=f"Reelgate {stage.name}: verifies output links (private half: the cdn-private-key secret)")
        self.key_group = cloudfront.KeyGroup(self, "KeyGroup", items=[self.public_key])
        # The constructor (not with_origin_access_control) adds no bucket policy: ours below names the prefixes.
        origin = origins.S3BucketOrigin(bucket, origin_access_control_id=access.origin_access_control_id)
        self.distribution = cloudfront.Distribution(
            self, "Distribution",
            comment=f"Reelgate {stage.name} outputs (signed URLs only)",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origin, trusted_key_groups=[self.key_group],
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
            ),
            price_class=cloudfront.PriceClass.PRICE_CLASS_ALL,
        )
        bucket.add_to_resource_policy(iam.PolicyStatement(
            sid="OutputsToTheDistributionOnly",
            principals=[iam.ServicePrincipal("cloudfront.amazonaws.com")],
            actions=["s3:GetObject"],
            resources=[bucket.arn_for_objects(f"{prefix}*") for prefix in OUTPUT_PREFIXES],
            conditions={"StringEquals": {"AWS:SourceArn": self.distribution.distribution_arn}},
        ))
        stack = Stack.of(self)
        name = environment.cdn_secret_name(stage.name)
        self.resources = environment.Cdn(
            url=f"https://{self.distribution.distribution_domain_name}",
            key_pair_id=self.public_key.public_key_id,
            secret_id=name,
            # Not the stack's secret, so its ARN's random suffix is unknown here: any suffix of that name.
            secret_arn=stack.format_arn(service="secretsmanager", resource="secret", resource_name=f"{name}-??????",
                                        arn_format=ArnFormat.COLON_RESOURCE_NAME),
        )
        NagSuppressions.add_resource_suppressions(self.distribution, [
            NagPackSuppression(id="AwsSolutions-CFR1", reason="Outputs go to the callers' users wherever they are;"
                               " each URL is signed and short-lived, so no country list would add protection."),
            NagPackSuppression(id="AwsSolutions-CFR2", reason="Only signed URLs are served (trusted key group);"
                               " WAF would see no request CloudFront does not already refuse."),
            NagPackSuppression(id="AwsSolutions-CFR3", reason="Standard logs need an ACL-enabled bucket; the media"
                               " bucket's own server access logs record every read the distribution makes."),
            NagPackSuppression(id="AwsSolutions-CFR4", reason="The default *.cloudfront.net certificate; its TLS"
                               " policy is CloudFront's (a custom domain would set TLSv1.2_2021)."),
        ])

