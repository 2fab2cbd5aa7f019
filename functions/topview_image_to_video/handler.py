"""POST /topview/image2video: a TopView image-to-video common task from an uploaded image (multipart/form-data)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from reelgate import idempotency
from reelgate.entry import rest_entry
from reelgate.mobile import api
from reelgate.topview import api as topview

app = topview.resolver()


@app.post("/topview/image2video", middlewares=[idempotency.mobile])
def image2video() -> Response:
    return api.answer(topview.service().image2video(topview.image_form(app, "image"), topview.source(app)))


handler = rest_entry(app)
