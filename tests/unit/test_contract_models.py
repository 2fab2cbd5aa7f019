"""The request models the OpenAPI document shows agree with the checks that answer the error tables.

The mobile and TopView checks (`reelgate.mobile.requests`, `reelgate.topview.inputs`) answer the
tables' codes, which pydantic's errors could not; the models document the same bodies. For every JSON
body, each bound the model declares is tried on the check at and past its edge: a model and a check
that drift apart fail here, naming the field.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image
from pydantic import BaseModel, Field
from reelgate.mobile import models as mobile
from reelgate.mobile import requests
from reelgate.mobile.errors import ApiError
from reelgate.multipart import Form, Upload
from reelgate.topview import inputs
from reelgate.topview import models as topview

Check = Callable[[dict[str, Any]], Any]

JSON_BODIES: list[tuple[type[BaseModel], Check]] = [
    (mobile.TextToVideoRequest, lambda body: (requests.caller(body), requests.prompt(body))),
    (mobile.GetStatusRequest, lambda body: (requests.caller(body), requests.text(body, "video_id"))),
    (topview.TopViewTextToVideo, inputs.text2video),
    (topview.TopViewTextToImage, inputs.text2image),
    (topview.TopViewVideoAvatar, inputs.video_avatar),
    (topview.TopViewMarketingVideoLink, inputs.marketing_video_link),
    (topview.TopViewMarketingExport, inputs.marketing_video_export),
]
IDS = [model.__name__ for model, _ in JSON_BODIES]


def _properties(model: type[BaseModel]) -> dict[str, dict[str, Any]]:
    """Each property's constraints, with an `anyOf: [X, null]` read as X."""
    found = {}
    for name, prop in model.model_json_schema()["properties"].items():
        options = [p for p in prop.get("anyOf", [prop]) if p.get("type") != "null"]
        found[name] = options[0] | {k: v for k, v in prop.items() if k != "anyOf"}
    return found


def _accepts(check: Check, body: dict[str, Any]) -> bool:
    try:
        check(body)
    except ApiError:
        return False
    return True


def _example(model: type[BaseModel]) -> dict[str, Any]:
    assert model.EXAMPLES, f"{model.__name__} has no example for the document"  # type: ignore[attr-defined]
    return dict(model.EXAMPLES[0])  # type: ignore[attr-defined]


@pytest.mark.parametrize(("model", "check"), JSON_BODIES, ids=IDS)
def test_the_examples_pass_the_checks(model: type[BaseModel], check: Check) -> None:
    for body in model.EXAMPLES:  # type: ignore[attr-defined]
        model.model_validate(body)
        assert _accepts(check, body), f"{model.__name__}'s example is refused: {body}"


@pytest.mark.parametrize(("model", "check"), JSON_BODIES, ids=IDS)
def test_required_fields_are_required_by_the_checks(model: type[BaseModel], check: Check) -> None:
    example = _example(model)
    for name in model.model_json_schema()["required"]:
        body = {k: v for k, v in example.items() if k != name}
        with pytest.raises(ApiError) as refused:
            check(body)
        assert refused.value.code == 400011 and name in refused.value.message


def _filled(example: dict[str, Any], name: str, prop: dict[str, Any]) -> dict[str, Any]:
    """The example with `name` present and valid (optional fields are absent from examples)."""
    if name in example:
        return example
    value = prop["enum"][0] if "enum" in prop else prop.get("minimum", "x") if prop.get("type") != "string" else "x"
    return example | {name: value}


@pytest.mark.parametrize(("model", "check"), JSON_BODIES, ids=IDS)
def test_the_checks_enforce_the_models_bounds(model: type[BaseModel], check: Check) -> None:
    example = _example(model)
    for name, prop in _properties(model).items():
        base = _filled(example, name, prop)
        assert _accepts(check, base), f"{model.__name__}.{name}: {base[name]!r} is refused"
        if "maxLength" in prop:
            over = "h" * (prop["maxLength"] + 1)
            assert not _accepts(check, base | {name: over}), f"{model.__name__}.{name}: longer than maxLength passes"
            if "pattern" not in prop:
                at = "h" * prop["maxLength"]
                assert _accepts(check, base | {name: at}), f"{model.__name__}.{name}: maxLength is refused"
        if "enum" in prop:
            for value in prop["enum"]:
                assert _accepts(check, base | {name: value}), f"{model.__name__}.{name}: {value!r} is refused"
            assert not _accepts(check, base | {name: "none-of-these"}), f"{model.__name__}.{name}: any value passes"
        step = 1 if prop.get("type") == "integer" else 0.01
        for edge, beyond in (("minimum", -step), ("maximum", step)):
            if edge in prop:
                assert _accepts(check, base | {name: prop[edge]}), f"{model.__name__}.{name}: its {edge} is refused"
                past = base | {name: prop[edge] + beyond}
                assert not _accepts(check, past), f"{model.__name__}.{name}: past its {edge} passes"


def test_a_drifted_bound_is_caught() -> None:
    """The check above fails when a model promises more than its check allows."""

    class Wider(topview.TopViewTextToVideo):
        EXAMPLES = topview.TopViewTextToVideo.EXAMPLES
        duration: int | None = Field(None, ge=1, le=61)

    with pytest.raises(AssertionError, match=r"duration: (past its maximum passes|its maximum is refused)"):
        test_the_checks_enforce_the_models_bounds(Wider, inputs.text2video)


def _png() -> Upload:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(out, "PNG")
    return Upload("photo.png", "image/png", out.getvalue())


def _image_to_video(form: Form) -> Any:
    return requests.caller(form.fields), requests.prompt(form.fields), requests.image(
        requests.Image(form.files["image"].data, "photo.png", "image/png", ".png") if "image" in form.files else None)


MULTIPART_BODIES: list[tuple[type[BaseModel], Callable[[Form], Any]]] = [
    (mobile.ImageToVideoForm, _image_to_video),
    (topview.TopViewImageToVideo, inputs.image2video),
    (topview.TopViewProductAvatar, lambda form: inputs.product_avatar(form) if "avatar_id" in form.fields
     else inputs.product_avatar(Form(form.fields | {"avatar_id": "avatar-1"}, form.files))),
    (topview.TopViewMarketingVideoFiles, inputs.marketing_video_files),
]


@pytest.mark.parametrize(("model", "check"), MULTIPART_BODIES, ids=[m.__name__ for m, _ in MULTIPART_BODIES])
def test_multipart_forms_require_what_the_models_require(model: type[BaseModel],
                                                         check: Callable[[Form], Any]) -> None:
    schema = model.model_json_schema()
    files = {name for name, prop in _properties(model).items()
             if prop.get("format") == "binary" or prop.get("items", {}).get("format") == "binary"}
    # A file the model lets the caller send as a key instead (ONE_OF) is required the way the form checks it.
    required = set(schema["required"]) | {file for file, _ in getattr(model, "ONE_OF", [])}
    fields = {name: "1" if _properties(model)[name].get("type") == "integer" else "some text"
              for name in required - files}

    def form(without: str | None = None) -> Form:
        uploads = [(name, _png()) for name in sorted(required & files) if name != without]
        return Form({k: v for k, v in fields.items() if k != without}, dict(uploads), uploads)

    check(form())  # what the model requires is enough
    for name in required:
        with pytest.raises(ApiError) as refused:
            check(form(without=name))
        assert refused.value.code == 400011 and name in refused.value.message, name
