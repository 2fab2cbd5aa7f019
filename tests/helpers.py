"""Test helpers shared by the suites: sample events, media fixtures."""

from __future__ import annotations

import base64
import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@cache
def _sample(name: str) -> dict[str, Any]:
    return json.loads((ROOT / "events" / f"{name}.json").read_text())


def event(name: str, body: Any = None, *, headers: dict[str, str] | None = None, raw: bytes | None = None,
          content_type: str | None = None) -> dict[str, Any]:
    """The sample API Gateway event of function `name`, with another body and extra headers."""
    ev = copy.deepcopy(_sample(name))
    ev["headers"] = {k: v for k, v in ev["headers"].items() if k.lower() not in {"x-api-key", "content-length"}}
    ev["headers"] |= headers or {}
    if content_type:
        ev["headers"]["Content-Type"] = content_type
    ev["multiValueHeaders"] = {k: [v] for k, v in ev["headers"].items()}
    if raw is not None:
        ev["body"], ev["isBase64Encoded"] = base64.b64encode(raw).decode(), True
    elif body is not None:
        ev["body"], ev["isBase64Encoded"] = (body if isinstance(body, str) else json.dumps(body)), False
    return ev


def reply(result: dict[str, Any]) -> tuple[int, Any]:
    return result["statusCode"], json.loads(result["body"])


def circle_image(path: Path, size: tuple[int, int] = (1200, 900), fmt: str = "JPEG") -> Path:
    """A white circle on black: round in, round out, unless something stretched it."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, "black")
    w, h = size
    r = min(w, h) // 4
    ImageDraw.Draw(image).ellipse((w // 2 - r, h // 2 - r, w // 2 + r, h // 2 + r), fill="white")
    image.save(path, fmt)
    return path


class MemoryTable:
    """A DynamoDB table's items in a dict, keyed by `pk`: the reads unit tests' fakes share."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def get_item(self, Key: dict[str, str]) -> dict[str, Any]:
        item = self.items.get(Key["pk"])
        return {"Item": dict(item)} if item else {}
