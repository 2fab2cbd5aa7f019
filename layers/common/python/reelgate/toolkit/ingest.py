"""S3 trigger: an image uploaded under inbox/ starts an image -> video job like an HTTP request would.

The uploader names the paying key in the object metadata `api-key-id` (and may set `length`,
`frame_rate`, `zoom_speed`, `webhook-url`); the video lands next to the image as `<name>.mp4`.
The job id derives from the object version, so a duplicate notification creates no second job.
A refusal (credits, limits, bad metadata) is logged and dropped; `transact.Busy` propagates, so Lambda's
asynchronous retry delivers the event again (nothing was written, and the job id is the same).
"""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote_plus

from reelgate.errors import Conflict, InsufficientCredits, NotFound, QueueFull
from reelgate.jobs import Job
from reelgate.observability import logger
from reelgate.toolkit.ledger import TooManyJobs
from reelgate.toolkit.schemas import IMAGE_TO_VIDEO, InvalidPayload, validate
from reelgate.toolkit.service import IMAGE_TO_VIDEO_OP, Toolkit

_NAMESPACE = uuid.UUID("6f1c7c55-2a55-4a8e-9a43-2b0e3f0c9a10")
_NUMBERS = {"length": float, "frame_rate": int, "zoom_speed": float}


def ingest(toolkit: Toolkit, s3: Any, event: dict[str, Any]) -> list[str]:
    started = []
    for record in event.get("Records", []):
        bucket, key = record["s3"]["bucket"]["name"], unquote_plus(record["s3"]["object"]["key"])
        version = record["s3"]["object"].get("sequencer") or record["s3"]["object"].get("eTag", "")
        job_id = str(uuid.uuid5(_NAMESPACE, f"{bucket}/{key}/{version}"))
        try:
            started.append(_start(toolkit, s3, bucket, key, job_id))
        except (Conflict, NotFound, InsufficientCredits, QueueFull, TooManyJobs, InvalidPayload, ValueError) as exc:
            logger.warning("upload not started as a job", extra={"key": key, "job_id": job_id, "reason": str(exc)})
    return started


def _start(toolkit: Toolkit, s3: Any, bucket: str, key: str, job_id: str) -> str:
    metadata = s3.head_object(Bucket=bucket, Key=key).get("Metadata", {})
    api_key = toolkit.keys.get(metadata.get("api-key-id", ""))
    if api_key.revoked:
        raise NotFound("the key named by the upload is revoked")
    request = {name: cast(metadata[name]) for name, cast in _NUMBERS.items() if name in metadata}
    request["image_url"] = f"https://{bucket}.s3.amazonaws.com/{key}"  # validated like an HTTP request
    if "webhook-url" in metadata:
        request["webhook_url"] = metadata["webhook-url"]
    data = validate(IMAGE_TO_VIDEO, request)
    output_key = str(PurePosixPath(key).with_suffix(".mp4"))
    job = Job(job_id=job_id, kind=IMAGE_TO_VIDEO_OP.kind, owner=api_key.owner, cost=toolkit.price(IMAGE_TO_VIDEO_OP),
              input=data | {"endpoint": IMAGE_TO_VIDEO_OP.endpoint, "source_key": key, "output_key": output_key})
    toolkit.enqueue(job, api_key)
    return job.job_id
