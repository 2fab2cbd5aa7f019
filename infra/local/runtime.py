"""Lambda, emulated as Lambda runs it: one worker process per execution environment.

Each environment is its own process (forked from `zygote.py` with third-party libraries preloaded)
running AWS's runtime interface client (`awslambdaric`) on the function's own code directory, with
exactly the function's environment, talking to its own Runtime API server. Environments are kept
warm and reused; one that crashes, fails to start or overruns its timeout is killed (SIGKILL: no
`finally`, no cleanup, as on Lambda) and replaced on the next call. Payload limits are Lambda's.
Logs go to one file per function, like a log group.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra import registry
from infra.local.runtime_api import Invocation, RuntimeApi

SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024  # RequestResponse invoke, each way
ASYNC_PAYLOAD_BYTES = 256 * 1024  # Event invoke (S3 notifications)
STATES_PAYLOAD_BYTES = 256 * 1024  # Step Functions state (task input and output)
INIT_TIMEOUT_SECONDS = 10.0  # Lambda's init phase limit
# Per function without reserved concurrency. Lambda would run every concurrent call at once; 64 covers the
# suites (50 parallel submits that each wait for their job) while keeping a runaway loop off the machine.
DEFAULT_MAX_ENVIRONMENTS = 64
# A function that answers no API call (a flow's task, an S3 event) runs in at most this many environments; more
# calls wait for one before their invocation starts, as a throttled call waits for Step Functions' retry. The
# local cloud's stand-in for a 2-core machine: every running task calls the one emulated AWS, which serves one
# call at a time, and 64 of a flow's tasks at once only queued there, past their own Lambda timeout.
FLOW_MAX_ENVIRONMENTS = 8
# Renders (the functions with the FFmpeg layer) run on Lambda hosts of their own; here they share the machine
# with the emulated AWS and the API's functions, so they run at a lower priority: a burst of renders must not
# starve the accept path (which AWS would serve on other hosts) into API Gateway's 29 s timeout.
RENDER_NICENESS = 10
# How often a waiting call looks whether its environment died (a result or the deadline ends the wait at once).
# Every busy environment has a thread doing so in the cloud's process: waking 20 times a second, 100 of them
# took the interpreter lock from emulated AWS's calls.
CHECK_SECONDS = 0.25
FIGURES_KEPT = 100_000  # per function and figure (`Runtime.report`)


@dataclass(frozen=True)
class FunctionConfig:
    name: str
    code_dir: Path
    handler: str
    timeout: int
    memory: int
    env: dict[str, str]  # the deployed environment plus the platform's variables (region, credentials)
    arn: str
    max_environments: int = DEFAULT_MAX_ENVIRONMENTS
    absent: tuple[str, ...] = ()  # top-level modules this machine has but the function's Lambda does not
    api: bool = False  # answers API Gateway (29 s): its cold starts, and its calls to AWS, go first


@dataclass
class Result:
    payload: bytes
    error_type: str | None = None  # None: success; "Unhandled": the handler raised; else a platform error

    @property
    def errored(self) -> bool:
        return self.error_type is not None


def platform_error(error_type: str, message: str) -> Result:
    return Result(json.dumps({"errorMessage": message, "errorType": error_type}).encode(), error_type)


def niceness(name: str) -> int:
    """How much lower than the rest an environment of `name` runs: renders, by RENDER_NICENESS."""
    return RENDER_NICENESS if any(fn.name == name and fn.ffmpeg for fn in registry.FUNCTIONS) else 0


class Zygote:
    """The fork server (`zygote.py`): one per runtime, spawning environments with libraries preloaded."""

    def __init__(self, python: str) -> None:
        self._process = subprocess.Popen([python, "-m", "infra.local.zygote"], cwd=Path(__file__).parents[2],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                         env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
        self._lock = threading.Lock()

    def spawn(self, cwd: Path, env: dict[str, str], handler: str, log: Path, *, niceness: int = 0,
              absent: tuple[str, ...] = ()) -> int:
        assert self._process.stdin is not None and self._process.stdout is not None
        request = json.dumps({"cwd": str(cwd), "env": env, "handler": handler, "log": str(log), "nice": niceness,
                              "absent": list(absent)})
        with self._lock:
            self._process.stdin.write(request + "\n")
            self._process.stdin.flush()
            return int(self._process.stdout.readline())

    def stop(self) -> None:
        self._process.kill()
        self._process.wait()


class Environment:
    """One warm worker process and its Runtime API."""

    def __init__(self, config: FunctionConfig, zygote: Zygote, log: Path, number: int) -> None:
        self.config = config
        self.api = RuntimeApi()
        self.invocations = 0
        self.killed = False
        # Each environment holds its own session credentials for the function's role, as on Lambda.
        role_key = config.env.get("AWS_ACCESS_KEY_ID", "")
        self.access_key = role_key[:-5] + f"{number % 100000:05d}" if role_key else ""
        env = config.env | ({"AWS_ACCESS_KEY_ID": self.access_key} if role_key else {}) | {
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}",
        }
        self.pid = zygote.spawn(config.code_dir, env, config.handler, log, niceness=niceness(config.name),
                                absent=config.absent)

    @property
    def alive(self) -> bool:
        if self.killed:  # SIGKILL is delivered asynchronously: a killed environment may not be gone yet
            return False
        try:
            os.kill(self.pid, 0)  # the zygote reaps its children, so a dead one is gone at once
        except ProcessLookupError:
            return False
        return True

    def run(self, invocation: Invocation, initialized: Callable[[], None] = lambda: None) -> Result:
        """Run one invocation; `initialized` is called once the init phase is over, however it ended."""
        self.invocations += 1
        self.api.pending.put(invocation)
        try:
            failed = self._init(invocation)
        finally:
            initialized()
        if failed is not None:
            return failed
        while not invocation.done.wait(max(min(invocation.deadline - time.monotonic(), CHECK_SECONDS), 0)):
            if not self.alive:
                return platform_error("Runtime.ExitError", "Runtime exited without providing a reason")
            if time.monotonic() >= invocation.deadline:
                self.kill()
                return platform_error("Sandbox.Timedout", "{} {} Task timed out after {:.2f} seconds".format(
                    datetime.now(UTC).isoformat(timespec="milliseconds"), invocation.request_id,
                    invocation.timeout))
        return Result(invocation.result, invocation.error_type)

    def _init(self, invocation: Invocation) -> Result | None:
        """Wait for the runtime to take the invocation (at once when warm): None, or the init phase's failure."""
        started = time.monotonic()
        while not invocation.taken.wait(CHECK_SECONDS):
            if self.api.init_error is not None:
                return Result(self.api.init_error, "Runtime.InitError")
            if not self.alive:
                return platform_error("Runtime.ExitError", "Runtime exited during init")
            if time.monotonic() - started > INIT_TIMEOUT_SECONDS:
                self.kill()
                return platform_error("Sandbox.Timedout", "Init phase timed out")
        return None

    def expire(self) -> None:
        """The running invocation's timeout strikes now."""
        invocation = self.api.current
        if invocation is not None:
            invocation.deadline = time.monotonic()

    def kill(self) -> None:
        if self.killed:
            return
        self.killed = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)  # its own session: the handler's children (FFmpeg) too
        self.api.close()


