"""multipart/form-data bodies (python-multipart): text fields and uploaded files, all in memory."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from python_multipart import parse_form
from python_multipart.exceptions import FormParserError


class InvalidForm(ValueError):
    pass


@dataclass
class Upload:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)  # the last file of each name
    uploads: list[tuple[str, Upload]] = field(default_factory=list)  # every file, in order (repeated names)


def parse(content_type: str | None, body: bytes) -> Form:
    if not content_type or not content_type.lower().startswith("multipart/form-data"):
        raise InvalidForm("the body must be multipart/form-data")
    form = Form()

    def on_field(part: object) -> None:
        name, value = _name(part), getattr(part, "value", None) or b""
        form.fields[name] = value.decode("utf-8", "replace")

    def on_file(part: object) -> None:
        stream = part.file_object  # type: ignore[attr-defined]
        stream.seek(0)
        filename = (part.file_name or b"").decode("utf-8", "replace")  # type: ignore[attr-defined]
        upload = Upload(filename, "", stream.read())
        form.files[_name(part)] = upload
        form.uploads.append((_name(part), upload))

    try:
        headers = {"Content-Type": content_type.encode("latin-1"), "Content-Length": str(len(body)).encode()}
        parse_form(headers, io.BytesIO(body), on_field, on_file)
    except (FormParserError, ValueError) as exc:  # UnicodeError too: a header beyond latin-1
        raise InvalidForm(f"the multipart body cannot be parsed: {exc}") from exc
    return form


def _name(part: object) -> str:
    raw = getattr(part, "field_name", None) or b""
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
