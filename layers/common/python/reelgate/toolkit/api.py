"""HTTP adapter of the toolkit: API key check, JSON body, domain answers and errors in NCA's shapes."""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from reelgate import aws, cors, http
from reelgate.observability import logger
from reelgate.toolkit.schemas import InvalidPayload

if TYPE_CHECKING:  # the collaborators are imported where they are built: a request pays for what it uses
    from reelgate.toolkit.keys import ApiKey
    from reelgate.toolkit.service import Answer, Toolkit


class Unauthorized(Exception):
    pass


@cache
def toolkit() -> Toolkit:
    """The composition root: the toolkit wired to this deployment's tables, bucket and flow."""
    from reelgate.events import JobEvents
    from reelgate.jobs import JobStore
    from reelgate.settings import get_settings
    from reelgate.storage import MediaStore
    from reelgate.toolkit.keys import ApiKeys
    from reelgate.toolkit.ledger import Ledger
    from reelgate.toolkit.service import Toolkit

    s = get_settings()
    changes = JobEvents(aws.client("events"), s.event_bus)
    return Toolkit(
        jobs=JobStore(aws.table(s.jobs_table), ttl_days=s.job_ttl_days, events=changes),
        keys=ApiKeys(aws.table(s.state_table)),
        ledger=Ledger(aws.client("dynamodb"), jobs_table=s.jobs_table, state_table=s.state_table,
                      max_queue_length=s.max_queue_length, max_active_per_key=s.toolkit_max_active_jobs_per_key,
                      job_ttl_days=s.job_ttl_days, events=changes),
        media=MediaStore.from_settings(aws.client("s3"), s),
        sfn=aws.client("stepfunctions"),
        settings=s,
    )


def _json(status: int, body: Any) -> Response:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body))


def answer(result: Answer) -> Response:
    return _json(result.status, result.body)


def resolver(failure: str) -> APIGatewayRestResolver:
    """A router whose errors answer as NCA does; `failure` prefixes unexpected errors (HTTP 500).

    A 500 never carries the exception's text (AWS errors name ARNs, tracebacks name paths): the
    caller gets `failure` and the request id, the logs get the detail under that same id.
    """
    app = APIGatewayRestResolver(cors=cors.from_settings())

    @app.exception_handler(Unauthorized)
    def _unauthorized(_: Unauthorized) -> Response:
        return _json(401, {"code": 401, "message": "Unauthorized"})

    @app.exception_handler(InvalidPayload)
    def _invalid(exc: InvalidPayload) -> Response:
        return _json(400, {"code": 400, "message": f"Invalid request payload: {exc}"})

    @app.exception_handler(Exception)
    def _failed(exc: Exception) -> Response:
        rid = http.request_id(app.current_event.raw_event, app.lambda_context)
        logger.exception("request failed", extra={"request_id": rid})
        return _json(500, {"code": 500, "message": f"{failure}: internal error (request id {rid})",
                           "request_id": rid})

    return app


def upload(key: ApiKey, body: Any) -> Response:
    """A presigned PUT into the key's own inbox (reelgate.toolkit.uploads)."""
    from reelgate.settings import get_settings
    from reelgate.toolkit import uploads

    s = get_settings()
    return _json(200, uploads.presign(aws.client("s3"), s.media_bucket, key, body))


def authenticate(app: APIGatewayRestResolver) -> ApiKey:
    """The caller's key; checked before the body is even read."""
    key = toolkit().keys.authenticate(app.current_event.headers.get("x-api-key"))
    if key is None:
        raise Unauthorized
    return key


def json_body(app: APIGatewayRestResolver, *, optional: bool = False) -> Any:
    raw = app.current_event.body
    if not raw:
        if optional:
            return {}
        raise InvalidPayload("the body must be a JSON object")
    try:
        return http.strict_json(raw)
    except http.InvalidJson as exc:
        raise InvalidPayload(f"the body is not valid JSON ({exc})") from exc
