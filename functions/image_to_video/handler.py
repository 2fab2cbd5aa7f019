"""POST /image2video (multipart/form-data): start a generation from an image and a prompt (Pixverse, or
TopView as the app's route says)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from reelgate import idempotency
from reelgate.entry import rest_entry
from reelgate.http import source_ip
from reelgate.mobile import api
from reelgate.topview import api as topview

app = topview.resolver()  # the mobile answers, plus TopView's error table for apps routed to TopView


@app.post("/image2video", middlewares=[idempotency.mobile])
def image_to_video() -> Response:
    form = topview.image_form(app, "image")  # the file, or image_key: an upload of the caller's (POST /uploads)
    return api.answer(api.router().image2video(form, source_ip(app.current_event.raw_event)))


handler = rest_entry(app)
