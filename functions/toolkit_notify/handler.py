"""Flow task: one attempt to deliver the job's signed webhook (the flow waits between attempts); recorded on the job."""

from __future__ import annotations

from typing import Any

from reelgate.entry import task_entry
from reelgate.toolkit import api


def notify(event: dict[str, Any]) -> dict[str, Any]:
    from reelgate.toolkit import tasks  # on the first call, as the composition roots (docs/decisions.md)

    return tasks.notify(api.toolkit(), event["job_id"], int(event.get("attempt") or 1))


handler = task_entry(notify)
