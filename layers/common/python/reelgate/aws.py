"""The composition root for AWS clients: one boto3 client per service and process, made on first use.

boto3 honours AWS_ENDPOINT_URL, so the same code talks to AWS or to the local cloud's emulated
services. Domain code takes clients as arguments; only entry points call these factories.

`client` and `table` answer at once with a stand-in that makes the real client (or table) on its
first attribute access and then forwards to it: a composition root wires every service its domain
may call, but a cold request pays botocore's service model and endpoint rules (tens of ms of CPU
each) only for the services it calls. Warm calls go to the same cached client either way.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any


@cache
def _config() -> Any:
    from botocore.config import Config

    return Config(retries={"mode": "standard", "max_attempts": 3}, signature_version="s3v4")


class _OnFirstUse:
    """Forwards every attribute to the object `make` returns, made once, when first needed."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._made: Any = None

    def __getattr__(self, name: str) -> Any:
        if name in ("_make", "_made"):  # a copy made without __init__: no recursion
            raise AttributeError(name)
        if self._made is None:
            self._made = self._make()
        return getattr(self._made, name)


@cache
def _client(service: str) -> Any:
    import boto3

    return boto3.client(service, config=_config())  # type: ignore[call-overload]


@cache
def _dynamodb() -> Any:
    """One DynamoDB resource (and its client) for every table: a resource costs a client of its own."""
    import boto3

    return boto3.resource("dynamodb", config=_config())


@cache
def _table(name: str) -> Any:
    return _dynamodb().Table(name)


@cache
def client(service: str) -> Any:
    return _OnFirstUse(lambda: _client(service))


@cache
def table(name: str) -> Any:
    return _OnFirstUse(lambda: _table(name))


def reset() -> None:
    """Forget cached clients (tests switch endpoints between cases)."""
    for factory in (client, table, _client, _table, _dynamodb):
        factory.cache_clear()
