"""The toolkit flow waits out the Standard Webhooks retry schedule between single-attempt notify tasks."""

from __future__ import annotations

import json

from reelgate.settings import Settings
from reelgate.webhooks import schedule

from tests.helpers import ROOT

STANDARD = [0, 5, 300, 1800, 7200, 18000, 36000, 36000]  # immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h


def flow() -> dict:
    return json.loads((ROOT / "infra" / "statemachines" / "toolkit.asl.json").read_text())


def test_the_default_schedule_is_standard_webhooks() -> None:
    assert schedule(Settings().webhook_schedule) == STANDARD


def test_the_flow_outlives_the_whole_schedule_and_loops_through_a_wait() -> None:
    states = flow()["States"]
    assert flow()["TimeoutSeconds"] > sum(STANDARD) + 3600  # the render and settle before it
    assert states["HasWebhook"]["Choices"][0]["Next"] == "FirstAttempt"
    assert states["Notify"]["Next"] == "Delivered"
    assert states["Delivered"]["Default"] == "WaitForRetry"
    assert states["WaitForRetry"] == {"Type": "Wait", "SecondsPath": "$.webhook.wait", "Next": "Notify"}
    assert states["Notify"]["Catch"][0]["Next"] == "Done"  # a webhook never fails the job
