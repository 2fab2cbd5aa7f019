"""POST /v1/uploads: a presigned PUT into the calling key's own inbox (objects there start jobs)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from reelgate.entry import rest_entry
from reelgate.toolkit import api

app = api.resolver(failure="Failed to create the upload")


@app.post("/v1/uploads")
def upload() -> Response:
    key = api.authenticate(app)
    return api.upload(key, api.json_body(app))


handler = rest_entry(app)
