"""Flow task: download the inputs, convert with FFmpeg, upload <job_id>.mp4."""

from __future__ import annotations

from typing import Any

from reelgate.entry import task_entry
from reelgate.toolkit import api


def render(event: dict[str, Any]) -> dict[str, Any]:
    from reelgate.toolkit import tasks  # on the first call, as the composition roots (docs/decisions.md)

    return tasks.render(api.toolkit(), event["job_id"])


handler = task_entry(render)
