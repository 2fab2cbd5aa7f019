"""Development data for the local cloud: a toolkit API key and the development app."""

from __future__ import annotations

from typing import Any

from reelgate.mobile.apps import DEV_BUNDLE_ID, register_development_app
from reelgate.toolkit.keys import ApiKeys

DEV_CREDITS = 1_000_000


def seed_development_data(session: Any, state_table: str, api_key: str, app_keys_secret: str) -> dict[str, Any]:
    """Create the development key and register the development app; its Apphud key sits in the stack's
    app-keys secret under its bundle id, the way a deployed app's does."""
    table = session.resource("dynamodb").Table(state_table)
    _, key = ApiKeys(table).create("development", DEV_CREDITS, plaintext=api_key)
    bundle_id = register_development_app(table, f"secret:{app_keys_secret}#{DEV_BUNDLE_ID}")
    return {"dev_api_key": api_key, "dev_key_webhook_secret": key.webhook_secret, "dev_app": bundle_id}
