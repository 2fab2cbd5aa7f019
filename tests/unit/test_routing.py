"""Provider routing (reelgate.routing): the fallback serves only when the primary is unavailable, and the
breaker sends apps with a fallback straight to it after repeated unavailability."""

from __future__ import annotations

from typing import Any

import pytest
from reelgate.mobile.apps import App, Route
from reelgate.mobile.errors import ApiError, from_provider
from reelgate.multipart import Form, Upload
from reelgate.providers import pixverse
from reelgate.providers.topview_errors import TopViewError, error_for
from reelgate.routing import Breaker, Router, unavailable

from tests.helpers import MemoryTable


class Table(MemoryTable):
    """The breaker's items, in memory."""

    def update_item(self, Key: dict[str, str], ExpressionAttributeValues: dict[str, Any],
                    **_: Any) -> None:
        item = self.items.setdefault(Key["pk"], {"failures": 0})
        item["failures"] += ExpressionAttributeValues[":one"]


def pixverse_refusal(code: int) -> ApiError:
    try:
        raise pixverse.PixverseError(code, "sim", 500 if code in (500100, 500069) else 400)
    except pixverse.PixverseError as exc:
        try:
            raise from_provider(exc.err_code, exc.message, {}) from exc
        except ApiError as api_error:
            return api_error


class Providers:
    """Each provider answers with its next scripted outcome: a result, or an exception to raise."""

    def __init__(self, **outcomes: list[Any]) -> None:
        self.outcomes, self.calls = outcomes, []

    def attempt(self, name: str) -> Any:
        self.calls.append(name)
        outcome = self.outcomes[name].pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def router(providers: Providers, route: Route | None, breaker: Breaker | None = None) -> Router:
    app = App(bundle_id="a", apphud_key_ref="env:X", routes={"text2video": route, "image2video": route}
              if route else {})
    return Router(
        app_of=lambda bundle_id: app if bundle_id == "a" else None,
        breaker=breaker or Breaker(Table(), threshold=0, window_seconds=60),
        pixverse_text=lambda body, source: providers.attempt("pixverse"),
        pixverse_image=lambda fields, image, source: providers.attempt("pixverse"),
        topview_text=lambda body, source: providers.attempt("topview"),
        topview_image=lambda form, source: providers.attempt("topview"),
    )


BODY = {"app_bundle_id": "a", "apphud_user_id": "u", "prompt": "p"}
BOTH = Route(primary="pixverse", fallback="topview")


def test_the_default_route_is_pixverse_without_fallback() -> None:
    providers = Providers(pixverse=[pixverse_refusal(500100)])
    with pytest.raises(ApiError):
        router(providers, None).text2video(BODY)
    assert providers.calls == ["pixverse"]


@pytest.mark.parametrize("code", [500100, 500069, 500041, pixverse.NO_RESPONSE, pixverse.UNKNOWN_ERROR])
def test_pixverse_unavailability_fails_over(code: int) -> None:
    providers = Providers(pixverse=[pixverse_refusal(code)], topview=[{"video_id": "t"}])
    assert router(providers, BOTH).text2video(BODY) == {"video_id": "t"}
    assert providers.calls == ["pixverse", "topview"]


@pytest.mark.parametrize("code", [500054, 500063, 500043, 500090, 400017, 500060, 500044, pixverse.NO_TIME])
def test_answers_are_never_failed_over(code: int) -> None:
    providers = Providers(pixverse=[pixverse_refusal(code)], topview=[{"video_id": "t"}])
    with pytest.raises(ApiError) as caught:
        router(providers, BOTH).text2video(BODY)
    assert caught.value.code == code and providers.calls == ["pixverse"]


@pytest.mark.parametrize(("code", "fails_over"), [("5003", True), ("5000", True), ("-1", True), ("6001", False),
                                                  ("4006", False), ("4100", False), ("4000", False),
                                                  ("4007", False), ("4002", False)])
def test_topview_as_primary(code: str, fails_over: bool) -> None:
    providers = Providers(topview=[error_for(code, "x", 200)], pixverse=[{"video_id": "p"}])
    route = Route(primary="topview", fallback="pixverse")
    if fails_over:
        assert router(providers, route).image2video(Form(fields=BODY, files={"image": Upload("a.png", "", b"x")})) \
            == {"video_id": "p"}
    else:
        with pytest.raises(TopViewError):
            router(providers, route).text2video(BODY)
    assert providers.calls == (["topview", "pixverse"] if fails_over else ["topview"])


def test_the_breaker_opens_after_repeated_unavailability_and_closes_with_its_window() -> None:
    now = [1000.0]
    table = Table()
    breaker = Breaker(table, threshold=2, window_seconds=60, clock=lambda: now[0])
    providers = Providers(pixverse=[pixverse_refusal(500100)] * 2, topview=[{"video_id": "t"}] * 3)
    r = router(providers, BOTH, breaker)

    r.text2video(BODY)
    r.text2video(BODY)
    assert breaker.open("pixverse") and not breaker.open("topview")
    r.text2video(BODY)  # straight to the fallback
    assert providers.calls == ["pixverse", "topview", "pixverse", "topview", "topview"]

    now[0] += 60
    assert not breaker.open("pixverse")


def test_an_unreadable_app_takes_the_default_route() -> None:
    providers = Providers(pixverse=[{"video_id": "p"}])
    r = router(providers, BOTH)
    r._app_of = lambda bundle_id: (_ for _ in ()).throw(RuntimeError("DynamoDB down"))  # type: ignore[method-assign]
    assert r.text2video(BODY) == {"video_id": "p"} and providers.calls == ["pixverse"]


def test_unavailable_reads_the_pixverse_cause_and_topview_codes() -> None:
    assert unavailable("pixverse", pixverse_refusal(500100))
    assert not unavailable("pixverse", ApiError(500100, "ours, no Pixverse cause"))
    assert unavailable("topview", TopViewError("5003", "busy"))
    assert not unavailable("topview", pixverse_refusal(500100))
