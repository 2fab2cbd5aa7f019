"""Who may generate: an active Apphud entitlement (cached briefly, looked up at a bounded rate) and
per-user slots (leases) and a monthly quota."""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from reelgate.mobile.apps import App
from reelgate.mobile.errors import INVALID_ACCOUNT, MONTHLY_LIMIT, OVERLOADED, PARALLEL_LIMIT, ApiError
from reelgate.mobile.ratelimit import RateLimiter
from reelgate.observability import logger
from reelgate.providers.apphud import (
    ApphudClient,
    ApphudError,
    ApphudUnavailable,
    Subscription,
    has_active_entitlement,
)
from reelgate.secrets import resolve_secret
from reelgate.settings import Settings, get_settings
from reelgate.transact import Transaction

QUOTA_TTL_SECONDS = 40 * 86400  # a month's counter outlives its month
MAX_SLOTS_READ = 100  # BatchGetItem's limit; no app needs more concurrent generations per user


def apphud_key(app: App) -> str:
    """The app's Apphud api_key from its reference: "env:<VAR>", "secret:<id>" or "secret:<id>#<json key>"."""
    kind, _, ref = app.apphud_key_ref.partition(":")
    if kind == "env":
        return os.environ.get(ref, "")
    secret_id, _, field = ref.partition("#")
    return resolve_secret(None, secret_id, field=field or None)


class Entitlements:
    """Apphud's answer per (app, user), cached in the state table: an active answer for `cache_seconds`,
    a negative one only briefly. Lookups (cache misses) are rate-limited per app and per source address,
    because any unauthenticated caller can invent user ids and each invented id is one Apphud request
    made with the app's key."""

    def __init__(self, table: Any, apphud: ApphudClient, *, cache_seconds: int,
                 negative_cache_seconds: int | None = None, key_for: Callable[[App], str] = apphud_key,
                 clock: Callable[[], float] = time.time, limiter: RateLimiter | None = None,
                 settings: Settings | None = None) -> None:
        s = settings or get_settings()
        self._table, self._apphud, self._cache_seconds = table, apphud, cache_seconds
        self._negative_seconds = (s.entitlement_negative_cache_seconds if negative_cache_seconds is None
                                  else negative_cache_seconds)
        self._per_app, self._per_source = s.apphud_lookups_per_app_per_minute, s.apphud_lookups_per_source_per_minute
        self._key_for, self._clock = key_for, clock
        self._limiter = limiter or RateLimiter(table, clock=clock)

    def require(self, app: App, user_id: str, source: str | None = None) -> None:
        if not self.active(app, user_id, source):
            raise ApiError(INVALID_ACCOUNT, "the user has no active subscription in this app")

    def active(self, app: App, user_id: str, source: str | None = None) -> bool:
        cached = self._table.get_item(Key={"pk": _entitlement(app.bundle_id, user_id)}).get("Item")
        if cached and float(cached["fresh_until"]) > self._clock():
            return bool(cached["active"])
        self._admit_lookup(app, source)
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
        fresh_until = int(self._clock()) + (self._cache_seconds if active else self._negative_seconds)
        self._table.put_item(Item={"pk": _entitlement(bundle_id, user_id), "active": active,
                                   "fresh_until": fresh_until, "expires_at": fresh_until + 86400})

    def forget(self, bundle_id: str, user_id: str) -> None:
        """Drop the cached answer: the next request asks Apphud again, with the app's own key."""
        self._table.delete_item(Key={"pk": _entitlement(bundle_id, user_id)})

    def _admit_lookup(self, app: App, source: str | None) -> None:
        # The source first: one noisy address must not spend the app's budget for everyone else.
        if source and not self._limiter.take(f"apphud#source#{source}", self._per_source, 60):
            logger.warning("apphud lookups refused for a source", extra={"bundle_id": app.bundle_id})
            raise ApiError(OVERLOADED, "too many subscription checks from this address; try again later", 503)
        if not self._limiter.take(f"apphud#app#{app.bundle_id}", self._per_app, 60):
            logger.warning("apphud lookups refused for an app", extra={"bundle_id": app.bundle_id})
            raise ApiError(OVERLOADED, "too many subscription checks; try again later", 503)


