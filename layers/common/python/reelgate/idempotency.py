"""Idempotent submits: an `Idempotency-Key` header makes a repeated request return the first answer.

One item per (scope, key) on the state table (`idem#<hash>`): the request's fingerprint, and either
`in_progress` (with a lease) or the first answer (status, body, content type). The item is claimed with
a conditional put, so of two concurrent requests exactly one runs; the other waits for the first answer
(`idempotency_wait_seconds`) and answers 409 if it is still not there. Only answers below 500 that
created something (2xx) are kept: a refusal (402, 429, 4xx) creates nothing, so its key is released
and a retry runs again. Records expire (`expires_at`, the table's TTL) after `idempotency_ttl_seconds`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from botocore.exceptions import ClientError

from reelgate import aws, http, multipart

HEADER = "idempotency-key"
MAX_KEY_LENGTH = 255
PREFIX = "idem#"
IN_PROGRESS, DONE = "in_progress", "done"
MISMATCH = ("this Idempotency-Key was already used with a different request body; "
            "use a new key for a different request")
IN_FLIGHT = "a request with this Idempotency-Key is still in progress; retry later for its answer"


@dataclass(frozen=True)
class Stored:
    status: int
    body: str
    content_type: str


class KeyReused(Exception):
    """The key was used with a different request (HTTP 422)."""


class StillInProgress(Exception):
    """The first request with this key has not answered within the wait (HTTP 409)."""


def fingerprint(event: dict[str, Any]) -> str:
    """What makes two requests "the same": method, path and body (JSON canonical; a form by its parts,
    since every client picks a new multipart boundary)."""
    raw = http.raw_body(event)
    content_type = _header(event, "content-type")
    canonical: Any = raw.hex()
    try:
        if content_type.lower().startswith("multipart/"):
            form = multipart.parse(content_type, raw)
            canonical = {"fields": form.fields, "files": [[n, u.filename, hashlib.sha256(u.data).hexdigest()]
                                                         for n, u in form.uploads]}
        elif raw:
            canonical = {"json": http.strict_json(raw)}
    except (multipart.InvalidForm, http.InvalidJson):
        pass
    text = json.dumps([event.get("httpMethod"), event.get("path"), canonical], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _header(event: dict[str, Any], name: str) -> str:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value or "")
    return ""


class IdempotencyStore:
    def __init__(self, table: Any, *, ttl_seconds: int, wait_seconds: float, lease_seconds: int = 60,
                 poll_seconds: float = 0.2, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._table = table
        self.ttl_seconds, self.wait_seconds, self.lease_seconds = ttl_seconds, wait_seconds, lease_seconds
        self._poll, self._clock, self._sleep = poll_seconds, clock, sleep

    @staticmethod
    def pk(scope: str, key: str) -> str:
        return PREFIX + hashlib.sha256(f"{scope}\0{key}".encode()).hexdigest()

    def claim(self, scope: str, key: str, print_: str) -> Stored | None:
        """None: this request holds the key and must run. Stored: the first answer, to repeat."""
        pk = self.pk(scope, key)
        deadline = self._clock() + self.wait_seconds
        while True:
            if self._try_claim(pk, print_):
                return None
            item = self._table.get_item(Key={"pk": pk}, ConsistentRead=True).get("Item")
            if item is None or self._expired(item):
                continue  # released or expired since: claim again
            if item.get("fingerprint") != print_:
                raise KeyReused(MISMATCH)
            if item.get("state") == DONE:
                return Stored(int(item["status"]), str(item["body"]), str(item["content_type"]))
            if self._clock() >= deadline:
                raise StillInProgress(IN_FLIGHT)
            self._sleep(self._poll)

    def _expired(self, item: dict[str, Any]) -> bool:
        now = self._clock()
        return int(item["expires_at"]) < now or (item.get("state") == IN_PROGRESS and int(item["lease_until"]) < now)

    def _try_claim(self, pk: str, print_: str) -> bool:
        now = int(self._clock())
        try:
            self._table.put_item(
                Item={"pk": pk, "state": IN_PROGRESS, "fingerprint": print_, "expires_at": now + self.ttl_seconds,
                      "lease_until": now + self.lease_seconds},
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now OR "
                                    "(#state = :progress AND lease_until < :now)",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":now": now, ":progress": IN_PROGRESS})
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def complete(self, scope: str, key: str, print_: str, answer: Stored) -> None:
        self._table.update_item(
            Key={"pk": self.pk(scope, key)},
            UpdateExpression="SET #state = :done, #status = :status, body = :body, content_type = :ct "
                             "REMOVE lease_until",
            ConditionExpression="fingerprint = :fp",
            ExpressionAttributeNames={"#state": "state", "#status": "status"},
            ExpressionAttributeValues={":done": DONE, ":status": answer.status, ":body": answer.body,
                                       ":ct": answer.content_type, ":fp": print_})

    def release(self, scope: str, key: str, print_: str) -> None:
        try:
            self._table.delete_item(
                Key={"pk": self.pk(scope, key)},
                ConditionExpression="#state = :progress AND fingerprint = :fp",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":progress": IN_PROGRESS, ":fp": print_})
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise


Refuse = Callable[[int, str], Response]
Middleware = Callable[[APIGatewayRestResolver, NextMiddleware], Response]


def middleware(store: Callable[[], IdempotencyStore], refuse: Refuse,
               scope: Callable[[dict[str, Any]], str] = lambda event: "") -> Middleware:
    """A route middleware: without the header the route runs as before; with it, at most once per key.

    `refuse(status, message)` answers in the API's own error shape; `scope` keeps one caller's keys
    apart from another's (the toolkit: the API key).
    """

    def idempotent(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
        event = app.current_event.raw_event
        key = _header(event, HEADER)
        if not key:
            return next_middleware(app)
        if len(key) > MAX_KEY_LENGTH:
            return refuse(400, f"the Idempotency-Key header is longer than {MAX_KEY_LENGTH} characters")
        where = f"{scope(event)}\0{event.get('path')}"
        print_, keys = fingerprint(event), store()
        try:
            first = keys.claim(where, key, print_)
        except KeyReused as exc:
            return refuse(422, str(exc))
        except StillInProgress as exc:
            return refuse(409, str(exc))
        if first is not None:
            return Response(first.status, first.content_type, first.body, headers={"Idempotent-Replayed": "true"})
        try:
            response = next_middleware(app)
        except BaseException:
            keys.release(where, key, print_)
            raise
        if 200 <= response.status_code < 300:
            body = response.body if isinstance(response.body, str) else json.dumps(response.body)
            keys.complete(where, key, print_, Stored(response.status_code, body, response.content_type or ""))
        else:
            keys.release(where, key, print_)
        return response

    return idempotent


def api_key_scope(event: dict[str, Any]) -> str:
    return hashlib.sha256(_header(event, "x-api-key").encode()).hexdigest()


@cache
def store() -> IdempotencyStore:
    """The deployment's store: the state table, with the operator's expiry and wait."""
    from reelgate.settings import get_settings  # on the first request, as every composition root

    s = get_settings()
    return IdempotencyStore(aws.table(s.state_table), ttl_seconds=s.idempotency_ttl_seconds,
                            wait_seconds=s.idempotency_wait_seconds)


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body))


def _nca_refusal(status: int, message: str) -> Response:
    return _json(status, {"code": status, "message": message})


def _table_refusal(status: int, message: str) -> Response:
    # The mobile tables' own codes: a request still running is "busy, try later" (500069, HTTP 409),
    # anything wrong with the key is an invalid parameter (400017, HTTP 422 as the tables give it).
    code, status = (500069, 409) if status == 409 else (400017, 422)
    return _json(status, {"code": code, "message": message, "video_id": None})


toolkit = middleware(store, _nca_refusal, scope=api_key_scope)  # keys are per API key
mobile = middleware(store, _table_refusal)  # the body names the app and user; keys are per endpoint
