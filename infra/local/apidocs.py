"""The API's documentation on the local cloud: `/openapi.json` (built from the code, with the cloud's own
address as its server) and Swagger UI at `/docs`, whose assets come from the flask-swagger-ui package
(Swagger UI 5, which reads OpenAPI 3.1), so the page needs no CDN."""

from __future__ import annotations

import json
import mimetypes
from importlib.resources import files
from typing import Any

from werkzeug.wrappers import Request, Response

from infra.openapi import document, render

SPEC_PATH = "/openapi.json"
DOCS_PATH = "/docs"
_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Reelgate API</title>
  <link rel="stylesheet" href="{docs}/swagger-ui.css">
  <link rel="icon" type="image/png" href="{docs}/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{docs}/swagger-ui-bundle.js"></script>
  <script>window.ui = SwaggerUIBundle({config});</script>
</body>
</html>
"""


class ApiDocs:
    def __init__(self) -> None:
        self._document = document(lenient=True)
        self._assets = files("flask_swagger_ui") / "dist"
        self._names = {item.name for item in self._assets.iterdir() if item.is_file()}

    def answer(self, request: Request) -> Response | None:
        """The documentation's answer to a GET of its paths; None for every other request."""
        if request.method != "GET":
            return None
        path = request.path.rstrip("/") or "/"
        if path == SPEC_PATH:
            return Response(render(self.spec(request.host_url.rstrip("/"))), content_type="application/json")
        if path == DOCS_PATH:
            config = {"url": SPEC_PATH, "dom_id": "#swagger-ui", "deepLinking": True}
            return Response(_PAGE.format(docs=DOCS_PATH, config=json.dumps(config)), content_type="text/html")
        name = path.removeprefix(DOCS_PATH + "/")
        if path.startswith(DOCS_PATH + "/") and name in self._names:
            kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
            return Response((self._assets / name).read_bytes(), content_type=kind)
        return None

    def spec(self, server: str) -> dict[str, Any]:
        return self._document | {"servers": [{"url": server}]}
