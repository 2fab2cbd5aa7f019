"""Create Reelgate's AWS resources in an emulated account, from the registry and the ASL files.

Used by the local cloud (against the moto server) and by integration tests (moto in-process).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from typing import Any

from infra.environment import SECRET_NAMES
from infra.registry import (
    FLOWS,
    FUNCTIONS,
    JOBS_OWNER_INDEX,
    JOBS_TABLE_KEY,
    S3_TRIGGERS,
    STATE_TABLE_KEY,
    Flow,
)

ROLE_NAME = "reelgate-local"
LOCAL_STAGE = "local"
_ASSUME = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                   "Action": "sts:AssumeRole"}],
}


@dataclass(frozen=True)
class Names:
    jobs_table: str
    state_table: str
    media_bucket: str
    event_bus: str = "reelgate-local"
    events_tap: str = "reelgate-events-tap"  # an SQS queue receiving every event of the bus (local only)


LOCAL_NAMES = Names(jobs_table="reelgate-jobs", state_table="reelgate-state", media_bucket="reelgate-media")


def secret_name(stage: str, key: str) -> str:
    """A secret's name as the CDK stack gives it: reelgate/<stage>/<name>, e.g. reelgate/local/pixverse-api-key."""
    return f"reelgate/{stage}/{SECRET_NAMES[key]}"


def provision(session: Any, names: Names) -> dict[str, str]:
    """Create everything; returns settings env (REELGATE_*) that point the functions at it."""
    role_arn = _role(session.client("iam"))
    _tables(session.client("dynamodb"), names)
    s3 = session.client("s3")
    s3.create_bucket(Bucket=names.media_bucket)
    function_arns = _functions(session.client("lambda"), role_arn)
    env = {f"REELGATE_{flow.name.upper()}_FLOW_ARN": _flow(session.client("stepfunctions"), flow, function_arns,
                                                         role_arn) for flow in FLOWS}
    _triggers(s3, names.media_bucket, function_arns)
    session.client("events").create_event_bus(Name=names.event_bus)
    events_tap(session, names)
    return env | {
        "REELGATE_EVENT_BUS": names.event_bus,
        "REELGATE_JOBS_TABLE": names.jobs_table,
        "REELGATE_STATE_TABLE": names.state_table,
        "REELGATE_MEDIA_BUCKET": names.media_bucket,
    }


def events_tap(session: Any, names: Names) -> str:
    """An SQS queue every event of the bus is also routed to (a rule matching the account), so anyone can read
    the job events with `aws sqs receive-message`; returns its URL. Deployed stacks have no tap: subscribers
    add rules of their own to the bus."""
    sqs = session.client("sqs")
    url = str(sqs.create_queue(QueueName=names.events_tap)["QueueUrl"])
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    account = arn.split(":")[4]
    events = session.client("events")
    events.put_rule(Name=names.events_tap, EventBusName=names.event_bus,
                    EventPattern=json.dumps({"account": [account]}), Description="every event, to the local tap")
    events.put_targets(Rule=names.events_tap, EventBusName=names.event_bus, Targets=[{"Id": "tap", "Arn": arn}])
    return url


def _role(iam: Any) -> str:
    return str(iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(_ASSUME))["Role"]["Arn"])


def _tables(dynamodb: Any, names: Names) -> None:
    index, owner, created = JOBS_OWNER_INDEX
    dynamodb.create_table(
        TableName=names.jobs_table,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": JOBS_TABLE_KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in (JOBS_TABLE_KEY, owner, created)],
        GlobalSecondaryIndexes=[{
            "IndexName": index,
            "KeySchema": [{"AttributeName": owner, "KeyType": "HASH"}, {"AttributeName": created, "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }],
    )
    dynamodb.create_table(
        TableName=names.state_table,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": STATE_TABLE_KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": STATE_TABLE_KEY, "AttributeType": "S"}],
    )


def _placeholder_zip() -> bytes:
    # The emulated function never runs this code: invokes are routed to the real handler in-process.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return None\n")
    return buffer.getvalue()


def _functions(awslambda: Any, role_arn: str) -> dict[str, str]:
    code = _placeholder_zip()
    arns = {}
    for fn in FUNCTIONS:
        created = awslambda.create_function(
            FunctionName=fn.name, Runtime="python3.12", Role=role_arn, Handler="handler.handler",
            Code={"ZipFile": code}, MemorySize=fn.memory, Timeout=fn.timeout, Architectures=[fn.arch],
        )
        arns[fn.name] = created["FunctionArn"]
    return arns


def definition(flow: Flow, function_arns: dict[str, str]) -> str:
    """The ASL text with every ${Key} replaced, exactly as CDK's definition_substitutions would."""
    values = {key: function_arns[name] for key, name in flow.functions.items()} | flow.values
    text = flow.path.read_text()
    missing = set(re.findall(r"\$\{(\w+)\}", text)) - values.keys()
    if missing:
        raise KeyError(f"{flow.asl}: no substitution for {sorted(missing)}")
    return re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], text)


def check_flow_role(flow: Flow, text: str, function_arns: dict[str, str]) -> None:
    """Every function the ASL invokes must be one the machine's role may invoke (the CDK role's statement)."""
    from infra.environment import flow_statements
    from infra.local.iam import Policy, Statement, evaluate

    role = Policy(f"states:{flow.name}", tuple(Statement("Allow", s.actions, s.resources)
                                               for s in flow_statements(flow, function_arns)))
    invoked = set(re.findall(r"arn:aws:lambda:[^\"]+?:function:[\w-]+", text))
    if denied := evaluate(role, [("lambda:InvokeFunction", arn) for arn in sorted(invoked)]):
        raise PermissionError(f"{flow.asl}: the state machine's role may not invoke {denied[1]}")


def _flow(sfn: Any, flow: Flow, function_arns: dict[str, str], role_arn: str) -> str:
    text = definition(flow, function_arns)
    check_flow_role(flow, text, function_arns)
    created = sfn.create_state_machine(name=f"reelgate-{flow.name}", definition=text, roleArn=role_arn)
    return str(created["stateMachineArn"])


def _triggers(s3: Any, bucket: str, function_arns: dict[str, str]) -> None:
    configurations = []
    for trigger in S3_TRIGGERS:
        for suffix in trigger.suffixes or ("",):
            rules = [{"Name": "prefix", "Value": trigger.prefix}] + ([{"Name": "suffix", "Value": suffix}] if suffix
                                                                       else [])
            configurations.append({
                "LambdaFunctionArn": function_arns[trigger.function],
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": rules}},
            })
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"LambdaFunctionConfigurations": configurations},
    )
