"""CORS: which origins the `cors_origins` setting allows, and the headers the functions' answers carry."""

from __future__ import annotations

from typing import Any

import pytest
from reelgate import cors
from reelgate.mobile import api as mobile_api
from reelgate.toolkit import api as toolkit_api
from reelgate.toolkit.schemas import IMAGE_TO_VIDEO_OP
from reelgate.toolkit.service import Answer

from tests.helpers import event
from tests.unit.handlers import Context, handler_module

ORIGINS = "https://app.example.com, http://localhost:*"


def test_the_setting_is_normalised_and_a_malformed_origin_named() -> None:
    assert cors.parse(" HTTPS://App.Example.com/ ,,http://localhost:*,https://app.example.com") == (
        "https://app.example.com", "http://localhost:*")
    assert cors.parse("") == ()
    for bad in ("*", "https://*.example.com", "app.example.com", "https://app.example.com/path", "ftp://x"):
        with pytest.raises(ValueError, match="is not an origin"):
            cors.parse(bad)


@pytest.mark.parametrize(("origin", "allowed"), [
    ("https://app.example.com", True),
    ("HTTPS://APP.EXAMPLE.COM", True),
    ("http://app.example.com", False),  # another scheme is another origin
    ("https://app.example.com:8443", False),
    ("https://evil.app.example.com", False),
    ("http://localhost:5173", True),
    ("http://localhost", True),
    ("http://localhost.evil.com:80", False),
    ("http://localhost:80.evil.com", False),
    ("https://localhost:5173", False),
    ("null", False),
    ("", False),
    (None, False),
])
def test_exact_origins_and_any_port_of_a_wildcard_host(origin: str | None, allowed: bool) -> None:
    assert cors.allows(cors.parse(ORIGINS), origin) is allowed


def _answer(name: str, origin: str | None, path: str | None = None, **kw: Any) -> dict[str, Any]:
    ev = event(name, headers={"Origin": origin} if origin else {}, **kw)
    if path is not None:
        ev["path"] = ev["resource"] = ev["requestContext"]["resourcePath"] = path
    result: dict[str, Any] = handler_module(name).handler(ev, Context())
    return result


def _headers(result: dict[str, Any]) -> dict[str, str]:
    return {k.lower(): ",".join(v) for k, v in result["multiValueHeaders"].items()}


class Refused:
    """The toolkit's composition root with a key store that knows no key."""

    keys = type("Keys", (), {"authenticate": staticmethod(lambda plaintext: None)})()


def test_a_toolkit_error_answer_echoes_an_allowed_origin_with_credentials(
    settings_env: pytest.MonkeyPatch,
) -> None:
    settings_env.setenv("REELGATE_CORS_ORIGINS", ORIGINS)
    settings_env.setattr(toolkit_api, "toolkit", lambda: Refused)

    allowed = _answer("toolkit_authenticate", "http://localhost:8123")
    refused = _answer("toolkit_authenticate", "https://evil.example.com")
    no_origin = _answer("toolkit_authenticate", None)

    assert allowed["statusCode"] == 401
    headers = _headers(allowed)
    assert headers["access-control-allow-origin"] == "http://localhost:8123"
    assert headers["access-control-allow-credentials"] == "true"
    assert headers["vary"] == "Origin"
    assert "Idempotent-Replayed" in headers["access-control-expose-headers"]
    for result in (refused, no_origin):
        assert result["statusCode"] == 401
        assert not any(name.startswith("access-control-") for name in _headers(result))


def test_without_the_setting_no_origin_is_allowed(settings_env: pytest.MonkeyPatch) -> None:
    settings_env.delenv("REELGATE_CORS_ORIGINS", raising=False)
    settings_env.setattr(toolkit_api, "toolkit", lambda: Refused)

    assert "access-control-allow-origin" not in _headers(_answer("toolkit_authenticate", "http://localhost:8123"))


def test_a_mobile_answer_carries_the_headers_too(settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("REELGATE_CORS_ORIGINS", ORIGINS)

    class Root:
        def status(self, body: Any, *context: Any) -> Any:
            return {"status": "ok"}

    settings_env.setattr(mobile_api, "mobile", Root)

    result = _answer("get_status", "https://app.example.com")

    assert result["statusCode"] == 200
    assert _headers(result)["access-control-allow-origin"] == "https://app.example.com"


def test_the_transform_alias_submits_the_image_to_video_operation(settings_env: pytest.MonkeyPatch) -> None:
    submitted = []

    class Root:
        keys = type("Keys", (), {"authenticate": staticmethod(lambda plaintext: "key")})()

        def submit(self, key: Any, op: Any, body: Any) -> Answer:
            submitted.append((op, body))
            return Answer(200, {"endpoint": op.endpoint})

    settings_env.setattr(toolkit_api, "toolkit", Root)
    body = {"image_url": "https://example.com/a.jpg"}

    result = _answer("toolkit_image_to_video", None, path="/v1/image/transform/video", body=body)

    assert result["statusCode"] == 200, result
    assert submitted == [(IMAGE_TO_VIDEO_OP, body)]
    assert IMAGE_TO_VIDEO_OP.endpoint == "/v1/image/convert/video"
