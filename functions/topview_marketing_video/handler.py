"""POST /topview/marketing-video: TopView marketing-video previews from a product link (JSON) or
product files (multipart/form-data: `files`, or `files_keys` naming the caller's uploads)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from reelgate import idempotency
from reelgate.entry import rest_entry
from reelgate.mobile import api
from reelgate.multipart import Form
from reelgate.topview import api as topview

app = topview.resolver()


@app.post("/topview/marketing-video", middlewares=[idempotency.mobile])
def marketing_video() -> Response:
    body = topview.json_or_form(app)
    if isinstance(body, Form):  # product files, sent in the form or as `files_keys` of the caller's uploads
        body = api.uploads().attach(body, (), several=("files",))
    return api.answer(topview.service().marketing_video(body, topview.source(app)))


handler = rest_entry(app)
