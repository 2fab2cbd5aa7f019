"""HTTP adapter of the mobile API: bodies in, the spec's answers and error tables out."""

from __future__ import annotations

import json
from functools import cache
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from botocore.exceptions import ClientError

from reelgate import aws, cors, http, multipart
from reelgate.mobile.errors import INTERNAL, INVALID_PARAMETER, OVERLOADED, ApiError
from reelgate.mobile.requests import IMAGE_TYPES, Image
from reelgate.observability import logger
from reelgate.transact import Busy

if TYPE_CHECKING:  # the collaborators are imported where they are built: a request pays for what it uses
    from reelgate.jobs import JobStore
    from reelgate.mobile.access import Entitlements, Limits
    from reelgate.mobile.callbacks import PixverseCallbacks
    from reelgate.mobile.generation import Generations
    from reelgate.mobile.service import MobileApi
    from reelgate.mobile.uploads import Uploads
    from reelgate.providers.pixverse import PixverseClient
    from reelgate.routing import Router
    from reelgate.settings import Settings
    from reelgate.storage import MediaStore

THROTTLED = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}


def _pixverse(s: Settings) -> PixverseClient:
    from reelgate.providers.pixverse import PixverseClient
    from reelgate.secrets import pixverse_api_key

    return PixverseClient.from_settings(s, pixverse_api_key(s))


def media_store(s: Settings) -> MediaStore:
    from reelgate.storage import MediaStore

    return MediaStore.from_settings(aws.client("s3"), s)


def job_store(s: Settings) -> JobStore:
    """The job store; every status change it commits goes to the stack's event bus."""
    from reelgate.events import JobEvents
    from reelgate.jobs import JobStore

    return JobStore(aws.table(s.jobs_table), events=JobEvents(aws.client("events"), s.event_bus))


def limits(s: Settings) -> Limits:
    from reelgate.mobile.access import Limits

    return Limits(aws.client("dynamodb"), s.state_table)


def entitlements(s: Settings, state: Any) -> Entitlements:
    """Apphud's answers, cached in the state table (`state`)."""
    from reelgate.mobile.access import Entitlements
    from reelgate.providers.apphud import ApphudClient

    return Entitlements(state, ApphudClient(s.apphud_base_url, timeout=s.apphud_timeout_seconds),
                        cache_seconds=s.entitlement_cache_seconds)


@cache
def mobile() -> MobileApi:
    """The composition root of the API functions."""
    from reelgate.mobile.apps import AppRegistry
    from reelgate.mobile.service import MobileApi
    from reelgate.settings import get_settings

    s = get_settings()
    state = aws.table(s.state_table)
    return MobileApi(
        apps=AppRegistry(state), entitlements=entitlements(s, state), limits=limits(s), jobs=job_store(s),
        media=media_store(s), pixverse=lambda: _pixverse(s), sfn=aws.client("stepfunctions"), settings=s,
    )


@cache
def generations() -> Generations:
    """The composition root of the flow's task functions."""
    from reelgate.mobile.generation import Generations
    from reelgate.settings import get_settings
    from reelgate.waits import PIXVERSE, TaskWaits

    s = get_settings()
    return Generations(jobs=job_store(s), limits=limits(s), media=media_store(s), pixverse=lambda: _pixverse(s),
                       settings=s, waits=TaskWaits(aws.table(s.state_table), prefix=PIXVERSE),
                       sfn=aws.client("stepfunctions"))


@cache
def pixverse_callbacks() -> PixverseCallbacks:
    from reelgate.mobile.callbacks import PixverseCallbacks
    from reelgate.secrets import pixverse_webhook_key
    from reelgate.settings import get_settings
    from reelgate.waits import PIXVERSE, TaskWaits

    s = get_settings()
    return PixverseCallbacks(waits=TaskWaits(aws.table(s.state_table), prefix=PIXVERSE), state=aws.table(s.state_table),
                             sfn=aws.client("stepfunctions"), secret=lambda: pixverse_webhook_key(s), settings=s)


