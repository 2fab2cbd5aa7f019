"""What each public function takes and answers, for the OpenAPI document (infra/openapi.py).

Keyed by the registry's function names: a function with a route and no contract here makes the
generator fail naming its route. Bodies are the domain's pydantic models (or, for the toolkit, the
JSON Schemas that validate its requests); error statuses and their codes come from the domain's
error tables, so a code added there is documented without an edit here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from reelgate.mobile import errors as table
from reelgate.mobile import models as mobile
from reelgate.providers.topview_errors import HTTP_STATUS as TOPVIEW_STATUS
from reelgate.providers.topview_errors import UNKNOWN_STATUS
from reelgate.toolkit import models as toolkit
from reelgate.toolkit import schemas
from reelgate.toolkit.uploads import UPLOAD
from reelgate.topview import models as topview
from reelgate.topview.api import UNKNOWN_CODE
from reelgate.topview.inputs import INVALID_DIMENSIONS

# A body's schema: a pydantic model, a JSON Schema, or a list of alternatives (oneOf).
Schema = type[BaseModel] | dict[str, Any] | list[Any]


@dataclass(frozen=True)
class Body:
    json: Schema | None = None
    multipart: type[BaseModel] | None = None
    example: dict[str, Any] | None = None  # of the JSON body, where its schema is not a model with EXAMPLES
    optional: bool = False  # the request may have no body at all


@dataclass(frozen=True)
class Contract:
    summary: str
    body: Body | None
    answers: dict[int, tuple[str, Schema]]  # status -> (description, schema)
    tags: tuple[str, ...] = ()
    codes: dict[int, int] = field(default_factory=dict)  # the error table: code -> status (mobile API)
    text: frozenset[int] = frozenset()  # statuses answered text/plain rather than JSON


# --- the toolkit (NCA's shapes) ---

_NCA_400 = ("Invalid request payload: the first problem jsonschema finds (NCA's text)", toolkit.NcaError)
_NCA_500 = ("failed: internal error (request id …)", toolkit.NcaInternalError)


def _toolkit(summary: str, body: dict[str, Any] | None, ok: Schema, example: dict[str, Any] | None = None,
             *, optional: bool = False, more: dict[int, tuple[str, Schema]] | None = None) -> Contract:
    answers: dict[int, tuple[str, Schema]] = {200: ("success", ok), 500: _NCA_500}
    if body is not None:
        answers[400] = _NCA_400
    return Contract(summary, Body(json=body, example=example, optional=optional) if body else None,
                    answers | (more or {}), ("toolkit",))


_SUBMIT: dict[int, tuple[str, Schema]] = {
    202: ("accepted: the job runs on (a webhook_url was given, or it outlasted the wait)", toolkit.Accepted),
    402: ("not enough credits", toolkit.Rejected),
    429: ("the queue or this key's running jobs are at their limit", toolkit.Rejected),
    503: ("overloaded; nothing was charged", toolkit.Rejected),
    500: ("the job failed (its envelope, credits refunded), or an internal error",
          [toolkit.Envelope, toolkit.NcaInternalError]),
}

# --- the mobile API (the error tables' {code, message}) ---

_ACCESS = {code: table.ANY_TABLE[code] for code in (table.INVALID_ACCOUNT, 500043, 500090, table.MONTHLY_LIMIT,
                                                      table.PARALLEL_LIMIT, 500054, 500063)}
_ALWAYS = {table.OVERLOADED: 503, table.INTERNAL: 500}
_PART_A = {code: table.ANY_TABLE[code] for code in (table.EMPTY_PARAMETER, table.INVALID_PARAMETER,
                                                     table.PROMPT_TOO_LONG, table.IMAGE_TOO_LARGE,
                                                     table.UNSUPPORTED_IMAGE, INVALID_DIMENSIONS)}
_TOPVIEW = {int(code): status for code, status in TOPVIEW_STATUS.items()} | {UNKNOWN_CODE: UNKNOWN_STATUS}
_ROUTED = {**_TOPVIEW, **_ALWAYS}  # /text2video and /image2video may be answered by TopView


def _mobile(summary: str, body: Body, ok: tuple[str, Schema], codes: dict[int, int], *, submit: bool = True,
            tags: tuple[str, ...] = ("mobile",)) -> Contract:
    error = mobile.SubmitError if submit else mobile.TableError
    answers = {status: (_MOBILE_STATUS.get(status, ""), error) for status in set(codes.values())}
    return Contract(summary, body, answers | {200: ok}, tags, codes)


_MOBILE_STATUS = {500: "internal error: the message has the request id", 502: "the provider failed, or answered "
                   "a code not in the tables (its code and message are passed on)", 503: "overloaded; try again later"}
_SUBMITTED = ("the generation started; poll /get-status with its video_id", mobile.Submitted)


def _topview(summary: str, body: Body, more: dict[int, int] | None = None) -> Contract:
    return _mobile(summary, body, _SUBMITTED, {**_PART_A, **_ACCESS, **_TOPVIEW, **_ALWAYS, **(more or {})},
                   tags=("topview",))


CONTRACTS: dict[str, Contract] = {
    "health": Contract("Liveness probe", None, {200: ("the API and its runtime are up", {
        "type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}})}, ("operations",)),
    "toolkit_image_to_video": _toolkit("Image to zooming video", schemas.IMAGE_TO_VIDEO, toolkit.Envelope, {
        "image_url": "https://example.com/image.jpg", "length": 10, "frame_rate": 24, "zoom_speed": 5,
        "id": "request-123"}, more=_SUBMIT),
    "toolkit_concatenate": _toolkit("Concatenate videos", schemas.CONCATENATE, toolkit.Envelope, {
        "video_urls": [{"video_url": "https://example.com/a.mp4"}, {"video_url": "https://example.com/b.mp4"}],
        "id": "request-123"}, more=_SUBMIT),
    "toolkit_job_status": _toolkit("One job of this key", schemas.JOB_STATUS, toolkit.ToolkitJobStatus,
                                   {"job_id": "0b7f3c2e-8f7d-4a67-9d3c-2f9a1c0e5b11"},
                                   more={404: ("no such job of this key", toolkit.JobNotFound)}),
    "toolkit_jobs_status": _toolkit("This key's jobs of the last since_seconds (default 600)", schemas.JOBS_STATUS,
                                    toolkit.ToolkitJobsStatus, {"since_seconds": 3600}, optional=True),
    "toolkit_authenticate": _toolkit("Check the API key", None, toolkit.Authenticated),
    "toolkit_upload": _toolkit("Presigned upload into the key's inbox (objects there start jobs)", UPLOAD,
                               toolkit.UploadTicket, {"kind": "image2video", "filename": "photo.jpg",
                                                      "content_type": "image/jpeg", "metadata": {"length": 5}}),
    "text_to_video": _mobile("Text to video (Pixverse, or TopView as the app's route says)",
                             Body(json=mobile.TextToVideoRequest), _SUBMITTED, {**table.TEXT2VIDEO, **_ROUTED}),
    "image_to_video": _mobile("Image to video (Pixverse, or TopView as the app's route says)",
                              Body(multipart=mobile.ImageToVideoForm), _SUBMITTED,
                              {**table.IMAGE2VIDEO, **_ACCESS, **_ROUTED, INVALID_DIMENSIONS: 422}),
    "get_status": _mobile("Status of a generation", Body(json=mobile.GetStatusRequest),
                          ("the generation's status and, once done, its URLs", mobile.GenerationStatus),
                          {**table.GET_STATUS, **_ALWAYS}, submit=False),
    "apphud_webhook": Contract("Apphud S2S event: refresh the user's cached entitlement",
                               Body(json=mobile.ApphudEvent), {
                                   200: ("applied, or ignored for an app that is not registered", mobile.ApphudAnswer),
                                   400: ("the event names no user", mobile.ApphudRefusal),
                                   401: ("wrong X-Apphud-Token", mobile.ApphudRefusal),
                                   422: ("the body is not JSON (400017)", mobile.TableError),
                                   500: ("internal error (500100)", mobile.TableError)}, ("webhooks",)),
    "topview_text_to_video": _topview("Text to video (TopView)", Body(json=topview.TopViewTextToVideo)),
    "topview_image_to_video": _topview("Image to video (TopView)", Body(multipart=topview.TopViewImageToVideo)),
    "topview_text_to_image": _topview("Text to image (TopView)", Body(json=topview.TopViewTextToImage)),
    "topview_video_avatar": _topview("Talking avatar (TopView)", Body(json=topview.TopViewVideoAvatar)),
    "topview_product_avatar": _topview("Product avatar video (TopView)",
                                       Body(multipart=topview.TopViewProductAvatar)),
    "topview_marketing_video": _topview("Marketing video previews (TopView M2V)", Body(
        json=topview.TopViewMarketingVideoLink, multipart=topview.TopViewMarketingVideoFiles)),
    "topview_marketing_export": _topview("Export a marketing video preview (TopView M2V)",
                                         Body(json=topview.TopViewMarketingExport),
                                         {table.NOT_FOUND: table.ANY_TABLE[table.NOT_FOUND]}),  # no such preview
    "mobile_upload": _mobile("Presigned upload of one image (then sent by key)", Body(json=mobile.UploadRequest),
                             ("a presigned PUT under the caller's own prefix", mobile.UploadTicket),
                             {**{code: table.ANY_TABLE[code] for code in (table.EMPTY_PARAMETER,
                                 table.INVALID_PARAMETER, table.IMAGE_TOO_LARGE, table.UNSUPPORTED_IMAGE)},
                              **_ACCESS, **_ALWAYS}, submit=False),
    "pixverse_callback": Contract("PixVerse's signed webhook: resume the generation waiting for its video",
                                  Body(json=mobile.PixverseWebhook), {
                                      200: ("ok (PixVerse's documented reply)", {"type": "string", "const": "ok"}),
                                      401: ("signature, timestamp or nonce refused", {"type": "string"}),
                                      404: ("no job follows this video", {"type": "string"}),
                                      500: ("internal error (500100)", mobile.TableError)},
                                  ("webhooks",), text=frozenset({200, 401, 404})),
    "topview_callback": Contract("TopView noticeUrl callback", Body(json=topview.TopViewCallback), {
        200: ("TopView's documented reply", topview.TopViewCallbackReply),
        400: ("malformed callback (4000)", topview.TopViewCallbackReply),
        403: ("Topview-Uid is not our account's (4002)", topview.TopViewCallbackReply),
        404: ("no job follows this task (4004)", topview.TopViewCallbackReply),
        500: ("internal error (500100)", mobile.TableError)}, ("webhooks",)),
}
