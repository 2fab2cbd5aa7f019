"""POST /image2video (multipart/form-data): start a Pixverse generation from an image and a prompt."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from reelgate.entry import rest_entry
from reelgate.mobile import api
from reelgate.mobile.access import source_ip

app = api.resolver(submit=True)


@app.post("/image2video")
def image_to_video() -> Response:
    fields, image = api.form_body(app)
    return api.answer(api.mobile().image_to_video(fields, image, source_ip(app.current_event.raw_event)))


handler = rest_entry(app)
