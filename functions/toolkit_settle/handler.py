"""Flow task: record the job's outcome, refund a failure, free its queue slot, publish the change."""

from __future__ import annotations

from typing import Any

from reelgate import aws
from reelgate.entry import task_entry
from reelgate.settings import get_settings
from reelgate.toolkit import api, tasks


def settle(event: dict[str, Any]) -> dict[str, Any]:
    return tasks.settle(api.toolkit(), aws.client("events"), get_settings().event_bus, event)


handler = task_entry(settle)