@cache
def uploads() -> Uploads:
    from reelgate.mobile.uploads import Uploads
    from reelgate.settings import get_settings

    s = get_settings()
    return Uploads(aws.client("s3"), s.media_bucket, max_bytes=s.mobile_upload_max_bytes,
                   direct_max_bytes=s.mobile_direct_image_max_bytes, expires=s.mobile_upload_seconds)


def router() -> Router:
    """The composition root of /text2video and /image2video (reelgate.routing)."""
    from reelgate.routing import router

    return router()


def upload(body: Any, source: str | None) -> dict[str, Any]:
    """POST /uploads: an entitled caller's presigned PUT of one image (reelgate.mobile.uploads)."""
    from reelgate.mobile.apps import AppRegistry
    from reelgate.mobile.slots import entitled_app
    from reelgate.settings import get_settings

    s = get_settings()
    who, content_type, size = uploads().request(body)
    state = aws.table(s.state_table)
    entitled_app(AppRegistry(state), entitlements(s, state), who, source)
    return uploads().presign(who, content_type, size)


def plain_json(status: int, body: Any) -> Response:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body))


def answer(body: dict[str, Any]) -> Response:
    return plain_json(200, body)


def apphud_event(token: str | None, body: Any) -> dict[str, Any]:
    from reelgate.mobile.webhook import apply_event
    from reelgate.secrets import resolve_secret
    from reelgate.settings import get_settings

    s = get_settings()
    api = mobile()
    return apply_event(api.apps, api.entitlements, token,
                       resolve_secret(s.apphud_webhook_token, s.apphud_webhook_token_secret), body)


def resolver(*, submit: bool) -> APIGatewayRestResolver:
    """A router whose errors answer {code, message} (+ "video_id": null on the submit endpoints).

    An unexpected failure answers 500100 with the request id, never the exception's text or class:
    the detail goes to the logs under that id.
    """
    app = APIGatewayRestResolver(cors=cors.from_settings())
    extra = {"video_id": None} if submit else {}

    @app.exception_handler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return plain_json(exc.status, {"code": exc.code, "message": exc.message} | extra)

    @app.exception_handler(ClientError)
    def _aws_error(exc: ClientError) -> Response:
        if exc.response.get("Error", {}).get("Code") in THROTTLED:
            return _overloaded(exc)
        return _failed(exc)

    @app.exception_handler(Busy)
    def _overloaded(exc: Exception) -> Response:  # conflicts or throttling outlasted the retries; nothing written
        return plain_json(503, {"code": OVERLOADED, "message": "system overloaded; try again later"} | extra)

    @app.exception_handler(Exception)
    def _failed(exc: Exception) -> Response:
        rid = http.request_id(app.current_event.raw_event, app.lambda_context)
        logger.exception("request failed", extra={"request_id": rid})
        message = f"internal error (request id {rid})"
        return plain_json(500, {"code": INTERNAL, "message": message, "request_id": rid} | extra)

    return app


def json_body(app: APIGatewayRestResolver) -> Any:
    try:
        return http.strict_json(app.current_event.body or "")
    except http.InvalidJson as exc:
        raise ApiError(INVALID_PARAMETER, f"invalid parameter: the body is not valid JSON ({exc})") from exc


def form_body(app: APIGatewayRestResolver) -> tuple[dict[str, str], Image | None]:
    event = app.current_event
    try:
        form = multipart.parse(event.headers.get("content-type"), http.raw_body(event.raw_event))
    except multipart.InvalidForm as exc:
        raise ApiError(INVALID_PARAMETER, f"invalid parameter: {exc}") from exc
    upload = form.files.get("image")
    if upload is None:
        return form.fields, None
    extension = PurePath(upload.filename).suffix.lower()
    return form.fields, Image(upload.data, upload.filename or "image", IMAGE_TYPES.get(extension, ""), extension)
