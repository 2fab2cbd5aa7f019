"""What one Pixverse generation of 60 s costs in Step Functions state transitions: polling (the adaptive
schedule) versus PixVerse's signed webhook, each run for real on a local cloud (`python -m infra.local`,
the real ASL, the real handlers, the Pixverse simulator over HTTP). Printed, never asserted.

Polling: the production schedule (5 s growing to 30 s) needs N looks to see a 60 s generation finish;
the bench runs the same N looks with zero-second waits (the simulator finishes the video at the N-th
look), so the count is exact without waiting a minute. Webhook: the flow waits up to 120 s for the
webhook, which the simulator sends when the video finishes.

    .venv/bin/python bench/pixverse_flow.py [--jobs 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reelgate.mobile.generation import Generations  # noqa: E402
from reelgate.settings import Settings  # noqa: E402

from tests.e2e.conftest import running_cloud  # noqa: E402

USD_PER_TRANSITION = 0.025 / 1000  # Standard workflows, us-east-1, beyond the free tier
GENERATION_SECONDS = 60


def polling_looks() -> tuple[int, list[int]]:
    """How many looks the production schedule takes to see a 60 s generation finish, and its waits."""
    production = Settings(_env_file=None, poll_initial_seconds=5, poll_max_seconds=30, poll_growth=2.0)
    flow = Generations(jobs=None, limits=None, media=None, pixverse=None,  # type: ignore[arg-type]
                       settings=production)
    waits = [production.poll_initial_seconds]  # the flow's first wait, then next_wait(n)
    while sum(waits) < GENERATION_SECONDS:
        waits.append(flow.next_wait(len(waits)))
    return len(waits), waits


def run(mode: str, jobs: int, looks: int) -> list[int]:
    config = {"REELGATE_PIXVERSE_SIM_TASK_SECONDS": "2"} if mode == "webhook" else {
        "REELGATE_PIXVERSE_WEBHOOK_URL": "", "REELGATE_PIXVERSE_SIM_TASK_SECONDS": "0",
        "REELGATE_POLL_INITIAL_SECONDS": "0", "REELGATE_POLL_MAX_SECONDS": "0"}
    with tempfile.TemporaryDirectory() as logs, running_cloud(Path(logs), **config) as (info, _):
        simulator = info["pixverse"].removesuffix("/openapi/v2")
        if mode == "polling":
            httpx.post(simulator + "/_sim/scenario", json={"polls_until_done": looks - 1}, timeout=10)
        sfn = boto3.client("stepfunctions", endpoint_url=info["aws_endpoint"], region_name="us-east-1",
                           aws_access_key_id=info["aws_access_key_id"],
                           aws_secret_access_key=info["aws_secret_access_key"])
        flow = next(m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]
                    if "pixverse" in m["name"])
        counts = []
        for n in range(jobs):
            ask = {"app_bundle_id": info["dev_app"], "apphud_user_id": "active_user"}
            job_id = httpx.post(info["api"] + "/text2video", json=ask | {"prompt": f"bench {n}"},
                                timeout=60).json()["video_id"]
            counts.append(_transitions(sfn, flow.replace(":stateMachine:", ":execution:") + f":{job_id}"))
        return counts


def _transitions(sfn: Any, execution: str) -> int:
    deadline = time.monotonic() + 100
    while sfn.describe_execution(executionArn=execution)["status"] == "RUNNING":
        if time.monotonic() > deadline:
            raise RuntimeError(f"{execution} did not finish")
        time.sleep(0.2)
    if sfn.describe_execution(executionArn=execution)["status"] != "SUCCEEDED":
        raise RuntimeError(f"{execution} did not succeed")
    events = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
    return sum(1 for e in events if e["type"].endswith("StateEntered"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=3)
    args = parser.parse_args()
    looks, waits = polling_looks()
    rows = [("polling (today's schedule)", run("polling", args.jobs, looks)),
            ("webhook", run("webhook", args.jobs, looks))]
    print(f"\nPixverse generation of {GENERATION_SECONDS} s: polling waits {waits} s ({looks} looks)")
    print(f"{'mode':<28}{'transitions / job':>18}{'USD / 1,000 jobs':>18}")
    for name, counts in rows:
        per_job = max(counts)
        print(f"{name:<28}{per_job:>18}{per_job * USD_PER_TRANSITION * 1000:>18.4f}")
    print(f"webhook / polling: {max(rows[1][1]) / max(rows[0][1]):.2f}x the transitions")


if __name__ == "__main__":
    main()