@dataclass
class _Pool:
    config: FunctionConfig
    idle: list[Environment] = field(default_factory=list)
    live: int = 0
    cold_starts: int = 0
    peak: int = 0  # the most environments alive at once
    waiting: int = 0  # calls waiting now for an environment
    calls: int = 0
    # The latest calls' figures (a long `make dev` keeps only so many): each cold start's init phase, each call's
    # wait for an environment, each call's time in its environment (init included).
    init_seconds: deque[float] = field(default_factory=lambda: deque(maxlen=FIGURES_KEPT))
    wait_seconds: deque[float] = field(default_factory=lambda: deque(maxlen=FIGURES_KEPT))
    run_seconds: deque[float] = field(default_factory=lambda: deque(maxlen=FIGURES_KEPT))
    errors: Counter[str] = field(default_factory=Counter)  # error type -> calls that ended with it
    changed: threading.Condition = field(default_factory=threading.Condition)  # on the runtime's lock


def _summary(values: deque[float]) -> dict[str, float]:
    ordered = sorted(values) or [0.0]
    return {"p50": round(ordered[len(ordered) // 2], 3), "max": round(ordered[-1], 3)}


class Runtime:
    """Invokes registry functions in their own environments."""

    def __init__(self, configs: dict[str, FunctionConfig], log_dir: Path, python: str = sys.executable,
                 init_limit: int | None = None) -> None:
        # Cold starts: Lambda gives each its own CPU; here they share the machine. Started all at once (50
        # parallel first requests), every one would finish late together, past API Gateway's 29 s; started a
        # few at a time, the first are soon warm and serve the rest. A call still gets an environment of
        # its own whenever none is idle (up to the function's limit), only its init may wait for a turn, and
        # the API's functions take turns before the flows' (a flow's task has no 29 s answer to give).
        # Each function's callers wait on a condition of their own (on one lock): a released environment
        # wakes one caller of its function, not every waiting thread of the process.
        self._lock = threading.Lock()
        self._initializing = 0
        self._api_waiting = 0  # API functions' callers waiting for a turn to start an environment
        self._init_limit = init_limit or max(2, os.cpu_count() or 2)
        self._pools = {name: _Pool(config, changed=threading.Condition(self._lock))
                       for name, config in configs.items()}
        self._zygote = Zygote(python)
        self._environments: dict[str, Environment] = {}  # by access key
        self._numbers = itertools.count(1)
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir = log_dir

    def config(self, name: str) -> FunctionConfig:
        return self._pools[name].config

    def cold_starts(self, name: str) -> int:
        return self._pools[name].cold_starts

    def invoke(self, name: str, payload: bytes, *, limit: int = SYNC_PAYLOAD_BYTES,
               limit_error: str = "RequestEntityTooLargeException") -> Result:
        """Run one invocation; `limit` bounds the request and the response (Lambda's or Step Functions')."""
        if len(payload) > limit:
            return platform_error(limit_error, f"Request must be smaller than {limit} bytes for the Invoke operation")
        pool = self._pools[name]
        environment, cold = self._acquire(pool)
        invocation = Invocation(str(uuid.uuid4()), payload, float(pool.config.timeout), pool.config.arn)
        spawned = time.monotonic()

        def initialized() -> None:
            pool.init_seconds.append(time.monotonic() - spawned)
            self._initialized()

        try:
            result = environment.run(invocation, initialized if cold else lambda: None)
        finally:
            self._release(pool, environment)
        with pool.changed:
            pool.run_seconds.append(time.monotonic() - spawned)
            if result.error_type:
                pool.errors[result.error_type] += 1
        if not result.errored and len(result.payload) > limit:
            return platform_error("Function.ResponseSizeTooLarge" if limit_error.startswith("Request")
                                  else limit_error, f"Response payload size exceeded maximum allowed ({limit} bytes)")
        return result

    def _acquire(self, pool: _Pool) -> tuple[Environment, bool]:
        """An idle environment of the function, or a new one (True) when it may start one."""
        asked, api = time.monotonic(), pool.config.api
        with pool.changed:
            for_turn = False  # an API call waiting for a turn to start an environment
            try:
                while True:
                    if pool.idle:
                        pool.calls += 1
                        pool.wait_seconds.append(time.monotonic() - asked)
                        return pool.idle.pop(), False
                    if pool.live < pool.config.max_environments and self._initializing < self._init_limit and (
                            api or not self._api_waiting):
                        pool.live += 1
                        pool.peak = max(pool.peak, pool.live)
                        pool.cold_starts += 1
                        self._initializing += 1
                        pool.calls += 1
                        pool.wait_seconds.append(time.monotonic() - asked)
                        break
                    if api and not for_turn and pool.live < pool.config.max_environments:
                        for_turn = True
                        self._api_waiting += 1
                    pool.waiting += 1
                    pool.changed.wait()
                    pool.waiting -= 1
            finally:
                if for_turn:
                    self._api_waiting -= 1
                    if not self._api_waiting:  # flows' callers held back for it may start now
                        self._wake_starters()
        try:
            environment = Environment(pool.config, self._zygote, self.log_dir / f"{pool.config.name}.log",
                                      next(self._numbers))
            self._environments[environment.access_key] = environment
            return environment, True
        except Exception:
            with pool.changed:
                pool.live -= 1
            self._initialized()
            raise

    def _initialized(self) -> None:
        """An init turn is free: the callers that may start an environment look again."""
        with self._lock:
            self._initializing -= 1
            self._wake_starters()

    def _wake_starters(self) -> None:
        """Wake the callers that may start an environment (the runtime's lock is held)."""
        for pool in self._pools.values():
            if pool.waiting and pool.live < pool.config.max_environments:
                pool.changed.notify_all()

    def _release(self, pool: _Pool, environment: Environment) -> None:
        with pool.changed:
            keep = environment.alive and environment.api.init_error is None
            if keep:
                pool.idle.append(environment)
            else:
                self._environments.pop(environment.access_key, None)
                pool.live -= 1
            pool.changed.notify()  # one caller takes the environment, or starts one in its place
        if not keep:
            environment.kill()  # outside the lock: closing its Runtime API waits for that server's thread

    def report(self) -> dict[str, dict[str, Any]]:
        """Per function called (since the last reset) or busy: calls, environments busy now, calls waiting for one
        now, environments started and at most alive at once, seconds in init, waiting for an environment and in
        it (p50 and max), errors by type."""
        out = {}
        for name, pool in self._pools.items():
            with pool.changed:
                busy = pool.live - len(pool.idle)
                if pool.calls or pool.waiting or busy:
                    out[name] = {"calls": pool.calls, "busy": busy, "waiting": pool.waiting,
                                 "cold_starts": pool.cold_starts, "peak": pool.peak,
                                 "init_seconds": _summary(pool.init_seconds),
                                 "wait_seconds": _summary(pool.wait_seconds),
                                 "run_seconds": _summary(pool.run_seconds), "errors": dict(pool.errors)}
        return out

    def reset_report(self) -> None:
        """Start the figures over (environments stay as they are: warm ones are not counted again)."""
        for pool in self._pools.values():
            with pool.changed:
                pool.calls, pool.cold_starts, pool.peak = 0, 0, pool.live
                for figures in (pool.init_seconds, pool.wait_seconds, pool.run_seconds):
                    figures.clear()
                pool.errors.clear()

    def expire(self, access_key: str) -> None:
        """Time out the invocation running in the environment that holds `access_key` (a fault)."""
        environment = self._environments.get(access_key)
        if environment is not None:
            environment.expire()

    def stop(self) -> None:
        environments = list(self._environments.values())  # busy ones too: nothing outlives the cloud
        with ThreadPoolExecutor(16) as killers:
            list(killers.map(Environment.kill, environments))
        for pool in self._pools.values():
            with pool.changed:
                pool.idle.clear()
        self._zygote.stop()
