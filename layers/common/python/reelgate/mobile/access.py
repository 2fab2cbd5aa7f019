"""Who may generate: an active Apphud entitlement (cached briefly) and per-user slots and monthly quota."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from reelgate import counters
from reelgate.mobile.apps import App
from reelgate.mobile.errors import INVALID_ACCOUNT, MONTHLY_LIMIT, OVERLOADED, PARALLEL_LIMIT, ApiError
from reelgate.providers.apphud import (
    ApphudClient,
    ApphudError,
    ApphudUnavailable,
    Subscription,
    has_active_entitlement,
)
from reelgate.secrets import resolve_secret
from reelgate.transact import Transaction


def apphud_key(app: App) -> str:
    """The app's Apphud api_key from its reference: "env:<VAR>", "secret:<id>" or "secret:<id>#<json key>"."""
    kind, _, ref = app.apphud_key_ref.partition(":")
    if kind == "env":
        return os.environ.get(ref, "")
    secret_id, _, field = ref.partition("#")
    return resolve_secret(None, secret_id, field=field or None)


class Entitlements:
    """Apphud's answer per (app, user), cached in the state table for `cache_seconds`."""

    def __init__(self, table: Any, apphud: ApphudClient, *, cache_seconds: int,
                 key_for: Callable[[App], str] = apphud_key, clock: Callable[[], float] = time.time) -> None:
        self._table, self._apphud, self._cache_seconds = table, apphud, cache_seconds
        self._key_for, self._clock = key_for, clock

    def require(self, app: App, user_id: str) -> None:
        if not self.active(app, user_id):
            raise ApiError(INVALID_ACCOUNT, "the user has no active subscription in this app")

    def active(self, app: App, user_id: str) -> bool:
        pk = f"ent#{app.bundle_id}#{user_id}"
        cached = self._table.get_item(Key={"pk": pk}).get("Item")
        if cached and float(cached["fresh_until"]) > self._clock():
            return bool(cached["active"])
        try:
            customer = self._apphud.customer(self._key_for(app), user_id)
        except ApphudUnavailable as exc:
            raise ApiError(OVERLOADED, "the subscription service is unavailable; try again later", 503) from exc
        except ApphudError as exc:
            raise ApiError(OVERLOADED, f"the subscription service refused the check: {exc}", 503) from exc
        active = customer is not None and self.decide(app, customer.subscriptions)
        self.remember(app.bundle_id, user_id, active)
        return active

    def decide(self, app: App, subscriptions: list[Subscription]) -> bool:
        return has_active_entitlement(subscriptions, environment=app.apphud_environment, now=datetime.now(UTC))

    def remember(self, bundle_id: str, user_id: str, active: bool) -> None:
        fresh_until = int(self._clock()) + self._cache_seconds
        self._table.put_item(Item={"pk": f"ent#{bundle_id}#{user_id}", "active": active,
                                   "fresh_until": fresh_until, "expires_at": fresh_until + 86400})


class Limits:
    """A per-user concurrency slot and a monthly generation, reserved together or not at all."""

    def __init__(self, client: Any, state_table: str, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self._client, self._table, self._clock = client, state_table, clock

    def reserve(self, app: App, user_id: str) -> str:
        """Take a slot and count a generation; returns the month counted (to give it back on failure)."""
        month = self._clock().strftime("%Y-%m")
        tx = Transaction()
        slot = tx.update(self._table, {"pk": _slots(app.bundle_id, user_id)}, "ADD #n :one",
                         condition="attribute_not_exists(#n) OR #n < :max", names={"#n": "count"},
                         values={":one": 1, ":max": app.concurrent_generations})
        quota = tx.update(self._table, {"pk": _quota(app.bundle_id, user_id, month)},
                          "ADD #n :one SET expires_at = if_not_exists(expires_at, :ttl)",
                          condition="attribute_not_exists(#n) OR #n < :max", names={"#n": "count"},
                          values={":one": 1, ":max": app.monthly_generations, ":ttl": int(time.time()) + 40 * 86400})
        failed = tx.commit(self._client)
        if slot in failed:
            raise ApiError(PARALLEL_LIMIT, f"at most {app.concurrent_generations} generations may run at once")
        if quota in failed:
            raise ApiError(MONTHLY_LIMIT, f"the monthly limit of {app.monthly_generations} generations is reached")
        return month

    def release_slot(self, bundle_id: str, user_id: str) -> None:
        self._decrement(_slots(bundle_id, user_id))

    def give_back(self, bundle_id: str, user_id: str, month: str) -> None:
        """A submission the provider refused neither holds a slot nor counts against the month."""
        self._decrement(_slots(bundle_id, user_id))
        self._decrement(_quota(bundle_id, user_id, month))

    def running(self, bundle_id: str, user_id: str) -> int:
        return counters.read(self._client, self._table, _slots(bundle_id, user_id))

    def _decrement(self, pk: str) -> None:
        counters.decrement(self._client, self._table, pk)


def _slots(bundle_id: str, user_id: str) -> str:
    return f"slots#{bundle_id}#{user_id}"


def _quota(bundle_id: str, user_id: str, month: str) -> str:
    return f"quota#{bundle_id}#{user_id}#{month}"
