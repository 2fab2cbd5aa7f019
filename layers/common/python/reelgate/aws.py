"""The composition root for AWS clients: one boto3 client per service and process.

boto3 honours AWS_ENDPOINT_URL, so the same code talks to AWS or to the local cloud's emulated
services. Domain code takes clients as arguments; only entry points call these factories.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, signature_version="s3v4")


@cache
def client(service: str) -> Any:
    return boto3.client(service, config=_CONFIG)  # type: ignore[call-overload]


@cache
def table(name: str) -> Any:
    return boto3.resource("dynamodb", config=_CONFIG).Table(name)


def reset() -> None:
    """Forget cached clients (tests switch endpoints between cases)."""
    client.cache_clear()
    table.cache_clear()
