"""DynamoDB: the jobs table (with the owner/created index) and the state table."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra import registry
from infra.constants import TTL_ATTRIBUTE, StageConfig

_S = dynamodb.AttributeType.STRING


class Data(Construct):
    """Jobs (one item per job) and state (API keys, credits, apps, counters, entitlement cache)."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.jobs = self._table("Jobs", registry.JOBS_TABLE_KEY, stage)
        index, partition, sort = registry.JOBS_OWNER_INDEX
        self.jobs_owner_index = index
        self.jobs.add_global_secondary_index(
            index_name=index,
            partition_key=dynamodb.Attribute(name=partition, type=_S),
            sort_key=dynamodb.Attribute(name=sort, type=_S),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        self.state = self._table("State", registry.STATE_TABLE_KEY, stage)

    def _table(self, construct_id: str, key: str, stage: StageConfig) -> dynamodb.Table:
        return dynamodb.Table(
            self, construct_id,
            partition_key=dynamodb.Attribute(name=key, type=_S),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=TTL_ATTRIBUTE,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            deletion_protection=stage.retain_data,  # prod data survives a mistaken delete too
            removal_policy=stage.removal_policy,
        )
