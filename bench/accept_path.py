"""The accept path's own cost: the toolkit submit (answered 202 at once: a webhook_url is given) and the
job status read, each handler called in this process (API Gateway event, a Lambda context) with boto3
answered by an in-process moto (`mock_aws`), so no HTTP and no emulator lock sit between them.

Every call is split into (a) total, (b) time inside AWS SDK calls (each `BaseClient._make_api_call`:
serialising, moto's work, parsing) and (c) the handler's own overhead = total - SDK - provider (neither
call reaches a provider). Warm calls only: the first of each is made before timing. The handler's
part and the whole call (moto's work included) are also given in this thread's CPU milliseconds, which
a loaded machine barely moves. The time
the garbage collector paused the call is given too: moto keeps every table, queue and event of the run
in this process's heap, so a full collection (hundreds of ms) lands in whichever call triggers it, most
often inside an SDK call; that is the bench's heap, not the handler's. Printed, never asserted.

    .venv/bin/python bench/accept_path.py [--runs 200]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Before anything imports reelgate: its Logger takes the level when created, and an INFO line per
# call would be measured too.
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

import boto3
from botocore.client import BaseClient
from moto import mock_aws

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common" / "python")]

from infra.local.provision import Names, provision  # noqa: E402
from infra.local.seed import seed_development_data  # noqa: E402
from tests.helpers import event  # noqa: E402
from tests.unit.handlers import Context, handler_module  # noqa: E402

KEY = "rg_bench_accept_key"
SUBMIT = {"image_url": "https://images.example/photo.jpg", "length": 1, "webhook_url": "https://hooks.example/x"}


class SdkClock:
    """Seconds (wall and this thread's CPU) inside AWS SDK calls on this thread, and which operations."""

    def __init__(self) -> None:
        self.seconds = self.cpu = 0.0
        self.calls: Counter[str] = Counter()
        self.each: dict[str, list[float]] = defaultdict(list)  # wall seconds of every call, by operation
        self._original = BaseClient._make_api_call
        self._thread = threading.get_ident()

    def __enter__(self) -> SdkClock:
        original, clock = self._original, self

        def timed(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
            if threading.get_ident() != clock._thread:
                return original(client, operation, params)
            started, cpu = time.perf_counter(), time.thread_time()
            try:
                return original(client, operation, params)
            finally:
                took = time.perf_counter() - started
                clock.seconds += took
                clock.cpu += time.thread_time() - cpu
                clock.calls[operation] += 1
                clock.each[operation].append(took)

        BaseClient._make_api_call = timed  # type: ignore[method-assign]
        return self

    def __exit__(self, *_: object) -> None:
        BaseClient._make_api_call = self._original  # type: ignore[method-assign]


class GcClock:
    """Seconds the garbage collector paused this process (every generation), counted while running."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __enter__(self) -> GcClock:
        gc.callbacks.append(self._pause)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self._pause)

    def _pause(self, phase: str, _: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started


def measure(clock: SdkClock, call: Callable[[], dict[str, Any]], expected: int, runs: int) -> dict[str, list[float]]:
    call()  # warm: composition roots built, clients created
    out: dict[str, list[float]] = {"total": [], "total CPU": [], "sdk": [], "handler": [], "handler CPU": [],
                                   "gc pauses": []}
    clock.calls.clear()
    clock.each.clear()
    with GcClock() as collector:
        for _ in range(runs):
            before, before_cpu, before_gc = clock.seconds, clock.cpu, collector.seconds
            started, cpu = time.perf_counter(), time.thread_time()
            answer = call()
            total, total_cpu = time.perf_counter() - started, time.thread_time() - cpu
            assert answer["statusCode"] == expected, answer["body"]
            sdk = clock.seconds - before
            out["total"].append(total)
            out["total CPU"].append(total_cpu)
            out["sdk"].append(sdk)
            out["handler"].append(total - sdk)
            out["handler CPU"].append(total_cpu - (clock.cpu - before_cpu))
            out["gc pauses"].append(collector.seconds - before_gc)
    return out


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


def spread(values: list[float]) -> str:
    return f"{percentile(values, 50):8.2f}{percentile(values, 99):8.2f}{max(values) * 1000:8.2f}"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args(argv)
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        names = Names("bench-jobs", "bench-state", "bench-media")
        env = provision(session, names) | {"AWS_DEFAULT_REGION": "us-east-1", "REELGATE_STAGE": "local",
                                           "REELGATE_TOOLKIT_MAX_ACTIVE_JOBS_PER_KEY": "0"}
        os.environ.update(env)
        seed_development_data(session, names.state_table, KEY, "bench-app-keys")  # the app is not called here
        submit, status = handler_module("toolkit_image_to_video"), handler_module("toolkit_job_status")
        headers = {"x-api-key": KEY}
        job: dict[str, str] = {}

        def submit_call() -> dict[str, Any]:
            answer: dict[str, Any] = submit.handler(event("toolkit_image_to_video", SUBMIT, headers=headers), Context())
            job["id"] = json.loads(answer["body"])["job_id"]
            return answer

        def status_call() -> dict[str, Any]:
            return dict(status.handler(event("toolkit_job_status", {"job_id": job["id"]}, headers=headers), Context()))

        with SdkClock() as clock:
            rows = {"submit (202)": measure(clock, submit_call, 202, args.runs)}
            submit_ops, submit_each = dict(clock.calls), dict(clock.each)
            rows["job status"] = measure(clock, status_call, 200, args.runs)
            status_ops, status_each = dict(clock.calls), dict(clock.each)

    print(f"\naccept path in-process against in-process moto, {args.runs} warm calls each (ms)")
    print(f"{'call':<14}{'part':<13}{'p50':>8}{'p99':>8}{'max':>8}")
    for call, parts in rows.items():
        for part, values in parts.items():
            print(f"{call:<14}{part:<13}{spread(values)}")
    print(f"{'AWS operation (wall)':<27}{'p50':>8}{'p99':>8}{'max':>8}")
    for call, each in (("submit", submit_each), ("status", status_each)):
        for operation, values in sorted(each.items()):
            print(f"{call + ' ' + operation:<27}{spread(values)}")
    print(f"AWS calls per submit: {sum(submit_ops.values()) / args.runs:.1f} "
          f"({', '.join(f'{k} {v / args.runs:g}' for k, v in sorted(submit_ops.items()))})")
    print(f"AWS calls per status: {sum(status_ops.values()) / args.runs:.1f} "
          f"({', '.join(f'{k} {v / args.runs:g}' for k, v in sorted(status_ops.items()))})")
    print(f"goals: status p99 {percentile(rows['job status']['total'], 99):.1f} ms (<= 10; CPU "
          f"{percentile(rows['job status']['total CPU'], 99):.1f} ms); submit handler "
          f"overhead p99 {percentile(rows['submit (202)']['handler'], 99):.1f} ms (<= 20; no provider call)")


if __name__ == "__main__":
    main(sys.argv[1:])
