"""Load: submissions in parallel across the toolkit (tests/e2e/soak.py's driver, no faults) and the mobile
API (text2video, one Apphud user each): zero lost, zero duplicated, every job terminal, the books exact;
throughput and p50/p99 of the accept path go under the table, with what the local Lambda runtime did for the
API's functions (environments started, init and wait seconds). Sizes come from the profile."""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from infra.registry import FUNCTIONS
from tests.e2e import soak
from tests.e2e.conftest import LocalCloud
from tests.e2e.test_mobile import subscriber
from tests.reliability import tally
from tests.reliability.books import jobs
from tests.reliability.conftest import PROFILE
from tests.reliability.tally import Cases

APP = "com.example.app"


def pixverse_sim(cloud: LocalCloud) -> str:
    return str(cloud.info["pixverse"]).removesuffix("/openapi/v2")


@dataclass
class MobileShare:
    answers: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    accept_seconds: list[float] = field(default_factory=list)
    outcomes: dict[str, str] = field(default_factory=dict)  # video id -> last status seen


def mobile_share(cloud: LocalCloud, total: int, concurrency: int) -> MobileShare:
    users = [subscriber({"apphud": cloud.info["apphud"]}) for _ in range(total)]
    share = MobileShare()
    # the simulated PixVerse account takes them all at once (its default, 5, is the real API's)
    httpx.post(f"{pixverse_sim(cloud)}/_sim/scenario", json={"concurrency_limit": total}).raise_for_status()
    with httpx.Client(base_url=cloud.api, timeout=60) as http:
        def submit(user: str) -> tuple[int, dict[str, Any]]:
            sent = time.monotonic()
            answer = http.post("/text2video", json={"app_bundle_id": APP, "apphud_user_id": user,
                                                    "prompt": "A load cat"})
            share.accept_seconds.append(time.monotonic() - sent)
            return answer.status_code, answer.json() | {"user": user}

        with ThreadPoolExecutor(concurrency) as pool:
            share.answers = list(pool.map(submit, users))

        def look(body: dict[str, Any]) -> str:
            got = http.post("/get-status", json={"app_bundle_id": APP, "apphud_user_id": body["user"],
                                                 "video_id": body["video_id"]}).json()
            share.outcomes[body["video_id"]] = got["status"]
            return str(got["status"])

        accepted = [b for s, b in share.answers if s == 200]
        deadline = time.monotonic() + max(180.0, 3.0 * total)
        pending = list(accepted)
        while pending and time.monotonic() < deadline:
            pending = [b for b in pending if look(b) == "generating"]
            time.sleep(0.5 if pending else 0)
    httpx.post(f"{pixverse_sim(cloud)}/_sim/scenario", json={"concurrency_limit": 5}).raise_for_status()
    return share


def _percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def lambda_figures(cloud: LocalCloud) -> str:
    """What the local Lambda runtime did for the API's functions during the run (`runtime.Runtime.report`)."""
    report = httpx.get(f"{cloud.info['aws_endpoint']}/_reelgate/lambda", timeout=30).json()
    api = {fn.name for fn in FUNCTIONS if fn.routes}
    return "; ".join(
        f"{name} {f['calls']} calls, {f['cold_starts']} environments started (init p50 "
        f"{f['init_seconds']['p50']:.1f} s, max {f['init_seconds']['max']:.1f} s), wait for one max "
        f"{f['wait_seconds']['max']:.1f} s"
        for name, f in report.items() if name in api and f["cold_starts"])


def test_submissions_in_parallel_are_neither_lost_nor_duplicated(cloud: LocalCloud, cases: Cases) -> None:
    httpx.delete(f"{cloud.info['aws_endpoint']}/_reelgate/lambda", timeout=30).raise_for_status()  # this run's figures
    toolkit_total = PROFILE.load_submissions * 3 // 5
    mobile_total = PROFILE.load_submissions - toolkit_total
    toolkit_concurrency = max(1, PROFILE.load_concurrency * 3 // 5)
    key = cloud.admin("keys", "create", "load", "--credits", str(soak.PRICE * toolkit_total))["api_key"]
    before = {str(j["job_id"]) for j in jobs(cloud)}
    mobile: list[MobileShare] = []
    thread = threading.Thread(target=lambda: mobile.append(
        mobile_share(cloud, mobile_total, PROFILE.load_concurrency - toolkit_concurrency)))
    started = time.monotonic()
    thread.start()
    toolkit = soak.run(cloud.info, key, total=toolkit_total, concurrency=toolkit_concurrency, conflicts=0,
                       render_timeouts=0)
    thread.join()
    seconds = time.monotonic() - started
    share = mobile[0]

    for problem in toolkit.problems():
        cases.check("toolkit books", False, problem)
    cases.check("toolkit: every submission accepted", toolkit.answers == {202: toolkit_total}, toolkit.answers)
    mobile_ids = [b["video_id"] for s, b in share.answers if s == 200]
    cases.check("mobile: every submission accepted", len(mobile_ids) == mobile_total,
                [(s, b) for s, b in share.answers if s != 200][:5])
    new = {str(j["job_id"]): j for j in jobs(cloud) if str(j["job_id"]) not in before}
    ids = toolkit.job_ids + mobile_ids
    cases.check("no job id answered twice", len(set(ids)) == len(ids), len(ids) - len(set(ids)))
    cases.check("every accepted submission is one job record (none lost, none extra)", set(new) == set(ids),
                {"missing": sorted(set(ids) - set(new))[:5], "extra": sorted(set(new) - set(ids))[:5]})
    cases.check("every job terminal", all(new[i]["status"] in ("succeeded", "failed") for i in ids if i in new),
                [i for i in ids if i in new and new[i]["status"] not in ("succeeded", "failed")][:5])
    cases.check("mobile generations all succeeded", set(share.outcomes.values()) == {"success"},
                Counter(share.outcomes.values()))
    cases.check("toolkit: a fifth failed at download, the rest succeeded",
                (toolkit.succeeded, toolkit.failed) == (toolkit_total - toolkit_total // 5, toolkit_total // 5),
                (toolkit.succeeded, toolkit.failed))
    accept = toolkit.accept_seconds + share.accept_seconds
    tally.NOTES.append(
        f"load: {len(ids)} submissions ({toolkit_total} toolkit, {mobile_total} mobile) at concurrency "
        f"{PROFILE.load_concurrency}: {len(ids) / seconds:.1f} jobs/s end to end over {seconds:.0f} s; accept path "
        f"p50 {_percentile(accept, 50) * 1000:.0f} ms, p99 {_percentile(accept, 99) * 1000:.0f} ms")
    tally.NOTES.append(f"load, local Lambda: {lambda_figures(cloud)}")
    cases.verify()
