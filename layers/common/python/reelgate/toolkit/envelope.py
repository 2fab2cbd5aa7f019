"""NCA's response envelope, field for field, and the 202 / 429 answers that share its fields."""

from __future__ import annotations

import os
import zlib
from typing import Any

from reelgate.jobs import Job


def queue_id(stage: str) -> int:
    # NCA reports the id of its in-process queue; ours is the stage's toolkit flow, named the same in every
    # function (a flow ARN is only in the environment of the functions that may start the flow).
    return zlib.crc32(f"reelgate-{stage}-toolkit".encode())


def envelope(*, endpoint: str, code: int, request_id: str | None, job_id: str, response: Any, message: Any,
             timings: dict[str, float], stage: str, queue_length: int, build_number: str,
             expires_at: str | None = None) -> dict[str, Any]:
    """`expires_at`: when the output URL in `response` stops working (ISO 8601 UTC); None without one."""
    return {
        "endpoint": endpoint,
        "code": code,
        "id": request_id,
        "job_id": job_id,
        "response": response,
        "expires_at": expires_at,
        "message": message,
        "run_time": round(timings.get("run_time", 0.0), 3),
        "queue_time": round(timings.get("queue_time", 0.0), 3),
        "total_time": round(timings.get("total_time", 0.0), 3),
        "pid": os.getpid(),
        "queue_id": queue_id(stage),
        "queue_length": queue_length,
        "build_number": build_number,
    }


def accepted(job: Job, *, stage: str, max_queue_length: int, queue_length: int, build_number: str) -> dict[str, Any]:
    """The 202 answer of a job that runs on: NCA's shape (no endpoint, no response, no times)."""
    return {
        "code": 202,
        "id": job.input.get("id"),
        "job_id": job.job_id,
        "message": "processing",
        "pid": os.getpid(),
        "queue_id": queue_id(stage),
        "max_queue_length": max_queue_length or "unlimited",
        "queue_length": queue_length,
        "build_number": build_number,
    }


def rejected(*, code: int, message: str, request_id: str | None, job_id: str, stage: str, queue_length: int,
             build_number: str) -> dict[str, Any]:
    """429 / 402 answers: NCA's 429 shape."""
    return {
        "code": code,
        "id": request_id,
        "job_id": job_id,
        "message": message,
        "pid": os.getpid(),
        "queue_id": queue_id(stage),
        "queue_length": queue_length,
        "build_number": build_number,
    }
