"""Toolkit API keys (toolkit/keys.py) on an in-memory table: the whole SHA-256 is compared, not its
16-digit prefix that names the record; revoked and empty keys are refused."""

from __future__ import annotations

from typing import Any

import pytest
from reelgate.errors import NotFound
from reelgate.toolkit.keys import PREFIX, ApiKeys, key_hash, pk_for


class Table:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def put_item(self, Item: dict[str, Any], ConditionExpression: str) -> None:
        assert ConditionExpression == "attribute_not_exists(pk)"
        if Item["pk"] in self.items:
            raise AssertionError("an existing key would have been overwritten")
        self.items[Item["pk"]] = dict(Item)

    def get_item(self, Key: dict[str, str], ConsistentRead: bool) -> dict[str, Any]:
        assert ConsistentRead is True  # a key revoked or created a moment ago is seen as it is now
        item = self.items.get(Key["pk"])
        return {"Item": dict(item)} if item else {}


@pytest.fixture
def keys() -> ApiKeys:
    return ApiKeys(Table())


def stored(keys: ApiKeys, key_id: str) -> dict[str, Any]:
    return keys._table.items[PREFIX + key_id]


def test_a_created_key_authenticates_and_is_stored_only_hashed(keys: ApiKeys) -> None:
    plaintext, key = keys.create("tenant", credits=50)

    found = keys.authenticate(plaintext)

    assert found is not None and (found.key_id, found.name, found.credits) == (key.key_id, "tenant", 50)
    assert plaintext.startswith("rg_") and len(plaintext) > 40
    item = stored(keys, key.key_id)
    assert item["hash"] == key_hash(plaintext) and len(item["hash"]) == 64
    assert key.key_id == item["hash"][:16] and item["pk"] == pk_for(plaintext)
    assert plaintext not in {str(value) for value in item.values()}


@pytest.mark.parametrize("tail", ["0" * 48, "f" * 48])
def test_a_key_whose_hash_shares_only_the_prefix_is_refused(keys: ApiKeys, tail: str) -> None:
    plaintext, key = keys.create("tenant", credits=50, plaintext="rg_the-real-key")
    item = stored(keys, key.key_id)
    item["hash"] = item["hash"][:16] + tail  # the record another key with the same 16-digit prefix would have

    assert keys.authenticate(plaintext) is None


@pytest.mark.parametrize("position", [16, 40, 63])
def test_one_differing_hex_digit_anywhere_after_the_prefix_is_refused(keys: ApiKeys, position: int) -> None:
    plaintext, key = keys.create("tenant", credits=50, plaintext="rg_another-key")
    item = stored(keys, key.key_id)
    digit = item["hash"][position]
    item["hash"] = item["hash"][:position] + ("0" if digit != "0" else "1") + item["hash"][position + 1:]

    assert keys.authenticate(plaintext) is None


def test_a_record_without_a_hash_authenticates_nothing(keys: ApiKeys) -> None:
    plaintext, key = keys.create("tenant", credits=50)
    del stored(keys, key.key_id)["hash"]
    assert keys.authenticate(plaintext) is None


@pytest.mark.parametrize("plaintext", [None, "", "rg_never-issued"])
def test_missing_and_unknown_keys_are_refused(keys: ApiKeys, plaintext: str | None) -> None:
    keys.create("tenant", credits=50)
    assert keys.authenticate(plaintext) is None


def test_a_revoked_key_is_refused(keys: ApiKeys) -> None:
    plaintext, key = keys.create("tenant", credits=50)
    stored(keys, key.key_id)["revoked"] = True
    assert keys.authenticate(plaintext) is None
    stored(keys, key.key_id)["revoked"] = False
    assert keys.authenticate(plaintext) is not None


def test_get_names_a_missing_key(keys: ApiKeys) -> None:
    with pytest.raises(NotFound, match="no API key 0123456789abcdef"):
        keys.get("0123456789abcdef")
