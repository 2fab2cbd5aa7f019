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

    def invoke(self, name: str, payload: bytes) -> Result:
        assert self._cloud.runtime is not None
        with self._lock:
            saved = dict(os.environ)
            os.environ.update(self._cloud.runtime.config(name).env)
            try:
                out, errored = invoke_as_lambda(name, json.loads(payload))
            finally:
                os.environ.clear()
                os.environ.update(saved)
        return Result(out.encode(), "Unhandled" if errored else None)


def timed(client: httpx.Client, method: str, path: str, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = client.request(method, path, headers={"x-api-key": KEY})
        out.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text
    return out


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:8.1f} ms"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--startups", type=int, default=3)
    args = parser.parse_args(argv)

    starts = startup_seconds(args.startups)
    cloud = LocalCloud("127.0.0.1", free_port(), free_port(), config=clean_env(REELGATE_DEV_API_KEY=KEY))
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
    old.shutdown()
    cloud.stop()

    print(f"make dev start-up (python -m infra.local to READY), median of {len(starts)}: "
          f"{statistics.median(starts):.2f} s  (min {min(starts):.2f}, max {max(starts):.2f})")
    print(f"{'function':<22}{'cold (worker)':>16}{'warm worker':>14}{'in-process':>14}{'overhead':>12}{'ratio':>8}")
    for name, cold, warm, base in rows:
        overhead = (statistics.median(warm) - statistics.median(base)) * 1000
        print(f"{name:<22}{cold * 1000:13.1f} ms{ms(warm):>14}{ms(base):>14}{overhead:9.1f} ms"
              f"{statistics.median(warm) / statistics.median(base):7.2f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
