"""Flow task (.waitForTaskToken): record the wait's task token; resume at once if PixVerse's webhook came."""

from __future__ import annotations

from typing import Any

from reelgate.entry import task_entry
from reelgate.mobile import api


def arm(event: dict[str, Any]) -> dict[str, Any]:
    api.generations().arm(event["job_id"], str(event["video_id"]), event["token"])
    return {"job_id": event["job_id"], "armed": True}


handler = task_entry(arm)
