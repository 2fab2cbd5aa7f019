"""S3: the media bucket (inputs and outputs, short-lived) and its access-log bucket."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_s3 as s3
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct
from reelgate.storage import SEGMENTS

from infra.constants import StageConfig


class Media(Construct):
    """Private, encrypted, TLS-only buckets; media expires with the job records."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = self._bucket("AccessLogs", stage, expire_days=stage.access_log_retention_days)
        NagSuppressions.add_resource_suppressions(self.access_logs, [NagPackSuppression(
            id="AwsSolutions-S1",
            reason="This is the server-access-log destination; logging it would log its own log writes.",
        )])
        # A segmented render's parts are joined within minutes; a failed job's are gone a day later.
        segments = s3.LifecycleRule(id="expire-segments", prefix=SEGMENTS, expiration=Duration.days(1))
        self.bucket = self._bucket("Bucket", stage, expire_days=stage.media_retention_days,
                                   access_logs=self.access_logs, rules=[segments])

    def _bucket(
        self, construct_id: str, stage: StageConfig, *, expire_days: int, access_logs: s3.IBucket | None = None,
        rules: list[s3.LifecycleRule] | None = None,
    ) -> s3.Bucket:
        return s3.Bucket(
            self, construct_id,
            encryption=s3.BucketEncryption.S3_MANAGED,  # SSE-S3: the only one server access logs accept
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(
                id="expire",
                expiration=Duration.days(expire_days),
                abort_incomplete_multipart_upload_after=Duration.days(1),
            ), *(rules or [])],
            removal_policy=stage.removal_policy,
            auto_delete_objects=not stage.retain_data,  # dev: a stack delete empties and removes it
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="media/" if access_logs else None,
        )
