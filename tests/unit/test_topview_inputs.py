"""TopView request checks (reelgate.topview.inputs): what is refused before anything is uploaded or
charged, with Part A's codes, and files recognized by their content."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from reelgate.mobile.errors import ApiError
from reelgate.multipart import Form, Upload
from reelgate.topview import inputs

WHO = {"app_bundle_id": "com.example.app", "apphud_user_id": "u1"}


def png(size: tuple[int, int] = (320, 240), fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "white").save(buffer, fmt)
    return buffer.getvalue()


def form(fields: dict[str, Any], **files: bytes | list[bytes]) -> Form:
    out = Form(fields={k: str(v) for k, v in (WHO | fields).items()})
    for name, data in files.items():
        for item in data if isinstance(data, list) else [data]:
            upload = Upload("file.bin", "", item)  # names mean nothing: the content decides
            out.files[name] = upload
            out.uploads.append((name, upload))
    return out


def refused(call: Any, *args: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call(*args)
    return caught.value


def test_video_avatar_voice_speed_must_be_within_08_and_12() -> None:
    body = WHO | {"avatar_id": "a1", "text": "Hello", "voice_id": "v1"}
    assert inputs.video_avatar(body).input["voice_speed"] == 1.0
    assert inputs.video_avatar(body | {"voice_speed": 0.8}).input["voice_speed"] == 0.8
    assert inputs.video_avatar(body | {"voice_speed": 1.2}).input["voice_speed"] == 1.2
    for bad in (0.79, 1.21, "1.0", True, 5):
        err = refused(inputs.video_avatar, body | {"voice_speed": bad})
        assert (err.status, err.code) == (422, 400017) and "voice_speed" in err.message


@pytest.mark.parametrize("missing", ["avatar_id", "text", "voice_id", "app_bundle_id"])
def test_video_avatar_missing_fields_are_400011(missing: str) -> None:
    body = WHO | {"avatar_id": "a1", "text": "Hello", "voice_id": "v1"}
    body.pop(missing)
    err = refused(inputs.video_avatar, body)
    assert (err.status, err.code) == (422, 400011) and missing in err.message


def test_a_mask_of_another_size_names_both_sizes() -> None:
    err = refused(inputs.product_avatar, form({"prompt": "Hold it", "avatar_id": "pa1"},
                                              product_image=png((640, 480)), product_mask=png((320, 240))))
    assert (err.status, err.code) == (422, 400017)
    assert "product_mask is 320x240" in err.message and "product_image is 640x480" in err.message
    err = refused(inputs.product_avatar, form({"prompt": "Hold it"}, product_image=png(),
                                              template_image=png((500, 500)), template_mask=png((499, 500))))
    assert "template_mask is 499x500" in err.message and "template_image is 500x500" in err.message


def test_product_avatar_needs_exactly_one_of_template_image_and_avatar_id() -> None:
    err = refused(inputs.product_avatar, form({"prompt": "Hold it"}, product_image=png()))
    assert (err.code, err.status) == (400011, 422) and "template_image or avatar_id" in err.message
    err = refused(inputs.product_avatar, form({"prompt": "Hold it", "avatar_id": "pa1"}, product_image=png(),
                                              template_image=png()))
    assert err.code == 400017
    ok = inputs.product_avatar(form({"prompt": "Hold it", "avatar_id": "pa1", "product_size": "3", "mode": "pro"},
                                    product_image=png(), product_mask=png()))
    assert ok.input == {"prompt": "Hold it", "avatar_id": "pa1", "mode": "pro", "product_size": "3"}
    assert sorted(ok.files) == ["product_image", "product_mask"]


@pytest.mark.parametrize(("field", "value"), [("mode", "ultra"), ("product_size", "7"), ("product_size", "0")])
def test_product_avatar_bad_choices_are_400017(field: str, value: str) -> None:
    err = refused(inputs.product_avatar, form({"prompt": "p", "avatar_id": "a", field: value}, product_image=png()))
    assert (err.code, err.status) == (400017, 422) and field in err.message


def test_files_are_recognized_by_content_not_by_name() -> None:
    jpeg_named_png = inputs.media(Upload("photo.png", "image/png", png(fmt="JPEG")), "image")
    assert jpeg_named_png is not None and (jpeg_named_png.content_type, jpeg_named_png.format) == ("image/jpeg", "jpg")
    webp = inputs.media(Upload("x", "", png(fmt="WEBP")), "image")
    assert webp is not None and webp.format == "webp"
    for data in (b"GIF89a" + b"\0" * 100, b"not an image at all", png(fmt="GIF"), png(fmt="BMP")):
        err = refused(inputs.media, Upload("photo.jpg", "image/jpeg", data), "image")
        assert (err.status, err.code) == (415, 500032) and "image" in err.message


def test_videos_only_where_videos_are_accepted() -> None:
    mp4 = b"\0\0\0\x18ftypisom\0\0\0\0isomiso2" + b"\0" * 64
    mov = b"\0\0\0\x14ftypqt  \0\0\0\0qt  " + b"\0" * 64
    assert inputs.media(Upload("a", "", mp4), "files", videos=True).format == "mp4"  # type: ignore[union-attr]
    assert inputs.media(Upload("a", "", mov), "files", videos=True).format == "mov"  # type: ignore[union-attr]
    assert refused(inputs.media, Upload("a.mp4", "", mp4), "image").code == 500032


def test_images_of_unusable_dimensions_and_empty_or_huge_files() -> None:
    err = refused(inputs.media, Upload("a", "", png((32, 400))), "image")
    assert (err.status, err.code) == (422, 500033) and "32x400" in err.message
    assert refused(inputs.media, Upload("a", "", b""), "image").code == 400011
    assert refused(inputs.media, Upload("a", "", b"x" * (inputs.MAX_FILE_BYTES + 1)), "image").code == 500030


def test_image2video_checks_duration_and_mode_before_anything_else_happens() -> None:
    ok = inputs.image2video(form({"prompt": "p", "duration": "10", "mode": "best"}, image=png()))
    assert ok.input == {"prompt": "p", "duration": 10, "mode": "best"} and ok.files["image"][0].format == "png"
    assert refused(inputs.image2video, form({"prompt": "p", "duration": "7"}, image=png())).code == 400017
    assert refused(inputs.image2video, form({"prompt": "p", "mode": "max"}, image=png())).code == 400017
    assert refused(inputs.image2video, form({"prompt": "p"})).code == 400011


def test_text_tasks() -> None:
    assert inputs.text2video(WHO | {"prompt": "p"}).input == {"prompt": "p", "duration": None, "aspect_ratio": None}
    assert refused(inputs.text2video, WHO | {"prompt": "p", "aspect_ratio": "2:1"}).code == 400017
    assert refused(inputs.text2video, WHO | {"prompt": "p", "duration": 0}).code == 400017
    assert refused(inputs.text2image, WHO | {"prompt": "x" * 2049}).status == 413
    assert refused(inputs.text2image, WHO | {"prompt": ""}).code == 400011


def test_marketing_video_from_a_link_or_from_files() -> None:
    link = inputs.marketing_video_link(WHO | {"product_link": "https://shop.example/p/1", "video_length_type": 2,
                                              "language": "de", "aspect_ratio": "9:16"})
    assert link.input["product_link"] == "https://shop.example/p/1" and link.input["video_length_type"] == 2
    assert refused(inputs.marketing_video_link, WHO | {"product_link": "ftp://x"}).code == 400017
    assert refused(inputs.marketing_video_link, WHO | {"product_link": "https://x", "language": "xx"}).code == 400017
    assert refused(inputs.marketing_video_link, WHO | {"product_link": "https://x",
                                                       "video_length_type": 5}).code == 400017
    files = inputs.marketing_video_files(form({"product_name": "Mug", "product_description": "A mug",
                                               "video_length_type": "4"}, files=[png(), png(fmt="JPEG")]))
    assert [m.format for m in files.files["files"]] == ["png", "jpg"] and files.input["video_length_type"] == 4
    assert refused(inputs.marketing_video_files, form({"product_name": "Mug", "product_description": "d"})).code \
        == 400011
    assert refused(inputs.marketing_video_files, form({"product_description": "d"}, files=png())).code == 400011
    eleven = form({"product_name": "Mug", "product_description": "d"}, files=[png()] * 11)
    assert refused(inputs.marketing_video_files, eleven).code == 400017


def test_export_defaults_to_the_first_script() -> None:
    assert inputs.marketing_video_export(WHO | {"video_id": "v"}).input == {"video_id": "v", "script_id": 0}
    assert refused(inputs.marketing_video_export, WHO | {"video_id": "v", "script_id": -1}).code == 400017
