"""Flow task: record the job's outcome, refund a failure, free its queue slot (the ledger publishes the change)."""

from __future__ import annotations

from typing import Any

from reelgate.entry import task_entry
from reelgate.toolkit import api, tasks


def settle(event: dict[str, Any]) -> dict[str, Any]:
    return tasks.settle(api.toolkit(), event)


handler = task_entry(settle)
