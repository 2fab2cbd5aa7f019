"""POST /topview/product-avatar (multipart/form-data): a TopView product avatar video, the product
put into an avatar's image (Replace Product Image), then animated (image2Video)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from reelgate import idempotency
from reelgate.entry import rest_entry
from reelgate.mobile import api
from reelgate.topview import api as topview

app = topview.resolver()
IMAGES = ("product_image", "product_mask", "template_image", "template_mask")  # each also as <name>_key


@app.post("/topview/product-avatar", middlewares=[idempotency.mobile])
def product_avatar() -> Response:
    return api.answer(topview.service().product_avatar(topview.image_form(app, *IMAGES), topview.source(app)))


handler = rest_entry(app)
