"""The API key records on moto's DynamoDB: revoke, top up, list (across scan pages) and create never overwrite."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from reelgate.errors import NotFound
from reelgate.toolkit.keys import PREFIX, ApiKeys


@pytest.fixture
def table() -> Iterator[Any]:
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        yield dynamodb.create_table(TableName="state", BillingMode="PAY_PER_REQUEST",
                                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])


class PagedTable:
    """The table, scanned two items a page: list() must follow LastEvaluatedKey."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def scan(self, **kwargs: Any) -> Any:
        return self._table.scan(Limit=2, **kwargs)


def test_revoke_marks_the_key_and_authentication_stops(table) -> None:
    keys = ApiKeys(table)
    plaintext, key = keys.create("tenant", credits=5)

    keys.revoke(key.key_id)

    assert keys.get(key.key_id).revoked is True and keys.authenticate(plaintext) is None
    assert keys.get(key.key_id).credits == 5


def test_top_up_adds_and_answers_the_new_balance(table) -> None:
    keys = ApiKeys(table)
    _, key = keys.create("tenant", credits=5)

    assert keys.top_up(key.key_id, 7) == 12 and keys.top_up(key.key_id, 1) == 13
    assert keys.get(key.key_id).credits == 13
    for amount in (0, -3):
        with pytest.raises(ValueError, match=r"^a top-up must be a positive number of credits$"):
            keys.top_up(key.key_id, amount)
    assert keys.get(key.key_id).credits == 13


@pytest.mark.parametrize("change", ["revoke", "top_up"])
def test_changing_an_unknown_key_is_not_found_and_creates_nothing(table, change: str) -> None:
    keys = ApiKeys(table)
    with pytest.raises(NotFound, match=r"^no API key 0123456789abcdef$"):
        if change == "revoke":
            keys.revoke("0123456789abcdef")
        else:
            keys.top_up("0123456789abcdef", 5)
    assert table.scan()["Items"] == []


def test_other_dynamodb_errors_are_not_hidden_as_not_found(table) -> None:
    keys = ApiKeys(table)
    _, key = keys.create("tenant", credits=5)

    def throttled(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "UpdateItem")

    table.meta.client.meta.events.register("before-call.dynamodb.UpdateItem", throttled)
    try:
        with pytest.raises(ClientError, match="ThrottlingException"):
            keys.top_up(key.key_id, 5)
    finally:
        table.meta.client.meta.events.unregister("before-call.dynamodb.UpdateItem", throttled)


def test_list_reads_every_key_across_pages_and_nothing_else(table) -> None:
    keys = ApiKeys(PagedTable(table))
    created = {keys.create(f"tenant-{n}", credits=n)[1].key_id for n in range(5)}
    table.put_item(Item={"pk": "queue#toolkit", "count": 1})
    table.put_item(Item={"pk": "app#com.example", "app": {}})

    listed = keys.list()

    assert {key.key_id for key in listed} == created and len(listed) == 5
    assert {key.credits for key in listed} == {0, 1, 2, 3, 4}


def test_creating_a_key_that_exists_never_overwrites_it(table) -> None:
    keys = ApiKeys(table)
    plaintext, key = keys.create("first", credits=5, plaintext="rg_same")

    with pytest.raises(ClientError, match="ConditionalCheckFailed"):
        keys.create("second", credits=500, plaintext="rg_same")

    assert keys.get(key.key_id).name == "first" and keys.get(key.key_id).credits == 5
    assert table.get_item(Key={"pk": PREFIX + key.key_id})["Item"]["hash"] != plaintext
