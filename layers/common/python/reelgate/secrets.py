"""Secret values: an explicit setting wins (local runs, tests), else Secrets Manager, cached per container."""

from __future__ import annotations

import json
from typing import Any

from pydantic import SecretStr

from reelgate.settings import Settings

DEFAULT_MAX_AGE_SECONDS = 300  # a rotated secret reaches warm containers within five minutes


class SecretNotConfigured(RuntimeError):
    """Neither a value nor a Secrets Manager name/ARN was configured."""


def resolve_secret(
    explicit: SecretStr | None, secret_id: str, *, field: str | None = None,
    max_age: int = DEFAULT_MAX_AGE_SECONDS,
) -> str:
    """The explicit value if non-empty, else the secret `secret_id` (optionally one JSON `field` of it)."""
    if explicit is not None and explicit.get_secret_value():
        return explicit.get_secret_value()
    if not secret_id:
        raise SecretNotConfigured("no secret value and no Secrets Manager name/ARN configured")
    # Imported lazily: powertools' parameters module builds boto3 machinery on import.
    from aws_lambda_powertools.utilities.parameters import get_secret

    raw: Any = get_secret(secret_id, max_age=max_age)
    value = raw.decode() if isinstance(raw, bytes) else str(raw)
    return _pick(value, field) if field else value


def _pick(value: str, field: str) -> str:
    try:
        picked = json.loads(value)[field]
    except (ValueError, KeyError, TypeError) as exc:
        raise SecretNotConfigured(f"the secret is not a JSON object with the key {field!r}") from exc
    return str(picked)


def pixverse_api_key(settings: Settings) -> str:
    """PIXVERSE_API_KEY if set, else the secret named by `pixverse_api_key_secret`."""
    return resolve_secret(settings.pixverse_api_key, settings.pixverse_api_key_secret)


def pixverse_webhook_key(settings: Settings) -> str:
    """PIXVERSE_WEBHOOK_KEY if set, else the secret named by `pixverse_webhook_key_secret`."""
    return resolve_secret(settings.pixverse_webhook_key, settings.pixverse_webhook_key_secret)


def topview_api_key(settings: Settings) -> str:
    """TOPVIEW_API_KEY if set, else the secret named by `topview_api_key_secret`."""
    return resolve_secret(settings.topview_api_key, settings.topview_api_key_secret)


def cdn_private_key(settings: Settings) -> str:
    """The PEM private key that signs output links, from the secret named by `cdn_private_key_secret`."""
    return resolve_secret(None, settings.cdn_private_key_secret)
