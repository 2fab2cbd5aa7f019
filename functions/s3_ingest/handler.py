"""S3 ObjectCreated under inbox/: start an image -> video job for each uploaded image."""

from __future__ import annotations

from typing import Any

from reelgate import aws
from reelgate.entry import task_entry
from reelgate.toolkit import api
from reelgate.toolkit.ingest import ingest


def on_upload(event: dict[str, Any]) -> dict[str, Any]:
    return {"started": ingest(api.toolkit(), aws.client("s3"), event)}


handler = task_entry(on_upload)
