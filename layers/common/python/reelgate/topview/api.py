"""HTTP adapter and composition roots of the TopView endpoints and flow tasks.

Errors are answered as the mobile API's (`{"code", "message", "video_id": null}` on submits), and
TopView's refusals with the one table of `providers.topview_errors`: its code and message, never
anything of ours (a failure without a TopView code answers 502 with 5005, "unknown error").
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from reelgate import aws, http, multipart
from reelgate.deadline import DeadlineExceeded
from reelgate.mobile import api as mobile_api
from reelgate.mobile.errors import INVALID_PARAMETER, ApiError
from reelgate.observability import logger
from reelgate.providers.topview_errors import MESSAGES, TopViewError

if TYPE_CHECKING:  # the collaborators are imported where they are built: a request pays for what it uses
    from reelgate.jobs import Job
    from reelgate.providers.topview import TopViewClient
    from reelgate.settings import Settings
    from reelgate.topview.callbacks import Callbacks
    from reelgate.topview.flow import TopViewFlow
    from reelgate.topview.service import TopViewService

UNKNOWN_CODE = 5005  # TopView's "Unknown error occurred": what a failure without a TopView code answers


def client(s: Settings) -> TopViewClient:
    from reelgate.providers.topview import TopViewClient
    from reelgate.secrets import topview_api_key

    return TopViewClient(
        s.topview_base_url, s.topview_uid, topview_api_key(s), timeout=s.topview_timeout_seconds,
        upload_timeout=s.topview_upload_timeout_seconds, max_retries=s.topview_max_retries,
        retry_base_seconds=s.topview_retry_base_seconds, need_cloudfront_url=s.topview_need_cloudfront_url,
        enum_style=s.topview_enum_style, product_video_prompt_field=s.topview_product_video_prompt_field,
    )


@cache
def service() -> TopViewService:
    """The composition root of the submit functions."""
    from reelgate.mobile.apps import AppRegistry
    from reelgate.settings import get_settings
    from reelgate.topview.service import TopViewService
    from reelgate.waits import TaskWaits

    s = get_settings()
    state = aws.table(s.state_table)
    return TopViewService(
        apps=AppRegistry(state), entitlements=mobile_api.entitlements(s, state), limits=mobile_api.limits(s),
        jobs=mobile_api.job_store(s), client=lambda: client(s), sfn=aws.client("stepfunctions"),
        waits=TaskWaits(state), settings=s,
    )


@cache
def flow() -> TopViewFlow:
    """The composition root of the flow's task functions."""
    from reelgate.mobile.apps import AppRegistry
    from reelgate.mobile.slots import split_owner
    from reelgate.settings import get_settings
    from reelgate.topview.flow import TopViewFlow
    from reelgate.topview.outputs import Mirror
    from reelgate.topview.service import busy_budget
    from reelgate.waits import TaskWaits

    s = get_settings()
    state = aws.table(s.state_table)
    apps = AppRegistry(state)

    def app_budget(job: Job) -> int:
        return busy_budget(apps.get(split_owner(job.owner)[0]), s)

    return TopViewFlow(jobs=mobile_api.job_store(s), limits=mobile_api.limits(s),
                       mirror=Mirror(mobile_api.media_store(s), s), client=lambda: client(s), waits=TaskWaits(state),
                       sfn=aws.client("stepfunctions"), events_client=aws.client("events"), settings=s,
                       app_budget=app_budget)


@cache
def callbacks() -> Callbacks:
    from reelgate.settings import get_settings
    from reelgate.topview.callbacks import Callbacks
    from reelgate.waits import TaskWaits

    s = get_settings()
    return Callbacks(waits=TaskWaits(aws.table(s.state_table)), sfn=aws.client("stepfunctions"), settings=s)


def topview_answer(exc: TopViewError) -> tuple[int, dict[str, Any]]:
    """TopView's refusal as the table answers it, with TopView's code and message (a code the table does
    not know is 502); a failure without a TopView code (no answer, not an envelope) answers 502 with
    5005 and no upstream text."""
    if exc.code.isdigit():
        message = exc.message or MESSAGES.get(exc.code, "TopView refused the request")
        return exc.status, {"code": int(exc.code), "message": f"TopView: {message[:500]}", "video_id": None}
    return exc.status, {"code": UNKNOWN_CODE, "message": "TopView did not answer usably; try again later",
                        "video_id": None}


def resolver() -> APIGatewayRestResolver:
    """The mobile submit router, plus TopView's error table."""
    app = mobile_api.resolver(submit=True)

    @app.exception_handler(TopViewError)
    def _topview(exc: TopViewError) -> Response:
        logger.warning("TopView refused", extra={"code": exc.code, "upstream_status": exc.upstream_status})
        status, body = topview_answer(exc)
        return mobile_api.plain_json(status, body)

    @app.exception_handler(DeadlineExceeded)
    def _late(exc: DeadlineExceeded) -> Response:
        logger.warning("TopView submission ran out of time")
        return mobile_api.plain_json(502, {"code": UNKNOWN_CODE, "message": "TopView did not answer in time; try "
                                           "again later", "video_id": None})

    return app


def form(app: APIGatewayRestResolver) -> multipart.Form:
    event = app.current_event
    try:
        return multipart.parse(event.headers.get("content-type"), http.raw_body(event.raw_event))
    except multipart.InvalidForm as exc:
        raise ApiError(INVALID_PARAMETER, f"invalid parameter: {exc}") from exc


def image_form(app: APIGatewayRestResolver, *images: str) -> multipart.Form:
    """The multipart form whose `images` are files sent in it (up to the direct limit) or `<image>_key`
    fields naming the caller's uploads, read into the form (reelgate.mobile.uploads)."""
    return mobile_api.uploads().attach(form(app), images)


def json_or_form(app: APIGatewayRestResolver) -> Any:
    """A JSON body, or a multipart form when the request says so."""
    content_type = (app.current_event.headers.get("content-type") or "").lower()
    return form(app) if content_type.startswith("multipart/form-data") else mobile_api.json_body(app)


def source(app: APIGatewayRestResolver) -> str | None:
    return http.source_ip(app.current_event.raw_event)
