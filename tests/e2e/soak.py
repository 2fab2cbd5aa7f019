"""A toolkit soak against a running local cloud: many submissions in parallel under injected AWS faults,
then the books: every job terminal, no 5xx, credits and the queue counter exact.

Used by `tests/e2e/test_soak.py` (a short profile in `make test`) and `make soak` (the full one).
"""

from __future__ import annotations

import io
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import boto3
import httpx
from PIL import Image

PRICE = 10  # image -> video, the default price


@dataclass
class Report:
    submitted: int = 0
    answers: Counter[int] = field(default_factory=Counter)
    succeeded: int = 0
    failed: int = 0
    not_terminal: list[str] = field(default_factory=list)
    credits_before: int = 0
    credits_after: int = 0
    queue_after: int = 0
    faults_fired: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    server_errors: int = 0  # 5xx answers other than NCA's envelope of a job that failed
    accept_seconds: list[float] = field(default_factory=list)  # each submission's answer time
    job_ids: list[str] = field(default_factory=list)  # of the accepted submissions, in order
    status_errors: Counter[int] = field(default_factory=Counter)  # status reads answered other than 200

    @property
    def books_balance(self) -> bool:
        return self.credits_after == self.credits_before - PRICE * self.succeeded

    def problems(self) -> list[str]:
        out = []
        if self.server_errors:
            out.append(f"{self.server_errors} 5xx answers that were not a failed job's envelope "
                       f"(status reads: {dict(self.status_errors)})")
        elif self.status_errors:
            out.append(f"status reads answered {dict(self.status_errors)}")
        if self.not_terminal:
            out.append(f"{len(self.not_terminal)} jobs not terminal")
        if not self.books_balance:
            out.append(f"credits {self.credits_after} != {self.credits_before} - {PRICE} x {self.succeeded}")
        if self.queue_after:
            out.append(f"queue counter {self.queue_after} != 0")
        return out

    def table(self) -> str:
        rows = [("submissions", self.submitted), ("answers", dict(sorted(self.answers.items()))),
                ("5xx other than a failed job", self.server_errors),
                ("jobs succeeded / failed", f"{self.succeeded} / {self.failed}"),
                ("jobs not terminal", len(self.not_terminal)), ("faults fired", self.faults_fired),
                ("credits before / after", f"{self.credits_before} / {self.credits_after} "
                                           f"(expected {self.credits_before - PRICE * self.succeeded})"),
                ("queue counter after", self.queue_after), ("seconds", f"{self.seconds:.1f}")]
        return "\n".join(f"  {name:<26} {value}" for name, value in rows)


def _admin(info: dict[str, Any], kind: str, service: str) -> Any:
    return getattr(boto3, kind)(service, endpoint_url=info["aws_endpoint"], region_name="us-east-1",
                                aws_access_key_id=info["aws_access_key_id"],
                                aws_secret_access_key=info["aws_secret_access_key"])


def _books(info: dict[str, Any]) -> tuple[int, int]:
    table = _admin(info, "resource", "dynamodb").Table(info["state_table"])
    items = table.scan(ConsistentRead=True)["Items"]
    credits = sum(int(i["credits"]) for i in items if str(i["pk"]).startswith("apikey#"))
    queue = sum(int(i.get("count", 0)) for i in items if i["pk"] == "queue#toolkit")
    return credits, queue


def _inputs(info: dict[str, Any]) -> tuple[str, str]:
    s3 = _admin(info, "client", "s3")
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 160, 60)).save(buffer, "JPEG")
    s3.put_object(Bucket=info["media_bucket"], Key="soak/still.jpg", Body=buffer.getvalue(), ContentType="image/jpeg")
    good = s3.generate_presigned_url("get_object", Params={"Bucket": info["media_bucket"], "Key": "soak/still.jpg"})
    return str(good), str(good).replace("soak/still.jpg", "soak/missing.jpg")


def run(info: dict[str, Any], api_key: str, *, total: int, concurrency: int, conflicts: float,
        render_timeouts: float) -> Report:
    """`total` image -> video submissions (one in five fails at download), `concurrency` at a time."""
    aws = info["aws_endpoint"]
    good, missing = _inputs(info)
    report = Report(submitted=total)
    report.credits_before, _ = _books(info)
    rules = [{"service": "dynamodb", "operation": "TransactWriteItems", "error": "TransactionConflict",
              "probability": conflicts},
             {"function": "toolkit_render", "service": "s3", "operation": "PutObject", "timeout": True,
              "probability": render_timeouts}]
    httpx.post(f"{aws}/_reelgate/faults", json={"rules": rules}, timeout=10).raise_for_status()
    started = time.monotonic()
    client = httpx.Client(base_url=info["api"], headers={"x-api-key": api_key}, timeout=60)

    def submit(i: int) -> tuple[int, dict[str, Any]]:
        body = {"image_url": missing if i % 5 == 4 else good, "length": 1, "frame_rate": 15, "id": f"soak-{i}"}
        sent = time.monotonic()
        answer = client.post("/v1/image/convert/video", json=body)
        report.accept_seconds.append(time.monotonic() - sent)
        return answer.status_code, answer.json()

    try:
        with ThreadPoolExecutor(concurrency) as pool:
            answers = list(pool.map(submit, range(total)))
    finally:
        fired = httpx.get(f"{aws}/_reelgate/faults", timeout=10).json()["rules"]
        httpx.delete(f"{aws}/_reelgate/faults", timeout=10)
    report.faults_fired = {("conflicts" if r["error"] else "render timeouts"): r["fired"] for r in fired}
    for status, body in answers:
        report.answers[status] += 1
        failed_job = status == 500 and body.get("code") == 500 and body.get("job_id") and "response" in body
        report.server_errors += status >= 500 and not failed_job
    report.job_ids = [b["job_id"] for s, b in answers if b.get("job_id")]
    # the emulator serves AWS one call at a time (~2 toolkit jobs a second): give the backlog time to drain
    _settle(client, report.job_ids, report, timeout=max(120.0, 2.0 * total))
    report.seconds = time.monotonic() - started
    report.credits_after, report.queue_after = _books(info)
    client.close()
    return report


def _settle(client: httpx.Client, job_ids: list[str], report: Report, timeout: float = 120) -> None:
    """Wait for every accepted job to finish, then count outcomes."""
    deadline = time.monotonic() + timeout
    pending = set(job_ids)
    while pending and time.monotonic() < deadline:
        for job_id in list(pending):
            answer = client.post("/v1/toolkit/job/status", json={"job_id": job_id})
            if answer.status_code != 200:  # counted (a status read must not fail), and asked again
                report.server_errors += answer.status_code >= 500
                report.status_errors[answer.status_code] += 1
                continue
            status = answer.json()["response"]
            if status["job_status"] == "done":
                pending.discard(job_id)
                report.succeeded += status["response"]["code"] == 200
                report.failed += status["response"]["code"] != 200
        if pending:
            time.sleep(0.5)
    report.not_terminal = sorted(pending)
