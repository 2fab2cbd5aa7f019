"""The toolkit ledger on moto: slots freed with the settle, no shared counter when unlimited, conflicts
retried (and never shown raw), a per-key cap, job TTL, and a recount that repairs drift exactly."""

from __future__ import annotations

import contextlib
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError
from reelgate import aws, counters, deadline
from reelgate.errors import Conflict, InsufficientCredits, QueueFull
from reelgate.jobs import Job, JobStatus
from reelgate.toolkit.keys import ApiKey, ApiKeys
from reelgate.toolkit.ledger import ACTIVE, QUEUE_PK, STALE_ERROR, Ledger, TooManyJobs
from reelgate.transact import Busy

from tests.integration.dynamo_faults import ConflictInjector, serial_moto_dynamodb

PRICE = 35


@pytest.fixture
def tables(cloud) -> dict[str, str]:
    return {"jobs_table": cloud.env["REELGATE_JOBS_TABLE"], "state_table": cloud.env["REELGATE_STATE_TABLE"]}


@pytest.fixture
def client(cloud) -> Any:
    return aws.client("dynamodb")


def ledger(client: Any, tables: dict[str, str], **kw: Any) -> Ledger:
    kw.setdefault("max_queue_length", 0)
    return Ledger(client, **tables, **kw)


def new_key(tables: dict[str, str], credits: int, name: str = "k") -> ApiKey:
    return ApiKeys(aws.table(tables["state_table"])).create(name, credits=credits)[1]


def key_of(tables: dict[str, str], key: ApiKey) -> ApiKey:
    return ApiKeys(aws.table(tables["state_table"])).get(key.key_id)


def job_for(key: ApiKey) -> Job:
    return Job(kind="toolkit.concatenate", owner=key.owner, cost=PRICE, input={"endpoint": "/v1/video/concatenate"})


def queue_item(client: Any, tables: dict[str, str]) -> dict[str, Any] | None:
    return client.get_item(TableName=tables["state_table"], Key={"pk": {"S": QUEUE_PK}},
                           ConsistentRead=True).get("Item")


def test_without_a_queue_limit_admission_and_settle_never_write_the_shared_queue_counter(client, tables) -> None:
    key = new_key(tables, 100)
    books = ledger(client, tables)
    job = job_for(key)

    books.admit(job, key, PRICE)
    assert queue_item(client, tables) is None
    books.settle(job, JobStatus.SUCCEEDED)

    assert queue_item(client, tables) is None
    assert key_of(tables, key).credits == 100 - PRICE and key_of(tables, key).active == 0


def test_every_toolkit_job_is_written_with_its_ttl(client, tables) -> None:
    key = new_key(tables, 100)
    job = job_for(key)

    ledger(client, tables, job_ttl_days=7).admit(job, key, PRICE)

    item = aws.table(tables["jobs_table"]).get_item(Key={"job_id": job.job_id})["Item"]
    assert abs(int(item["expires_at"]) - (time.time() + 7 * 86400)) < 60


def test_the_queue_slot_is_freed_inside_the_settle_transaction(client, tables) -> None:
    """A write after the settle that fails would leak the slot for good: the retried settle sees a settled job."""
    key = new_key(tables, 100)
    books = ledger(client, tables, max_queue_length=5)
    job = job_for(key)
    books.admit(job, key, PRICE)
    assert books.queue_length() == 1

    def no_plain_writes(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "injected"}}, "UpdateItem")

    client.meta.events.register("before-call.dynamodb.UpdateItem", no_plain_writes)
    try:
        with contextlib.suppress(ClientError):  # before the fix the separate release failed here
            books.settle(job, JobStatus.FAILED, refund=PRICE, error="x")
        with pytest.raises(Conflict):
            books.settle(job, JobStatus.FAILED, refund=PRICE, error="x")
    finally:
        client.meta.events.unregister("before-call.dynamodb.UpdateItem", no_plain_writes)

    assert books.queue_length() == 0
    assert key_of(tables, key).credits == 100 and key_of(tables, key).active == 0


def test_a_full_queue_and_a_poor_key_change_nothing(client, tables) -> None:
    rich, poor = new_key(tables, 1000, "rich"), new_key(tables, PRICE - 1, "poor")
    books = ledger(client, tables, max_queue_length=1)
    books.admit(job_for(rich), rich, PRICE)

    with pytest.raises(QueueFull):
        books.admit(job_for(rich), rich, PRICE)
    with pytest.raises(InsufficientCredits):
        ledger(client, tables).admit(job_for(poor), poor, PRICE)

    assert books.queue_length() == 1
    assert key_of(tables, rich).credits == 1000 - PRICE and key_of(tables, rich).active == 1
    assert key_of(tables, poor).credits == PRICE - 1 and key_of(tables, poor).active == 0


