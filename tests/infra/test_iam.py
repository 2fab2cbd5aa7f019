"""Each function role holds exactly what its registry grants say, on exactly those resources."""

from __future__ import annotations

import json
from typing import Any

import pytest
from infra_helpers import Synth, as_list, refs_in, role_id_of, role_statements

from infra import registry

FUNCTIONS = {fn.name: fn for fn in registry.FUNCTIONS}
BASELINE = {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}
GRANT_ACTIONS = {
    "read": {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"},
    "write": {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"},
    "scan": {"dynamodb:Scan"},  # on the table alone (tests/infra/test_drift_schedule.py)
    "media:read": {"s3:GetObject"},
    "media:write": {"s3:PutObject", "s3:AbortMultipartUpload"},
    "media:inbox": {"s3:PutObject"},  # under inbox/ only (tests/infra/test_inbox_resources.py)
    "media:mobile_inbox": {"s3:PutObject"},  # under inbox/mobile/ only (likewise)
    "media:mobile_inbox_read": {"s3:GetObject"},  # under inbox/mobile/ only (likewise)
    "media:segments": {"s3:DeleteObject"},  # under segments/ only (tests/infra/test_segments_flow.py)
    "events:put": {"events:PutEvents"},
    "secret": {"secretsmanager:GetSecretValue"},
    "cdn": {"secretsmanager:GetSecretValue"},  # the output links' private key (tests/infra/test_cdn.py)
    "flow": {"states:StartExecution"},
    "tasks": {"states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"},
}


def expected_actions(grants: frozenset[str]) -> set[str]:
    actions = set(BASELINE)
    for grant in grants:
        kind, target = grant.split(":")
        key = target if kind in ("jobs", "state") else grant if kind in ("media", "events") else kind
        actions |= GRANT_ACTIONS[key]
    return actions


def statements_of(synth: Synth, name: str) -> list[dict[str, Any]]:
    return role_statements(synth.resources, role_id_of(synth.resources[synth.function_id(name)]))


def granted(synth: Synth, name: str, prefix: str) -> set[str]:
    """Logical ids of the resources on which `name` holds actions starting with `prefix`."""
    return {ref for st in statements_of(synth, name)
            if any(a.startswith(prefix) for a in as_list(st["Action"])) for ref in refs_in(st["Resource"])}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_role_actions_are_exactly_the_grants(synth: Synth, name: str) -> None:
    actions = {a for st in statements_of(synth, name) for a in as_list(st["Action"])}
    assert actions == expected_actions(FUNCTIONS[name].grants)
    assert all(st["Effect"] == "Allow" for st in statements_of(synth, name))


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_role_resources_are_exactly_the_granted_ones(synth: Synth, name: str) -> None:
    spec, stack = FUNCTIONS[name], synth.stack
    kinds = {g.split(":")[0] for g in spec.grants}
    tables = {synth.logical_id(stack.data.jobs)} if "jobs" in kinds else set()
    tables |= {synth.logical_id(stack.data.state)} if "state" in kinds else set()
    assert granted(synth, name, "dynamodb:") == tables
    media = {synth.logical_id(stack.media.bucket)} if "media" in kinds else set()
    assert granted(synth, name, "s3:") == media
    flows = {synth.logical_id(stack.flows.machines[g.split(":")[1]]) for g in spec.grants if g.startswith("flow:")}
    assert granted(synth, name, "states:") == flows
    secrets = {synth.logical_id(stack.integrations.secrets[g.split(":")[1]])
               for g in spec.grants if g.startswith("secret:")}
    # The CDN key's secret is the operator's, named by an ARN pattern of the stack's partition, region and account.
    secrets |= {"AWS::Partition", "AWS::Region", "AWS::AccountId"} if "cdn:sign" in spec.grants else set()
    assert granted(synth, name, "secretsmanager:") == secrets
    bus = {synth.logical_id(stack.integrations.bus)} if "events" in kinds else set()
    assert granted(synth, name, "events:") == bus


def test_jobs_read_covers_the_owner_index(synth: Synth) -> None:
    index = registry.JOBS_OWNER_INDEX[0]
    query = [st for st in statements_of(synth, "toolkit_jobs_status") if "dynamodb:Query" in as_list(st["Action"])]
    resources = [r for st in query for r in as_list(st["Resource"])]
    assert any(isinstance(r, dict) and "Fn::Join" in r and r["Fn::Join"][1][-1] == f"/index/{index}"
               for r in resources)


def test_examples_from_the_brief(synth: Synth) -> None:
    def actions(name: str) -> set[str]:
        return {a for st in statements_of(synth, name) for a in as_list(st["Action"])}

    assert "dynamodb:PutItem" not in actions("get_status")
    assert "states:StartExecution" not in actions("toolkit_render")
    assert "secretsmanager:GetSecretValue" not in actions("toolkit_render")
    secrets = [st["Resource"] for st in statements_of(synth, "toolkit_image_to_video")
               if "secretsmanager:GetSecretValue" in as_list(st["Action"])]
    assert len(secrets) == 1 and "secret:reelgate/dev/cdn-private-key-??????" in json.dumps(secrets)
    assert actions("health") == BASELINE


def test_task_token_actions_are_granted_on_star_only_to_the_callback_paths(synth: Synth) -> None:
    # A service integration's task token names no resource, so SendTask* cannot be scoped: only the
    # functions that resume TopView and Pixverse waits hold it.
    holders = {name for name in FUNCTIONS if any(
        a.startswith("states:SendTask") for st in statements_of(synth, name) for a in as_list(st["Action"]))}
    assert holders == {"topview_callback", "topview_await", "pixverse_callback", "pixverse_await"}
    for name in holders:
        send = [st for st in statements_of(synth, name) if "states:SendTaskSuccess" in as_list(st["Action"])]
        assert [as_list(st["Resource"]) for st in send] == [["*"]]


def test_no_function_role_uses_managed_policies(synth: Synth) -> None:
    for name in FUNCTIONS:
        role = synth.resources[role_id_of(synth.resources[synth.function_id(name)])]
        assert "ManagedPolicyArns" not in role["Properties"]