def _entitlement(bundle_id: str, user_id: str) -> str:
    return f"ent#{bundle_id}#{user_id}"


@dataclass(frozen=True)
class Reservation:
    month: str  # the quota month counted
    slot: int  # the slot index leased
    displaced: tuple[str, ...] = ()  # jobs whose expired lease this reservation took over


@dataclass(frozen=True)
class Lease:
    slot: int
    job_id: str
    until: int  # epoch seconds

    def live(self, now: float) -> bool:
        return self.until > now


class Limits:
    """A per-user slot and a monthly generation, reserved together or not at all.

    Slots are leases, not a counter: `concurrent_generations` items per user, each either free or held
    by one job until `lease_until`. A holder that dies without releasing (a submission killed at its
    timeout, a flow whose release kept failing) frees its slot when the lease runs out, and releasing is
    conditional on the holder's job id, so a late or repeated release can never free someone else's
    slot. A quota given back names its job, so the same job is never given back twice.
    """

    def __init__(self, client: Any, state_table: str, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 attempts: int = 3) -> None:
        self._client, self._table, self._clock, self._attempts = client, state_table, clock, attempts

    def reserve(self, app: App, user_id: str, job_id: str, lease_seconds: float, *,
                finished: Callable[[str], bool] | None = None,
                expired: Callable[[str], None] | None = None) -> Reservation:
        """Lease a slot to `job_id` and count a generation this month; 429 answers when either is full.

        With every slot held, `finished(job_id)` lets a holder whose job already ended be reclaimed (its
        release failed); that is the repair path next to the leases' expiry. `expired(job_id)` is told
        of every holder whose lease ran out (a submission killed mid-call), before anything is counted,
        so it can end that job and give its month back first."""
        if app.monthly_generations <= 0:  # the quota's condition lets a first generation through
            raise ApiError(MONTHLY_LIMIT, "this app allows no generations")
        now = self._clock()
        month = now.strftime("%Y-%m")
        for attempt in range(self._attempts):
            leases = self.leases(app.bundle_id, user_id, app.concurrent_generations)
            if attempt == 0 and expired is not None:
                for lease in leases.values():
                    if not lease.live(now.timestamp()):
                        expired(lease.job_id)
            free = [i for i in range(min(app.concurrent_generations, MAX_SLOTS_READ))
                    if i not in leases or not leases[i].live(now.timestamp())]
            if not free and finished is not None:
                free = [lease.slot for lease in leases.values() if finished(lease.job_id)]
            if not free:
                break
            for index in free:
                held = leases.get(index)
                outcome = self._take(app, user_id, job_id, index, month=month, now=now.timestamp(),
                                     lease_seconds=lease_seconds, held=held)
                if outcome == "monthly":
                    raise ApiError(MONTHLY_LIMIT,
                                   f"the monthly limit of {app.monthly_generations} generations is reached")
                if outcome == "taken":
                    displaced = (held.job_id,) if held is not None else ()
                    return Reservation(month, index, displaced)
        raise ApiError(PARALLEL_LIMIT, f"at most {app.concurrent_generations} generations may run at once")

    def _take(self, app: App, user_id: str, job_id: str, index: int, *, month: str, now: float,
              lease_seconds: float, held: Lease | None) -> str:
        until = math.ceil(now + lease_seconds)
        tx = Transaction()
        if held is None:
            condition, values = "attribute_not_exists(job_id)", {}
        else:  # an expired lease or a finished holder: take it only if it is still exactly that holder
            condition, values = "job_id = :holder AND lease_until = :held", {":holder": held.job_id,
                                                                             ":held": held.until}
        slot = tx.update(self._table, {"pk": _slot(app.bundle_id, user_id, index)},
                         "SET job_id = :job, lease_until = :until, expires_at = :ttl", condition=condition,
                         values={":job": job_id, ":until": until, ":ttl": until + 86400} | values)
        quota = tx.update(self._table, {"pk": _quota(app.bundle_id, user_id, month)},
                          "ADD #n :one SET expires_at = if_not_exists(expires_at, :ttl)",
                          condition="attribute_not_exists(#n) OR #n < :max", names={"#n": "count"},
                          values={":one": 1, ":max": app.monthly_generations,
                                  ":ttl": int(now) + QUOTA_TTL_SECONDS})
        try:
            failed = tx.commit(self._client)
        except ClientError as exc:
            # Two submissions of one user racing for the same items: nothing was written; look again.
            # (Busy, conflicts that outlasted commit's retries, propagates: 503, not a full-slots 429.)
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            logger.info("slot reservation conflicted; retrying", extra={"slot": index})
            return "raced"
        if quota in failed:
            return "monthly"
        return "raced" if slot in failed else "taken"

    def extend(self, bundle_id: str, user_id: str, slot: int, job_id: str, lease_seconds: float) -> None:
        """Hold the slot longer, if `job_id` still holds it (the flow now owns the generation)."""
        until = math.ceil(self._clock().timestamp() + lease_seconds)
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._client.update_item(
                TableName=self._table, Key={"pk": {"S": _slot(bundle_id, user_id, slot)}},
                UpdateExpression="SET lease_until = :until, expires_at = :ttl", ConditionExpression="job_id = :job",
                ExpressionAttributeValues={":until": {"N": str(until)}, ":ttl": {"N": str(until + 86400)},
                                           ":job": {"S": job_id}},
            )

    def release(self, bundle_id: str, user_id: str, slot: int, job_id: str) -> None:
        """Free the slot if `job_id` holds it; repeating it, or releasing a lease taken over, does nothing."""
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._client.delete_item(
                TableName=self._table, Key={"pk": {"S": _slot(bundle_id, user_id, slot)}},
                ConditionExpression="job_id = :job", ExpressionAttributeValues={":job": {"S": job_id}},
            )

    def return_quota(self, bundle_id: str, user_id: str, month: str, job_id: str) -> None:
        """Uncount `job_id`'s generation from its month, once: the item remembers whom it gave back."""
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._client.update_item(
                TableName=self._table, Key={"pk": {"S": _quota(bundle_id, user_id, month)}},
                UpdateExpression="ADD #n :minus, #returned :jobs",
                ConditionExpression="#n > :zero AND NOT contains(#returned, :job)",
                ExpressionAttributeNames={"#n": "count", "#returned": "returned"},
                ExpressionAttributeValues={":minus": {"N": "-1"}, ":zero": {"N": "0"}, ":jobs": {"SS": [job_id]},
                                           ":job": {"S": job_id}},
            )

    def give_back(self, bundle_id: str, user_id: str, reservation: Reservation, job_id: str) -> None:
        """A submission that never became a followed generation holds no slot and costs no quota."""
        self.release(bundle_id, user_id, reservation.slot, job_id)
        self.return_quota(bundle_id, user_id, reservation.month, job_id)

    def leases(self, bundle_id: str, user_id: str, slots: int) -> dict[int, Lease]:
        keys = [{"pk": {"S": _slot(bundle_id, user_id, i)}} for i in range(min(slots, MAX_SLOTS_READ))]
        found: dict[int, Lease] = {}
        request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
        while request:
            page = self._client.batch_get_item(RequestItems=request)
            for item in page.get("Responses", {}).get(self._table, []):
                index = int(item["pk"]["S"].rsplit("#", 1)[1])
                found[index] = Lease(index, item["job_id"]["S"], int(item["lease_until"]["N"]))
            request = page.get("UnprocessedKeys") or {}
        return found

    def running(self, bundle_id: str, user_id: str, slots: int = 16) -> int:
        """Slots whose lease is live (held by a submission or a followed generation)."""
        now = self._clock().timestamp()
        return sum(1 for lease in self.leases(bundle_id, user_id, slots).values() if lease.live(now))

    def used(self, bundle_id: str, user_id: str, month: str) -> int:
        """Generations counted against `month`."""
        item = self._client.get_item(TableName=self._table, Key={"pk": {"S": _quota(bundle_id, user_id, month)}},
                                     ConsistentRead=True).get("Item", {})
        return int(item.get("count", {}).get("N", "0"))


SLOT_PREFIX = "slot#"  # a slot lease's item: slot#<bundle id>#<user id>#<index>


def _slot(bundle_id: str, user_id: str, index: int) -> str:
    return f"{SLOT_PREFIX}{bundle_id}#{user_id}#{index}"


def _quota(bundle_id: str, user_id: str, month: str) -> str:
    return f"quota#{bundle_id}#{user_id}#{month}"

