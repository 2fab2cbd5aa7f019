"""POST /topview/marketing-video/export: export one script of a finished marketing-video preview as a new job."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from reelgate import idempotency
from reelgate.entry import rest_entry
from reelgate.mobile import api
from reelgate.topview import api as topview

app = topview.resolver()


@app.post("/topview/marketing-video/export", middlewares=[idempotency.mobile])
def marketing_video_export() -> Response:
    return api.answer(topview.service().marketing_video_export(api.json_body(app), topview.source(app)))


handler = rest_entry(app)
