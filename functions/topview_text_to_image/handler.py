"""POST /topview/text2image: a TopView text-to-image common task; the result is an image."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from reelgate import idempotency
from reelgate.entry import rest_entry
from reelgate.mobile import api
from reelgate.topview import api as topview

app = topview.resolver()


@app.post("/topview/text2image", middlewares=[idempotency.mobile])
def text2image() -> Response:
    return api.answer(topview.service().text2image(api.json_body(app), topview.source(app)))


handler = rest_entry(app)
