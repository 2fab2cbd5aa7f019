"""POST /webhooks/apphud: Apphud S2S events refresh the cached entitlement of their user."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from reelgate.entry import rest_entry
from reelgate.mobile import api
from reelgate.mobile.webhook import WebhookRefused

app = api.resolver(submit=False)


@app.exception_handler(WebhookRefused)
def refused(exc: WebhookRefused) -> Response:
    return api.plain_json(exc.status, {"ok": False, "message": str(exc)})


@app.post("/webhooks/apphud")
def apphud_event() -> Response:
    token = app.current_event.headers.get("x-apphud-token")
    return api.answer(api.apphud_event(token, api.json_body(app)))


handler = rest_entry(app)
