"""The OpenAPI document: generated from the code, checked in unchanged, covering every route of the registry."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator
from reelgate.mobile import errors as table
from werkzeug.test import Client

from infra import openapi
from infra.local.gateway import Gateway
from infra.registry import Function, Route, routes
from tests.helpers import ROOT
from tests.unit.test_gateway import FakeRuntime

REGENERATE = "docs/openapi.json is out of date: run `make openapi` (python -m infra.openapi --write) and commit it"
SEEDS = ROOT / "tests" / "fixtures" / "nca"
# What Reelgate adds to NCA's schemas: ceilings on string lengths and list sizes (reelgate/toolkit/schemas.py).
ADDED_BOUNDS = {"maxLength", "maxItems"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi.document()


def test_the_checked_in_document_is_the_generated_one(document: dict[str, Any]) -> None:
    checked_in = (ROOT / "docs" / "openapi.json").read_text()
    assert checked_in == openapi.render(document), REGENERATE


def test_the_check_command_fails_on_drift(tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "openapi.json"
    stale.write_text("{}\n")
    monkeypatch.setattr(openapi, "DOCUMENT", stale)
    assert openapi.main(["--check"]) == 1
    assert "run `make openapi`" in capsys.readouterr().err
    assert openapi.main(["--write"]) == 0
    assert openapi.main(["--check"]) == 0


def test_it_is_a_valid_openapi_3_1_document(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    OpenAPIV31SpecValidator(document).validate()


def test_every_route_of_the_registry_is_documented(document: dict[str, Any]) -> None:
    checked_in = json.loads((ROOT / "docs" / "openapi.json").read_text())
    for doc, name in ((document, "generated"), (checked_in, "docs/openapi.json")):
        missing = [f"{r.method} {r.path}" for r, _ in routes() if r.method.lower() not in doc["paths"].get(r.path, {})]
        assert not missing, f"routes missing from the {name} document: {missing}; {REGENERATE}"
    documented = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    assert documented == {(r.method, r.path) for r, _ in routes()}


def test_a_route_without_a_contract_fails_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    added = Function("mobile_trim", "a trim", (Route("POST", "/trim"),), auth="app")
    monkeypatch.setattr(openapi, "routes", lambda: [*routes(), (added.routes[0], added)])
    with pytest.raises(openapi.MissingContract, match=r"POST /trim \(function mobile_trim\).*infra/contracts"):
        openapi.document()
    served = openapi.document(lenient=True)  # the local cloud still starts, and says what is missing
    assert "mobile_trim has no contract" in served["paths"]["/trim"]["post"]["responses"]["default"][
        "description"]


def test_every_answer_has_a_body_schema_json_unless_its_contract_says_text(document: dict[str, Any]) -> None:
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            for status, answer in op["responses"].items():
                (media, body), = answer["content"].items()
                assert body["schema"], f"{method.upper()} {path} {status} has no body schema"
                assert media == "application/json" or (path, status, media) in {
                    ("/callbacks/pixverse", "200", "text/plain"), ("/callbacks/pixverse", "401", "text/plain"),
                    ("/callbacks/pixverse", "404", "text/plain")}, (path, status, media)


def _responses(document: dict[str, Any], path: str) -> dict[str, Any]:
    return dict(document["paths"][path]["post"]["responses"])


@pytest.mark.parametrize(("path", "codes"), [("/text2video", table.TEXT2VIDEO), ("/image2video", table.IMAGE2VIDEO),
                                             ("/get-status", table.GET_STATUS)])
def test_every_code_of_the_error_tables_is_documented_under_its_status(
        document: dict[str, Any], path: str, codes: dict[int, int]) -> None:
    answers = _responses(document, path)
    for code, status in codes.items():
        assert str(code) in answers[str(status)]["description"], f"{path}: {code} not documented under {status}"
        assert answers[str(status)]["content"]["application/json"]["schema"]["$ref"].endswith(
            "/SubmitError" if path != "/get-status" else "/TableError")


def test_an_export_of_a_preview_that_is_not_the_callers_is_documented_as_500008(document: dict[str, Any]) -> None:
    """The handler answers 404 with 500008 for a preview it cannot find (tests/e2e/test_topview.py)."""
    answers = _responses(document, "/topview/marketing-video/export")
    assert str(table.NOT_FOUND) in answers["404"]["description"]


def test_auth_and_idempotency_come_from_the_registry(document: dict[str, Any]) -> None:
    toolkit = document["paths"]["/v1/image/convert/video"]["post"]
    assert toolkit["security"] == [{"ToolkitApiKey": []}]
    assert document["components"]["securitySchemes"]["ToolkitApiKey"] == {
        "type": "apiKey", "in": "header", "name": "x-api-key",
        "description": "the toolkit API key (`python -m infra.admin keys create`)"}
    assert {"400", "401", "402", "409", "422", "429", "500", "503"} <= set(toolkit["responses"])
    assert [p["name"] for p in toolkit["parameters"]] == ["Idempotency-Key"]
    status = document["paths"]["/v1/toolkit/job/status"]["post"]
    assert "parameters" not in status and "404" in status["responses"]
    mobile = document["paths"]["/text2video"]["post"]
    assert "security" not in mobile and "app_bundle_id" in mobile["description"]


def test_image_uploads_are_multipart_with_binary_files(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for path, model, files in (("/image2video", "ImageToVideoForm", ["image"]),
                               ("/topview/product-avatar", "TopViewProductAvatar", ["product_image"])):
        body = document["paths"][path]["post"]["requestBody"]["content"]
        assert body["multipart/form-data"]["schema"] == {"$ref": f"#/components/schemas/{model}"}
        for name in files:
            assert schemas[model]["properties"][name]["format"] == "binary"
            # the file, or the key of the caller's upload of it: one of the two is required
            assert {"anyOf": [{"required": [name]}, {"required": [f"{name}_key"]}]} in schemas[model]["allOf"]
    both = document["paths"]["/topview/marketing-video"]["post"]["requestBody"]["content"]
    assert set(both) == {"application/json", "multipart/form-data"}


def _same_as_seed(seed: dict[str, Any], ours: dict[str, Any], where: str) -> None:
    """Every keyword of the seed has the seed's value in ours (recursively); ours adds only ceilings."""
    assert set(ours) - set(seed) <= ADDED_BOUNDS, f"{where}: added {set(ours) - set(seed) - ADDED_BOUNDS}"
    for keyword, value in seed.items():
        if keyword == "properties":
            assert set(ours["properties"]) == set(value), f"{where}: other properties"
            for name, sub in value.items():
                _same_as_seed(sub, ours["properties"][name], f"{where}.{name}")
        elif keyword == "items":
            _same_as_seed(value, ours["items"], f"{where}[]")
        else:
            assert ours.get(keyword) == value, f"{where}: {keyword} is {ours.get(keyword)!r}, the seed's {value!r}"


