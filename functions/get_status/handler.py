"""POST /get-status: a generation's status from its job record (no provider call)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from reelgate.entry import rest_entry
from reelgate.mobile import api

app = api.resolver(submit=False)


@app.post("/get-status")
def get_status() -> Response:
    return api.answer(api.mobile().status(api.json_body(app)))


handler = rest_entry(app)
