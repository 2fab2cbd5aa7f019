"""S3 trigger: an image put under a toolkit key's own inbox starts an image -> video job charged to that key.

Layout: `inbox/<key id>/image2video/<relative path>` (jpg, jpeg, png or webp, any case), or
`inbox/<key id>/concatenate/<relative path>.json`, a manifest in the JSON body's schema of
`/v1/video/concatenate` whose clips are URLs or `{"video_key": ...}`, objects of the same key's own
`inbox/<key id>/` or `outbox/<key id>/` (an earlier job's video), never another tenant's. The key is the
path's, never the uploader's say-so (the old `api-key-id` metadata let anyone who could write to inbox/
bill any key); a key's presigned uploads (`POST /v1/uploads`) write under its own prefix only. `length`,
`frame_rate`, `zoom_speed`, `webhook_url` and `id` come from the object's metadata and are validated like
the JSON body. The video lands at `outbox/<key id>/<relative path>.<job id>.mp4`, so two
images with the same stem never overwrite each other.

The job id derives from the object's key and version (its `sequencer`), so a redelivered S3 event creates no
second job. An object that cannot become a job (bad metadata, a path of no known kind) becomes ONE failed
job, charged nothing, naming why; the invocation itself succeeds, so Lambda does not retry it. Objects
outside `inbox/<key>/<kind>/` (the mobile uploads under `inbox/mobile/` included) start nothing.
`transact.Busy` propagates: nothing was written, and Lambda's retry uses the same job id.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError

from reelgate import http
from reelgate.errors import Conflict, InsufficientCredits, NotFound, QueueFull
from reelgate.jobs import Job, JobStatus
from reelgate.links import OUTBOX
from reelgate.observability import logger
from reelgate.storage import INBOX, MOBILE_INBOX, metadata_text
from reelgate.toolkit.ledger import TooManyJobs
from reelgate.toolkit.schemas import (
    CONCATENATE_OP,
    IMAGE_TO_VIDEO,
    IMAGE_TO_VIDEO_OP,
    MANIFEST,
    InvalidPayload,
    validate,
)
from reelgate.toolkit.service import Toolkit

_NAMESPACE = uuid.UUID("6f1c7c55-2a55-4a8e-9a43-2b0e3f0c9a10")
MOBILE = MOBILE_INBOX.removeprefix(INBOX).rstrip("/")
IMAGE2VIDEO, CONCATENATE_KIND = "image2video", "concatenate"
MAX_MANIFEST_BYTES = 256 * 1024
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
_NUMBERS = {"length": float, "frame_rate": int, "zoom_speed": float}
_TEXTS = ("webhook_url", "id")


@dataclass(frozen=True)
class InboxObject:
    key: str
    key_id: str
    kind: str
    relative: str  # the path below inbox/<key id>/<kind>/


def parse(key: str) -> InboxObject | None:
    """The tenant object a key names, or None for anything else (mobile uploads, stray objects)."""
    parts = key.removeprefix(INBOX).split("/", 2) if key.startswith(INBOX) else []
    if len(parts) != 3 or parts[0] in ("", MOBILE) or not parts[2]:
        return None
    return InboxObject(key, parts[0], parts[1], parts[2])


def output_key(obj: InboxObject, job_id: str) -> str:
    return f"{OUTBOX}{obj.key_id}/{obj.relative}.{job_id}.mp4"


def ingest(toolkit: Toolkit, s3: Any, event: dict[str, Any]) -> list[str]:
    started = []
    for record in event.get("Records", []):
        bucket, key = record["s3"]["bucket"]["name"], unquote_plus(record["s3"]["object"]["key"])
        obj = parse(key)
        if obj is None:
            logger.info("object outside a toolkit inbox ignored", extra={"key": key})
            continue
        version = record["s3"]["object"].get("sequencer") or record["s3"]["object"].get("eTag", "")
        job_id = str(uuid.uuid5(_NAMESPACE, f"{bucket}/{key}/{version}"))
        try:
            started.append(_start(toolkit, s3, bucket, obj, job_id))
        except Conflict:
            logger.info("upload already started its job", extra={"key": key, "job_id": job_id})
        except (InvalidPayload, ValueError) as exc:
            started.append(_refuse(toolkit, obj, job_id, str(exc)))
        except (NotFound, InsufficientCredits, QueueFull, TooManyJobs) as exc:
            logger.warning("upload not started as a job", extra={"key": key, "job_id": job_id, "reason": str(exc)})
    return started


def _start(toolkit: Toolkit, s3: Any, bucket: str, obj: InboxObject, job_id: str) -> str:
    api_key = toolkit.keys.get(obj.key_id)
    if api_key.revoked:
        raise NotFound("the inbox's key is revoked")
    if obj.kind == CONCATENATE_KIND:
        data = _manifest(toolkit, s3, bucket, obj)
        job = Job(job_id=job_id, kind=CONCATENATE_OP.kind, owner=api_key.owner, cost=toolkit.price(CONCATENATE_OP),
                  input=data | {"endpoint": CONCATENATE_OP.endpoint, "output_key": output_key(obj, job_id)})
        return _enqueue(toolkit, job, api_key)
    if obj.kind != IMAGE2VIDEO:
        raise ValueError(f"inbox/<key>/{obj.kind}/ is not a kind of job; use {IMAGE2VIDEO}/ or {CONCATENATE_KIND}/")
    if not obj.relative.lower().endswith(IMAGE_SUFFIXES):
        raise ValueError(f"{obj.relative} is not an image: the name must end in {', '.join(IMAGE_SUFFIXES)}")
    metadata = s3.head_object(Bucket=bucket, Key=obj.key).get("Metadata", {})
    request: dict[str, Any] = {}
    for name, cast in _NUMBERS.items():
        if name in metadata:
            try:
                request[name] = cast(metadata[name])
            except ValueError:
                raise InvalidPayload(
                    f"Invalid request payload: {name} must be a number, got {metadata[name]!r}") from None
    request |= {name: metadata_text(metadata[name]) for name in _TEXTS if name in metadata}  # RFC 2047 read back
    request["image_url"] = f"https://{bucket}.s3.amazonaws.com/{obj.key}"  # validated like an HTTP request
    data = validate(IMAGE_TO_VIDEO, request)
    job = Job(job_id=job_id, kind=IMAGE_TO_VIDEO_OP.kind, owner=api_key.owner, cost=toolkit.price(IMAGE_TO_VIDEO_OP),
              input=data | {"endpoint": IMAGE_TO_VIDEO_OP.endpoint, "source_key": obj.key,
                            "output_key": output_key(obj, job_id)})
    return _enqueue(toolkit, job, api_key)


def _enqueue(toolkit: Toolkit, job: Job, api_key: Any) -> str:
    if toolkit.jobs.get(job.job_id) is not None:  # a redelivered event: its job exists (or existed)
        raise Conflict(f"job {job.job_id} already exists")
    toolkit.enqueue(job, api_key)
    return job.job_id


def _manifest(toolkit: Toolkit, s3: Any, bucket: str, obj: InboxObject) -> dict[str, Any]:
    """The concatenation request a manifest holds, checked like the HTTP body (and its clip limit)."""
    if not obj.relative.lower().endswith(".json"):
        raise ValueError(f"{obj.relative} is not a manifest: the name must end in .json")
    answer = s3.get_object(Bucket=bucket, Key=obj.key, Range=f"bytes=0-{MAX_MANIFEST_BYTES}")
    raw = answer["Body"].read()
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ValueError(f"the manifest is larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        body = http.strict_json(raw)
    except http.InvalidJson as exc:
        raise InvalidPayload(f"the manifest is not valid JSON ({exc})") from exc
    data = validate(MANIFEST, body)
    limit = toolkit.settings.toolkit_max_video_urls
    if len(data["video_urls"]) > limit:
        raise InvalidPayload(f"video_urls: at most {limit} items are allowed")
    for index, item in enumerate(data["video_urls"]):
        if "video_key" in item:
            _own_object(s3, bucket, obj.key_id, item["video_key"], f"video_urls[{index}].video_key")
    return data


def _own_object(s3: Any, bucket: str, key_id: str, key: str, name: str) -> None:
    """`key` is an existing object of this key's own inbox/ or outbox/ (never another tenant's)."""
    if not key.startswith((f"{INBOX}{key_id}/", f"{OUTBOX}{key_id}/")) or {"", ".", ".."} & set(key.split("/")):
        raise InvalidPayload(f"{name} must name an object under {INBOX}{key_id}/ or {OUTBOX}{key_id}/")
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound", "403", "AccessDenied"):
            raise InvalidPayload(f"{name}: no object {key}") from exc
        raise


def _refuse(toolkit: Toolkit, obj: InboxObject, job_id: str, reason: str) -> str:
    """One failed job, charged nothing, for an object that cannot be a job (a redelivery finds it and stops)."""
    job = Job(job_id=job_id, kind=f"toolkit.{obj.kind}"[:64], owner=f"key#{obj.key_id}", status=JobStatus.FAILED,
              slots=[], input={"source_key": obj.key}, error=reason.removeprefix("Invalid request payload: "))
    with contextlib.suppress(Conflict):  # a redelivery of the same object
        toolkit.jobs.create(job)
    logger.warning("upload refused as a failed job", extra={"key": obj.key, "job_id": job_id, "reason": reason})
    return job_id
