"""POST /topview/marketing-video: TopView marketing-video previews from a product link (JSON) or
product files (multipart/form-data)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from reelgate import idempotency
from reelgate.entry import rest_entry
from reelgate.mobile import api
from reelgate.topview import api as topview

app = topview.resolver()


@app.post("/topview/marketing-video", middlewares=[idempotency.mobile])
def marketing_video() -> Response:
    return api.answer(topview.service().marketing_video(topview.json_or_form(app), topview.source(app)))


handler = rest_entry(app)
