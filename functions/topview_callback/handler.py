"""POST /callbacks/topview: TopView's noticeUrl callback resumes the flows waiting for its task."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from reelgate import http
from reelgate.entry import rest_entry
from reelgate.mobile import api
from reelgate.topview import api as topview

app = api.resolver(submit=False)


@app.post("/callbacks/topview")
def callback() -> Response:
    event = app.current_event
    status, body = topview.callbacks().receive(http.raw_body(event.raw_event), dict(event.headers))
    return api.plain_json(status, body)


handler = rest_entry(app)
