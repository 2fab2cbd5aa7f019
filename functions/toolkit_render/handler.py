"""Flow task: download the inputs, convert with FFmpeg, upload outbox/<job_id>.mp4.

The toolkit flow also sends a long image → video job's steps here: `"step": "segment"` renders one
frame range (a Map iteration), `"step": "join"` joins the ranges by stream copy.
"""

from __future__ import annotations

from typing import Any

from reelgate.entry import task_entry
from reelgate.toolkit import api


def render(event: dict[str, Any]) -> dict[str, Any]:
    from reelgate.toolkit import segments, tasks  # on the first call, as the composition roots (docs/decisions.md)

    step = event.get("step", "render")
    if step == "segment":
        return segments.render_segment(api.toolkit(), event["job_id"], event["segment"])
    if step == "join":
        return segments.join(api.toolkit(), event["job_id"], event["segments"])
    return tasks.render(api.toolkit(), event["job_id"])


handler = task_entry(render)
