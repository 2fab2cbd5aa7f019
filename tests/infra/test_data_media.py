"""DynamoDB tables and S3 buckets: keys, billing, recovery, TTL, encryption, access and lifecycle."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Template
from infra_helpers import Synth, of_type

from infra import registry
from infra.app import CDK_JSON, stage_of
from infra.constructs.data import Data
from infra.constructs.media import Media


def table(synth: Synth, construct: Any) -> dict[str, Any]:
    return synth.resources[synth.logical_id(construct)]["Properties"]


def test_jobs_table(synth: Synth) -> None:
    props = table(synth, synth.stack.data.jobs)
    assert props["KeySchema"] == [{"AttributeName": registry.JOBS_TABLE_KEY, "KeyType": "HASH"}]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    index, partition, sort = registry.JOBS_OWNER_INDEX
    (gsi,) = props["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == index
    assert gsi["KeySchema"] == [
        {"AttributeName": partition, "KeyType": "HASH"}, {"AttributeName": sort, "KeyType": "RANGE"},
    ]
    assert gsi["Projection"] == {"ProjectionType": "ALL"}
    types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
    assert types == {registry.JOBS_TABLE_KEY: "S", partition: "S", sort: "S"}


def test_state_table(synth: Synth) -> None:
    props = table(synth, synth.stack.data.state)
    assert props["KeySchema"] == [{"AttributeName": registry.STATE_TABLE_KEY, "KeyType": "HASH"}]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert "GlobalSecondaryIndexes" not in props


def test_dev_destroys_data(synth: Synth) -> None:
    for construct in (synth.stack.data.jobs, synth.stack.data.state, synth.stack.media.bucket):
        assert synth.resources[synth.logical_id(construct)]["DeletionPolicy"] == "Delete"


@pytest.fixture(scope="module")
def prod_resources() -> dict[str, Any]:
    # Only the stateful constructs: a second full synth would double the suite's time.
    context = json.loads(CDK_JSON.read_text())["context"]
    stage = stage_of({**context, "stage": "prod"})
    stack = Stack(App(context=context), "Prod")
    Data(stack, "Data", stage=stage)
    Media(stack, "Media", stage=stage)
    return Template.from_stack(stack).to_json()["Resources"]


def test_prod_retains_tables_and_buckets(prod_resources: dict[str, Any]) -> None:
    stateful = {**of_type(prod_resources, "AWS::DynamoDB::Table"), **of_type(prod_resources, "AWS::S3::Bucket")}
    assert len(stateful) == 4
    assert {res["DeletionPolicy"] for res in stateful.values()} == {"Retain"}
    tables = of_type(prod_resources, "AWS::DynamoDB::Table").values()
    assert all(t["Properties"]["DeletionProtectionEnabled"] is True for t in tables)
    assert of_type(prod_resources, "Custom::S3AutoDeleteObjects") == {}


def test_media_bucket_is_private_encrypted_and_expiring(synth: Synth) -> None:
    bucket_id = synth.logical_id(synth.stack.media.bucket)
    props = synth.resources[bucket_id]["Properties"]
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    rule, segments = props["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == int(synth.stack.stage.settings["job_ttl_days"])  # media lives as its job
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    # a failed segmented render's parts (segments/<job_id>/...) go a day later, not with the job's media
    assert segments == {"Id": "expire-segments", "Prefix": "segments/", "ExpirationInDays": 1, "Status": "Enabled"}
    logs_id = synth.logical_id(synth.stack.media.access_logs)
    assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": logs_id}


@pytest.mark.parametrize("which", ["bucket", "access_logs"])
def test_buckets_deny_plain_http(synth: Synth, which: str) -> None:
    bucket_id = synth.logical_id(getattr(synth.stack.media, which))
    policies = [p["Properties"] for p in of_type(synth.resources, "AWS::S3::BucketPolicy").values()
                if p["Properties"]["Bucket"] == {"Ref": bucket_id}]
    (policy,) = policies
    deny = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} and s["Action"] == "s3:*"
               for s in deny)
