"""The product over HTTP: one local cloud started the way `make dev` starts it (python -m infra.local)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import ROOT

DEV_KEY = "rg_e2e_development_key"
MAX_QUEUE = 3
# TopView flows at test speed: a short wait for each callback, then polls every second.
TOPVIEW_FAST = {"REELGATE_TOPVIEW_CALLBACK_WAIT_SECONDS": "4", "REELGATE_TOPVIEW_POLL_INITIAL_SECONDS": "1",
                "REELGATE_TOPVIEW_POLL_MAX_SECONDS": "1", "REELGATE_TOPVIEW_BUSY_RETRY_SECONDS": "1",
                "REELGATE_TOPVIEW_RETRY_BASE_SECONDS": "0", "REELGATE_MIRROR_BACKOFF_SECONDS": "0.1",
                # suites share one cloud: failovers of one test must not open a breaker for the next
                "REELGATE_FAILOVER_BREAKER_FAILURES": "0",
                # the suites drive the simulated tasks themselves (polls, /_sim controls), not by a timer
                "REELGATE_TOPVIEW_SIM_TASK_SECONDS": "0",
                # likewise the simulated PixVerse videos (its webhooks still go out when a poll finishes them),
                # and a flow that waits for a webhook looks itself after a second
                "REELGATE_PIXVERSE_SIM_TASK_SECONDS": "0", "REELGATE_PIXVERSE_WEBHOOK_WAIT_SECONDS": "1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Files(SimpleHTTPRequestHandler):
    gate = threading.Event()

    def do_GET(self) -> None:
        if self.path.startswith("/slow/"):  # holds the answer until a test opens the gate
            type(self).gate.wait(60)
            self.path = self.path.removeprefix("/slow")
        super().do_GET()

    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class Site:
    root: Path
    url: str
    host_port: str
    gate: threading.Event


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("site")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Files, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host_port = f"127.0.0.1:{server.server_address[1]}"
    _Files.gate.set()
    yield Site(root, f"http://{host_port}", host_port, _Files.gate)
    server.shutdown()


class _HookHandler(BaseHTTPRequestHandler):
    calls: list[tuple[dict[str, str], bytes]] = []
    fail_first = 0

    def do_POST(self) -> None:
        cls = type(self)
        cls.calls.append((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(500 if len(cls.calls) <= cls.fail_first else 200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class Hooks:
    """A webhook receiver the local cloud may call (allowlisted), failing its first `fail_first` calls."""

    url: str
    host_port: str
    handler: type[_HookHandler]

    def reset(self, fail_first: int = 0) -> None:
        self.handler.calls = []
        self.handler.fail_first = fail_first


@pytest.fixture(scope="session")
def hooks() -> Iterator[Hooks]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HookHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host_port = f"127.0.0.1:{server.server_address[1]}"
    yield Hooks(f"http://{host_port}/hook", host_port, _HookHandler)
    server.shutdown()


@dataclass
class LocalCloud:
    api: str
    info: dict[str, Any]
    env: dict[str, str]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.api, timeout=60)

    def admin(self, *args: str) -> Any:
        """The operator command, pointed at the local cloud's AWS endpoint."""
        out = subprocess.run([sys.executable, "-m", "infra.admin", *args], cwd=ROOT, env=self.env,
                             capture_output=True, text=True, check=True, timeout=60)
        return json.loads(out.stdout)


SCRUBBED_PREFIXES = ("REELGATE_", "AWS_", "PIXVERSE_", "APPHUD_", "TOPVIEW_", "POWERTOOLS_", "MOTO_")


def clean_environment(**config: str) -> dict[str, str]:
    """The environment of a clean shell: this machine's own settings (PATH, certificates, package
    registries) without anything Reelgate, AWS or a provider reads, plus the given configuration."""
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(SCRUBBED_PREFIXES) and k not in {"MAX_QUEUE_LENGTH", "LOG_LEVEL"}}
    return base | {"PYTHONUNBUFFERED": "1"} | config


@contextmanager
def running_cloud(log_dir: Path, **config: str) -> Iterator[tuple[dict[str, Any], dict[str, str]]]:
    """`python -m infra.local` (what `make dev` runs) on free ports, from a clean environment plus `config`;
    yields its READY info and the environment it was given, and stops it afterwards."""
    env = clean_environment(REELGATE_PORT=str(free_port()), REELGATE_AWS_PORT=str(free_port()), **config)
    log = (log_dir / "cloud.log").open("w+")
    process = subprocess.Popen([sys.executable, "-m", "infra.local"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=log, text=True)
    try:
        yield _ready(process, log), env
    finally:
        process.terminate()  # the cloud stops its Lambda environments first
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def admin_environment(env: dict[str, str], info: dict[str, Any]) -> dict[str, str]:
    return env | {"AWS_ENDPOINT_URL": info["aws_endpoint"], "AWS_ACCESS_KEY_ID": info["aws_access_key_id"],
                  "AWS_SECRET_ACCESS_KEY": info["aws_secret_access_key"], "AWS_DEFAULT_REGION": "us-east-1",
                  "REELGATE_STATE_TABLE": info["state_table"], "REELGATE_JOBS_TABLE": info["jobs_table"]}


@pytest.fixture(scope="session")
def local_cloud(site: Site, hooks: Hooks, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    """The local cloud with the documented configuration these suites need (a queue limit, fast polls,
    their own file and webhook servers allowlisted), and nothing inherited from the test process."""
    with running_cloud(
        tmp_path_factory.mktemp("cloud"), REELGATE_DEV_API_KEY=DEV_KEY,
        MAX_QUEUE_LENGTH=str(MAX_QUEUE), REELGATE_URL_ALLOWLIST=f"{site.host_port},{hooks.host_port}",
        REELGATE_POLL_INITIAL_SECONDS="0", REELGATE_POLL_MAX_SECONDS="1",
        REELGATE_PIXVERSE_RETRY_BASE_SECONDS="0", REELGATE_WEBHOOK_BACKOFF_SECONDS="0.05",
        REELGATE_WEBHOOK_SCHEDULE="0,1,1,1,1,1,1,1",  # the toolkit flow's Wait states between attempts
        # every suite's caller is one loopback address: the per-source Apphud lookup limit is for strangers
        REELGATE_APPHUD_LOOKUPS_PER_SOURCE_PER_MINUTE="100000",
        **TOPVIEW_FAST,
    ) as (info, env):
        yield LocalCloud(info["api"], info, admin_environment(env, info))


def _ready(process: subprocess.Popen[str], log: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("READY "):
            threading.Thread(target=process.stdout.read, daemon=True).start()  # keep draining the pipe
            return dict(json.loads(line.removeprefix("READY ")))
        if not line and process.poll() is not None:
            break
    log.seek(0)
    raise RuntimeError(f"the local cloud did not start:\n{log.read()[-4000:]}")


def wait_for(check: Any, timeout: float = 60, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError("condition not met in time")
