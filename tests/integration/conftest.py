"""Integration fixtures: an emulated AWS account (moto in-process) with Reelgate's resources,
Step Functions executed by moto's ASL interpreter and Lambda tasks routed to the real handlers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto import mock_aws

from infra.local import moto_lambda
from infra.local.provision import Names, provision


@dataclass
class Cloud:
    env: dict[str, str]
    session: Any

    def client(self, name: str) -> Any:
        return self.session.client(name)


def _reset_caches() -> None:
    from reelgate import aws
    from reelgate.settings import get_settings
    from reelgate.toolkit import api

    get_settings.cache_clear()
    aws.reset()
    api.toolkit.cache_clear()


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        moto_lambda.install()
        try:
            env = provision(boto3.Session(), Names("jobs", "state", "media"))
            for key, value in env.items():
                monkeypatch.setenv(key, value)
            monkeypatch.setenv("REELGATE_WEBHOOK_BACKOFF_SECONDS", "0.01")
            monkeypatch.setenv("REELGATE_WEBHOOK_SCHEDULE", "0,1,1,1,1,1,1,1")  # the flow's Wait states, compressed
            _reset_caches()
            yield Cloud(env=env, session=boto3.Session())
        finally:
            _stop_flows()
            moto_lambda.uninstall()
            _reset_caches()


def _stop_flows() -> None:
    """Stop the flows a test left running: moto runs them on threads that outlive the test, and a flow
    that goes on would act on the next test's tables (a give-back of a quota, a slot released)."""
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    for machine in sfn.list_state_machines()["stateMachines"]:
        running = sfn.list_executions(stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING")
        for execution in running["executions"]:
            sfn.stop_execution(executionArn=execution["executionArn"])


@dataclass
class FileServer:
    root: Path
    base_url: str
    host_port: str


@pytest.fixture
def file_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FileServer]:
    """Static files over real HTTP on 127.0.0.1, allowlisted for the safe fetcher."""
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host_port = f"127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("REELGATE_URL_ALLOWLIST", host_port)
    _reset_caches()
    try:
        yield FileServer(root, f"http://{host_port}", host_port)
    finally:
        server.shutdown()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    """A Pixverse simulator on 127.0.0.1 for one test module, API key "sim-key"."""
    from infra.local.simulators.pixverse import PixverseSimulator

    simulator = PixverseSimulator(api_key="sim-key")
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture(scope="module")
def topview_sim() -> Iterator[Any]:
    """A TopView simulator on 127.0.0.1 for one test module, uid "sim-uid", API key "sim-key"."""
    from infra.local.simulators.topview import TopViewSimulator

    simulator = TopViewSimulator(uid="sim-uid", api_key="sim-key")
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def topview_control(topview_sim: Any) -> Iterator[httpx.Client]:
    """An HTTP client of the TopView simulator's control endpoints (/_sim/...), after a reset."""
    with httpx.Client(base_url=topview_sim.base_url) as client:
        client.post("/_sim/reset").raise_for_status()
        yield client


@pytest.fixture
def site() -> Iterator[Any]:
    """A local HTTP server whose routes a fetch test sets (tests/integration/test_fetch.py's `Site`)."""
    from tests.integration.test_fetch import Site

    server = Site()
    yield server
    server.stop()


@pytest.fixture
def allow(settings_env: pytest.MonkeyPatch, site: Any) -> pytest.MonkeyPatch:
    """The safe fetcher may reach `site` (and nothing else local)."""
    settings_env.setenv("REELGATE_URL_ALLOWLIST", f"127.0.0.1:{site.port}")
    return settings_env
