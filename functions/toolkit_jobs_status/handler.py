"""POST /v1/toolkit/jobs/status: this key's jobs created in the last `since_seconds` (default 600)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from reelgate.entry import rest_entry
from reelgate.toolkit import api
from reelgate.toolkit.schemas import JOBS_STATUS, validate

app = api.resolver(failure="Failed to retrieve job statuses")


@app.post("/v1/toolkit/jobs/status")
def jobs_status() -> Response:
    key = api.authenticate(app)
    body = validate(JOBS_STATUS, api.json_body(app, optional=True))
    return api.answer(api.toolkit().recent(key, float(body.get("since_seconds", 600))))


handler = rest_entry(app)
