"""Apphud server-to-server events: recompute the user's entitlement from the payload and cache it."""

from __future__ import annotations

from typing import Any

from reelgate.mobile.access import Entitlements
from reelgate.mobile.apps import AppRegistry
from reelgate.providers.apphud import WebhookError, parse_webhook, token_matches


class WebhookRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def apply_event(apps: AppRegistry, entitlements: Entitlements, token: str | None, expected: str,
                body: Any) -> dict[str, Any]:
    """Cache the entitlement the event's full subscription list implies (never the event name alone)."""
    if not expected or not token_matches(token, expected):
        raise WebhookRefused(401, "invalid X-Apphud-Token")
    try:
        user = parse_webhook(body if isinstance(body, dict) else {})
    except WebhookError as exc:
        raise WebhookRefused(400, str(exc)) from exc
    app = apps.get(user.bundle_id)
    if app is None:
        return {"ok": True, "ignored": f"app {user.bundle_id} is not registered"}
    active = entitlements.decide(app, user.subscriptions)
    entitlements.remember(app.bundle_id, user.user_id, active)
    return {"ok": True, "user_id": user.user_id, "active": active}
