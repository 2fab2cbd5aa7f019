"""POST /text2video: start a generation from a text prompt (Pixverse, or TopView as the app's route says)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from reelgate import idempotency
from reelgate.entry import rest_entry
from reelgate.http import source_ip
from reelgate.mobile import api
from reelgate.topview import api as topview

app = topview.resolver()  # the mobile answers, plus TopView's error table for apps routed to TopView


@app.post("/text2video", middlewares=[idempotency.mobile])
def text_to_video() -> Response:
    return api.answer(api.router().text2video(api.json_body(app), source_ip(app.current_event.raw_event)))


handler = rest_entry(app)
