"""Per-user slots as leases and the monthly quota, on moto's DynamoDB with a controlled clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from reelgate import aws
from reelgate.mobile.access import Limits
from reelgate.mobile.apps import App
from reelgate.mobile.errors import ApiError

APP = App(bundle_id="com.example.app", apphud_key_ref="env:NONE", concurrent_generations=2, monthly_generations=3)
USER = "u1"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limits(cloud, clock: Clock) -> Limits:
    return Limits(aws.client("dynamodb"), cloud.env["REELGATE_STATE_TABLE"], clock=clock)


def refused(limits: Limits, job_id: str, app: App = APP, **options) -> int:
    with pytest.raises(ApiError) as raised:
        limits.reserve(app, USER, job_id, 60, **options)
    return raised.value.code


def test_slots_are_leased_up_to_the_apps_concurrency(limits: Limits) -> None:
    first, second = limits.reserve(APP, USER, "j1", 60), limits.reserve(APP, USER, "j2", 60)

    assert {first.slot, second.slot} == {0, 1} and first.month == "2026-06"
    assert refused(limits, "j3") == 500044
    assert limits.running(APP.bundle_id, USER) == 2 and limits.used(APP.bundle_id, USER, "2026-06") == 2


def test_an_expired_lease_is_taken_over_and_named(limits: Limits, clock: Clock) -> None:
    limits.reserve(APP, USER, "killed", 60)
    limits.reserve(APP, USER, "alive", 600)

    clock.now += timedelta(seconds=61)
    taken = limits.reserve(APP, USER, "next", 60)

    assert taken.displaced == ("killed",)
    assert limits.running(APP.bundle_id, USER) == 2
    assert refused(limits, "one-too-many") == 500044


def test_a_release_names_its_job_and_never_frees_another_holder(limits: Limits, clock: Clock) -> None:
    held = limits.reserve(APP, USER, "old", 60)
    limits.reserve(APP, USER, "other", 600)
    clock.now += timedelta(seconds=61)
    newer = limits.reserve(APP, USER, "new", 60)  # took over "old"'s expired slot
    assert newer.slot == held.slot and newer.displaced == ("old",)

    limits.release(APP.bundle_id, USER, held.slot, "old")  # a late release of the old holder
    limits.release(APP.bundle_id, USER, held.slot, "old")

    assert limits.running(APP.bundle_id, USER) == 2
    limits.release(APP.bundle_id, USER, newer.slot, "new")
    limits.release(APP.bundle_id, USER, newer.slot, "new")
    assert limits.running(APP.bundle_id, USER) == 1


def test_a_quota_is_given_back_once_per_job(limits: Limits) -> None:
    first = limits.reserve(APP, USER, "j1", 60)
    limits.reserve(APP, USER, "j2", 60)

    for _ in range(3):
        limits.return_quota(APP.bundle_id, USER, first.month, "j1")

    assert limits.used(APP.bundle_id, USER, first.month) == 1


def test_the_monthly_limit_answers_500060_and_takes_no_slot(limits: Limits) -> None:
    app = APP.model_copy(update={"concurrent_generations": 5})
    for n in range(3):
        limits.reserve(app, USER, f"j{n}", 60)

    assert refused(limits, "j3", app) == 500060
    assert limits.running(app.bundle_id, USER, 5) == 3


def test_a_holder_whose_job_already_ended_is_reclaimed_when_every_slot_is_held(limits: Limits) -> None:
    limits.reserve(APP, USER, "ended", 600)
    limits.reserve(APP, USER, "running", 600)

    assert refused(limits, "j3", finished=lambda job_id: False) == 500044
    taken = limits.reserve(APP, USER, "j3", 60, finished=lambda job_id: job_id == "ended")

    assert taken.displaced == ("ended",)
    assert limits.running(APP.bundle_id, USER) == 2


def test_the_monthly_limit_is_exactly_the_apps_number_per_calendar_month(limits: Limits, clock: Clock) -> None:
    app = APP.model_copy(update={"concurrent_generations": 10, "monthly_generations": 2})
    clock.now = datetime(2026, 6, 30, 23, 59, tzinfo=UTC)
    june = [limits.reserve(app, USER, f"june-{n}", 60) for n in range(2)]
    assert refused(limits, "june-2", app) == 500060
    assert [r.month for r in june] == ["2026-06", "2026-06"] and limits.used(app.bundle_id, USER, "2026-06") == 2

    clock.now = datetime(2026, 7, 1, 0, 1, tzinfo=UTC)  # a new month: counted afresh, June stays as it was
    july = limits.reserve(app, USER, "july-0", 60)
    assert july.month == "2026-07" and limits.used(app.bundle_id, USER, "2026-07") == 1
    assert limits.used(app.bundle_id, USER, "2026-06") == 2
    limits.reserve(app, USER, "july-1", 60)
    assert refused(limits, "july-2", app) == 500060


def test_a_month_given_back_makes_room_for_one_more(limits: Limits) -> None:
    app = APP.model_copy(update={"concurrent_generations": 10, "monthly_generations": 1})
    first = limits.reserve(app, USER, "j1", 60)
    assert refused(limits, "j2", app) == 500060

    limits.give_back(app.bundle_id, USER, first, "j1")

    assert limits.used(app.bundle_id, USER, first.month) == 0 and limits.running(app.bundle_id, USER) == 0
    limits.reserve(app, USER, "j2", 60)
    assert refused(limits, "j3", app) == 500060


def test_an_app_with_no_monthly_generations_allows_none(limits: Limits) -> None:
    app = APP.model_copy(update={"monthly_generations": 0})
    assert refused(limits, "j1", app) == 500060
    assert limits.running(app.bundle_id, USER) == 0


def test_extend_holds_the_slot_longer_only_for_its_holder(limits: Limits, clock: Clock, cloud) -> None:
    held = limits.reserve(APP, USER, "flow", 60)
    limits.extend(APP.bundle_id, USER, held.slot, "flow", 600)
    limits.extend(APP.bundle_id, USER, held.slot, "stranger", 6000)  # not the holder: nothing changes

    lease = limits.leases(APP.bundle_id, USER, 2)[held.slot]
    assert (lease.job_id, lease.until) == ("flow", int(clock.now.timestamp()) + 600)
    item = aws.table(cloud.env["REELGATE_STATE_TABLE"]).get_item(Key={"pk": f"slot#{APP.bundle_id}#{USER}#0"})["Item"]
    assert int(item["expires_at"]) == lease.until + 86400
    clock.now += timedelta(seconds=599)
    assert limits.running(APP.bundle_id, USER) == 1
    clock.now += timedelta(seconds=1)
    assert limits.running(APP.bundle_id, USER) == 0

    limits.extend(APP.bundle_id, USER, 1, "flow", 600)  # a slot it never held stays free
    assert 1 not in limits.leases(APP.bundle_id, USER, 2)


def test_a_reservation_that_lost_every_race_is_a_parallel_limit(limits: Limits, monkeypatch) -> None:
    monkeypatch.setattr(limits, "_take", lambda *_, **__: "raced")
    assert refused(limits, "j1") == 500044


def test_a_slot_read_as_free_but_taken_meanwhile_is_never_overwritten(limits: Limits, monkeypatch) -> None:
    limits.reserve(APP, USER, "holder", 600)  # slot 0, live
    real, reads = limits.leases, []

    def stale_first(*args, **kwargs):  # the first read predates the holder's write
        reads.append(1)
        return {} if len(reads) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(limits, "leases", stale_first)
    taken = limits.reserve(APP, USER, "late", 60)

    leases = real(APP.bundle_id, USER, 2)
    assert taken.slot == 1 and (leases[0].job_id, leases[1].job_id) == ("holder", "late")
    assert limits.used(APP.bundle_id, USER, taken.month) == 2  # the lost attempt counted nothing


def test_slot_and_quota_items_expire_after_their_use(limits: Limits, clock: Clock, cloud) -> None:
    from reelgate.mobile.access import QUOTA_TTL_SECONDS

    taken = limits.reserve(APP, USER, "j1", 60)
    table = aws.table(cloud.env["REELGATE_STATE_TABLE"])
    slot = table.get_item(Key={"pk": f"slot#{APP.bundle_id}#{USER}#{taken.slot}"})["Item"]
    quota = table.get_item(Key={"pk": f"quota#{APP.bundle_id}#{USER}#2026-06"})["Item"]
    now = int(clock.now.timestamp())

    assert (int(slot["lease_until"]), int(slot["expires_at"])) == (now + 60, now + 60 + 86400)
    assert int(quota["expires_at"]) == now + QUOTA_TTL_SECONDS == now + 40 * 86400
    clock.now += timedelta(days=1)
    limits.reserve(APP, USER, "j2", 60)  # the month's first TTL stays
    assert int(table.get_item(Key={"pk": f"quota#{APP.bundle_id}#{USER}#2026-06"})["Item"]["expires_at"]) == (
        now + QUOTA_TTL_SECONDS)
    assert limits.used(APP.bundle_id, USER, "2026-05") == 0  # a month never used


def _once(limits: Limits, error: dict) -> None:
    from botocore.exceptions import ClientError

    client, raised = limits._client, []

    def fail_once(**_) -> None:
        if not raised:
            raised.append(1)
            raise ClientError(error, "TransactWriteItems")

    client.meta.events.register("before-call.dynamodb.TransactWriteItems", fail_once)


def test_a_cancelled_reservation_is_looked_at_again_and_other_errors_propagate(limits: Limits) -> None:
    from botocore.exceptions import ClientError

    _once(limits, {"Error": {"Code": "TransactionCanceledException", "Message": "x"},
                   "CancellationReasons": [{"Code": "ValidationError"}, {"Code": "None"}]})
    taken = limits.reserve(APP, USER, "j1", 60)  # the next free slot is tried; nothing was written
    assert taken.slot == 1 and limits.running(APP.bundle_id, USER) == 1
    assert limits.used(APP.bundle_id, USER, taken.month) == 1

    _once(limits, {"Error": {"Code": "AccessDeniedException", "Message": "no"}})
    with pytest.raises(ClientError, match="AccessDeniedException"):
        limits.reserve(APP, USER, "j2", 60)
    assert limits.running(APP.bundle_id, USER) == 1 and limits.used(APP.bundle_id, USER, taken.month) == 1
