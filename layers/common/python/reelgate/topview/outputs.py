"""TopView's results copied into Reelgate's bucket (their URLs expire after 7 days), and the
`/get-status` answer of a TopView job: Part A's fields plus `image_url` and `previews` where they apply."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reelgate import deadline, fetch
from reelgate.jobs import Job, JobStatus
from reelgate.links import Link, earliest
from reelgate.observability import logger
from reelgate.settings import Settings
from reelgate.storage import MediaStore
from reelgate.topview import plans

STATUS = {JobStatus.QUEUED: "generating", JobStatus.SUBMITTING: "generating", JobStatus.RUNNING: "generating",
          JobStatus.SUCCEEDED: "success", JobStatus.FAILED: "error"}
RESERVE_SECONDS = 5.0  # left after a copy attempt: upload and record the outcome
_IMAGE_EXTENSIONS = {"image/jpeg": "jpg", "image/jpg": "jpg", "image/png": "png", "image/webp": "webp"}
_IMAGE_KINDS = (plans.TEXT2IMAGE, plans.PRODUCT_AVATAR)


class MirrorFailed(Exception):
    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


def video_key(job_id: str, name: str | None = None) -> str:
    return f"videos/{job_id}.mp4" if name is None else f"videos/{job_id}/{name}.mp4"


class Mirror:
    """Download a result with the safe fetcher and store it; transient failures are retried with a
    doubling backoff while the invocation has time, then reported as not permanent (look again later)."""

    def __init__(self, media: MediaStore, settings: Settings, sleep: Callable[[float], None] = time.sleep) -> None:
        self._media, self._settings, self._sleep = media, settings, sleep

    def video(self, url: str, key: str) -> str:
        return self._copy(url, ("video/",), lambda _: key)

    def image(self, url: str, stem: str) -> str:
        """Store an image as `<stem>.<ext>`, its extension from its content type; returns the key."""
        return self._copy(url, ("image/",), lambda content_type: f"{stem}.{_IMAGE_EXTENSIONS.get(content_type, 'jpg')}")

    def _copy(self, url: str, allowed: tuple[str, ...], key_for: Callable[[str], str]) -> str:
        s = self._settings
        wait, last = s.mirror_backoff_seconds, None
        with tempfile.TemporaryDirectory(dir=s.work_dir) as work:
            for attempt in range(1, s.mirror_attempts + 1):
                try:
                    fetched = fetch.fetch_to_file(url, Path(work) / "result", allowed_types=allowed)
                except fetch.UnsafeURL as exc:
                    raise MirrorFailed(str(exc), permanent=True) from exc
                except fetch.FetchError as exc:
                    last = exc
                    logger.warning("copy of a TopView result failed", extra={"attempt": attempt, "reason": str(exc)})
                else:
                    content_type = fetched.content_type.split(";")[0].strip().lower()
                    key = key_for(content_type)
                    self._media.upload_file(fetched.path, key, content_type)
                    return key
                if attempt == s.mirror_attempts or deadline.remaining() < wait + RESERVE_SECONDS + 1:
                    break
                self._sleep(wait)
                wait *= 2
        raise MirrorFailed(str(last or "no attempt was made"), permanent=False)


def status_answer(job: Job, media: MediaStore) -> dict[str, Any]:
    """Part A's `{status, video_url}`, plus `image_url` (text2image, and a product avatar's replaced
    product image once it exists) and `previews` (a marketing-video preview); `expires_at` is when the
    first of the answer's URLs stops working (all are signed together, for the same lifetime)."""
    out = job.output or {}
    done = job.status is JobStatus.SUCCEEDED
    links: list[Link | None] = []

    def url(key: str | None) -> str | None:
        link = media.link(key) if key else None
        links.append(link)
        return link.url if link else None

    answer: dict[str, Any] = {"status": STATUS[job.status], "video_url": url(out.get("video_key") if done else None)}
    if job.kind in _IMAGE_KINDS:
        answer["image_url"] = url(out.get("image_key"))
    if job.kind == plans.MARKETING_VIDEO:
        answer["previews"] = [
            {"script_id": p["script_id"], "video_url": url(p["video_key"]), "cover_url": url(p.get("cover_key")),
             "duration_ms": p.get("duration_ms")}
            for p in out.get("previews", [])
        ] if done else []
    answer["expires_at"] = earliest(links)
    return answer
