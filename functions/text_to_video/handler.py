"""POST /text2video: start a Pixverse generation from a text prompt."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from reelgate.entry import rest_entry
from reelgate.mobile import api
from reelgate.mobile.access import source_ip

app = api.resolver(submit=True)


@app.post("/text2video")
def text_to_video() -> Response:
    return api.answer(api.mobile().text_to_video(api.json_body(app), source_ip(app.current_event.raw_event)))


handler = rest_entry(app)
