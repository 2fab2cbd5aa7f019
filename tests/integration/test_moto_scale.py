"""The local cloud's cuts to moto's costs (infra/local/moto_scale.py) keep moto's answers: a failed
transaction still writes nothing, queue counts are still right, input templates still fill per event."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import jsonpath_ng.ext
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from infra.local import moto_scale

REGION = "us-east-1"


@pytest.fixture
def aws() -> Iterator[Any]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        moto_scale.install()
        try:
            yield boto3.Session(region_name=REGION)
        finally:
            moto_scale.uninstall()


def _tables(session: Any) -> Any:
    ddb = session.client("dynamodb")
    ddb.create_table(TableName="pairs", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                {"AttributeName": "sk", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}],
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    ddb.create_table(TableName="singles", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    ddb.put_item(TableName="pairs", Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "1"}})
    ddb.put_item(TableName="pairs", Item={"pk": {"S": "b"}, "sk": {"S": "1"}, "n": {"N": "5"}})
    ddb.put_item(TableName="singles", Item={"pk": {"S": "gone"}, "n": {"N": "7"}})
    return ddb


def _everything(ddb: Any) -> dict[str, list[Any]]:
    return {name: sorted((item for item in ddb.scan(TableName=name)["Items"]), key=json.dumps)
            for name in ("pairs", "singles")}


def test_a_failed_transaction_puts_back_exactly_what_it_touched_and_copies_no_table(aws: Any) -> None:
    ddb = _tables(aws)
    before = _everything(ddb)
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
    tables = dict(backend.tables)
    stream = len(backend.tables["pairs"].stream_shard.items)
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": "pairs", "Key": {"pk": {"S": "a"}, "sk": {"S": "1"}},
                        "UpdateExpression": "SET n = :two", "ExpressionAttributeValues": {":two": {"N": "2"}}}},
            {"Put": {"TableName": "pairs", "Item": {"pk": {"S": "new"}, "sk": {"S": "9"}}}},
            {"Put": {"TableName": "singles", "Item": {"pk": {"S": "fresh"}}}},
            {"Delete": {"TableName": "singles", "Key": {"pk": {"S": "gone"}}}},
            {"ConditionCheck": {"TableName": "pairs", "Key": {"pk": {"S": "b"}, "sk": {"S": "1"}},
                                "ConditionExpression": "n = :six", "ExpressionAttributeValues": {":six": {"N": "6"}}}},
        ])
    assert _everything(ddb) == before
    assert len(backend.tables["pairs"].stream_shard.items) == stream  # no record of the writes undone
    assert all(backend.tables[name] is table for name, table in tables.items())  # restored in place, not copied


def test_a_refused_transaction_writes_nothing_and_a_good_one_writes_everything(aws: Any) -> None:
    ddb = _tables(aws)
    before = _everything(ddb)
    new = {"Put": {"TableName": "singles", "Item": {"pk": {"S": "fresh"}}}}
    twice = {"Update": {"TableName": "pairs", "Key": {"pk": {"S": "a"}, "sk": {"S": "1"}},
                        "UpdateExpression": "SET n = :two", "ExpressionAttributeValues": {":two": {"N": "2"}}}}
    with pytest.raises(ddb.exceptions.ClientError, match="ValidationException"):  # one item twice
        ddb.transact_write_items(TransactItems=[new, twice, twice])
    assert _everything(ddb) == before
    ddb.transact_write_items(TransactItems=[new, twice])
    assert ddb.get_item(TableName="singles", Key={"pk": {"S": "fresh"}}).get("Item") == {"pk": {"S": "fresh"}}
    assert ddb.get_item(TableName="pairs", Key={"pk": {"S": "a"}, "sk": {"S": "1"}})["Item"]["n"] == {"N": "2"}


def test_queue_counts_are_still_by_visibility_and_delay(aws: Any) -> None:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="tap")["QueueUrl"]
    for body in ("one", "two"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    assert len(sqs.receive_message(QueueUrl=url, VisibilityTimeout=60)["Messages"]) == 1
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (counts["ApproximateNumberOfMessages"], counts["ApproximateNumberOfMessagesNotVisible"],
            counts["ApproximateNumberOfMessagesDelayed"]) == ("1", "1", "1")


def test_an_input_template_is_filled_from_each_event_with_its_path_parsed_once(aws: Any) -> None:
    sqs, events = aws.client("sqs"), aws.client("events")
    url = sqs.create_queue(QueueName="out")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventPattern=json.dumps({"source": ["test"]}))
    events.put_targets(Rule="all", Targets=[{"Id": "q", "Arn": arn, "InputTransformer": {
        "InputPathsMap": {"job": "$.detail.job"}, "InputTemplate": '{"job": "<job>"}'}}])
    hits = jsonpath_ng.ext.parse.cache_info().hits  # type: ignore[attr-defined]
    for job in ("first", "second"):
        events.put_events(Entries=[{"Source": "test", "DetailType": "t", "Detail": json.dumps({"job": job})}])
    bodies = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    assert sorted(b["job"] for b in bodies) == ["first", "second"]
    assert jsonpath_ng.ext.parse.cache_info().hits > hits  # type: ignore[attr-defined]


def test_each_execution_of_a_state_machine_runs_on_its_own_input_with_its_definition_parsed_once(aws: Any) -> None:
    sfn = aws.client("stepfunctions")
    definition = {"StartAt": "Pick", "States": {
        "Pick": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}],
                 "Default": "Small"},
        "Big": {"Type": "Pass", "Parameters": {"size": "big", "n.$": "$.n"}, "End": True},
        "Small": {"Type": "Pass", "Parameters": {"size": "small", "n.$": "$.n"}, "End": True}}}
    parsed = moto_scale._syntax_tree.cache_info()
    machine = sfn.create_state_machine(name="pick", definition=json.dumps(definition),
                                       roleArn=f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/flow")["stateMachineArn"]
    runs = [sfn.start_execution(stateMachineArn=machine, name=f"run-{n}", input=json.dumps({"n": n}))["executionArn"]
            for n in (1, 5)]

    def output(run: str) -> dict[str, Any]:
        for _ in range(100):
            found = sfn.describe_execution(executionArn=run)
            if found["status"] != "RUNNING":
                return dict(json.loads(found["output"]))
            time.sleep(0.1)
        raise AssertionError(f"{run} still running")

    assert [output(run) for run in runs] == [{"size": "small", "n": 1}, {"size": "big", "n": 5}]
    after = moto_scale._syntax_tree.cache_info()
    assert (after.misses - parsed.misses, after.hits - parsed.hits) == (1, 2)  # checked at creation, then run


def test_an_update_expression_parsed_once_serves_every_call_with_its_own_values(aws: Any) -> None:
    ddb = _tables(aws)
    expression = "SET n = n + :step, label = :label REMOVE gone"
    for key, step, label in (("a", "2", "first"), ("b", "10", "second"), ("a", "3", "third")):
        ddb.update_item(TableName="pairs", Key={"pk": {"S": key}, "sk": {"S": "1"}}, UpdateExpression=expression,
                        ExpressionAttributeValues={":step": {"N": step}, ":label": {"S": label}})
    with pytest.raises(ddb.exceptions.ClientError, match="Invalid UpdateExpression"):
        ddb.update_item(TableName="pairs", Key={"pk": {"S": "a"}, "sk": {"S": "1"}}, UpdateExpression="SET n = = 1")

    items = {i["pk"]["S"]: i for i in ddb.scan(TableName="pairs")["Items"]}
    assert (items["a"]["n"], items["a"]["label"]) == ({"N": "6"}, {"S": "third"})
    assert (items["b"]["n"], items["b"]["label"]) == ({"N": "15"}, {"S": "second"})
    assert moto_scale._update_expression.cache_info().hits >= 2  # the expression was parsed once, not per call
