"""`make reliability`: the suites of this directory against one local cloud started as `make dev` starts it
(`running_cloud`: a clean environment, loopback only), bounded by a profile, and the table they print.

REELGATE_RELIABILITY_PROFILE=short (CI, a few minutes) or full (the figures issue 12 asks for).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e import conftest as e2e
from tests.e2e.conftest import DEV_KEY, TOPVIEW_FAST, Hooks, LocalCloud, Site, admin_environment, running_cloud
from tests.reliability import books, tally

site = e2e.site  # the e2e suites' file server (its own host:port is allowlisted) and webhook receiver
hooks = e2e.hooks


@dataclass(frozen=True)
class Profile:
    name: str
    fuzz_examples: int  # generated cases per operation and generation mode
    fuzz_coverage: bool  # schemathesis' coverage phase (boundary and negative values of every field)
    load_submissions: int
    load_concurrency: int


PROFILES = {"short": Profile("short", 6, False, 60, 10), "full": Profile("full", 40, True, 500, 50)}


def current_profile() -> Profile:
    name = os.environ.get("REELGATE_RELIABILITY_PROFILE", "short")
    if name not in PROFILES:
        raise pytest.UsageError(f"REELGATE_RELIABILITY_PROFILE must be one of {sorted(PROFILES)}, not {name!r}")
    return PROFILES[name]


PROFILE = current_profile()


@pytest.fixture(scope="session")
def cloud(site: Site, hooks: Hooks, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    """One local cloud for every suite: toolkit submits answer 202 at once (the suites follow jobs by status),
    a queue limit no suite reaches (so the queue counter exists and the books can be read: tests/e2e/soak.py),
    no per-key cap (the load suite measures the accept path), fast polls and webhook retries."""
    log_dir = tmp_path_factory.mktemp("cloud")
    with running_cloud(
        log_dir, REELGATE_DEV_API_KEY=DEV_KEY, REELGATE_API_WAIT_SECONDS="0", MAX_QUEUE_LENGTH="100000",
        REELGATE_URL_ALLOWLIST=f"{site.host_port},{hooks.host_port}", REELGATE_TOOLKIT_MAX_ACTIVE_JOBS_PER_KEY="0",
        REELGATE_POLL_INITIAL_SECONDS="0", REELGATE_POLL_MAX_SECONDS="1", REELGATE_PIXVERSE_RETRY_BASE_SECONDS="0",
        REELGATE_WEBHOOK_BACKOFF_SECONDS="0.05", REELGATE_WEBHOOK_SCHEDULE="0,1,1,1,1,1,1,1",
        REELGATE_APPHUD_LOOKUPS_PER_SOURCE_PER_MINUTE="100000", REELGATE_APPHUD_LOOKUPS_PER_APP_PER_MINUTE="100000",
        LOG_LEVEL="DEBUG",  # the functions log everything they would: the secrets suite searches it all
        **TOPVIEW_FAST,
    ) as (info, env):
        # the cloud's own log (stderr) is read by the secrets suite along with the function logs
        yield LocalCloud(info["api"], info | {"cloud_log": str(log_dir / "cloud.log")}, admin_environment(env, info))


DRAIN_SECONDS = 600.0  # the full load's last renders and generations settle well within this


@pytest.fixture(scope="module", autouse=True)
def drained(cloud: LocalCloud) -> None:
    """Each suite starts on a cloud the suites before it have finished with (a load's last jobs, retried
    webhooks): every job terminal, the queue counter at zero, no function running. Its timeouts and its
    seconds are then its own. A cloud that does not drain in time is noted under the table."""
    deadline = time.monotonic() + DRAIN_SECONDS
    while not books.drained(cloud):
        if time.monotonic() > deadline:
            tally.NOTES.append(f"not drained after {DRAIN_SECONDS:.0f} s: {len(books.unfinished(cloud))} jobs "
                               f"unfinished, functions busy {books.busy_functions(cloud)}")
            return
        time.sleep(1)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(autouse=True)
def cases(request: pytest.FixtureRequest) -> Iterator[tally.Cases]:
    recorded = tally.Cases(tally.suite_of(request.node.nodeid))
    yield recorded
    report = getattr(request.node, "report_call", None)
    if report is None or report.skipped:
        return
    row = tally.ROWS[recorded.suite]
    row.seconds += report.duration
    if recorded.tried:
        row.tried += recorded.tried
        row.held += recorded.held if report.passed else min(recorded.held, recorded.tried - 1)
    else:
        row.tried += 1
        row.held += report.passed


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if tally.ROWS:
        terminalreporter.section("reliability")
        for line in tally.table(PROFILE.name):
            terminalreporter.write_line(line)
