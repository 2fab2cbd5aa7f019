"""POST /uploads and `<field>_key`: one signed PUT under the caller's own prefix; keys checked when used."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from reelgate.mobile.errors import ApiError
from reelgate.mobile.requests import Caller
from reelgate.mobile.uploads import Uploads, image_type, prefix
from reelgate.multipart import Form, Upload

from tests.helpers import circle_image

MB = 1024 * 1024
WHO = Caller("com.example.app", "user-1")


class FakeS3:
    """Objects by key, answered like S3's GetObject (a missing key: AccessDenied, as without ListBucket)."""

    def __init__(self, signer: Any) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}
        self.generate_presigned_url = signer.generate_presigned_url

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # boto3's names
        if Key not in self.objects:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetObject")
        data, content_type = self.objects[Key]
        return {"Body": io.BytesIO(data), "ContentLength": len(data), "ContentType": content_type}


@pytest.fixture
def s3() -> FakeS3:
    return FakeS3(boto3.client("s3", region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE",
                               aws_secret_access_key="x", endpoint_url="https://s3.us-east-1.amazonaws.com",
                               config=Config(signature_version="s3v4")))


@pytest.fixture
def uploads(s3: FakeS3) -> Uploads:
    return Uploads(s3, "media", max_bytes=20 * MB, direct_max_bytes=4 * MB, expires=900)


@pytest.fixture
def jpeg(tmp_path) -> bytes:
    return circle_image(tmp_path / "a.jpg", (320, 240)).read_bytes()


def body(**over: Any) -> dict[str, Any]:
    return {"app_bundle_id": WHO.bundle_id, "apphud_user_id": WHO.user_id, "content_type": "image/jpeg",
            "size": 12 * MB} | over


def code_of(call: Any) -> tuple[int, int]:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value.status, caught.value.code


def test_the_upload_is_one_key_under_the_callers_prefix_signed_with_its_type_and_length(uploads) -> None:
    answer = uploads.presign(*uploads.request(body()))

    assert answer["upload_key"].startswith("inbox/mobile/com.example.app/user-1/")
    assert answer["upload_key"].endswith(".jpg") and answer["upload_key"].count("/") == 4
    assert (answer["expires_in"], answer["max_bytes"]) == (900, 20 * MB)
    assert answer["headers"] == {"Content-Type": "image/jpeg", "Content-Length": str(12 * MB)}
    url = urlsplit(answer["upload_url"])
    assert unquote(url.path) == "/media/" + answer["upload_key"]
    signed = set(parse_qs(url.query)["X-Amz-SignedHeaders"][0].split(";"))
    assert signed == {"content-type", "content-length", "host"}  # another type or length breaks the signature


def test_two_uploads_never_share_a_key(uploads) -> None:
    assert uploads.presign(WHO, "image/png", 10)["upload_key"] != uploads.presign(WHO, "image/png", 10)["upload_key"]


@pytest.mark.parametrize(("change", "status", "code"), [
    ({"content_type": "image/gif"}, 415, 500032),
    ({"content_type": "text/html"}, 415, 500032),
    ({"size": 20 * MB + 1}, 413, 500030),
    ({"size": 0}, 422, 400017),
    ({"size": "12"}, 422, 400017),
    ({"size": True}, 422, 400017),
    ({"size": None}, 422, 400011),
    ({"apphud_user_id": ""}, 422, 400011),
])
def test_a_bad_upload_request_answers_its_table_code(uploads, change, status, code) -> None:
    assert code_of(lambda: uploads.request(body(**change))) == (status, code)


def test_ids_with_slashes_cannot_make_two_callers_prefixes_meet() -> None:
    assert prefix(Caller("a/b", "c")) != prefix(Caller("a", "b/c"))
    assert prefix(Caller("a/b", "c")).count("/") == prefix(WHO).count("/") == 4


@pytest.mark.parametrize("key", [
    "inbox/mobile/com.example.app/user-2/x.jpg",  # another user of the same app
    "inbox/mobile/com.example.other/user-1/x.jpg",  # the same user id in another app
    "inbox/mobile/com.example.app/user-1/../user-2/x.jpg",
    "inbox/mobile/com.example.app/user-1/sub/x.jpg",
    "inbox/mobile/com.example.app/user-1/",
    "inbox/k1/image2video/x.jpg", "videos/x.mp4", "",
])
def test_a_key_outside_the_callers_own_uploads_is_refused_before_anything_is_read(uploads, key) -> None:
    uploads._s3 = None  # nothing may be read
    assert code_of(lambda: uploads.read(WHO, key)) == (403, 500020)


def test_an_uploaded_image_is_read_by_its_key_with_its_real_type(uploads, s3, jpeg) -> None:
    key = prefix(WHO) + "a.jpg"
    s3.objects[key] = (jpeg, "image/jpeg")
    assert uploads.read(WHO, key) == Upload("image.jpg", "image/jpeg", jpeg)


