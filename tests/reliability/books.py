"""The local cloud's books, read directly from its emulated AWS: key balances and job records."""

from __future__ import annotations

from typing import Any

import boto3
import httpx
from reelgate.dynamo import from_dynamo

from tests.e2e.conftest import LocalCloud


def aws(cloud: LocalCloud, kind: str, service: str) -> Any:
    info = cloud.info
    return getattr(boto3, kind)(service, endpoint_url=info["aws_endpoint"], region_name="us-east-1",
                                aws_access_key_id=info["aws_access_key_id"],
                                aws_secret_access_key=info["aws_secret_access_key"])


def _scan(cloud: LocalCloud, table_name: str) -> list[dict[str, Any]]:
    table = aws(cloud, "resource", "dynamodb").Table(table_name)
    items, page = [], table.scan(ConsistentRead=True)
    items += page["Items"]
    while "LastEvaluatedKey" in page:
        page = table.scan(ConsistentRead=True, ExclusiveStartKey=page["LastEvaluatedKey"])
        items += page["Items"]
    return [from_dynamo(item) for item in items]


def balances(cloud: LocalCloud) -> dict[str, int]:
    """key id -> credits."""
    return {str(i["pk"]).removeprefix("apikey#"): int(i["credits"]) for i in _scan(cloud, cloud.info["state_table"])
            if str(i["pk"]).startswith("apikey#")}


def state(cloud: LocalCloud) -> list[dict[str, Any]]:
    return _scan(cloud, cloud.info["state_table"])


def jobs(cloud: LocalCloud) -> list[dict[str, Any]]:
    return _scan(cloud, cloud.info["jobs_table"])


def queue_count(cloud: LocalCloud) -> int:
    return sum(int(i.get("count", 0)) for i in state(cloud) if i["pk"] == "queue#toolkit")


def unfinished(cloud: LocalCloud) -> list[str]:
    """Jobs not in a terminal state (queued, submitting, running)."""
    return [str(j["job_id"]) for j in jobs(cloud) if j.get("status") not in ("succeeded", "failed")]


def busy_functions(cloud: LocalCloud) -> dict[str, int]:
    """Functions running or about to run an invocation now (the local Lambda runtime's figures), with how many."""
    report = httpx.get(f"{cloud.info['aws_endpoint']}/_reelgate/lambda", timeout=30).json()
    return {name: busy for name, figures in report.items() if (busy := figures["busy"] + figures["waiting"])}


def drained(cloud: LocalCloud) -> bool:
    """Nothing left running: every job terminal, the queue counter at zero, no function busy."""
    return not unfinished(cloud) and queue_count(cloud) == 0 and not busy_functions(cloud)