def test_a_key_may_hold_at_most_its_cap_of_unfinished_jobs(client, tables) -> None:
    key = new_key(tables, 1000)
    books = ledger(client, tables, max_active_per_key=2)
    first, second = job_for(key), job_for(key)
    books.admit(first, key, PRICE)
    books.admit(second, key, PRICE)

    with pytest.raises(TooManyJobs, match="already has 2 unfinished jobs"):
        books.admit(job_for(key), key, PRICE)
    assert key_of(tables, key).credits == 1000 - 2 * PRICE  # the refused one was not charged

    books.settle(first, JobStatus.SUCCEEDED)
    books.admit(job_for(key), key, PRICE)
    assert key_of(tables, key).active == 2


def test_conflicts_are_retried_and_a_conflict_that_never_ends_answers_busy_with_nothing_written(
        client, tables) -> None:
    key = new_key(tables, 100)
    books = ledger(client, tables, max_queue_length=5)
    injector = ConflictInjector(pick=lambda _: True, first_attempts=2)
    injector.install(client)
    try:
        retried = job_for(key)
        books.admit(retried, key, PRICE)  # two conflicts, then through
        assert injector.injected == 2

        forever = ConflictInjector(pick=lambda _: True, first_attempts=10**6)
        injector.uninstall(client)
        forever.install(client)
        stuck = job_for(key)
        started = time.monotonic()
        with deadline.bounded(4.0), pytest.raises(Busy) as refused:
            books.admit(stuck, key, PRICE)
        assert time.monotonic() - started < 4.0
        forever.uninstall(client)
    finally:
        injector.uninstall(client)

    assert "Transaction" not in str(refused.value) and "retry" in str(refused.value)
    assert aws.table(tables["jobs_table"]).get_item(Key={"job_id": stuck.job_id}).get("Item") is None
    assert key_of(tables, key).credits == 100 - PRICE and key_of(tables, key).active == 1
    assert books.queue_length() == 1


def test_concurrent_admissions_and_settles_under_injected_conflicts_keep_every_counter_exact(
        client, tables) -> None:
    keys = [new_key(tables, 10_000, f"k{i}") for i in range(3)]
    books = ledger(client, tables, max_queue_length=1000, max_active_per_key=100)
    jobs = [(job_for(keys[i % 3]), keys[i % 3]) for i in range(30)]
    injector = ConflictInjector(share=4, first_attempts=2)

    with serial_moto_dynamodb(), ThreadPoolExecutor(max_workers=10) as pool:
        injector.install(client)
        try:
            list(pool.map(lambda pair: books.admit(pair[0], pair[1], PRICE), jobs))
            assert books.queue_length() == 30
            assert [key_of(tables, k).active for k in keys] == [10, 10, 10]
            # Half succeed, half fail and are refunded; every one frees its slots.
            list(pool.map(lambda n: books.settle(jobs[n][0], JobStatus.SUCCEEDED) if n % 2 else
                          books.settle(jobs[n][0], JobStatus.FAILED, refund=PRICE, error="x"), range(30)))
        finally:
            injector.uninstall(client)

    assert injector.injected > 10
    assert books.queue_length() == 0
    assert [key_of(tables, k).active for k in keys] == [0, 0, 0]
    assert [key_of(tables, k).credits for k in keys] == [10_000 - 5 * PRICE] * 3


def test_recount_repairs_drifted_counters_and_settles_jobs_whose_flow_is_gone(client, tables) -> None:
    key = new_key(tables, 1000)
    clock = [time.time()]
    books = ledger(client, tables, max_queue_length=10, clock=lambda: clock[0])
    live, old = job_for(key), job_for(key)
    old.created_at = "2020-01-01T00:00:00.000000+00:00"
    books.admit(old, key, PRICE)
    books.admit(live, key, PRICE)
    # Drift: a lost release (before this fix) and a hand-edited key.
    state = tables["state_table"]
    client.update_item(TableName=state, Key={"pk": {"S": QUEUE_PK}}, UpdateExpression="SET #c = :n",
                       ExpressionAttributeNames={"#c": "count"}, ExpressionAttributeValues={":n": {"N": "9"}})
    client.update_item(TableName=state, Key={"pk": {"S": key.pk}}, UpdateExpression="SET #a = :n",
                       ExpressionAttributeNames={"#a": ACTIVE}, ExpressionAttributeValues={":n": {"N": "-3"}})

    report = books.recount(stale_after=3600)

    assert report.settled_stale == [old.job_id] and report.complete
    assert report.queue == {"before": 8, "after": 1}  # the stale settle freed one of the nine
    assert books.queue_length() == 1
    assert key_of(tables, key).active == 1 and key_of(tables, key).credits == 1000 - PRICE
    settled = aws.table(tables["jobs_table"]).get_item(Key={"job_id": old.job_id})["Item"]
    assert (settled["status"], settled["error"]) == ("failed", STALE_ERROR)


