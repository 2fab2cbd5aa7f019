"""POST /v1/image/convert/video (aliases /v1/image/transform/video, NCA's, and /paid/image/convert/video): a still
image to a zooming video; every path answers with the endpoint "/v1/image/convert/video"."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from reelgate import idempotency
from reelgate.entry import rest_entry
from reelgate.toolkit import api
from reelgate.toolkit.schemas import IMAGE_TO_VIDEO_OP

app = api.resolver(failure="An error occurred during image to video conversion")


@app.post("/v1/image/convert/video", middlewares=[idempotency.toolkit])
@app.post("/v1/image/transform/video", middlewares=[idempotency.toolkit])
@app.post("/paid/image/convert/video", middlewares=[idempotency.toolkit])
def convert() -> Response:
    key = api.authenticate(app)
    return api.answer(api.toolkit().submit(key, IMAGE_TO_VIDEO_OP, api.json_body(app)))


handler = rest_entry(app)
