"""Strict request bodies: NaN/Infinity, deep nesting, lone surrogates, oversized strings and lists are
refused as the caller's error (toolkit 400, mobile 422 400017), never a 500 and never accepted."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from reelgate import http
from reelgate.mobile import api as mobile_api
from reelgate.mobile import requests
from reelgate.toolkit import api as toolkit_api
from reelgate.toolkit.keys import ApiKeys
from reelgate.toolkit.schemas import JOB_STATUS, JOBS_STATUS, Operation, validate
from reelgate.toolkit.service import Answer

from tests.unit.handlers import call

KEY = "rg_test_key"
IMAGE = "https://example.com/image.jpg"
CLIP = {"video_url": "https://example.com/a.mp4"}


class MemoryTable:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def put_item(self, Item: dict[str, Any], **kw: Any) -> None:
        self.items[Item["pk"]] = Item

    def get_item(self, Key: dict[str, Any], **kw: Any) -> dict[str, Any]:
        item = self.items.get(Key["pk"])
        return {"Item": item} if item else {}


@dataclass
class FakeToolkit:
    """Authenticates KEY; a submission is checked against its schema as Toolkit.submit does first."""

    keys: ApiKeys = field(default_factory=lambda: ApiKeys(MemoryTable()))
    seen: list[Any] = field(default_factory=list)

    def submit(self, key: Any, op: Operation, payload: Any) -> Answer:
        self.seen.append(validate(op.schema, payload))
        return Answer(202, {"code": 202, "message": "processing"})

    def status(self, key: Any, job_id: str) -> Answer:
        self.seen.append(job_id)
        return Answer(404, {"code": 404, "message": {"error": "Job not found", "job_id": job_id}})

    def recent(self, key: Any, since: float) -> Answer:
        self.seen.append(since)
        return Answer(200, {"code": 200, "response": {}})


@pytest.fixture
def toolkit(monkeypatch: pytest.MonkeyPatch) -> FakeToolkit:
    fake = FakeToolkit()
    fake.keys.create("test", 100, plaintext=KEY)
    monkeypatch.setattr(toolkit_api, "toolkit", lambda: fake)
    return fake


class FakeMobile:
    """Checks the body as MobileApi does; the prompt is then sent on as UTF-8, as the Pixverse call does."""

    def __init__(self) -> None:
        self.prompts: list[str] = []

    def text_to_video(self, body: Any, *context: Any) -> dict[str, Any]:
        requests.caller(body)
        self.prompts.append(requests.prompt(body).encode("utf-8").decode("utf-8"))
        return {"video_id": "v1", "message": None}

    def image_to_video(self, fields: dict[str, str], image: Any, *context: Any) -> dict[str, Any]:
        requests.caller(fields)
        return {"video_id": "v2", "message": None}

    def status(self, body: Any, *context: Any) -> dict[str, Any]:
        requests.caller(body)
        return {"status": "generating", "video_url": None}


@pytest.fixture
def mobile(monkeypatch: pytest.MonkeyPatch) -> FakeMobile:
    fake = FakeMobile()
    monkeypatch.setattr(mobile_api, "mobile", lambda: fake)
    return fake


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def toolkit_call(name: str, body: Any) -> tuple[int, Any]:
    return call(name, body, headers={"x-api-key": KEY})


# --- Parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "reason"), [
    ('{"length": NaN}', "NaN is not a JSON number"),
    ('{"length": Infinity}', "Infinity is not a JSON number"),
    ('{"length": -Infinity}', "-Infinity is not a JSON number"),
    ('{"length": 1e400}', "1e400 is out of range"),
    ('{"length": ' + "9" * 65 + "}", "more than 64 digits"),
    (nested(100_000), "nested more than 16 levels deep"),
    (nested(17), "nested more than 16 levels deep"),
    ('{"a": ' * 17 + "1" + "}" * 17, "nested more than 16 levels deep"),
    ('{"prompt": "\\ud800"}', "unpaired UTF-16 surrogate"),
    ('{"prompt": "tail \\udfff"}', "unpaired UTF-16 surrogate"),
    ('{"\\ud800": 1}', "unpaired UTF-16 surrogate"),
    (b'{"a": "\xff"}', "not UTF-8"),
    ('{"a": 1', "Expecting"),
])
def test_strict_json_refuses(text: str | bytes, reason: str) -> None:
    with pytest.raises(http.InvalidJson, match=reason):
        http.strict_json(text)


def test_strict_json_accepts_ordinary_json() -> None:
    text = '{"a": [1, 2.5, -3e10, true, null, "\\ud83d\\ude00 \\u00e9"], "b": ' + nested(15) + "}"
    assert http.strict_json(text) == json.loads(text)


# --- Toolkit: 400 in NCA's shape ------------------------------------------------------------------


@pytest.mark.parametrize(("name", "body", "names"), [
    ("toolkit_image_to_video", f'{{"image_url": "{IMAGE}", "length": NaN}}', "NaN"),
    ("toolkit_image_to_video", f'{{"image_url": "{IMAGE}", "zoom_speed": Infinity}}', "Infinity"),
    ("toolkit_image_to_video", f'{{"image_url": "{IMAGE}", "length": 1e999}}', "out of range"),
    ("toolkit_image_to_video", f'{{"image_url": "{IMAGE}", "id": {nested(100_000)}}}', "nested"),
    ("toolkit_concatenate", json.dumps({"video_urls": [CLIP | {"x": json.loads(nested(16))}]}), "nested"),
    ("toolkit_image_to_video", f'{{"image_url": "{IMAGE}", "id": "\\ud800"}}', "surrogate"),
    ("toolkit_image_to_video", {"image_url": IMAGE, "id": "r" * 257}, "id: at most 256 characters"),
    ("toolkit_image_to_video", {"image_url": IMAGE + "?" + "q" * 3072}, "image_url: at most 3072 characters"),
    ("toolkit_image_to_video", {"image_url": IMAGE, "webhook_url": IMAGE + "?" + "q" * 3072}, "webhook_url"),
    ("toolkit_concatenate", {"video_urls": [{"video_url": IMAGE + "?" + "q" * 3072}]}, "video_urls.0.video_url"),
    ("toolkit_concatenate", {"video_urls": [CLIP] * 101}, "video_urls: at most 100 items are allowed"),
    ("toolkit_job_status", {"job_id": "j" * 129}, "job_id: at most 128 characters"),
    ("toolkit_job_status", {"job_id": "a1b2", "extra": 1}, "'extra' was unexpected"),
    ("toolkit_jobs_status", {"since_seconds": 10**12}, "since_seconds"),
    ("toolkit_jobs_status", {"since_seconds": -1}, "since_seconds"),
    ("toolkit_jobs_status", {"since_seconds": 60, "limit": 5}, "'limit' was unexpected"),
    ("toolkit_jobs_status", '{"since_seconds": NaN}', "NaN"),
])
def test_toolkit_refuses_with_400(toolkit: FakeToolkit, name: str, body: Any, names: str) -> None:
    status, answer = toolkit_call(name, body)

    assert (status, answer["code"]) == (400, 400)
    assert answer["message"].startswith("Invalid request payload: ")
    assert names in answer["message"]
    assert len(answer["message"]) < 400  # a long value is not quoted back in full
    assert toolkit.seen == []


def test_a_huge_list_is_refused_without_looking_at_its_items(toolkit: FakeToolkit) -> None:
    status, answer = toolkit_call("toolkit_concatenate", {"video_urls": [{"video_url": "not a url"}] * 200_000})

    assert status == 400
    assert answer["message"] == "Invalid request payload: video_urls: at most 100 items are allowed"


@pytest.mark.parametrize(("name", "body"), [
    ("toolkit_image_to_video", None),  # the seed's own example request
    ("toolkit_concatenate", None),
    ("toolkit_image_to_video", {"image_url": IMAGE}),
    ("toolkit_image_to_video", {"image_url": IMAGE, "length": 60, "frame_rate": 15, "zoom_speed": 0,
                                "webhook_url": "https://example.com/hook", "id": "r" * 256}),
    ("toolkit_concatenate", {"video_urls": [CLIP | {"extra": {"a": [1]}}] * 100}),
])
def test_toolkit_still_accepts_valid_requests(toolkit: FakeToolkit, name: str, body: Any) -> None:
    status, _ = toolkit_call(name, body)

    assert status == 202
    assert len(toolkit.seen) == 1


@pytest.mark.parametrize(("schema", "body"), [
    (JOB_STATUS, {"job_id": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"}),
    (JOBS_STATUS, {"since_seconds": 600}),
    (JOBS_STATUS, {"since_seconds": 366 * 24 * 3600}),
    (JOBS_STATUS, {}),
])
def test_status_bodies_that_stay_valid(schema: dict[str, Any], body: dict[str, Any]) -> None:
    assert validate(schema, body) == body


# --- Mobile: 422 400017 ---------------------------------------------------------------------------

CALLER = '"app_bundle_id": "com.example.app", "apphud_user_id": "user123"'


@pytest.mark.parametrize(("name", "body"), [
    ("text_to_video", f'{{{CALLER}, "prompt": "\\ud800 a cat"}}'),
    ("text_to_video", f'{{{CALLER}, "prompt": "a cat \\udc00"}}'),
    ("text_to_video", f'{{{CALLER}, "prompt": "A cat", "seed": NaN}}'),
    ("text_to_video", f'{{{CALLER}, "prompt": "A cat", "x": {nested(100_000)}}}'),
    ("text_to_video", f'{{{CALLER}, "prompt": "A cat", "x": {nested(16)}}}'),
    ("text_to_video", {"app_bundle_id": "com.example.app", "apphud_user_id": "u" * 201, "prompt": "A cat"}),
    ("get_status", f'{{{CALLER}, "video_id": "v1", "n": -Infinity}}'),
    ("get_status", {"app_bundle_id": "b" * 201, "apphud_user_id": "user123", "video_id": "v1"}),
])
def test_mobile_refuses_with_422_400017(mobile: FakeMobile, name: str, body: Any) -> None:
    status, answer = call(name, body)

    assert (status, answer["code"]) == (422, 400017)
    assert answer["message"].startswith("invalid parameter")
    assert mobile.prompts == []
    if name == "text_to_video":
        assert answer["video_id"] is None


def test_a_multipart_content_type_beyond_latin_1_is_invalid(mobile: FakeMobile) -> None:
    status, answer = call("image_to_video", sample="text_to_video", path="/image2video", raw=b"--x--\r\n",
                          content_type="multipart/form-data; boundary=\u2603")

    assert (status, answer["code"], answer["video_id"]) == (422, 400017, None)


def test_mobile_still_accepts_valid_requests(mobile: FakeMobile) -> None:
    prompt = "A cat 🐈 on a café roof"
    status, answer = call("text_to_video", {"app_bundle_id": "com.example.app", "apphud_user_id": "u" * 200,
                                            "prompt": prompt})
    assert (status, answer) == (200, {"video_id": "v1", "message": None})
    assert mobile.prompts == [prompt]
    assert call("get_status")[0] == 200


def test_the_fakes_are_real_composition_roots_in_shape() -> None:
    # The fakes stand in for the objects the handlers call; keep their method names honest.
    from reelgate.mobile.service import MobileApi
    from reelgate.toolkit.service import Toolkit

    assert all(hasattr(Toolkit, name) for name in ("submit", "status", "recent"))
    assert all(hasattr(MobileApi, name) for name in ("text_to_video", "image_to_video", "status"))
