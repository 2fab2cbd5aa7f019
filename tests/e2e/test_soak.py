"""A short soak (the full one is `make soak`): parallel submissions under injected conflicts and render
timeouts leave no 5xx, every job terminal, and the credits and queue counter exact."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import running_cloud
from tests.e2e.soak import run

KEY = "rg_soak_key"


@pytest.fixture(scope="module")
def soak_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A queue limit so the counter exists; no per-key cap (one key plays every caller); 202 at admission."""
    with running_cloud(tmp_path_factory.mktemp("soak"), REELGATE_DEV_API_KEY=KEY, MAX_QUEUE_LENGTH="1000",
                       REELGATE_TOOLKIT_MAX_ACTIVE_JOBS_PER_KEY="0", REELGATE_API_WAIT_SECONDS="0") as (info, _):
        yield info


def test_submissions_under_conflicts_and_render_timeouts_settle_exactly(soak_cloud: dict[str, Any]) -> None:
    total = int(os.environ.get("REELGATE_SOAK_SUBMISSIONS", "40"))
    report = run(soak_cloud, KEY, total=total, concurrency=int(os.environ.get("REELGATE_SOAK_CONCURRENCY", "10")),
                 conflicts=0.10, render_timeouts=0.05)
    print("\n" + report.table())

    assert report.problems() == []
    assert report.faults_fired["conflicts"] > 0
    assert report.succeeded + report.failed == total
