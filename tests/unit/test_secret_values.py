"""Secret resolution: explicit setting first, else Secrets Manager (moto, in-process) with caching."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters import clear_caches
from moto import mock_aws
from pydantic import SecretStr
from reelgate.secrets import SecretNotConfigured, pixverse_api_key, resolve_secret
from reelgate.settings import Settings


@pytest.fixture
def secretsmanager() -> Iterator[object]:
    clear_caches()
    with mock_aws():
        yield boto3.client("secretsmanager")
    clear_caches()


def test_an_explicit_value_wins_without_any_aws_call() -> None:
    assert resolve_secret(SecretStr("direct"), "arn:aws:secretsmanager:us-east-1:1:secret:nope") == "direct"


def test_nothing_configured_is_an_error() -> None:
    with pytest.raises(SecretNotConfigured):
        resolve_secret(None, "")
    with pytest.raises(SecretNotConfigured):
        resolve_secret(SecretStr(""), "")


def test_an_empty_explicit_value_falls_back_to_the_secret(secretsmanager) -> None:
    secretsmanager.create_secret(Name="pixverse", SecretString="from-sm")
    assert resolve_secret(SecretStr(""), "pixverse") == "from-sm"


def test_secret_values_are_cached_for_max_age(secretsmanager) -> None:
    secretsmanager.create_secret(Name="pixverse", SecretString="v1")
    assert resolve_secret(None, "pixverse") == "v1"
    secretsmanager.put_secret_value(SecretId="pixverse", SecretString="v2")
    assert resolve_secret(None, "pixverse") == "v1"
    clear_caches()
    assert resolve_secret(None, "pixverse") == "v2"


def test_a_json_field_can_be_picked(secretsmanager) -> None:
    secretsmanager.create_secret(Name="apphud", SecretString=json.dumps({"token": "t0k"}))
    assert resolve_secret(None, "apphud", field="token") == "t0k"
    with pytest.raises(SecretNotConfigured):
        resolve_secret(None, "apphud", field="missing")


def test_pixverse_api_key_reads_the_settings(secretsmanager) -> None:
    secretsmanager.create_secret(Name="pv", SecretString="sm-key")
    assert pixverse_api_key(Settings(pixverse_api_key=SecretStr("env-key"))) == "env-key"
    assert pixverse_api_key(Settings(pixverse_api_key=None, pixverse_api_key_secret="pv")) == "sm-key"
