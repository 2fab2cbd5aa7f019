"""Flow task: look at the generation once; mirror and finish it when the provider is done."""

from __future__ import annotations

from typing import Any

from reelgate.entry import task_entry
from reelgate.mobile import api


def poll(event: dict[str, Any]) -> dict[str, Any]:
    return api.generations().poll(event["job_id"], int(event.get("polls", 0)), event.get("video_id"))


handler = task_entry(poll)
