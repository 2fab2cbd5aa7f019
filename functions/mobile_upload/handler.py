"""POST /uploads: a presigned PUT of one image under the caller's own prefix, for images too large to send
in a request; the image endpoints then take its key (`image_key`)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from reelgate.entry import rest_entry
from reelgate.http import source_ip
from reelgate.mobile import api

app = api.resolver(submit=False)


@app.post("/uploads")
def upload() -> Response:
    return api.answer(api.upload(api.json_body(app), source_ip(app.current_event.raw_event)))


handler = rest_entry(app)