def test_a_missing_object_is_an_invalid_image_id(uploads) -> None:
    assert code_of(lambda: uploads.read(WHO, prefix(WHO) + "never.jpg")) == (422, 400032)


def test_an_object_that_is_not_the_declared_image_is_unsupported(uploads, s3, jpeg, tmp_path) -> None:
    png = circle_image(tmp_path / "b.png", (320, 240), "PNG").read_bytes()
    s3.objects[prefix(WHO) + "png-as-jpeg.jpg"] = (png, "image/jpeg")
    s3.objects[prefix(WHO) + "text.jpg"] = (b"<html>not an image</html>", "image/jpeg")
    for name in ("png-as-jpeg.jpg", "text.jpg"):
        assert code_of(lambda name=name: uploads.read(WHO, prefix(WHO) + name)) == (415, 500032)
    assert image_type(jpeg) == "image/jpeg" and image_type(png) == "image/png" and image_type(b"RIFF") is None


def test_an_object_over_the_upload_limit_is_too_large(s3, jpeg) -> None:
    small = Uploads(s3, "media", max_bytes=len(jpeg) - 1, direct_max_bytes=10, expires=900)
    s3.objects[prefix(WHO) + "a.jpg"] = (jpeg, "image/jpeg")
    assert code_of(lambda: small.read(WHO, prefix(WHO) + "a.jpg")) == (413, 500030)


def fields(**extra: str) -> dict[str, str]:
    return {"app_bundle_id": WHO.bundle_id, "apphud_user_id": WHO.user_id, "prompt": "x"} | extra


def test_attach_puts_each_keyed_image_into_the_form(uploads, s3, jpeg) -> None:
    key = prefix(WHO) + "a.jpg"
    s3.objects[key] = (jpeg, "image/jpeg")
    form = uploads.attach(Form(fields=fields(product_image_key=key)), ["product_image", "template_image"])
    assert form.files == {"product_image": Upload("product_image.jpg", "image/jpeg", jpeg)}
    assert form.uploads == [("product_image", form.files["product_image"])]


def with_file(name: str, upload: Upload, **extra: str) -> Form:
    """A form as multipart.parse gives it: the file by name and in the list of every upload."""
    return Form(fields=fields(**extra), files={name: upload}, uploads=[(name, upload)])


def test_a_direct_image_over_the_direct_limit_points_at_uploads(uploads) -> None:
    big = with_file("image", Upload("a.jpg", "", b"\xff" * (4 * MB + 1)))
    with pytest.raises(ApiError) as caught:
        uploads.attach(big, ["image"])
    assert (caught.value.status, caught.value.code) == (413, 500030)
    assert "POST /uploads" in caught.value.message and "image_key" in caught.value.message
    at_limit = with_file("image", Upload("a.jpg", "", b"\xff" * (4 * MB)))
    assert uploads.attach(at_limit, ["image"]) is at_limit


def test_a_file_and_a_key_for_the_same_image_are_refused(uploads) -> None:
    both = with_file("image", Upload("a.jpg", "", b"x"), image_key=prefix(WHO) + "a.jpg")
    assert code_of(lambda: uploads.attach(both, ["image"])) == (422, 400017)


def test_several_keys_become_several_files_in_order(uploads, s3, jpeg, tmp_path) -> None:
    png = circle_image(tmp_path / "b.png", (320, 240), "PNG").read_bytes()
    s3.objects[prefix(WHO) + "a.jpg"], s3.objects[prefix(WHO) + "b.png"] = (jpeg, "image/jpeg"), (png, "image/png")
    direct = Upload("c.png", "", png)
    form = Form(fields=fields(files_keys=f" {prefix(WHO)}a.jpg, {prefix(WHO)}b.png,"), uploads=[("files", direct)])
    uploads.attach(form, (), several=("files",))
    assert [(name, upload.data) for name, upload in form.uploads] == [("files", png), ("files", jpeg), ("files", png)]


def test_one_foreign_key_among_several_refuses_the_request(uploads, s3, jpeg) -> None:
    s3.objects[prefix(WHO) + "a.jpg"] = (jpeg, "image/jpeg")
    form = Form(fields=fields(files_keys=f"{prefix(WHO)}a.jpg,inbox/mobile/com.example.app/user-2/b.jpg"))
    assert code_of(lambda: uploads.attach(form, (), several=("files",))) == (403, 500020)


def test_any_file_of_the_form_over_the_direct_limit_points_at_uploads(uploads) -> None:
    form = Form(fields=fields(), uploads=[("files", Upload("a.png", "", b"x")),
                                          ("files", Upload("b.png", "", b"\xff" * (4 * MB + 1)))])
    assert code_of(lambda: uploads.attach(form, (), several=("files",))) == (413, 500030)
