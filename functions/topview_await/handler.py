"""Flow task (.waitForTaskToken): record the wait's task token; resume at once if a callback came."""

from __future__ import annotations

from typing import Any

from reelgate.entry import task_entry
from reelgate.topview import api as topview


def arm(event: dict[str, Any]) -> dict[str, Any]:
    topview.flow().arm(event["job_id"], event["task_id"], event["token"])
    return {"job_id": event["job_id"], "armed": True}


handler = task_entry(arm)
