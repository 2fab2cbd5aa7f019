"""The OpenAPI document over HTTP: served as checked in, Swagger UI at /docs, and a schemathesis smoke.

The smoke sends each operation's examples (the document's own; schemathesis fills in the operations
that have none) to a local cloud started as `make dev` starts it, and checks every answer: no 5xx, a
documented status, content type and body. The cloud answers toolkit submits at once (202), so a
job that cannot fetch its example URL fails later, unseen, instead of answering 500.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import running_cloud
from tests.helpers import ROOT

pytestmark = pytest.mark.e2e

KEY = "rg_e2e_openapi_key"
DOCUMENT = ROOT / "docs" / "openapi.json"
# Examples only: no coverage or fuzzing phase, so the whole smoke is a few seconds of traffic.
SMOKE = schemathesis.Config.from_dict({"phases": {
    "examples": {"fill-missing": True}, "coverage": {"enabled": False}, "fuzzing": {"enabled": False},
    "stateful": {"enabled": False}}})
schema = schemathesis.openapi.from_path(DOCUMENT, config=SMOKE)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with running_cloud(Path(tmp_path_factory.mktemp("openapi-cloud")), REELGATE_DEV_API_KEY=KEY,
                       REELGATE_API_WAIT_SECONDS="0") as (info, _):
        yield info


@pytest.fixture(scope="module")
def api(cloud: dict[str, Any]) -> str:
    return str(cloud["api"])


def test_the_served_document_is_the_checked_in_one(api: str) -> None:
    served = httpx.get(f"{api}/openapi.json", timeout=30)
    assert served.status_code == 200 and served.headers["content-type"].startswith("application/json")
    expected: dict[str, Any] = json.loads(DOCUMENT.read_text())
    assert served.json()["servers"] == [{"url": api}]
    assert served.json() | {"servers": expected["servers"]} == expected, "run `make openapi` and commit it"


def test_docs_is_swagger_ui_reading_the_document_without_a_cdn(cloud: dict[str, Any], api: str) -> None:
    assert (cloud["docs"], cloud["openapi"]) == (f"{api}/docs", f"{api}/openapi.json")  # what `make dev` prints
    page = httpx.get(cloud["docs"], timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '"url": "/openapi.json"' in page.text
    assert "https://" not in page.text  # every asset is the local cloud's own
    for asset in ("/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"):
        assert asset in page.text
        assert httpx.get(f"{api}{asset}", timeout=30).status_code == 200


@schema.parametrize()
@settings(phases=[Phase.explicit], deadline=None, suppress_health_check=list(HealthCheck))
def test_examples_answer_as_documented(case: schemathesis.Case, api: str) -> None:
    case.call_and_validate(base_url=api, headers={"x-api-key": KEY}, checks=CHECKS, timeout=30)
