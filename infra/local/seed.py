"""Development data for the local cloud: a toolkit API key and the development app."""

from __future__ import annotations

import os
from typing import Any

from reelgate import aws
from reelgate.mobile.apps import register_development_app
from reelgate.settings import get_settings
from reelgate.toolkit.keys import ApiKeys

DEV_CREDITS = 1_000_000
DEV_APPHUD_SECRET = "reelgate/dev/apphud-api-key"  # noqa: S105 - a secret name, not a value


def seed_development_data(api_key: str, apphud_api_key: str) -> dict[str, Any]:
    get_settings.cache_clear()
    aws.reset()
    settings = get_settings()
    _, key = ApiKeys(aws.table(settings.state_table)).create("development", DEV_CREDITS, plaintext=api_key)
    # The dev app's Apphud key sits in (emulated) Secrets Manager, the way a deployed app's does.
    secret_ref = os.environ.get("REELGATE_DEV_APPHUD_KEY_REF", "")
    if not secret_ref:
        aws.client("secretsmanager").create_secret(Name=DEV_APPHUD_SECRET, SecretString=apphud_api_key)
        secret_ref = f"secret:{DEV_APPHUD_SECRET}"
    bundle_id = register_development_app(aws.table(settings.state_table), secret_ref)
    return {"dev_api_key": api_key, "dev_key_webhook_secret": key.webhook_secret, "dev_app": bundle_id,
            "apphud_webhook_token": os.environ.get("REELGATE_APPHUD_WEBHOOK_TOKEN", "")}
