"""CORS over HTTP on the local cloud as `make dev` starts it: by default any local port's page is allowed."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import DEV_KEY

PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-api-key"}


@pytest.fixture(scope="module")
def http(local_cloud) -> httpx.Client:
    return local_cloud.client()


@pytest.mark.parametrize("origin", ["http://localhost:5173", "http://127.0.0.1:8080", "http://localhost"])
def test_by_default_a_page_on_any_local_port_passes_the_preflight(http, origin: str) -> None:
    answer = http.options("/v1/image/transform/video", headers={"Origin": origin, **PREFLIGHT})

    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == origin
    assert answer.headers["access-control-allow-credentials"] == "true"


@pytest.mark.parametrize("origin", ["https://evil.example.com", "http://localhost.evil.example.com:3000"])
def test_by_default_other_origins_are_not_echoed(http, origin: str) -> None:
    preflight = http.options("/v1/video/concatenate", headers={"Origin": origin, **PREFLIGHT})
    answer = http.get("/v1/toolkit/authenticate", headers={"Origin": origin, "x-api-key": DEV_KEY})

    assert preflight.status_code == 204 and "access-control-allow-origin" not in preflight.headers
    assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers


def test_the_functions_and_the_gateways_own_answers_carry_the_headers(http) -> None:
    origin = {"Origin": "http://localhost:5173"}
    ok = http.get("/v1/toolkit/authenticate", headers={**origin, "x-api-key": DEV_KEY})
    refused = http.post("/v1/toolkit/job/status", headers={**origin, "x-api-key": "wrong"}, json={})
    missing = http.post("/v1/nope", headers=origin)
    mobile = http.post("/get-status", headers=origin, json={})

    for answer, status in ((ok, 200), (refused, 401), (missing, 403), (mobile, 422)):
        assert answer.status_code == status, answer.text
        assert answer.headers["access-control-allow-origin"] == "http://localhost:5173", status
        assert answer.headers["access-control-allow-credentials"] == "true"
        assert "Origin" in answer.headers["vary"]
