"""POST /topview/text2video: a TopView text-to-video common task."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from reelgate import idempotency
from reelgate.entry import rest_entry
from reelgate.mobile import api
from reelgate.topview import api as topview

app = topview.resolver()


@app.post("/topview/text2video", middlewares=[idempotency.mobile])
def text2video() -> Response:
    return api.answer(topview.service().text2video(api.json_body(app), topview.source(app)))


handler = rest_entry(app)
