"""Bench: the whole synchronous `POST /v1/image/convert/video` on a local cloud started as `make dev` starts
it (fetch the still over HTTP, render, upload, answer) against NCA's ffmpeg command alone on the same still.

One warm-up call first (the function's cold start is bench/cold_start.py's subject), then best of --runs.
A render longer than the API waits (20 s here: the gateway's 29 s keeps its margin on a busy machine) is
answered 202; the job is then polled to its end and the row says so. Printed, never asserted.
Run: .venv/bin/python bench/image_to_video_api.py [--runs 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from image_to_video import best, make_still, run_nca  # noqa: E402
from local_cloud import clean_env, free_port  # noqa: E402

KEY = "rg_bench_image_key"
VIDEOS = [(5.0, 30), (5.0, 60)]
SPEED = 3.0


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def start_cloud(files_port: int) -> tuple[subprocess.Popen[str], str]:
    """`python -m infra.local` from a clean environment; returns the process and the API's base URL."""
    env = clean_env(REELGATE_PORT=str(free_port()), REELGATE_AWS_PORT=str(free_port()), REELGATE_DEV_API_KEY=KEY,
                    REELGATE_URL_ALLOWLIST=f"127.0.0.1:{files_port}", REELGATE_API_WAIT_SECONDS="20")
    process = subprocess.Popen([sys.executable, "-m", "infra.local"], cwd=ROOT, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("READY "):
            threading.Thread(target=process.stdout.read, daemon=True).start()  # keep draining
            return process, json.loads(line.removeprefix("READY "))["api"]
    raise RuntimeError("the local cloud did not start")


def convert(client: httpx.Client, url: str, length: float, fps: int, waited: list[bool]) -> None:
    """One synchronous conversion; a 202 (render longer than the API waits) is polled to its end."""
    body = {"image_url": url, "length": length, "frame_rate": fps, "zoom_speed": SPEED}
    answer = client.post("/v1/image/convert/video", json=body)
    final = answer.json()
    if answer.status_code == 202:
        waited.append(True)
        while (final := client.post("/v1/toolkit/job/status", json={"job_id": final["job_id"]}).json()[
                "response"]["response"]) is None:  # fmt: skip
            time.sleep(0.2)
    if final.get("code") != 200:
        raise RuntimeError(f"conversion failed: {final}")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        make_still(work / "still.jpg")
        files = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(work)))
        threading.Thread(target=files.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{files.server_port}/still.jpg"
        cloud, api = start_cloud(files.server_port)
        rows = []
        try:
            with httpx.Client(base_url=api, timeout=600, headers={"x-api-key": KEY}) as client:
                convert(client, url, 1, 15, [])  # warm-up: the render function's environment starts
                for length, fps in VIDEOS:
                    waited: list[bool] = []
                    api_s, _ = best(args.runs, partial(convert, client, url, length, fps, waited))
                    nca_s, _ = best(args.runs, partial(run_nca, work / "still.jpg", work / "nca.mp4", length, fps,
                                                       SPEED))  # fmt: skip
                    rows.append((length, fps, api_s, nca_s, bool(waited)))
        finally:
            cloud.terminate()
            cloud.wait(60)
            files.shutdown()
    print(f"synchronous POST /v1/image/convert/video on a local cloud (make dev) vs NCA's command alone;"
          f" 3000x2000 JPEG, zoom_speed {SPEED:g}, best of {args.runs}")
    print(f"{'video':<10}{'API s':>8}{'NCA s':>8}{'NCA/API':>9}")
    for length, fps, api_s, nca_s, waited in rows:
        note = "  (answered 202, polled)" if waited else ""
        print(f"{f'{length:g} s@{fps}':<10}{api_s:>8.2f}{nca_s:>8.2f}{nca_s / api_s:>8.2f}x{note}")


if __name__ == "__main__":
    main(sys.argv[1:])
