"""Every registry route is a route of its function's resolver, so API Gateway (and the local gateway) never
hand a function a path it answers 404 to (NCA's /v1/image/transform/video alias included)."""

from __future__ import annotations

import pytest

from infra import registry
from tests.unit.handlers import handler_module

# The liveness probe is a plain handler: it answers whatever reaches it.
ROUTES = [(route.method, route.path, fn.name) for route, fn in registry.routes() if fn.name != "health"]


@pytest.mark.parametrize(("method", "path", "name"), ROUTES)
def test_the_function_behind_a_route_serves_it(method: str, path: str, name: str) -> None:
    app = handler_module(name).app
    served = [(r.method, r.rule) for r in [*app._static_routes, *app._dynamic_routes]]
    assert any(m == method and rule.match(path) for m, rule in served), (name, served)
