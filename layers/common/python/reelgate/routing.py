"""Which provider serves /text2video and /image2video: the app's record names a primary (Pixverse by
default, or TopView's common tasks) and may name a fallback, used only when the primary is
unavailable: its 5xx-class answers, overload (500069, 5003), no answer or a timeout, or its breaker
open. Never after a caller error, a moderation refusal or a credit refusal: those are answers, and
another provider would only repeat them (or charge twice). Each attempt is its own job (a failed
attempt gives its slot and month back), and the job that serves the caller records its provider."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache
from pathlib import PurePath
from typing import Any, Literal

from botocore.exceptions import ClientError

from reelgate.mobile.apps import App, Provider, Route
from reelgate.mobile.errors import ApiError
from reelgate.mobile.requests import IMAGE_TYPES, MAX_IDENTIFIER, Image
from reelgate.multipart import Form
from reelgate.observability import logger
from reelgate.providers import pixverse
from reelgate.providers.topview import TopViewError, is_unavailable

# Pixverse's answers that say "Pixverse cannot serve now" (contracts/pixverse.md; our retry set).
PIXVERSE_UNAVAILABLE = frozenset({pixverse.NO_RESPONSE, pixverse.BAD_RESPONSE, pixverse.RATE_LIMITED,
                                  pixverse.UNKNOWN_ERROR, 500069, 500100, 500041})
Attempt = Callable[[], dict[str, Any]]
Endpoint = Literal["text2video", "image2video"]


def unavailable(provider: Provider, exc: BaseException) -> bool:
    """True when `exc` says the provider itself cannot serve now (so another may)."""
    if provider == "topview":
        return isinstance(exc, TopViewError) and is_unavailable(exc)
    cause = exc.__cause__ if isinstance(exc, ApiError) else exc
    return isinstance(cause, pixverse.PixverseError) and cause.err_code in PIXVERSE_UNAVAILABLE


class Breaker:
    """Per provider, unavailable failures counted in fixed windows (state table); at `threshold` in the
    current window the provider is skipped by apps that have a fallback, until the window ends."""

    def __init__(self, table: Any, *, threshold: int, window_seconds: int,
                 clock: Callable[[], float] = time.time) -> None:
        self._table, self._threshold, self._window, self._clock = table, threshold, window_seconds, clock

    def _key(self, provider: str) -> str:
        return f"breaker#{provider}#{int(self._clock()) // self._window}"

    def open(self, provider: str) -> bool:
        if self._threshold <= 0:
            return False
        item = self._table.get_item(Key={"pk": self._key(provider)}).get("Item") or {}
        return int(item.get("failures", 0)) >= self._threshold

    def record(self, provider: str) -> None:
        if self._threshold <= 0:
            return
        try:
            self._table.update_item(
                Key={"pk": self._key(provider)}, UpdateExpression="ADD failures :one SET expires_at = :ttl",
                ExpressionAttributeValues={":one": 1, ":ttl": int(self._clock()) + 2 * self._window + 86400},
            )
        except ClientError:
            logger.exception("could not count a provider failure", extra={"provider": provider})


class Router:
    def __init__(self, *, app_of: Callable[[str], App | None], breaker: Breaker,
                 pixverse_text: Callable[[Any, str | None], Any],
                 pixverse_image: Callable[[dict[str, str], Image | None, str | None], Any],
                 topview_text: Callable[[Any, str | None], Any],
                 topview_image: Callable[[Form, str | None], Any]) -> None:
        self._app_of, self._breaker = app_of, breaker
        self._pixverse_text, self._pixverse_image = pixverse_text, pixverse_image
        self._topview_text, self._topview_image = topview_text, topview_image

    def text2video(self, body: Any, source: str | None = None) -> dict[str, Any]:
        return self._serve(self._route(body, "text2video"), {
            "pixverse": lambda: self._pixverse_text(body, source),
            "topview": lambda: self._topview_text(body, source),
        })

    def image2video(self, form: Form, source: str | None = None) -> dict[str, Any]:
        def pixverse_attempt() -> Any:
            return self._pixverse_image(form.fields, part_a_image(form), source)

        return self._serve(self._route(form.fields, "image2video"), {
            "pixverse": pixverse_attempt, "topview": lambda: self._topview_image(form, source),
        })

    def _route(self, body: Any, endpoint: Endpoint) -> Route:
        bundle_id = body.get("app_bundle_id") if isinstance(body, dict) else None
        app: App | None = None
        if isinstance(bundle_id, str) and 0 < len(bundle_id) <= MAX_IDENTIFIER:
            try:
                app = self._app_of(bundle_id)
            except Exception:  # the provider's own checks read the app again and answer the failure
                logger.exception("could not read the app's route; using the default provider")
        # An unknown app goes to the default provider, whose checks answer it (400011/400012).
        return (app.routes.get(endpoint) if app else None) or Route()

    def _serve(self, route: Route, attempts: dict[Provider, Attempt]) -> dict[str, Any]:
        order: list[Provider] = [route.primary, *([route.fallback] if route.fallback else [])]
        if route.fallback and self._breaker.open(route.primary):
            logger.warning("provider breaker open; using the fallback", extra={"provider": route.primary})
            order = [route.fallback]
        for position, provider in enumerate(order):
            try:
                return attempts[provider]()
            except Exception as exc:
                if not unavailable(provider, exc):
                    raise
                self._breaker.record(provider)
                if position == len(order) - 1:
                    raise
                logger.warning("provider unavailable; failing over",
                               extra={"provider": provider, "fallback": order[position + 1]})
        raise AssertionError("unreachable")


def part_a_image(form: Form) -> Image | None:
    """The /image2video form's `image` as the Pixverse path takes it (its extension names its type)."""
    upload = form.files.get("image")
    if upload is None:
        return None
    extension = PurePath(upload.filename).suffix.lower()
    return Image(upload.data, upload.filename or "image", IMAGE_TYPES.get(extension, ""), extension)


@cache
def router() -> Router:
    """The composition root of /text2video and /image2video."""
    from reelgate import aws
    from reelgate.mobile import api as mobile_api
    from reelgate.settings import get_settings
    from reelgate.topview import api as topview_api

    s = get_settings()
    return Router(
        app_of=lambda bundle_id: mobile_api.mobile().apps.get(bundle_id),  # noqa: PLW0108 - looked up per call
        breaker=Breaker(aws.table(s.state_table), threshold=s.failover_breaker_failures,
                        window_seconds=s.failover_breaker_window_seconds),
        pixverse_text=lambda body, source: mobile_api.mobile().text_to_video(body, source),
        pixverse_image=lambda fields, image, source: mobile_api.mobile().image_to_video(fields, image, source),
        topview_text=lambda body, source: topview_api.service().text2video(body, source),
        topview_image=lambda form, source: topview_api.service().image2video(form, source),
    )
