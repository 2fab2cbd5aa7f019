"""moto at the scale of a load run: three of its costs grow with what the run has stored, where AWS's do not.

Profiled under 500 parallel submissions (py-spy, `docs/decisions.md`), the emulated AWS spent its time in:

- **DynamoDB TransactWriteItems** deep-copying every table it touches, to roll back on failure: each
  transaction cost as much as the tables held. Here it saves only the items it names (and the stream
  records it adds) and puts those back when it fails: the same outcome, all-or-nothing.
- **SQS SendMessage** reading the queue's attributes, whose message counts read the clock once per
  stored message: the events tap keeps every event of a run. Here each count reads the clock once.
- **EventBridge targets and Step Functions paths** building a new JSONPath parser (PLY tables) for every
  event and every state. Here a parsed path is kept (a parsed path is never changed by evaluating it).
- **DynamoDB UpdateItem** tokenizing and parsing its update expression two or three times per call (a
  tenth of the emulator's time under load). Here a parsed expression is kept and shared: moto reads the
  tree and validates (fills in the call's names and values) a deep copy of its own.
- **Step Functions** parsing the state machine's definition (ANTLR) for every execution, and making a new
  boto3 client for every task it calls. Here a definition's syntax tree is kept and each execution gets
  its own program built from it (the part that holds state), and clients are kept (they are thread-safe).

Installed in the process that serves moto (`aws_server.AwsServer`); answers and errors are moto's own.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

import boto3
import jsonpath_ng
import jsonpath_ng.ext
import moto.dynamodb.models as dynamodb_models
from botocore.config import Config
from moto.core.models import botocore_stubber
from moto.core.utils import unix_time_millis
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]
from moto.settings import moto_server_port
from moto.sqs.models import Queue
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.asl.utils import boto_client, json_path

from infra.local.runtime import DEFAULT_MAX_ENVIRONMENTS

_original_transact = DynamoDBBackend.transact_write_items
# (table, hash key, range key or None, the item before the transaction or None, stream records before)
Saved = tuple[Table, DynamoType, DynamoType | None, Item | None, int]


class _TablesNotCopied:
    """Stands in for the `copy` module inside moto's DynamoDB backend, where only two calls use it: an
    item's copy in UpdateItem (still a deep copy) and TransactWriteItems' backup of whole tables (the
    table itself: `transact_write_items` below saves and restores what a transaction touches instead)."""

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _key(table: Table, op_type: str, op: dict[str, Any]) -> tuple[DynamoType, DynamoType | None] | None:
    attrs = op.get("Item" if op_type == "Put" else "Key") or {}
    if table.hash_key_attr not in attrs or (table.range_key_attr and table.range_key_attr not in attrs):
        return None  # moto refuses it before writing anything
    return (DynamoType(attrs[table.hash_key_attr]),
            DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None)


def _save(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> list[Saved]:
    saved = []
    for entry in transact_items[:100]:  # more is refused before anything is written
        for op_type, op in entry.items():
            table = backend.tables.get(op.get("TableName", "")) if isinstance(op, dict) else None
            key = _key(table, op_type, op) if table is not None else None
            if table is None or key is None:
                continue
            stream = len(table.stream_shard.items) if table.stream_shard is not None else 0
            saved.append((table, *key, copy.deepcopy(table.get_item(*key)), stream))
    return saved


def _restore(saved: list[Saved]) -> None:
    for table, hash_key, range_key, item, stream in reversed(saved):
        if range_key is not None:
            rows = table.items[hash_key]
            if item is None:
                rows.pop(range_key, None)
                if not rows:
                    table.items.pop(hash_key, None)
            else:
                rows[range_key] = item
        elif item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item  # type: ignore[assignment]  # a table without range keys
        if table.stream_shard is not None:
            del table.stream_shard.items[stream:]


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    saved = _save(self, transact_items)
    try:
        _original_transact(self, transact_items)
    except Exception:
        _restore(saved)
        raise


def _count(queue: Queue, test: Callable[[Any, float], bool]) -> int:
    """How many of a queue's messages pass `test`, with one reading of the clock for all of them."""
    now = unix_time_millis()
    return sum(1 for message in queue._messages if test(message, now))


def _visible(message: Any, now: float) -> bool:
    return bool(now > message.visible_at)


def _delayed(message: Any, now: float) -> bool:
    return bool(now < message.delayed_until)


_original_update_expression = UpdateExpressionParser.make


@functools.lru_cache(maxsize=256)
def _update_expression(expression: str) -> Any:
    return _original_update_expression(expression)  # an invalid expression raises, and is not kept


def _parse_update_expression(cls: Any, expression: str) -> Any:
    return _update_expression(expression)


_original_parse = AmazonStateLanguageParser.parse
_original_client = boto_client.boto_client_for


@functools.lru_cache(maxsize=64)
def _syntax_tree(definition: str) -> Any:
    return _original_parse(definition)[1]  # a definition with syntax errors raises, and is not kept


def _parse(definition: str) -> tuple[Any, Any]:
    tree = _syntax_tree(definition)
    return Preprocessor().visit(tree), tree


@functools.lru_cache(maxsize=64)
def _client(region: str, service: str, stubbed: bool, port: int) -> Any:
    made = _original_client(region, service)  # moto's settings (no retries, its timeouts), more connections:
    config = made.meta.config.merge(Config(max_pool_connections=DEFAULT_MAX_ENVIRONMENTS))  # every task at once
    endpoint = None if stubbed else made.meta.endpoint_url
    return boto3.client(service, region_name=region, endpoint_url=endpoint,  # type: ignore[call-overload]
                        aws_access_key_id="ak", aws_secret_access_key="sk",  # noqa: S106 - moto's placeholders
                        config=config)


def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """moto's own client for a task (it ignores `state_credentials` too), made once per endpoint."""
    return _client(region, service, botocore_stubber.enabled, moto_server_port())


_originals: list[tuple[Any, str, Any]] = []  # (owner, name, what it held before install)


def install() -> None:
    if _originals:
        return
    cached_ext = functools.lru_cache(maxsize=512)(jsonpath_ng.ext.parse)
    replacements: list[tuple[Any, str, Any]] = [
        (dynamodb_models, "copy", _TablesNotCopied),
        (DynamoDBBackend, "transact_write_items", transact_write_items),
        (Queue, "approximate_number_of_messages_delayed", property(lambda q: _count(q, _delayed))),
        (Queue, "approximate_number_of_messages_not_visible",
         property(lambda q: _count(q, lambda m, now: not _visible(m, now)))),
        (Queue, "approximate_number_of_messages",
         property(lambda q: _count(q, lambda m, now: _visible(m, now) and not _delayed(m, now)))),
        (jsonpath_ng.ext, "parse", cached_ext),  # imported at each call by EventBridge's input templates
        (json_path, "parse", cached_ext),
        (result_path, "parse", functools.lru_cache(maxsize=512)(jsonpath_ng.parse)),
        (AmazonStateLanguageParser, "parse", staticmethod(_parse)),
        (UpdateExpressionParser, "make", classmethod(_parse_update_expression)),
        (lambda_eval_utils, "boto_client_for", boto_client_for),  # the flows' tasks are all Lambda invokes
    ]
    for owner, name, value in replacements:
        _originals.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, value)


def uninstall() -> None:
    while _originals:
        owner, name, value = _originals.pop()
        setattr(owner, name, value)