def test_recount_does_not_overwrite_a_change_made_while_it_counted(client, tables) -> None:
    key = new_key(tables, 1000)
    books = ledger(client, tables, max_queue_length=10)
    books.admit(job_for(key), key, PRICE)
    client.update_item(TableName=tables["state_table"], Key={"pk": {"S": QUEUE_PK}}, UpdateExpression="SET #c = :n",
                       ExpressionAttributeNames={"#c": "count"}, ExpressionAttributeValues={":n": {"N": "5"}})
    scan = books.unfinished
    calls = []

    def scan_while_another_job_is_admitted() -> list[Job]:
        jobs = scan()
        if not calls:  # after the scan, before the write: an admission lands
            books.admit(job_for(key), key, PRICE)
        calls.append(len(jobs))
        return jobs

    books.unfinished = scan_while_another_job_is_admitted  # type: ignore[method-assign]
    report = books.recount()

    assert calls == [1, 2] and report.complete
    assert books.queue_length() == 2 and key_of(tables, key).active == 2


def test_admin_queue_recount(cloud, client, tables, capsys) -> None:
    from infra import admin

    key = new_key(tables, 100)
    ledger(client, tables).admit(job_for(key), key, PRICE)
    client.update_item(TableName=tables["state_table"], Key={"pk": {"S": key.pk}}, UpdateExpression="SET #a = :n",
                       ExpressionAttributeNames={"#a": ACTIVE}, ExpressionAttributeValues={":n": {"N": "4"}})

    assert admin.main(["queue", "recount"]) == 0

    report = json.loads(capsys.readouterr().out)
    assert report["keys"] == {key.key_id: {"before": 4, "after": 1}} and report["unfinished"] == 1
    assert counters.snapshot(client, tables["state_table"], key.pk, attr=ACTIVE, rev="active_rev").value == 1



@pytest.mark.parametrize("first", [JobStatus.FAILED, JobStatus.SUCCEEDED])
def test_a_settled_job_is_never_settled_again_so_nothing_is_refunded_or_freed_twice(client, tables, first) -> None:
    key = new_key(tables, 100)
    books = ledger(client, tables, max_queue_length=5)
    other, job = job_for(key), job_for(key)
    books.admit(other, key, PRICE)  # a second unfinished job: its slots must survive a repeated settle
    books.admit(job, key, PRICE)
    books.settle(job, first, refund=PRICE if first is JobStatus.FAILED else 0, error="x")
    after_first = key_of(tables, key)

    for to in (JobStatus.FAILED, JobStatus.SUCCEEDED):
        with pytest.raises(Conflict, match="already settled"):
            books.settle(job, to, refund=PRICE, error="again")

    charged = PRICE if first is JobStatus.FAILED else 2 * PRICE  # a failure's refund, made once
    assert key_of(tables, key).credits == after_first.credits == 100 - charged
    assert key_of(tables, key).active == 1 and books.queue_length() == 1
    stored = aws.table(tables["jobs_table"]).get_item(Key={"job_id": job.job_id})["Item"]
    assert stored["status"] == first.value and stored["error"] == "x"


def test_the_queue_admits_exactly_its_length(client, tables) -> None:
    key = new_key(tables, 1000)
    books = ledger(client, tables, max_queue_length=3)
    admitted = [job_for(key) for _ in range(3)]
    for job in admitted:
        books.admit(job, key, PRICE)

    with pytest.raises(QueueFull, match=r"MAX_QUEUE_LENGTH \(3\) reached"):
        books.admit(job_for(key), key, PRICE)
    assert books.queue_length() == 3 and key_of(tables, key).credits == 1000 - 3 * PRICE

    books.settle(admitted[0], JobStatus.SUCCEEDED)
    books.admit(job_for(key), key, PRICE)
    assert books.queue_length() == 3


