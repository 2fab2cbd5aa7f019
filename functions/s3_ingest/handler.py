"""S3 ObjectCreated under inbox/: start an image -> video job for each uploaded image."""

from __future__ import annotations

from typing import Any

from reelgate import aws
from reelgate.entry import task_entry
from reelgate.toolkit import api


def on_upload(event: dict[str, Any]) -> dict[str, Any]:
    from reelgate.toolkit.ingest import ingest  # on the first call, as the composition roots (docs/decisions.md)

    return {"started": ingest(api.toolkit(), aws.client("s3"), event)}


handler = task_entry(on_upload)
