"""The local Lambda runtime behaves as Lambda does: own environment, warm reuse, timeouts that kill,
crashes that replace the environment, and Lambda's payload limits."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from infra.local.runtime import ASYNC_PAYLOAD_BYTES, RENDER_NICENESS, SYNC_PAYLOAD_BYTES, FunctionConfig, Runtime
from tests.helpers import ROOT

PROBE = ROOT / "tests" / "fixtures" / "lambdas" / "probe"


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    config = FunctionConfig(name="probe", code_dir=PROBE, handler="handler.handler", timeout=2, memory=640,
                            env={"PROBE_ONLY": "1", "PATH": "/usr/bin:/bin", "AWS_LAMBDA_FUNCTION_NAME": "probe",
                                 "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "640"},
                            arn="arn:aws:lambda:us-east-1:123456789012:function:probe", max_environments=2)
    runtime = Runtime({"probe": config}, log_dir=tmp_path / "logs")
    yield runtime
    runtime.stop()


def call(runtime: Runtime, event: dict[str, Any], **limits: Any) -> tuple[Any, str | None]:
    result = runtime.invoke("probe", json.dumps(event).encode(), **limits)
    return json.loads(result.payload), result.error_type


def test_a_function_sees_only_its_own_environment_and_a_real_context(runtime: Runtime) -> None:
    answer, error = call(runtime, {})

    assert error is None
    assert answer["env"] == ["PROBE_ONLY"]  # nothing of the test process (REELGATE_FFMPEG_DIR ...) leaks in
    assert answer["memory"] == "640" and answer["function_name"] == "probe"
    assert 1000 < answer["remaining_ms"] <= 2000  # counts down from the 2 s timeout
    assert Path(answer["cwd"]) == PROBE


def test_environments_are_reused_while_warm(runtime: Runtime) -> None:
    first, _ = call(runtime, {})
    second, _ = call(runtime, {})

    assert first["pid"] == second["pid"] and first["request_id"] != second["request_id"]
    assert runtime.cold_starts("probe") == 1


def test_a_handler_running_past_its_timeout_is_killed_without_cleanup_and_replaced(
        runtime: Runtime, tmp_path: Path) -> None:
    before, _ = call(runtime, {})
    marker = tmp_path / "cleanup"
    started = time.monotonic()

    answer, error = call(runtime, {"action": "sleep", "seconds": 5, "marker": str(marker)})
    elapsed = time.monotonic() - started
    after, _ = call(runtime, {})

    assert error == "Sandbox.Timedout" and "Task timed out after 2.00 seconds" in answer["errorMessage"]
    assert elapsed < 4  # killed at its timeout, not when the handler would have finished
    time.sleep(0.2)
    assert not marker.exists()  # no finally, no cleanup: the process was killed
    assert after["pid"] != before["pid"]  # a new environment took over


def test_a_handler_error_keeps_the_environment_and_a_crash_replaces_it(runtime: Runtime) -> None:
    before, _ = call(runtime, {})
    failed, error = call(runtime, {"action": "raise"})
    same, _ = call(runtime, {})
    _, crash_error = call(runtime, {"action": "exit"})
    after, _ = call(runtime, {})

    assert (error, failed["errorType"], failed["errorMessage"]) == ("Unhandled", "ValueError", "asked to fail")
    assert same["pid"] == before["pid"]
    assert crash_error == "Runtime.ExitError" and after["pid"] != before["pid"]


def test_payloads_over_lambdas_limits_are_refused(runtime: Runtime) -> None:
    too_big = {"pad": "x" * SYNC_PAYLOAD_BYTES}
    _, request_error = call(runtime, too_big)
    _, async_error = call(runtime, {"pad": "x" * ASYNC_PAYLOAD_BYTES}, limit=ASYNC_PAYLOAD_BYTES)
    answer, response_error = call(runtime, {"action": "big", "bytes": SYNC_PAYLOAD_BYTES + 10})
    fits, fits_error = call(runtime, {"action": "big", "bytes": 1000})

    assert request_error == async_error == "RequestEntityTooLargeException"
    assert response_error == "Function.ResponseSizeTooLarge" and "payload size" in answer["errorMessage"]
    assert fits_error is None and fits == "x" * 1000


def test_renders_run_at_a_lower_priority_than_other_functions(tmp_path: Path) -> None:
    """The render function (FFmpeg's) yields the CPU to the API's functions, as it would run on other hosts."""
    configs = {name: FunctionConfig(name=name, code_dir=PROBE, handler="handler.handler", timeout=5, memory=640,
                                    env={"PATH": "/usr/bin:/bin"}, arn=f"arn:aws:lambda:us-east-1:1:function:{name}")
               for name in ("probe", "toolkit_render")}
    runtime = Runtime(configs, log_dir=tmp_path / "logs")
    try:
        pids = {name: json.loads(runtime.invoke(name, b"{}").payload)["pid"] for name in configs}
        priority = {name: os.getpriority(os.PRIO_PROCESS, pid) for name, pid in pids.items()}
    finally:
        runtime.stop()
    assert priority["toolkit_render"] == priority["probe"] + RENDER_NICENESS


def test_cold_starts_beyond_the_init_limit_wait_their_turn_and_each_call_still_gets_its_own_environment(
        tmp_path: Path) -> None:
    config = FunctionConfig(name="probe", code_dir=PROBE, handler="handler.handler", timeout=10, memory=640,
                            env={"PATH": "/usr/bin:/bin", "PROBE_INIT_SECONDS": "0.5"},
                            arn="arn:aws:lambda:us-east-1:1:function:probe")
    runtime = Runtime({"probe": config}, log_dir=tmp_path / "logs", init_limit=1)
    try:
        with ThreadPoolExecutor(3) as pool:  # each holds its environment longer than an init lasts
            answers = list(pool.map(lambda _: call(runtime, {"hold": 2})[0], range(3)))
        cold_starts = runtime.cold_starts("probe")
    finally:
        runtime.stop()
    first, second, third = sorted(answers, key=lambda answer: answer["init_at"])
    assert len({answer["pid"] for answer in answers}) == 3 and cold_starts == 3
    # one init at a time: each began once the one before had taken its call
    assert second["init_at"] >= first["handled_at"] and third["init_at"] >= second["handled_at"]


def _probe(name: str, *, api: bool, init_seconds: float = 0.0) -> FunctionConfig:
    return FunctionConfig(name=name, code_dir=PROBE, handler="handler.handler", timeout=20, memory=640,
                          env={"PATH": "/usr/bin:/bin", "PROBE_INIT_SECONDS": str(init_seconds)},
                          arn=f"arn:aws:lambda:us-east-1:1:function:{name}", api=api)


def test_an_api_functions_cold_start_takes_its_turn_before_a_flows_that_waited_longer(tmp_path: Path) -> None:
    """API Gateway answers in 29 s; a flow's task has no such answer to give: the API's inits go first."""
    configs = {"flow": _probe("flow", api=False, init_seconds=1), "api": _probe("api", api=True, init_seconds=1)}
    runtime = Runtime(configs, log_dir=tmp_path / "logs", init_limit=1)

    def waiting(name: str) -> bool:
        return bool(runtime.report().get(name, {}).get("waiting"))

    try:
        with ThreadPoolExecutor(3) as pool:
            first = pool.submit(call_named, runtime, "flow", {"hold": 3})  # takes the one init turn, then holds on
            _until(lambda: runtime.report().get("flow", {}).get("busy") == 1)
            flow = pool.submit(call_named, runtime, "flow")  # no idle environment: waits for a turn
            _until(lambda: waiting("flow"))
            api = pool.submit(call_named, runtime, "api")  # came later, waits too
            _until(lambda: waiting("api"))
            answers = {"first": first.result(), "flow": flow.result(), "api": api.result()}
    finally:
        runtime.stop()
    assert len({answer["pid"] for answer in answers.values()}) == 3  # three environments, one init at a time
    assert answers["api"]["init_at"] < answers["flow"]["init_at"]  # the later API call started first


def test_the_runtime_reports_what_it_did_per_function_and_starts_the_figures_over(runtime: Runtime) -> None:
    call(runtime, {})
    call(runtime, {"action": "raise"})
    figures = runtime.report()["probe"]
    runtime.reset_report()
    call(runtime, {})
    again = runtime.report()["probe"]

    assert (figures["calls"], figures["cold_starts"], figures["busy"], figures["waiting"]) == (2, 1, 0, 0)
    assert figures["errors"] == {"Unhandled": 1} and figures["init_seconds"]["max"] > 0
    assert (again["calls"], again["cold_starts"], again["errors"]) == (1, 0, {})  # the warm one was reused


def call_named(runtime: Runtime, name: str, event: dict[str, Any] | None = None) -> Any:
    return json.loads(runtime.invoke(name, json.dumps(event or {}).encode()).payload)


def _until(check: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the runtime never got there"
        time.sleep(0.01)