class PagedClient:
    """The DynamoDB client, scanning one item a page: the recount must follow LastEvaluatedKey."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def scan(self, **kwargs: Any) -> Any:
        return self._client.scan(Limit=1, **kwargs)


def test_the_recount_reads_every_page_of_jobs_and_keys(client, tables) -> None:
    keys = [new_key(tables, 1000, f"k{n}") for n in range(4)]  # 3, 2, 1 and no unfinished jobs
    books = ledger(PagedClient(client), tables, max_queue_length=10)
    for n, key in enumerate(keys):
        for _ in range(3 - n):
            books.admit(job_for(key), key, PRICE)
    drifted = [(keys[1], 9), (keys[2], 5), (keys[3], 4)]  # keys[0]'s counter stays right
    for key, value in drifted:
        client.update_item(TableName=tables["state_table"], Key={"pk": {"S": key.pk}}, UpdateExpression="SET #a = :n",
                           ExpressionAttributeNames={"#a": ACTIVE}, ExpressionAttributeValues={":n": {"N": str(value)}})

    assert len(books.unfinished()) == 6
    report = books.recount()

    assert report.unfinished == 6 and report.complete and report.queue is None  # the queue counter was right
    assert report.keys == {keys[1].key_id: {"before": 9, "after": 2}, keys[2].key_id: {"before": 5, "after": 1},
                           keys[3].key_id: {"before": 4, "after": 0}}
    assert [key_of(tables, key).active for key in keys] == [3, 2, 1, 0]


def test_the_recount_never_recreates_a_key_deleted_while_it_counted(client, tables) -> None:
    key = new_key(tables, 1000)
    books = ledger(client, tables)
    books.admit(job_for(key), key, PRICE)
    client.update_item(TableName=tables["state_table"], Key={"pk": {"S": key.pk}}, UpdateExpression="SET #a = :n",
                       ExpressionAttributeNames={"#a": ACTIVE}, ExpressionAttributeValues={":n": {"N": "7"}})
    scan = books.unfinished

    def scan_while_the_key_is_deleted() -> list[Job]:
        jobs = scan()
        client.delete_item(TableName=tables["state_table"], Key={"pk": {"S": key.pk}})
        return jobs

    books.unfinished = scan_while_the_key_is_deleted  # type: ignore[method-assign]
    report = books.recount(attempts=2)

    assert report.keys == {} and not report.complete
    assert "Item" not in client.get_item(TableName=tables["state_table"], Key={"pk": {"S": key.pk}})


def test_a_job_exactly_at_the_stale_age_is_left_and_one_past_it_is_settled(client, tables) -> None:
    key = new_key(tables, 1000)
    job = job_for(key)
    created = job.created.timestamp()
    ledger(client, tables).admit(job, key, PRICE)

    assert ledger(client, tables, clock=lambda: created + 60).settle_stale(60) == []
    assert ledger(client, tables, clock=lambda: created + 60.5).settle_stale(60) == [job.job_id]


def test_a_stale_job_settled_meanwhile_does_not_stop_the_others(client, tables, monkeypatch) -> None:
    key = new_key(tables, 1000)
    books = ledger(client, tables, clock=lambda: time.time() + 7200)
    first, second = job_for(key), job_for(key)
    books.admit(first, key, PRICE)
    books.admit(second, key, PRICE)
    real, raced = books.settle, []

    def settled_elsewhere_once(job: Job, *args: Any, **kwargs: Any) -> None:
        if not raced:  # whichever job comes first was settled by its own flow meanwhile
            raced.append(job.job_id)
            real(job, JobStatus.SUCCEEDED)
            raise Conflict(f"job {job.job_id} is already settled")
        real(job, *args, **kwargs)

    monkeypatch.setattr(books, "settle", settled_elsewhere_once)
    assert books.settle_stale(60) == [j.job_id for j in (first, second) if j.job_id not in raced]


def test_too_many_jobs_names_the_cap() -> None:
    refused = TooManyJobs(4)
    assert refused.limit == 4
    assert str(refused) == ("this API key already has 4 unfinished jobs, the most it may have at once; "
                            "retry when one has finished")


def test_a_job_admitted_before_slots_were_recorded_holds_a_queue_slot(client, tables) -> None:
    from reelgate.toolkit.ledger import KEY, QUEUE, holds

    key = new_key(tables, 100)
    assert holds(job_for(key).model_copy(update={"slots": None})) == [QUEUE]
    assert holds(job_for(key).model_copy(update={"slots": []})) == []
    assert holds(job_for(key).model_copy(update={"slots": [KEY, QUEUE]})) == [KEY, QUEUE]
