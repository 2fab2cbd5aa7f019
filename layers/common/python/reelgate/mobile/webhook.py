"""Apphud server-to-server events: forget the user's cached entitlement, so the next request asks Apphud.

The webhook's only credential is one static token shared by every app (Apphud signs nothing), so its
payload is never trusted: whoever holds the token could otherwise declare any user of any app entitled.
An event only says "this user changed"; the answer comes from Apphud's Customers API, read with that
app's own key on the user's next request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reelgate.mobile.access import Entitlements
    from reelgate.mobile.apps import AppRegistry


class WebhookRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def apply_event(apps: AppRegistry, entitlements: Entitlements, token: str | None, expected: str,
                body: Any) -> dict[str, Any]:
    """Drop the cached entitlement of the event's user; the payload's subscriptions are ignored."""
    from reelgate.providers.apphud import WebhookError, parse_webhook, token_matches  # httpx, pydantic: on use

    if not expected or not token_matches(token, expected):
        raise WebhookRefused(401, "invalid X-Apphud-Token")
    try:
        user = parse_webhook(body if isinstance(body, dict) else {})
    except WebhookError as exc:
        raise WebhookRefused(400, str(exc)) from exc
    app = apps.get(user.bundle_id)
    if app is None:
        return {"ok": True, "ignored": f"app {user.bundle_id} is not registered"}
    entitlements.forget(app.bundle_id, user.user_id)
    return {"ok": True, "user_id": user.user_id, "refreshed": True}
