"""The mobile API's bodies and answers as pydantic models, for the OpenAPI document.

The bounds are `requests`' own constants and the error codes are `errors`' tables, so the document
says what the checks in `requests` enforce (they answer the tables' codes, which pydantic's errors
could not). Unknown fields are ignored, as the checks ignore them.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from reelgate.mobile.requests import MAX_IDENTIFIER, MAX_IMAGE_BYTES, MAX_PROMPT
from reelgate.mobile.uploads import EXTENSIONS

NoNull = SkipJsonSchema[None]  # optional, but never null on the wire (a form cannot send one)

# `make dev` registers this app, and its Apphud simulator has this user subscribed: Swagger UI's examples work.
EXAMPLE_CALLER = {"app_bundle_id": "com.example.app", "apphud_user_id": "active_user"}


def body_schema(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """An absent field is not sent (a `null` default would not be a valid value); EXAMPLES as `examples`;
    each ONE_OF pair (a file, or the key of its upload) as "one of the two is required"."""
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None:
            del prop["default"]
    if bodies := getattr(model, "EXAMPLES", None):
        schema["examples"] = bodies
    if pairs := getattr(model, "ONE_OF", None):
        schema["allOf"] = [{"anyOf": [{"required": [name]} for name in pair]} for pair in pairs]


class Body(BaseModel):
    model_config = ConfigDict(json_schema_extra=body_schema)
    EXAMPLES: ClassVar[list[dict[str, Any]]] = []
    ONE_OF: ClassVar[list[tuple[str, str]]] = []  # (file field, its key field): one of the two is required


class Caller(Body):
    """Who asks: the app (registered by the operator) and its Apphud user; no header is needed."""

    app_bundle_id: str = Field(min_length=1, max_length=MAX_IDENTIFIER)
    apphud_user_id: str = Field(min_length=1, max_length=MAX_IDENTIFIER)


class Prompted(Caller):
    prompt: str = Field(min_length=1, max_length=MAX_PROMPT, description=f"at most {MAX_PROMPT} characters")


class TextToVideoRequest(Prompted):
    EXAMPLES = [EXAMPLE_CALLER | {"prompt": "A cat"}]


def key_field(what: str) -> Any:
    """`<field>_key`: the `upload_key` of one of the caller's `POST /uploads`, instead of the file."""
    return Field(None, description=f"instead of {what}: the upload_key of the caller's POST /uploads (larger "
                                   "images); another caller's key is refused with 500020")


class ImageToVideoForm(Prompted):
    """multipart/form-data: the fields, and the image file (.jpg, .png or .webp) or `image_key`."""

    ONE_OF = [("image", "image_key")]

    image: bytes | NoNull = Field(None, description=f"a .jpg, .png or .webp file, at most "
                                                    f"{MAX_IMAGE_BYTES // 2**20} MB sent directly")
    image_key: str | NoNull = key_field("image")


class UploadRequest(Caller):
    """One image to upload before sending its key to an image endpoint."""

    EXAMPLES = [EXAMPLE_CALLER | {"content_type": "image/jpeg", "size": 12_000_000}]

    content_type: str = Field(description="the PUT must send exactly this Content-Type",
                              json_schema_extra={"enum": list(EXTENSIONS)})
    size: int = Field(ge=1, description="the image's length in bytes; the PUT must send exactly this many")


class UploadTicket(BaseModel):
    upload_url: str = Field(description="PUT the image here, with exactly `headers`")
    upload_key: str = Field(description="send it as image_key (or <field>_key) to an image endpoint")
    expires_in: int = Field(description="seconds the upload_url stays valid")
    max_bytes: int
    headers: dict[str, str]


class PixverseWebhook(Body):
    """PixVerse's webhook (headers Webhook-Timestamp, Webhook-Nonce, Webhook-Signature)."""

    model_config = ConfigDict(extra="allow", json_schema_extra=body_schema)

    id: str = Field(description="PixVerse's video id")
    status: int = Field(description="PixVerse's status code (1 = success)")


class GetStatusRequest(Caller):
    EXAMPLES = [EXAMPLE_CALLER | {"video_id": "0b7f3c2e-8f7d-4a67-9d3c-2f9a1c0e5b11"}]

    video_id: str = Field(min_length=1, description="the `video_id` a submit answered")


class Submitted(BaseModel):
    video_id: str = Field(description="the generation's id, for /get-status")
    message: None


class TableError(BaseModel):
    """An answer of the error tables: the numeric code and a message (500s add the request id)."""

    code: int
    message: str
    request_id: str | None = Field(None, description="500 only: quote it to the operator")


class SubmitError(TableError):
    video_id: None


class Preview(BaseModel):
    script_id: int
    video_url: str
    cover_url: str | None
    duration_ms: int | None


class GenerationStatus(BaseModel):
    status: Literal["generating", "success", "error"]
    video_url: str | None
    image_url: str | None = Field(None, description="TopView text2image and product avatars")
    previews: list[Preview] | None = Field(None, description="TopView marketing-video previews")
    expires_at: str | None = Field(
        description="when the answer's URLs stop working (ISO 8601 UTC; the earliest if several); null without")


class ApphudEvent(Body):
    """Apphud's S2S event; only its user (and app) matter: the entitlement is re-read from Apphud."""

    model_config = ConfigDict(extra="allow", json_schema_extra=body_schema)


class ApphudAnswer(BaseModel):
    ok: Literal[True]
    user_id: str | None = None
    refreshed: bool | None = None
    ignored: str | None = None


class ApphudRefusal(BaseModel):
    ok: Literal[False]
    message: str
