"""Job state changes published to EventBridge so other systems can react."""

from __future__ import annotations

import json
from typing import Any

from reelgate.jobs import Job

SOURCE = "reelgate"
DETAIL_TYPE = "Job Status Changed"


def publish(events: Any, bus: str, job: Job) -> None:
    detail = {"job_id": job.job_id, "kind": job.kind, "owner": job.owner, "status": job.status.value,
              "error": job.error, "updated_at": job.updated_at}
    events.put_events(Entries=[{"Source": SOURCE, "DetailType": DETAIL_TYPE, "Detail": json.dumps(detail),
                                "EventBusName": bus}])
