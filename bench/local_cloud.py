"""The local cloud's own costs: `make dev` start-up, cold starts, and the warm per-invocation overhead of
running each function in its own Lambda environment (worker process) versus calling it in-process.

Both models run in this process against the same emulated AWS, behind the same gateway code, so the
ratio isolates the worker model's cost (Runtime API round trip, JSON over HTTP). Printed, never asserted.

    .venv/bin/python bench/local_cloud.py [--runs 20]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import httpx
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra.local.cloud import LocalCloud  # noqa: E402
from infra.local.gateway import Gateway  # noqa: E402
from infra.local.lambdas import invoke_as_lambda  # noqa: E402
from infra.local.runtime import Result  # noqa: E402

KEY = "rg_bench_key"
CALLS = {"health": ("GET", "/health"), "toolkit_authenticate": ("GET", "/v1/toolkit/authenticate")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("REELGATE_", "AWS_", "PIXVERSE_", "APPHUD_"))}
    return keep | extra


def startup_seconds(runs: int) -> list[float]:
    """Wall time from `python -m infra.local` to its READY line (what `make dev` runs)."""
    times = []
    for _ in range(runs):
        env = clean_env(REELGATE_PORT=str(free_port()), REELGATE_AWS_PORT=str(free_port()))
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "infra.local"], cwd=ROOT, env=env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("READY "):
                times.append(time.perf_counter() - started)
                break
        process.terminate()
        process.wait(10)
    return times


class InProcess:
    """The old model: the handler called in this process with the function's environment applied."""

    def __init__(self, cloud: LocalCloud) -> None:
        self._cloud = cloud
        self._lock = threading.Lock()
        self._last = ""

    def invoke(self, name: str, payload: bytes) -> Result:
        assert self._cloud.runtime is not None
        with self._lock:
            if name != self._last:  # another function: its own settings and clients, as its own Lambda has
                _forget_composition()
                self._last = name
            saved = dict(os.environ)
            os.environ.update(self._cloud.runtime.config(name).env)
            try:
                out, errored = invoke_as_lambda(name, json.loads(payload))
            finally:
                os.environ.clear()
                os.environ.update(saved)
        return Result(out.encode(), "Unhandled" if errored else None)


def _forget_composition() -> None:
    from reelgate import aws
    from reelgate.mobile import api as mobile
    from reelgate.settings import get_settings
    from reelgate.toolkit import api as toolkit

    get_settings.cache_clear()
    aws.reset()
    boto3.DEFAULT_SESSION = None  # its credentials are the last function's
    toolkit.toolkit.cache_clear()
    mobile.mobile.cache_clear()


def timed(client: httpx.Client, method: str, path: str, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = client.request(method, path, headers={"x-api-key": KEY})
        out.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text
    return out


def accept_path(client: httpx.Client, runs: int) -> dict[str, list[float]]:
    """The accept path: a toolkit submit answered 202 at once (a webhook_url is given), and job status."""
    out: dict[str, list[float]] = {"submit (202)": [], "job status": []}
    body = {"image_url": "https://images.example/photo.jpg", "length": 1, "webhook_url": "https://hooks.example/x"}
    job_id = ""
    for _ in range(runs):
        started = time.perf_counter()
        answer = client.post("/v1/image/convert/video", headers={"x-api-key": KEY}, json=body)
        out["submit (202)"].append(time.perf_counter() - started)
        assert answer.status_code == 202, answer.text
        job_id = answer.json()["job_id"]
    for _ in range(runs):
        started = time.perf_counter()
        answer = client.post("/v1/toolkit/job/status", headers={"x-api-key": KEY}, json={"job_id": job_id})
        out["job status"].append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text
    return out


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 2 else values[0]


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:8.1f} ms"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--startups", type=int, default=3)
    args = parser.parse_args(argv)

    starts = startup_seconds(args.startups)
    # No per-key cap and a large balance: the accept-path rows submit many jobs (their renders then fail).
    cloud = LocalCloud("127.0.0.1", free_port(), free_port(), config=clean_env(
        REELGATE_DEV_API_KEY=KEY, REELGATE_TOOLKIT_MAX_ACTIVE_JOBS_PER_KEY="0"))
    cloud.start()
    threading.Thread(target=cloud.serve_forever, daemon=True).start()
    old = make_server("127.0.0.1", free_port(), Gateway(InProcess(cloud)), threaded=True)
    threading.Thread(target=old.serve_forever, daemon=True).start()
    rows: list[tuple[str, Any, Any, Any]] = []
    with httpx.Client(base_url=cloud.info["api"], timeout=60) as worker, \
            httpx.Client(base_url=f"http://127.0.0.1:{old.server_port}", timeout=60) as inproc:
        for name, (method, path) in CALLS.items():
            cold = timed(worker, method, path, 1)
            warm = timed(worker, method, path, args.runs)
            timed(inproc, method, path, 2)  # import the handler once
            base = timed(inproc, method, path, args.runs)
            rows.append((name, cold[0], warm, base))
        accept = {"in-process": accept_path(inproc, args.runs * 5), "worker": accept_path(worker, args.runs * 5)}
    old.shutdown()
    cloud.stop()

    print(f"make dev start-up (python -m infra.local to READY), median of {len(starts)}: "
          f"{statistics.median(starts):.2f} s  (min {min(starts):.2f}, max {max(starts):.2f})")
    print(f"{'function':<22}{'cold (worker)':>16}{'warm worker':>14}{'in-process':>14}{'overhead':>12}{'ratio':>8}")
    for name, cold, warm, base in rows:
        overhead = (statistics.median(warm) - statistics.median(base)) * 1000
        print(f"{name:<22}{cold * 1000:13.1f} ms{ms(warm):>14}{ms(base):>14}{overhead:9.1f} ms"
              f"{statistics.median(warm) / statistics.median(base):7.2f}x")
    print(f"accept path ({args.runs * 5} calls each; emulated AWS serves one request at a time)")
    print(f"{'call':<16}{'model':<12}{'p50':>10}{'p99':>10}")
    for model, rows_ in accept.items():
        for call, values in rows_.items():
            print(f"{call:<16}{model:<12}{statistics.median(values) * 1000:7.1f} ms{p99(values) * 1000:7.1f} ms")


if __name__ == "__main__":
    main(sys.argv[1:])
