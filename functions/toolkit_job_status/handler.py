"""POST /v1/toolkit/job/status (alias /paid/get/job/status): one job of this key."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from reelgate.entry import rest_entry
from reelgate.toolkit import api
from reelgate.toolkit.schemas import JOB_STATUS, validate

app = api.resolver(failure="Failed to retrieve job status")


@app.post("/v1/toolkit/job/status")
@app.post("/paid/get/job/status")
def job_status() -> Response:
    key = api.authenticate(app)
    body = validate(JOB_STATUS, api.json_body(app))
    return api.answer(api.toolkit().status(key, body["job_id"]))


handler = rest_entry(app)
