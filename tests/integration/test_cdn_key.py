"""`python -m infra.admin cdn-key STAGE`: the stage's output-link key pair, where the stack and the functions
look for it (moto), and the pair signs links the public half verifies."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws
from reelgate.links import CloudFrontLinks
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from infra import admin
from infra.local.cdn import LocalCdn
from tests.integration.conftest import _reset_caches


@pytest.fixture
def account() -> Iterator[None]:
    with mock_aws():
        _reset_caches()
        try:
            yield
        finally:
            _reset_caches()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = admin.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def stored() -> tuple[str, str]:
    private = boto3.client("secretsmanager").get_secret_value(SecretId="reelgate/dev/cdn-private-key")["SecretString"]
    public = boto3.client("ssm").get_parameter(Name="/reelgate/dev/cdn-public-key")["Parameter"]["Value"]
    return private, public


def test_the_pair_is_stored_where_the_stack_and_functions_read_it(account, capsys) -> None:
    code, out, _ = run(capsys, "cdn-key", "dev")

    assert code == 0, out
    result = json.loads(out)
    assert result["public_key_parameter"] == "/reelgate/dev/cdn-public-key"
    assert ":secret:reelgate/dev/cdn-private-key-" in result["private_key_secret"]
    private, public = stored()
    assert "PRIVATE KEY" in private and "PRIVATE" not in public and "BEGIN PUBLIC KEY" in public
    now = datetime(2027, 1, 1, tzinfo=UTC).timestamp()
    link = CloudFrontLinks("http://cdn.test", "K1", lambda: private, 60, clock=lambda: now).link("videos/a.mp4")
    path, _, query = link.url.removeprefix("http://cdn.test").partition("?")
    environ = EnvironBuilder(path=path, base_url="http://cdn.test", query_string=query,
                             environ_overrides={"RAW_URI": f"{path}?{query}"}).get_environ()
    local = LocalCdn(Bucket(), "media", "K1", public, clock=lambda: now)
    assert local.answer(Request(environ)).status_code == 200


class Bucket:
    def get_object(self, **_: str) -> dict[str, object]:
        return {"Body": io.BytesIO(b"v"), "ContentType": "video/mp4"}

def test_an_existing_pair_is_replaced_only_on_rotate(account, capsys) -> None:
    assert run(capsys, "cdn-key", "dev")[0] == 0
    first = stored()

    code, _, err = run(capsys, "cdn-key", "dev")
    assert code == 2 and "--rotate" in err and stored() == first

    assert run(capsys, "cdn-key", "dev", "--rotate")[0] == 0
    second = stored()
    assert second[0] != first[0] and second[1] != first[1]


def test_an_unknown_stage_is_refused(account, capsys) -> None:
    code, _, err = run(capsys, "cdn-key", "staging")
    assert code == 2 and "unknown stage 'staging'" in err
