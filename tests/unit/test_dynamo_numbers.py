"""Floats a request may carry become numbers DynamoDB accepts (found by `make reliability`'s fuzz suite)."""

from __future__ import annotations

from decimal import Decimal

from boto3.dynamodb.types import TypeSerializer
from reelgate.dynamo import from_dynamo, to_dynamo


def test_a_float_nearer_zero_than_dynamodb_stores_becomes_zero_and_serializes() -> None:
    item = to_dynamo({"zoom_speed": 5e-324, "length": 22.85428874488635, "negative": -1e-200})
    assert item == {"zoom_speed": Decimal(0), "length": Decimal("22.85428874488635"), "negative": Decimal(0)}
    assert TypeSerializer().serialize(item)["M"]["zoom_speed"] == {"N": "0"}


def test_ordinary_floats_round_trip() -> None:
    assert from_dynamo(to_dynamo({"a": 0.5, "b": 1e-130, "c": [2.25]})) == {"a": 0.5, "b": 1e-130, "c": [2.25]}
