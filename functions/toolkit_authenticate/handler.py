"""GET /v1/toolkit/authenticate: "Authorized" in the envelope for a valid key."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from reelgate.entry import rest_entry
from reelgate.toolkit import api

app = api.resolver(failure="Failed to authenticate")


@app.get("/v1/toolkit/authenticate")
def authenticate() -> Response:
    api.authenticate(app)
    return api.answer(api.toolkit().authenticated())


handler = rest_entry(app)
