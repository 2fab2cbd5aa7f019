"""Flow task (catch path): end the TopView job as failed and free the user's slot."""

from __future__ import annotations

from typing import Any

from reelgate.entry import task_entry
from reelgate.topview import api as topview


def fail(event: dict[str, Any]) -> dict[str, Any]:
    topview.flow().fail(event["job_id"], event.get("error") or {})
    return {"job_id": event["job_id"], "done": True}


handler = task_entry(fail)
