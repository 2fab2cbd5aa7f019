"""The mobile API's bodies and answers as pydantic models, for the OpenAPI document.

The bounds are `requests`' own constants and the error codes are `errors`' tables, so the document
says what the checks in `requests` enforce (they answer the tables' codes, which pydantic's errors
could not). Unknown fields are ignored, as the checks ignore them.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from reelgate.mobile.requests import MAX_IDENTIFIER, MAX_IMAGE_BYTES, MAX_PROMPT

# `make dev` registers this app, and its Apphud simulator has this user subscribed: Swagger UI's examples work.
EXAMPLE_CALLER = {"app_bundle_id": "com.example.app", "apphud_user_id": "active_user"}


def body_schema(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """An absent field is not sent (a `null` default would not be a valid value); EXAMPLES as `examples`."""
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None:
            del prop["default"]
    if bodies := getattr(model, "EXAMPLES", None):
        schema["examples"] = bodies


class Body(BaseModel):
    model_config = ConfigDict(json_schema_extra=body_schema)
    EXAMPLES: ClassVar[list[dict[str, Any]]] = []


class Caller(Body):
    """Who asks: the app (registered by the operator) and its Apphud user; no header is needed."""

    app_bundle_id: str = Field(min_length=1, max_length=MAX_IDENTIFIER)
    apphud_user_id: str = Field(min_length=1, max_length=MAX_IDENTIFIER)


class Prompted(Caller):
    prompt: str = Field(min_length=1, max_length=MAX_PROMPT, description=f"at most {MAX_PROMPT} characters")


class TextToVideoRequest(Prompted):
    EXAMPLES = [EXAMPLE_CALLER | {"prompt": "A cat"}]


class ImageToVideoForm(Prompted):
    """multipart/form-data: the fields, and the image file (.jpg, .png or .webp)."""

    image: bytes = Field(description=f"a .jpg, .png or .webp file, at most {MAX_IMAGE_BYTES // 2**20} MB")


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
