"""The TopView endpoints' bodies as pydantic models, for the OpenAPI document.

Bounds and choices are `inputs`' own constants; `inputs` checks them and answers Part A's codes.
Multipart forms send every field as text: numbers there are digits.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from reelgate.mobile.models import EXAMPLE_CALLER, Body, Caller, NoNull, Prompted, body_schema, key_field
from reelgate.mobile.requests import MAX_IDENTIFIER
from reelgate.topview import inputs

AspectRatio = Literal[inputs.ASPECT_RATIOS]  # type: ignore[valid-type]
Language = Literal[inputs.M2V_LANGUAGES]  # type: ignore[valid-type]
_MB = inputs.MAX_FILE_BYTES // 2**20


def _file(what: str) -> Any:
    return Field(description=f"{what}: a jpg, png or webp image, at most {_MB} MB")


def _optional_file(what: str) -> Any:
    return Field(None, description=f"{what}: a jpg, png or webp image, at most {_MB} MB")


class TopViewTextToVideo(Prompted):
    EXAMPLES = [EXAMPLE_CALLER | {"prompt": "A cat surfing at sunset", "duration": 5}]

    duration: int | None = Field(None, ge=1, le=60, description="seconds")
    aspect_ratio: AspectRatio | None = None


class TopViewTextToImage(Prompted):
    EXAMPLES = [EXAMPLE_CALLER | {"prompt": "A red bicycle", "aspect_ratio": "1:1"}]

    aspect_ratio: AspectRatio | None = None


class TopViewImageToVideo(Prompted):
    """multipart/form-data."""

    duration: Literal[inputs.I2V_DURATIONS] = 5  # type: ignore[valid-type]
    mode: Literal[inputs.I2V_MODES] = "lite"  # type: ignore[valid-type]
    ONE_OF = [("image", "image_key")]

    image: bytes | NoNull = _optional_file("the first frame")
    image_key: str | NoNull = key_field("image")


class TopViewVideoAvatar(Caller):
    EXAMPLES = [EXAMPLE_CALLER | {"avatar_id": "avatar-1", "voice_id": "voice-1", "text": "Hello!"}]

    avatar_id: str = Field(min_length=1, max_length=MAX_IDENTIFIER)
    voice_id: str = Field(min_length=1, max_length=MAX_IDENTIFIER)
    text: str = Field(min_length=1, max_length=inputs.MAX_TEXT, description="what the avatar says")
    voice_speed: float = Field(1.0, ge=0.8, le=1.2)
    aspect_ratio: AspectRatio | None = None


class TopViewProductAvatar(Prompted):
    """multipart/form-data: a `template_image` or an `avatar_id`, not both; a mask has its image's size."""

    avatar_id: str | NoNull = Field(None, max_length=MAX_IDENTIFIER)
    mode: Literal[inputs.PRODUCT_MODES] = "lite"  # type: ignore[valid-type]
    product_size: Literal[inputs.PRODUCT_SIZES] | NoNull = None  # type: ignore[valid-type]
    ONE_OF = [("product_image", "product_image_key")]

    product_image: bytes | NoNull = _optional_file("the product")
    product_mask: bytes | NoNull = _optional_file("the product's mask")
    template_image: bytes | NoNull = _optional_file("the avatar's image")
    template_mask: bytes | NoNull = _optional_file("the template's mask")
    product_image_key: str | NoNull = key_field("product_image")
    product_mask_key: str | NoNull = key_field("product_mask")
    template_image_key: str | NoNull = key_field("template_image")
    template_mask_key: str | NoNull = key_field("template_mask")


class _MarketingOptions(Caller):
    aspect_ratio: AspectRatio | NoNull = None
    language: Language | NoNull = None
    video_length_type: Annotated[int, Field(ge=1, le=4)] | NoNull = None
    voice_id: str | NoNull = Field(None, max_length=MAX_IDENTIFIER)
    avatar_id: str | NoNull = Field(None, max_length=MAX_IDENTIFIER)


class TopViewMarketingVideoLink(_MarketingOptions):
    """application/json: previews from a product page."""

    EXAMPLES = [EXAMPLE_CALLER | {"product_link": "https://example.com/product"}]

    product_link: str = Field(max_length=inputs.MAX_URL, pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://\S+$")


class TopViewMarketingVideoFiles(_MarketingOptions):
    """multipart/form-data: previews from product images or videos."""

    product_name: str = Field(min_length=1, max_length=500)
    product_description: str = Field(min_length=1, max_length=inputs.MAX_TEXT)
    ONE_OF = [("files", "files_keys")]

    files: list[bytes] | NoNull = Field(None, min_length=1, max_length=inputs.MAX_M2V_FILES,
                                        description="jpg, png or webp images, or mp4 or mov videos")
    files_keys: str | NoNull = Field(None, description="instead of files: upload_keys of the caller's POST "
                                                       "/uploads, comma-separated")


class TopViewMarketingExport(Caller):
    EXAMPLES = [EXAMPLE_CALLER | {"video_id": "0b7f3c2e-8f7d-4a67-9d3c-2f9a1c0e5b11", "script_id": 0}]

    video_id: str = Field(min_length=1, description="a finished marketing-video preview")
    script_id: int = Field(0, ge=0, le=999, description="one of its previews")


class TopViewCallback(Body):
    """TopView's noticeUrl call (header `Topview-Uid`: our account's uid)."""

    model_config = ConfigDict(extra="allow", json_schema_extra=body_schema)

    taskId: str
    bizType: str
    status: str = Field(description="success or fail")
    uuid: str | None = None
    errorMsg: str | None = None
    result: Any = None


class TopViewCallbackResult(BaseModel):
    uuid: str
    topviewUid: str
    result: Literal["success", "fail"]


class TopViewCallbackReply(BaseModel):
    """TopView's documented reply; refusals carry TopView's code and `result: null`."""

    code: str
    message: str
    result: TopViewCallbackResult | None
