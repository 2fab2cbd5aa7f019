"""Flow task: look at the job's TopView task; finish, copy and advance steps; say how long to wait."""

from __future__ import annotations

from typing import Any

from reelgate.entry import task_entry
from reelgate.topview import api as topview


def step(event: dict[str, Any]) -> dict[str, Any]:
    return topview.flow().step(event["job_id"], int(event.get("polls") or 0), event.get("adopt"))


handler = task_entry(step)
