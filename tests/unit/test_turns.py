"""The emulated AWS's lock (`aws_server.Turns`): one caller at a time, in order of arrival, a function that answers
API Gateway served as if it had come `head_start` seconds sooner."""

from __future__ import annotations

import threading
import time

from infra.local.aws_server import Turns


def test_turns_go_by_arrival_with_the_urgent_callers_head_start() -> None:
    now = [0.0]
    turns = Turns(head_start=10.0, clock=lambda: now[0])
    order: list[str] = []

    def call(name: str, urgent: bool) -> None:
        with turns.turn(urgent=urgent):
            order.append(name)

    threads = []
    with turns.turn():  # busy: everyone below queues
        for at, name, urgent in ((0, "flow, first", False), (5, "api, 5 s later", True),
                                 (20, "api, 20 s later", True), (21, "flow, 21 s later", False)):
            now[0] = at
            threads.append(threading.Thread(target=call, args=(name, urgent)))
            threads[-1].start()
            deadline = time.monotonic() + 30
            while turns.waiting < len(threads) and time.monotonic() < deadline:  # queued before the next comes
                time.sleep(0.01)
        assert turns.waiting == 4 and order == []
    for thread in threads:
        thread.join(30)

    # the API call 5 s after the flow's goes first; the one 20 s after does not pass a flow's that waited longer
    assert order == ["api, 5 s later", "flow, first", "api, 20 s later", "flow, 21 s later"]
    assert turns.waiting == 0


def test_a_free_lock_is_taken_at_once_and_released_for_the_next() -> None:
    turns = Turns()
    with turns.turn(urgent=True):
        pass
    with turns.turn():
        assert turns.waiting == 0
