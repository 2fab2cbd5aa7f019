"""POST /topview/video-avatar: a TopView talking avatar speaking a text (text to speech)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from reelgate import idempotency
from reelgate.entry import rest_entry
from reelgate.mobile import api
from reelgate.topview import api as topview

app = topview.resolver()


@app.post("/topview/video-avatar", middlewares=[idempotency.mobile])
def video_avatar() -> Response:
    return api.answer(topview.service().video_avatar(api.json_body(app), topview.source(app)))


handler = rest_entry(app)
