"""ApphudClient against the Apphud simulator over real HTTP, plus the S2S webhook sender."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from reelgate.providers.apphud import (
    ApphudAuthError,
    ApphudClient,
    ApphudUnavailable,
    has_active_entitlement,
    parse_webhook,
)
from werkzeug.wrappers import Request, Response

from infra.local.simulators._server import SimServer
from infra.local.simulators.apphud import ApphudSimulator, send_webhook
from infra.local.simulators.apphud_fixtures import FIXTURES

KEY = "app_sim_key"

# The rule's expected answer for every fixture user, in production.
EXPECTED = {
    "active_user": True, "trial_user": True, "intro_user": True, "promo_user": True, "grace_user": True,
    "canceled_user": True, "expired_user": False, "lapsed_user": False, "refunded_user": False,
    "lifetime_user": True, "nonrenewing_user": True, "nonrenewing_refunded_user": False,
    "sandbox_user": False, "mixed_user": True, "no_subscriptions_user": False,
}


@pytest.fixture(scope="module")
def sim() -> Iterator[ApphudSimulator]:
    simulator = ApphudSimulator(api_keys=(KEY,))
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def client(sim: ApphudSimulator) -> Iterator[ApphudClient]:
    httpx.post(f"{sim.base_url}/_sim/reset").raise_for_status()
    apphud = ApphudClient(sim.base_url, timeout=2.0)
    yield apphud
    apphud.close()


def entitled(client: ApphudClient, user_id: str, environment: str | None = "production") -> bool:
    customer = client.customer(KEY, user_id)
    assert customer is not None and customer.user_id == user_id
    return has_active_entitlement(customer.subscriptions, environment=environment, now=datetime.now(UTC))


def test_every_fixture_has_an_expectation() -> None:
    assert set(EXPECTED) == set(FIXTURES)


@pytest.mark.parametrize(("user_id", "expected"), sorted(EXPECTED.items()))
def test_fixture_users(client: ApphudClient, user_id: str, expected: bool) -> None:
    assert entitled(client, user_id) is expected


def test_sandbox_user_counts_in_sandbox_or_without_a_filter(client: ApphudClient) -> None:
    assert entitled(client, "sandbox_user", "sandbox")
    assert entitled(client, "sandbox_user", None)


def test_lifetime_purchase_has_null_expiry(client: ApphudClient) -> None:
    customer = client.customer(KEY, "lifetime_user")
    assert customer is not None and customer.subscriptions[0].expires_at is None


def test_unknown_user_is_none(client: ApphudClient) -> None:
    assert client.customer(KEY, "nobody-here") is None


def test_user_id_is_sent_url_encoded(client: ApphudClient, sim: ApphudSimulator) -> None:
    assert client.customer(KEY, "a b&c=d") is None
    calls = httpx.get(f"{sim.base_url}/_sim/state").json()["calls"]
    assert calls[-1]["args"] == {"api_key": KEY, "user_id": "a b&c=d"}


@pytest.mark.parametrize("status", [503, 500, 429])
def test_down_is_unavailable(client: ApphudClient, sim: ApphudSimulator, status: int) -> None:
    httpx.post(f"{sim.base_url}/_sim/down", json={"down": True, "status": status}).raise_for_status()
    with pytest.raises(ApphudUnavailable):
        client.customer(KEY, "active_user")
    httpx.post(f"{sim.base_url}/_sim/down", json={"down": False}).raise_for_status()
    assert entitled(client, "active_user")


def test_timeout_is_unavailable_and_does_not_leak_the_key(sim: ApphudSimulator) -> None:
    httpx.post(f"{sim.base_url}/_sim/down", json={"down": False, "delay_seconds": 0.5}).raise_for_status()
    impatient = ApphudClient(sim.base_url, timeout=0.1)
    try:
        with pytest.raises(ApphudUnavailable) as caught:
            impatient.customer(KEY, "active_user")
        assert KEY not in str(caught.value)
    finally:
        impatient.close()
        httpx.post(f"{sim.base_url}/_sim/reset").raise_for_status()


def test_unreachable_is_unavailable() -> None:
    closed = ApphudSimulator()
    url = closed.start()
    closed.stop()  # nothing listens on that port any more
    with pytest.raises(ApphudUnavailable):
        ApphudClient(url, timeout=1.0).customer(KEY, "active_user")


def test_wrong_key_is_an_auth_error(client: ApphudClient) -> None:
    with pytest.raises(ApphudAuthError):
        client.customer("app_wrong", "active_user")


def test_users_can_be_replaced_and_forgotten(client: ApphudClient, sim: ApphudSimulator) -> None:
    expired = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    subs = [{"status": "regular", "expires_at": expired, "environment": "production"}]
    httpx.post(f"{sim.base_url}/_sim/users", json={"user_id": "active_user", "subscriptions": subs})
    assert not entitled(client, "active_user")
    httpx.post(f"{sim.base_url}/_sim/users", json={"user_id": "active_user", "subscriptions": None})
    assert client.customer(KEY, "active_user") is None
    httpx.post(f"{sim.base_url}/_sim/users", json={"user_id": "new_user", "subscriptions": []})
    assert not entitled(client, "new_user")


class Receiver:
    """A real HTTP endpoint that records webhook deliveries."""

    def __init__(self) -> None:
        self.seen: list[tuple[dict[str, str], Any]] = []
        self.server = SimServer(self.app, "127.0.0.1", 0)

    def app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.seen.append((dict(request.headers), json.loads(request.get_data())))
        return Response("", status=500 if len(self.seen) == 1 else 200)(environ, start_response)


@pytest.mark.parametrize("platform", ["ios", "android"])
def test_webhook_is_sent_once_with_the_token(platform: str) -> None:
    receiver = Receiver()
    url = receiver.server.start() + "/webhooks/apphud"
    try:
        response = send_webhook(url, "s3cret", "subscription_refunded", "refunded_user",
                                bundle_id="com.example.app", platform=platform)
    finally:
        receiver.server.stop()
    assert response.status_code == 500 and len(receiver.seen) == 1  # a failed delivery is not retried
    headers, body = receiver.seen[0]
    assert headers["X-Apphud-Token"] == "s3cret"
    parsed = parse_webhook(body)
    assert (parsed.bundle_id, parsed.user_id, parsed.event_name) == (
        "com.example.app", "refunded_user", "subscription_refunded")
    assert not has_active_entitlement(parsed.subscriptions, environment="production", now=datetime.now(UTC))
    assert body["event"]["store"] == ("play_store" if platform == "android" else "app_store")
