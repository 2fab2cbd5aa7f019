"""TaskWaits against moto's DynamoDB: a callback and a flow's wait meet in one item, whichever comes
first, and a notice resumes each job once."""

from __future__ import annotations

from reelgate.waits import TaskWaits


def waits(cloud) -> TaskWaits:
    return TaskWaits(cloud.session.resource("dynamodb").Table("state"))


def test_a_callback_while_the_flow_waits_names_its_token(cloud) -> None:
    w = waits(cloud)
    w.register("t1", "job-a")
    assert w.arm("t1", "job-a", "token-1") is False  # nothing arrived yet: wait

    woken = w.notify("t1")

    assert woken is not None and woken.waiters == {"job-a": "token-1"} and woken.notices == 1
    w.delivered("t1", "job-a", woken.notices)
    assert w.arm("t1", "job-a", "token-2") is False  # that notice was delivered; the next wait waits


def test_a_callback_before_the_flow_waits_resumes_the_next_wait_at_once(cloud) -> None:
    w = waits(cloud)
    w.register("t1", "job-a")
    woken = w.notify("t1")
    assert woken is not None and woken.waiters == {}  # no token yet: nobody to resume now

    assert w.arm("t1", "job-a", "token-1") is True  # the wait resumes itself
    assert w.arm("t1", "job-a", "token-2") is False  # once


def test_a_duplicate_after_delivery_wakes_the_job_once_more_at_most(cloud) -> None:
    w = waits(cloud)
    w.register("t1", "job-a")
    w.arm("t1", "job-a", "token-1")
    first = w.notify("t1")
    assert first is not None
    w.delivered("t1", "job-a", first.notices)
    second = w.notify("t1")  # a duplicate, its token already used: the callback cannot deliver it
    assert second is not None and second.notices == 2

    assert w.arm("t1", "job-a", "token-2") is True
    assert w.arm("t1", "job-a", "token-3") is False


def test_unknown_tasks_are_not_ours(cloud) -> None:
    assert waits(cloud).notify("never-submitted") is None


def test_a_job_that_starts_following_a_task_later_ignores_earlier_notices(cloud) -> None:
    w = waits(cloud)
    w.register("m2v", "preview-job")
    notice = w.notify("m2v")  # the preview's callback
    assert notice is not None
    w.register("m2v", "export-job")  # an export answered with its M2V task's id [?]
    w.register("m2v", "export-job")  # registering again changes nothing

    assert w.arm("m2v", "export-job", "export-token") is False
    both = w.notify("m2v")
    assert both is not None and both.waiters == {"export-job": "export-token"}


def test_arming_an_unregistered_job_registers_it(cloud) -> None:
    w = waits(cloud)
    assert w.arm("t9", "job-z", "token-1") is False
    woken = w.notify("t9")
    assert woken is not None and woken.waiters == {"job-z": "token-1"}
