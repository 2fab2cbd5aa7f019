"""POST /v1/video/concatenate (alias /paid/video/concatenate): join videos in the given order."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from reelgate import idempotency
from reelgate.entry import rest_entry
from reelgate.toolkit import api
from reelgate.toolkit.schemas import CONCATENATE_OP

app = api.resolver(failure="An error occurred during video concatenation")


@app.post("/v1/video/concatenate", middlewares=[idempotency.toolkit])
@app.post("/paid/video/concatenate", middlewares=[idempotency.toolkit])
def concatenate() -> Response:
    key = api.authenticate(app)
    return api.answer(api.toolkit().submit(key, CONCATENATE_OP, api.json_body(app)))


handler = rest_entry(app)
