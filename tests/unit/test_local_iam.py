"""The local cloud's IAM core: requests exactly as boto3 puts them on the wire (captured before they are sent,
no sockets) -> the (action, resource) pairs AWS authorizes; policy evaluation; access-denied answers that
botocore itself parses as AccessDenied."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from boto3.dynamodb.conditions import Key
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError

from infra.local.iam import (
    Policy,
    Statement,
    WireRequest,
    access_denied,
    access_key_of,
    evaluate,
    requested,
    resource_matches,
    service_of,
)

ACCOUNT, REGION, KEY = "123456789012", "us-east-1", "AKIARENDERFUNCTION01"
PRINCIPAL = f"arn:aws:sts::{ACCOUNT}:assumed-role/reelgate-toolkit_render/toolkit_render"
ARN = f"{REGION}:{ACCOUNT}"
TABLE = f"arn:aws:dynamodb:{ARN}:table/jobs"
MACHINE = f"arn:aws:states:{ARN}:stateMachine:toolkit"
SECRET = f"arn:aws:secretsmanager:{ARN}:secret:reelgate/dev/pixverse-AbCdEf"


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _client(service: str, answer: Callable[[AWSPreparedRequest], AWSResponse], **config: Any) -> Any:
    client = boto3.client(service, region_name=REGION, endpoint_url="http://127.0.0.1:4566", aws_access_key_id=KEY,
                          aws_secret_access_key="not-a-secret",
                          config=Config(retries={"mode": "standard", "max_attempts": 1}, **config))
    client.meta.events.register("before-send", lambda request, **_: answer(request))
    return client


def wire(request: AWSPreparedRequest) -> WireRequest:
    url = urlsplit(request.url)
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
    headers.setdefault("Host", url.netloc)
    body = request.body.read() if hasattr(request.body, "read") else request.body or b""
    return WireRequest(request.method, url.path, url.query, headers, body.encode() if isinstance(body, str) else body)


def sent(service: str, call: Callable[[Any], Any], **config: Any) -> list[WireRequest]:
    """Every request boto3 sends for `call(client)`, each answered by an empty 200."""
    seen: list[WireRequest] = []

    def answer(request: AWSPreparedRequest) -> AWSResponse:
        seen.append(wire(request))
        return AWSResponse(request.url, 200, {}, _Raw(b"" if service == "s3" else b"{}"))

    with contextlib.suppress(Exception):  # an empty 200 does not always parse; the request is what counts
        call(_client(service, answer, **config))
    assert seen, "boto3 sent nothing"
    return seen


def secrets(secret_id: str) -> str | None:
    return {"reelgate/dev/pixverse": SECRET, SECRET: SECRET, f"arn:aws:secretsmanager:{ARN}:secret:reelgate/dev/"
            "pixverse": SECRET}.get(secret_id)


def pairs_of(service: str, call: Callable[[Any], Any], **config: Any) -> list[tuple[str, str]]:
    return requested(sent(service, call, **config)[-1], account=ACCOUNT, region=REGION, secret_arn=secrets)


def presigned(url: str, method: str = "GET") -> WireRequest:
    parts = urlsplit(url)
    return WireRequest(method, parts.path, parts.query, {"Host": parts.netloc})


# --- who signed, for which service ----------------------------------------------------------------------------

@pytest.mark.parametrize(("service", "call", "scope"), [
    ("dynamodb", lambda c: c.get_item(TableName="jobs", Key={}), "dynamodb"),
    ("s3", lambda c: c.head_object(Bucket="media", Key="k"), "s3"),
    ("stepfunctions", lambda c: c.start_execution(stateMachineArn=MACHINE), "states"),
    ("secretsmanager", lambda c: c.get_secret_value(SecretId="x"), "secretsmanager"),
    ("events", lambda c: c.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}]), "events"),
    ("lambda", lambda c: c.invoke(FunctionName="f"), "lambda"),
    ("sts", lambda c: c.get_caller_identity(), "sts"),
    ("sqs", lambda c: c.send_message(QueueUrl="http://127.0.0.1:4566/1/q", MessageBody="m"), "sqs"),
])
def test_the_signer_and_service_come_from_the_sigv4_credential_scope(service: str, call: Any, scope: str) -> None:
    request = sent(service, call)[-1]
    assert (access_key_of(request), service_of(request)) == (KEY, scope)


def test_presigned_urls_name_their_signer_in_sigv4_and_sigv2() -> None:
    client = _client("s3", lambda r: AWSResponse(r.url, 200, {}, _Raw(b"")), signature_version="s3v4")
    v4 = presigned(client.generate_presigned_url("get_object", Params={"Bucket": "media", "Key": "a b"}))
    v2 = presigned(_client("s3", lambda r: AWSResponse(r.url, 200, {}, _Raw(b""))).generate_presigned_url(
        "get_object", Params={"Bucket": "media", "Key": "a b"}))
    assert "X-Amz-Credential" in v4.query and "AWSAccessKeyId" in v2.query
    for request in (v4, v2):
        assert (access_key_of(request), service_of(request)) == (KEY, "s3")
        assert requested(request, account=ACCOUNT, region=REGION, secret_arn=secrets) == [
            ("s3:GetObject", "arn:aws:s3:::media/a b")]


def test_unsigned_requests_have_no_signer_and_headers_ignore_case() -> None:
    request = WireRequest("get", "/media/k", headers={"HOST": "127.0.0.1:4566"})
    assert (access_key_of(request), service_of(request), request.method) == (None, None, "GET")
    assert request.headers["host"] == request.headers.get("Host") == "127.0.0.1:4566" and "hOsT" in request.headers
    assert requested(request, account=ACCOUNT, region=REGION, secret_arn=secrets) == [("unknown:GET", "*")]


# --- DynamoDB -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("call", "expected"), [
    (lambda c: c.get_item(TableName="jobs", Key={"job_id": {"S": "j"}}, ConsistentRead=True),
     [("dynamodb:GetItem", TABLE)]),
    (lambda c: c.put_item(TableName="jobs", Item={"job_id": {"S": "j"}}), [("dynamodb:PutItem", TABLE)]),
    (lambda c: c.update_item(TableName="jobs", Key={}, UpdateExpression="SET a = :a",
                             ExpressionAttributeValues={":a": {"N": "1"}}), [("dynamodb:UpdateItem", TABLE)]),
    (lambda c: c.delete_item(TableName="jobs", Key={}), [("dynamodb:DeleteItem", TABLE)]),
    (lambda c: c.query(TableName="jobs", KeyConditionExpression="a = :a", ExpressionAttributeValues={}),
     [("dynamodb:Query", TABLE)]),
    (lambda c: c.query(TableName="jobs", IndexName="by_owner", KeyConditionExpression="a = :a"),
     [("dynamodb:Query", f"{TABLE}/index/by_owner")]),
    (lambda c: c.scan(TableName="state", IndexName="gsi1"),
     [("dynamodb:Scan", f"arn:aws:dynamodb:{ARN}:table/state/index/gsi1")]),
    (lambda c: c.query(TableName=TABLE, KeyConditionExpression="a = :a"), [("dynamodb:Query", TABLE)]),
    (lambda c: c.describe_table(TableName="jobs"), [("dynamodb:DescribeTable", TABLE)]),
    (lambda c: c.create_table(TableName="jobs", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                              BillingMode="PAY_PER_REQUEST"), [("dynamodb:CreateTable", TABLE)]),
    (lambda c: c.list_tables(), [("dynamodb:ListTables", "*")]),
    (lambda c: c.batch_get_item(RequestItems={"jobs": {"Keys": [{}]}, "state": {"Keys": [{}]}}),
     [("dynamodb:BatchGetItem", TABLE), ("dynamodb:BatchGetItem", f"arn:aws:dynamodb:{ARN}:table/state")]),
    (lambda c: c.batch_write_item(RequestItems={"jobs": [{"PutRequest": {"Item": {}}},
                                                         {"DeleteRequest": {"Key": {}}}]}),
     [("dynamodb:BatchWriteItem", TABLE)]),
    (lambda c: c.transact_write_items(TransactItems=[
        {"ConditionCheck": {"TableName": "state", "Key": {}, "ConditionExpression": "attribute_exists(pk)"}},
        {"Put": {"TableName": "jobs", "Item": {}}}, {"Update": {"TableName": "jobs", "Key": {},
                                                               "UpdateExpression": "SET a = :a"}},
        {"Delete": {"TableName": "jobs", "Key": {}}}, {"Put": {"TableName": "jobs", "Item": {"k": {"S": "2"}}}}]),
     [("dynamodb:ConditionCheckItem", f"arn:aws:dynamodb:{ARN}:table/state"), ("dynamodb:PutItem", TABLE),
      ("dynamodb:UpdateItem", TABLE), ("dynamodb:DeleteItem", TABLE)]),
    (lambda c: c.transact_get_items(TransactItems=[{"Get": {"TableName": "jobs", "Key": {}}}]),
     [("dynamodb:GetItem", TABLE)]),
    (lambda c: c.execute_statement(Statement="SELECT * FROM jobs"), [("dynamodb:ExecuteStatement", "*")]),
])
def test_dynamodb_calls_ask_for_their_action_on_the_table_or_index(call: Any, expected: list) -> None:
    assert pairs_of("dynamodb", call) == expected


def test_the_resource_layer_that_reelgate_uses_asks_for_the_same() -> None:
    seen: list[WireRequest] = []
    table = boto3.resource("dynamodb", region_name=REGION, endpoint_url="http://127.0.0.1:4566",
                           aws_access_key_id=KEY, aws_secret_access_key="x").Table("jobs")
    table.meta.client.meta.events.register(
        "before-send", lambda request, **_: seen.append(wire(request)) or AWSResponse(request.url, 200, {},
                                                                                       _Raw(b"{}")))
    table.put_item(Item={"job_id": "j"}, ConditionExpression="attribute_not_exists(job_id)")
    table.query(IndexName="by_owner", KeyConditionExpression=Key("owner").eq("o"))
    assert [requested(r, account=ACCOUNT, region=REGION, secret_arn=secrets) for r in seen] == [
        [("dynamodb:PutItem", TABLE)], [("dynamodb:Query", f"{TABLE}/index/by_owner")]]


# --- S3 -------------------------------------------------------------------------------------------------------

OBJECT = "arn:aws:s3:::media"


@pytest.mark.parametrize(("call", "expected"), [
    (lambda c: c.get_object(Bucket="media", Key="out/a b+c%d.mp4"), [("s3:GetObject", f"{OBJECT}/out/a b+c%d.mp4")]),
    (lambda c: c.head_object(Bucket="media", Key="k"), [("s3:GetObject", f"{OBJECT}/k")]),
    (lambda c: c.get_object(Bucket="media", Key="k", VersionId="v1"), [("s3:GetObjectVersion", f"{OBJECT}/k")]),
    (lambda c: c.put_object(Bucket="media", Key="in/x.png", Body=b"x", ContentType="image/png"),
     [("s3:PutObject", f"{OBJECT}/in/x.png")]),
    (lambda c: c.put_object(Bucket="media", Key="k", Body=b"x", ACL="public-read", Tagging="a=b"),
     [("s3:PutObject", f"{OBJECT}/k"), ("s3:PutObjectAcl", f"{OBJECT}/k"), ("s3:PutObjectTagging", f"{OBJECT}/k")]),
    (lambda c: c.copy_object(Bucket="media", Key="to", CopySource={"Bucket": "src", "Key": "from here"}),
     [("s3:PutObject", f"{OBJECT}/to"), ("s3:GetObject", "arn:aws:s3:::src/from here")]),
    (lambda c: c.copy_object(Bucket="media", Key="to", CopySource={"Bucket": "src", "Key": "f", "VersionId": "3"}),
     [("s3:PutObject", f"{OBJECT}/to"), ("s3:GetObjectVersion", "arn:aws:s3:::src/f")]),
    (lambda c: c.delete_object(Bucket="media", Key="k"), [("s3:DeleteObject", f"{OBJECT}/k")]),
    (lambda c: c.create_multipart_upload(Bucket="media", Key="big"), [("s3:PutObject", f"{OBJECT}/big")]),
    (lambda c: c.upload_part(Bucket="media", Key="big", UploadId="u", PartNumber=1, Body=b"x"),
     [("s3:PutObject", f"{OBJECT}/big")]),
    (lambda c: c.upload_part_copy(Bucket="media", Key="big", UploadId="u", PartNumber=1,
                                  CopySource={"Bucket": "media", "Key": "small"}),
     [("s3:PutObject", f"{OBJECT}/big"), ("s3:GetObject", f"{OBJECT}/small")]),
    (lambda c: c.complete_multipart_upload(Bucket="media", Key="big", UploadId="u",
                                           MultipartUpload={"Parts": [{"ETag": "e", "PartNumber": 1}]}),
     [("s3:PutObject", f"{OBJECT}/big")]),
    (lambda c: c.abort_multipart_upload(Bucket="media", Key="big", UploadId="u"),
     [("s3:AbortMultipartUpload", f"{OBJECT}/big")]),
    (lambda c: c.list_parts(Bucket="media", Key="big", UploadId="u"),
     [("s3:ListMultipartUploadParts", f"{OBJECT}/big")]),
    (lambda c: c.get_object_tagging(Bucket="media", Key="k"), [("s3:GetObjectTagging", f"{OBJECT}/k")]),
    (lambda c: c.put_object_acl(Bucket="media", Key="k", ACL="private"), [("s3:PutObjectAcl", f"{OBJECT}/k")]),
    (lambda c: c.list_objects_v2(Bucket="media", Prefix="out/"), [("s3:ListBucket", OBJECT)]),
    (lambda c: c.list_objects(Bucket="media"), [("s3:ListBucket", OBJECT)]),
    (lambda c: c.head_bucket(Bucket="media"), [("s3:ListBucket", OBJECT)]),
    (lambda c: c.list_object_versions(Bucket="media"), [("s3:ListBucketVersions", OBJECT)]),
    (lambda c: c.list_multipart_uploads(Bucket="media"), [("s3:ListBucketMultipartUploads", OBJECT)]),
    (lambda c: c.put_bucket_notification_configuration(Bucket="media", NotificationConfiguration={}),
     [("s3:PutBucketNotification", OBJECT)]),
    (lambda c: c.get_bucket_notification_configuration(Bucket="media"), [("s3:GetBucketNotification", OBJECT)]),
    (lambda c: c.delete_bucket_cors(Bucket="media"), [("s3:PutBucketCORS", OBJECT)]),
    (lambda c: c.get_bucket_location(Bucket="media"), [("s3:GetBucketLocation", OBJECT)]),
    (lambda c: c.create_bucket(Bucket="media"), [("s3:CreateBucket", OBJECT)]),
    (lambda c: c.delete_bucket(Bucket="media"), [("s3:DeleteBucket", OBJECT)]),
    (lambda c: c.list_buckets(), [("s3:ListAllMyBuckets", "*")]),
    (lambda c: c.delete_objects(Bucket="media", Delete={"Objects": [{"Key": "a&b <c>"}, {"Key": "d",
                                                                                        "VersionId": "v"}]}),
     [("s3:DeleteObject", f"{OBJECT}/a&b <c>"), ("s3:DeleteObjectVersion", f"{OBJECT}/d")]),
])
def test_s3_calls_ask_for_the_object_or_bucket_action(call: Any, expected: list) -> None:
    assert pairs_of("s3", call) == expected


def test_reelgate_media_store_transfers_ask_only_for_get_and_put(tmp_path: Any) -> None:
    source = tmp_path / "in.mp4"
    source.write_bytes(b"video")
    uploads = sent("s3", lambda c: c.upload_file(str(source), "media", "out/v.mp4",
                                                 ExtraArgs={"ContentType": "video/mp4"}))
    downloads = sent("s3", lambda c: c.download_file("media", "in/v.mp4", str(tmp_path / "out.mp4")))
    asked = {pair for r in uploads + downloads for pair in requested(r, account=ACCOUNT, region=REGION,
                                                                     secret_arn=secrets)}
    assert asked == {("s3:PutObject", f"{OBJECT}/out/v.mp4"), ("s3:GetObject", f"{OBJECT}/in/v.mp4")}


@pytest.mark.parametrize("host", ["media.s3.amazonaws.com", "media.s3.us-east-1.amazonaws.com",
                                  "media.localhost:4566"])
def test_virtual_hosted_s3_takes_the_bucket_from_the_host(host: str) -> None:
    signed = {"Host": host, "Authorization": f"AWS4-HMAC-SHA256 Credential={KEY}/20260101/{REGION}/s3/aws4_request"}
    key = WireRequest("GET", "/dir/a%20b", headers=signed)
    bucket = WireRequest("GET", "/", "list-type=2", headers=signed)
    assert requested(key, account=ACCOUNT, region=REGION, secret_arn=secrets) == [("s3:GetObject", f"{OBJECT}/dir/a b")]
    assert requested(bucket, account=ACCOUNT, region=REGION, secret_arn=secrets) == [("s3:ListBucket", OBJECT)]


def test_a_presigned_put_asks_for_put_object() -> None:
    client = _client("s3", lambda r: AWSResponse(r.url, 200, {}, _Raw(b"")), signature_version="s3v4")
    url = client.generate_presigned_url("put_object", Params={"Bucket": "media", "Key": "up/x.png"})
    assert requested(presigned(url, "PUT"), account=ACCOUNT, region=REGION, secret_arn=secrets) == [
        ("s3:PutObject", f"{OBJECT}/up/x.png")]


# --- Step Functions, Secrets Manager, EventBridge, Lambda, the rest ------------------------------------------

EXECUTION = f"arn:aws:states:{ARN}:execution:toolkit:job-1"


@pytest.mark.parametrize(("call", "expected"), [
    (lambda c: c.start_execution(stateMachineArn=MACHINE, name="job-1", input="{}"),
     [("states:StartExecution", MACHINE)]),
    (lambda c: c.start_sync_execution(stateMachineArn=MACHINE), [("states:StartSyncExecution", MACHINE)]),
    (lambda c: c.describe_execution(executionArn=EXECUTION), [("states:DescribeExecution", EXECUTION)]),
    (lambda c: c.stop_execution(executionArn=EXECUTION), [("states:StopExecution", EXECUTION)]),
    (lambda c: c.get_execution_history(executionArn=EXECUTION), [("states:GetExecutionHistory", EXECUTION)]),
    (lambda c: c.list_executions(stateMachineArn=MACHINE), [("states:ListExecutions", MACHINE)]),
    (lambda c: c.describe_state_machine(stateMachineArn=MACHINE), [("states:DescribeStateMachine", MACHINE)]),
    (lambda c: c.send_task_success(taskToken="t", output="{}"), [("states:SendTaskSuccess", "*")]),
    (lambda c: c.send_task_failure(taskToken="t"), [("states:SendTaskFailure", "*")]),
    (lambda c: c.send_task_heartbeat(taskToken="t"), [("states:SendTaskHeartbeat", "*")]),
    (lambda c: c.list_state_machines(), [("states:ListStateMachines", "*")]),
    (lambda c: c.create_state_machine(name="toolkit", definition="{}", roleArn="arn:aws:iam::1:role/r"),
     [("states:CreateStateMachine", MACHINE), ("iam:PassRole", "arn:aws:iam::1:role/r")]),
])
def test_step_functions_calls_ask_on_the_machine_or_execution(call: Any, expected: list) -> None:
    assert pairs_of("stepfunctions", call) == expected


@pytest.mark.parametrize(("call", "expected"), [
    (lambda c: c.get_secret_value(SecretId=SECRET), [("secretsmanager:GetSecretValue", SECRET)]),
    (lambda c: c.get_secret_value(SecretId="reelgate/dev/pixverse"), [("secretsmanager:GetSecretValue", SECRET)]),
    (lambda c: c.describe_secret(SecretId=f"arn:aws:secretsmanager:{ARN}:secret:reelgate/dev/pixverse"),
     [("secretsmanager:DescribeSecret", SECRET)]),
    (lambda c: c.put_secret_value(SecretId="reelgate/dev/nope", SecretString="s"),
     [("secretsmanager:PutSecretValue", f"arn:aws:secretsmanager:{ARN}:secret:reelgate/dev/nope")]),
    (lambda c: c.get_secret_value(SecretId=f"arn:aws:secretsmanager:{ARN}:secret:gone-123456"),
     [("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{ARN}:secret:gone-123456")]),
    (lambda c: c.batch_get_secret_value(SecretIdList=["reelgate/dev/pixverse", "other"]),
     [("secretsmanager:BatchGetSecretValue", "*"), ("secretsmanager:GetSecretValue", SECRET),
      ("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{ARN}:secret:other")]),
    (lambda c: c.list_secrets(), [("secretsmanager:ListSecrets", "*")]),
])
def test_secrets_are_asked_for_by_their_full_arn_when_known(call: Any, expected: list) -> None:
    assert pairs_of("secretsmanager", call) == expected


BUS = f"arn:aws:events:{ARN}:event-bus"


@pytest.mark.parametrize(("call", "expected"), [
    (lambda c: c.put_events(Entries=[{"Source": "reelgate", "DetailType": "d", "Detail": "{}",
                                      "EventBusName": "reelgate-dev"}]),
     [("events:PutEvents", f"{BUS}/reelgate-dev")]),
    (lambda c: c.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"},
                                     {"Source": "s", "DetailType": "d", "Detail": "{}", "EventBusName": "b"},
                                     {"Source": "s", "DetailType": "d", "Detail": "{}", "EventBusName": f"{BUS}/b"}]),
     [("events:PutEvents", f"{BUS}/default"), ("events:PutEvents", f"{BUS}/b")]),
    (lambda c: c.put_rule(Name="r", EventBusName="b", EventPattern="{}"),
     [("events:PutRule", f"arn:aws:events:{ARN}:rule/b/r")]),
    (lambda c: c.put_targets(Rule="r", Targets=[{"Id": "1", "Arn": "arn:aws:sqs:x"}]),
     [("events:PutTargets", f"arn:aws:events:{ARN}:rule/r")]),
    (lambda c: c.describe_event_bus(Name="b"), [("events:DescribeEventBus", f"{BUS}/b")]),
])
def test_eventbridge_asks_once_per_bus_and_per_rule(call: Any, expected: list) -> None:
    assert pairs_of("events", call) == expected


FUNCTION = f"arn:aws:lambda:{ARN}:function:toolkit_render"


@pytest.mark.parametrize(("call", "expected"), [
    (lambda c: c.invoke(FunctionName="toolkit_render", Payload=b"{}"), [("lambda:InvokeFunction", FUNCTION)]),
    (lambda c: c.invoke(FunctionName=FUNCTION, InvocationType="Event"), [("lambda:InvokeFunction", FUNCTION)]),
    (lambda c: c.invoke(FunctionName=f"{FUNCTION}:live"), [("lambda:InvokeFunction", f"{FUNCTION}:live")]),
    (lambda c: c.invoke(FunctionName="toolkit_render", Qualifier="3"), [("lambda:InvokeFunction", f"{FUNCTION}:3")]),
    (lambda c: c.invoke(FunctionName=f"{ACCOUNT}:function:toolkit_render"), [("lambda:InvokeFunction", FUNCTION)]),
    (lambda c: c.get_function(FunctionName="toolkit_render"), [("lambda:GetFunction", FUNCTION)]),
    (lambda c: c.list_functions(), [("lambda:GET", "*")]),
])
def test_lambda_invocations_ask_on_the_function_arn(call: Any, expected: list) -> None:
    assert pairs_of("lambda", call) == expected


def test_unrecognised_calls_ask_for_service_operation_on_everything() -> None:
    assert pairs_of("sqs", lambda c: c.send_message(QueueUrl="http://127.0.0.1:4566/1/q", MessageBody="m")) == [
        ("sqs:SendMessage", "*")]
    assert pairs_of("sts", lambda c: c.assume_role(RoleArn="arn:aws:iam::1:role/r", RoleSessionName="session")) == [
        ("sts:AssumeRole", "*")]
    assert pairs_of("sts", lambda c: c.get_caller_identity()) == []  # needs no permission in AWS either
    garbled = WireRequest("POST", "/", headers={"X-Amz-Target": "DynamoDB_20120810.GetItem", "Authorization":
                          f"AWS4-HMAC-SHA256 Credential={KEY}/20260101/{REGION}/dynamodb/aws4_request, S=x"},
                          body=b'{"RequestItems": 3}')
    assert requested(garbled, account=ACCOUNT, region=REGION, secret_arn=secrets) == [("dynamodb:GetItem", "*")]


# --- evaluation -----------------------------------------------------------------------------------------------

RENDER = Policy(PRINCIPAL, (
    Statement("Allow", ("dynamodb:GetItem", "dynamodb:Query"), (TABLE,)),
    Statement("Allow", ("dynamodb:Put*", "DynamoDB:updateitem"), (TABLE,)),
    Statement("Allow", ("s3:GetObject",), ("arn:aws:s3:::media/*",)),
    Statement("Allow", ("s3:PutObject",), ("arn:aws:s3:::media/out/??/*",)),
    Statement("Allow", ("states:StartExecution",), (MACHINE,)),
    Statement("Allow", ("states:SendTask*",), ("*",)),
    Statement("Deny", ("s3:*",), ("arn:aws:s3:::media/private/*",)),
))


@pytest.mark.parametrize(("pairs", "denied"), [
    ([("dynamodb:GetItem", TABLE), ("dynamodb:PutItem", TABLE), ("dynamodb:UpdateItem", TABLE)], None),
    ([("DYNAMODB:getitem", TABLE)], None),  # actions ignore case
    ([("dynamodb:GetItem", TABLE.replace("jobs", "Jobs"))], ("dynamodb:GetItem", TABLE.replace("jobs", "Jobs"))),
    ([("dynamodb:Query", f"{TABLE}/index/by_owner")], ("dynamodb:Query", f"{TABLE}/index/by_owner")),
    ([("dynamodb:GetItem", TABLE), ("dynamodb:DeleteItem", TABLE)], ("dynamodb:DeleteItem", TABLE)),
    ([("s3:GetObject", "arn:aws:s3:::media/a/b/c")], None),
    ([("s3:PutObject", "arn:aws:s3:::media/out/ab/v.mp4")], None),
    ([("s3:PutObject", "arn:aws:s3:::media/out/abc/v.mp4")], ("s3:PutObject", "arn:aws:s3:::media/out/abc/v.mp4")),
    ([("s3:GetObject", "arn:aws:s3:::media/private/k")], ("s3:GetObject", "arn:aws:s3:::media/private/k")),
    ([("s3:GetObject", "arn:aws:s3:::media")], ("s3:GetObject", "arn:aws:s3:::media")),
    ([("states:StartExecution", MACHINE), ("states:SendTaskSuccess", "*")], None),
    ([("states:StartExecution", "*")], ("states:StartExecution", "*")),
    ([("secretsmanager:GetSecretValue", SECRET)], ("secretsmanager:GetSecretValue", SECRET)),
    ([], None),
])
def test_deny_wins_then_allow_else_denied(pairs: list, denied: tuple[str, str] | None) -> None:
    assert evaluate(RENDER, pairs) == denied


def test_resource_wildcards_span_slashes_and_colons_but_not_case() -> None:
    assert resource_matches("arn:aws:dynamodb:*:*:table/jobs*", f"{TABLE}/index/x")
    assert resource_matches("arn:aws:lambda:*:*:function:toolkit_render:*", f"{FUNCTION}:live")
    assert not resource_matches("arn:aws:lambda:*:*:function:toolkit_render", f"{FUNCTION}:live")
    assert resource_matches("arn:aws:dynamodb:*:table/jobs", TABLE)  # AWS: a segment-final `*` passes colons
    assert not resource_matches("arn:aws:dynamodb:*:table/Jobs", TABLE)
    assert not resource_matches("arn:aws:s3:::media/*", "*")
    assert resource_matches("*", "anything") and resource_matches("arn:aws:s3:::m?dia/*", "arn:aws:s3:::media/k")


def test_policies_come_from_iam_documents_and_refuse_what_cannot_be_honoured() -> None:
    policy = Policy.from_documents(PRINCIPAL, [
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                 "Resource": ["arn:aws:s3:::media/*"]}]},
        {"Statement": {"Effect": "Deny", "Action": ["s3:*"], "Resource": "arn:aws:s3:::media/private/*"}}])
    assert policy.statements == (Statement("Allow", ("s3:GetObject",), ("arn:aws:s3:::media/*",)),
                                 Statement("Deny", ("s3:*",), ("arn:aws:s3:::media/private/*",)))
    with pytest.raises(ValueError, match="Condition"):
        Policy.from_documents(PRINCIPAL, [{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
                                                          "Condition": {}}]}])


# --- access denied, as botocore reads it ----------------------------------------------------------------------

def refused(service: str, call: Callable[[Any], Any], answer: tuple[int, dict[str, str], bytes]) -> dict:
    status, headers, body = answer
    client = _client(service, lambda r: AWSResponse(r.url, status, headers, _Raw(body)))
    with pytest.raises(ClientError) as error:
        call(client)
    return error.value.response


@pytest.mark.parametrize(("service", "scope", "call", "code"), [
    ("dynamodb", "dynamodb", lambda c: c.get_item(TableName="jobs", Key={}), "AccessDeniedException"),
    ("stepfunctions", "states", lambda c: c.start_execution(stateMachineArn=MACHINE), "AccessDeniedException"),
    ("secretsmanager", "secretsmanager", lambda c: c.get_secret_value(SecretId="x"), "AccessDeniedException"),
    ("events", "events", lambda c: c.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}]),
     "AccessDeniedException"),
    ("lambda", "lambda", lambda c: c.invoke(FunctionName="f"), "AccessDeniedException"),
    ("sqs", "sqs", lambda c: c.send_message(QueueUrl="http://127.0.0.1:4566/1/q", MessageBody="m"),
     "AccessDeniedException"),
    ("sts", "sts", lambda c: c.assume_role(RoleArn="arn:aws:iam::1:role/r", RoleSessionName="session"), "AccessDenied"),
])
def test_json_and_query_services_answer_access_denied_with_the_reason(service: str, scope: str, call: Any,
                                                                       code: str) -> None:
    answer = access_denied(scope, PRINCIPAL, "x:Do", "arn:aws:x:::thing")
    response = refused(service, call, answer)
    assert response["Error"]["Code"] == code
    assert response["Error"]["Message"] == (f"User: {PRINCIPAL} is not authorized to perform: x:Do on resource: "
                                            "arn:aws:x:::thing because no identity-based policy allows the x:Do "
                                            "action")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == answer[0] == (400 if service not in ("lambda", "sts")
                                                                           else 403)


def test_dynamodb_answers_in_its_own_coral_format() -> None:
    status, headers, body = access_denied("dynamodb", PRINCIPAL, "dynamodb:GetItem", TABLE)
    assert (status, headers["Content-Type"]) == (400, "application/x-amz-json-1.0")
    assert json.loads(body)["__type"] == "com.amazon.coral.service#AccessDeniedException"
    assert access_denied("secretsmanager", PRINCIPAL, "a", "r")[1]["Content-Type"] == "application/x-amz-json-1.1"


@pytest.mark.parametrize("call", [lambda c: c.get_object(Bucket="media", Key="k"),
                                  lambda c: c.put_object(Bucket="media", Key="k", Body=b"x"),
                                  lambda c: c.list_objects_v2(Bucket="media")])
def test_s3_answers_403_access_denied_xml(call: Any) -> None:
    response = refused("s3", call, access_denied("s3", PRINCIPAL, "s3:GetObject", f"{OBJECT}/k"))
    assert (response["Error"]["Code"], response["Error"]["Message"]) == ("AccessDenied", "Access Denied")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