@pytest.mark.parametrize(("paths", "seed"), [
    (("/v1/image/convert/video", "/paid/image/convert/video"), "image_to_video.schema.json"),
    (("/v1/video/concatenate", "/paid/video/concatenate"), "concatenate.schema.json"),
])
def test_toolkit_requests_are_the_seeds_json_schemas(document: dict[str, Any], paths: tuple[str, ...],
                                                     seed: str) -> None:
    expected = json.loads((SEEDS / seed).read_text())
    for path in paths:
        schema = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        _same_as_seed(expected, schema, path)


def test_the_seed_comparison_catches_a_changed_bound() -> None:
    seed = json.loads((SEEDS / "image_to_video.schema.json").read_text())
    changed = json.loads(json.dumps(seed))
    changed["properties"]["length"]["maximum"] = 61
    with pytest.raises(AssertionError, match="length: maximum is 61"):
        _same_as_seed(seed, changed, "body")
    changed = seed | {"additionalProperties": True}
    with pytest.raises(AssertionError, match="additionalProperties"):
        _same_as_seed(seed, changed, "body")


def test_the_local_gateway_serves_the_document_and_swagger_ui() -> None:
    client = Client(Gateway(FakeRuntime(lambda name, event: {"statusCode": 200, "body": "{}"})))
    spec = client.get("/openapi.json", base_url="http://127.0.0.1:3999")
    assert spec.status_code == 200 and spec.mimetype == "application/json"
    assert spec.json == openapi.document(server="http://127.0.0.1:3999")
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert '"url": "/openapi.json"' in page.text and "/docs/swagger-ui-bundle.js" in page.text
    script = client.get("/docs/swagger-ui-bundle.js")
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.data
    assert client.get("/docs/../registry.py").status_code == 403  # only the package's own assets
    assert client.post("/openapi.json").status_code == 403  # API Gateway's answer to an unknown route


PYDANTIC_ARGUMENTS = {"ge", "le", "gt", "lt", "min_length", "max_length"}


def _leaks(node: Any, where: str = "") -> list[str]:
    """Keys that are pydantic's arguments, not JSON Schema (property names are not keywords)."""
    if isinstance(node, list):
        return [leak for i, item in enumerate(node) for leak in _leaks(item, f"{where}[{i}]")]
    if not isinstance(node, dict):
        return []
    found = [] if where.endswith(".properties") else [f"{where}.{k}" for k in node if k in PYDANTIC_ARGUMENTS]
    return found + [leak for key, value in node.items() for leak in _leaks(value, f"{where}.{key}")]


def test_no_pydantic_argument_leaks_into_a_schema(document: dict[str, Any]) -> None:
    """pydantic writes `ge`/`le` as they are where it cannot map them (a constraint on a union)."""
    assert _leaks({"properties": {"ge": {"type": "string"}, "n": {"type": "integer", "ge": 1}}}) == [
        ".properties.n.ge"]
    assert _leaks(document["components"]["schemas"]) == []
