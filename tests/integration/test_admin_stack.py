"""`python -m infra.admin --stack <name>` operates on the deployed stack's resources, named by its outputs;
apps are registered only with an Apphud key the functions may read (the stack's app-keys secret)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra import admin
from infra.outputs import OUTPUT_SETTINGS, output_key
from tests.integration.conftest import _reset_caches

STACK = "reelgate-prod"
BUNDLE = "com.example.reels"


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A CloudFormation stack whose outputs name a state table and an app-keys secret, as the CDK stack's do."""
    for name in ("REELGATE_STATE_TABLE", "REELGATE_JOBS_TABLE", "REELGATE_APPHUD_APP_KEYS_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        _reset_caches()
        boto3.client("dynamodb").create_table(
            TableName="reelgate-prod-State1A2B", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
        secret = boto3.client("secretsmanager").create_secret(
            Name="reelgate/prod/apphud-app-keys", SecretString="generatedplaceholder")["ARN"]
        names = {name: f"deployed-{name}" for name in OUTPUT_SETTINGS}
        names |= {"state_table": "reelgate-prod-State1A2B", "apphud_app_keys_secret": secret}
        create_stack(STACK, names)
        try:
            yield names
        finally:
            _reset_caches()


def create_stack(name: str, outputs: dict[str, str]) -> None:
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {output_key(setting): {"Value": value} for setting, value in outputs.items()}}
    boto3.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = admin.main(list(argv))
    out, err = capsys.readouterr()
    return code, json.loads(out) if code == 0 else None, err


def app_keys(names: dict[str, str]) -> dict[str, str]:
    value = boto3.client("secretsmanager").get_secret_value(SecretId=names["apphud_app_keys_secret"])
    return dict(json.loads(value["SecretString"]))


def test_the_stacks_outputs_name_every_resource(stack: dict[str, str]) -> None:
    assert admin.deployed(STACK) == stack
    settings = admin.configured(STACK)
    assert admin.state_table(settings) == "reelgate-prod-State1A2B"
    assert admin.event_bus(settings) == stack["event_bus"]


def test_keys_are_created_in_the_stacks_state_table(stack: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, created, _ = run(capsys, "--stack", STACK, "keys", "create", "tenant", "--credits", "5")
    assert code == 0
    items = boto3.client("dynamodb").scan(TableName=stack["state_table"])["Items"]
    assert any(created["key_id"] in json.dumps(item) for item in items)
    code, listed, _ = run(capsys, "--stack", STACK, "keys", "list")
    assert [key["key_id"] for key in listed] == [created["key_id"]]


def test_an_unknown_stack_or_an_old_one_says_so(stack: dict[str, str]) -> None:
    with pytest.raises(SystemExit, match="'reelgate-nope'"):
        admin.main(["--stack", "reelgate-nope", "keys", "list"])
    create_stack("reelgate-old", {"state_table": "t"})
    with pytest.raises(SystemExit, match=r"no outputs .*JobsTable.*make deploy"):
        admin.main(["--stack", "reelgate-old", "keys", "list"])


def test_an_app_is_registered_with_its_key_in_the_stacks_secret(
        stack: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("app_first\n"))
    assert run(capsys, "--stack", STACK, "apps", "put", "com.example.first", "--apphud-key-stdin")[0] == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("app_reels\n"))
    code, app, _ = run(capsys, "--stack", STACK, "apps", "put", BUNDLE, "--apphud-key-stdin")
    assert code == 0
    assert app["apphud_key_ref"] == f"secret:{stack['apphud_app_keys_secret']}#{BUNDLE}"
    assert app_keys(stack) == {"com.example.first": "app_first", BUNDLE: "app_reels"}  # the first app's key stays
    # Re-registering (new limits) needs no key: the secret already holds it.
    code, app, _ = run(capsys, "--stack", STACK, "apps", "put", BUNDLE, "--monthly-generations", "5")
    assert (code, app["monthly_generations"]) == (0, 5)
    code, apps, _ = run(capsys, "--stack", STACK, "apps", "list")
    assert {a["bundle_id"] for a in apps} == {"com.example.first", BUNDLE}


@pytest.mark.parametrize("ref", [
    "secret:reelgate/prod/pixverse-api-key#com.example.reels",  # a secret the functions may not read for apps
    "secret:someone-elses-secret",
    "secret:reelgate/prod/apphud-app-keys",  # no JSON key
    "env:APPHUD_KEY",  # deployed functions have no such variable
])
def test_a_key_the_functions_could_not_read_is_refused_at_registration(
        stack: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, ref: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("app_reels\n"))
    code, _, err = run(capsys, "--stack", STACK, "apps", "put", BUNDLE, "--apphud-key-ref", ref, "--apphud-key-stdin")
    assert code == 2
    assert "reelgate/prod/apphud-app-keys" in err and "the only secret the functions may read" in err
    assert run(capsys, "--stack", STACK, "apps", "list")[1] == []
    value = boto3.client("secretsmanager").get_secret_value(SecretId=stack["apphud_app_keys_secret"])
    assert value["SecretString"] == "generatedplaceholder"  # nothing stored either


def test_registering_before_the_key_is_stored_names_the_fix(
        stack: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--stack", STACK, "apps", "put", BUNDLE)
    assert code == 2
    assert f"no Apphud key '{BUNDLE}'" in err and "--apphud-key-stdin" in err
    assert run(capsys, "--stack", STACK, "apps", "list")[1] == []


def test_the_secret_may_be_named_by_its_name_or_its_arn(
        stack: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("app_reels\n"))
    ref = f"secret:reelgate/prod/apphud-app-keys#{BUNDLE}"
    code, app, _ = run(capsys, "--stack", STACK, "apps", "put", BUNDLE, "--apphud-key-ref", ref, "--apphud-key-stdin")
    assert (code, app["apphud_key_ref"]) == (0, ref)
    assert app_keys(stack) == {BUNDLE: "app_reels"}


def test_an_empty_key_or_a_bad_option_stores_and_registers_nothing(
        stack: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, _, err = run(capsys, "--stack", STACK, "apps", "put", BUNDLE, "--apphud-key-stdin")
    assert (code, "the Apphud api key is empty" in err) == (2, True)
    monkeypatch.setattr("sys.stdin", io.StringIO("app_reels\n"))
    code, _, err = run(capsys, "--stack", STACK, "apps", "put", BUNDLE, "--apphud-key-stdin", "--duration", "99")
    assert (code, "duration" in err) == (2, True)
    assert run(capsys, "--stack", STACK, "apps", "list")[1] == []
    value = boto3.client("secretsmanager").get_secret_value(SecretId=stack["apphud_app_keys_secret"])
    assert value["SecretString"] == "generatedplaceholder"


def test_a_missing_secret_is_an_error_not_a_traceback(
        stack: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    boto3.client("secretsmanager").delete_secret(SecretId=stack["apphud_app_keys_secret"],
                                                 ForceDeleteWithoutRecovery=True)
    code, _, err = run(capsys, "--stack", STACK, "apps", "put", BUNDLE)
    assert code == 2
    assert err.startswith(f"error: {stack['apphud_app_keys_secret']}: ")
