"""Fuzz: every operation of docs/openapi.json, with schemathesis' positive and negative data, against the
local cloud: no 5xx, and every answer is a documented status with the documented content type and body.

The toolkit key sent along has credits for a few jobs only: generated submits that are valid start real
flows until its balance is spent, then answer 402 (documented), so the traffic stays bounded.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings

from tests.e2e.conftest import LocalCloud
from tests.e2e.test_openapi_over_http import CHECKS, DOCUMENT
from tests.reliability.conftest import PROFILE
from tests.reliability.tally import Cases

FUZZ_CREDITS = 100
schema = schemathesis.openapi.from_path(DOCUMENT, config=schemathesis.Config.from_dict({
    "generation": {"mode": "all", "max-examples": PROFILE.fuzz_examples, "deterministic": True},
    "phases": {"examples": {"fill-missing": True}, "coverage": {"enabled": PROFILE.fuzz_coverage},
               "fuzzing": {"enabled": True}, "stateful": {"enabled": False}}}))


@pytest.fixture(scope="module")
def fuzz_key(cloud: LocalCloud) -> str:
    return str(cloud.admin("keys", "create", "fuzz", "--credits", str(FUZZ_CREDITS))["api_key"])


@schema.parametrize()
@settings(phases=[Phase.explicit, Phase.generate], max_examples=PROFILE.fuzz_examples, deadline=None,
          suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_answers_as_documented(case: schemathesis.Case, cloud: LocalCloud, fuzz_key: str,
                                               cases: Cases) -> None:
    cases.tried += 1
    case.call_and_validate(base_url=cloud.api, headers={"x-api-key": fuzz_key}, checks=CHECKS, timeout=60)
    cases.held += 1
