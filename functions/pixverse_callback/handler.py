"""POST /callbacks/pixverse: PixVerse's signed webhook resumes the flow waiting for its video."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from reelgate import http
from reelgate.entry import rest_entry
from reelgate.mobile import api

app = api.resolver(submit=False)


@app.post("/callbacks/pixverse")
def callback() -> Response:
    event = app.current_event
    status, text = api.pixverse_callbacks().receive(http.raw_body(event.raw_event), dict(event.headers))
    return Response(status_code=status, content_type="text/plain", body=text)


handler = rest_entry(app)
