"""Flow task: record the job's outcome, refund a failure, free its queue slot (the ledger publishes the change)."""

from __future__ import annotations

from typing import Any

from reelgate.entry import task_entry
from reelgate.toolkit import api


def settle(event: dict[str, Any]) -> dict[str, Any]:
    from reelgate.toolkit import tasks  # on the first call, as the composition roots (docs/decisions.md)

    return tasks.settle(api.toolkit(), event)


handler = task_entry(settle)
