"""POST /callbacks/pixverse: PixVerse's signed webhooks resume the generation flows waiting for a video.

A webhook is accepted only with a valid signature, a timestamp inside the window and a nonce not seen
before (else 401), and only for a video a job follows (else 404); then it gets PixVerse's documented
reply, the plain body `ok`. It never changes a job itself: it resumes the flow, whose next poll reads
the video from PixVerse (`/video/result`) and finishes the job on what PixVerse says there. So a
forged or replayed webhook is refused, and a late or duplicated one changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from reelgate.flows import resume
from reelgate.observability import follow, logger
from reelgate.providers.pixverse_webhooks import REPLY, WebhookRefused, verify
from reelgate.settings import Settings
from reelgate.waits import TaskWaits

NONCE_PREFIX = "pxnonce#"


class PixverseCallbacks:
    def __init__(self, *, waits: TaskWaits, state: Any, sfn: Any, secret: Callable[[], str], settings: Settings,
                 clock: Callable[[], float] = time.time) -> None:
        self._waits, self._state, self._sfn, self._secret = waits, state, sfn, secret
        self._settings, self._clock = settings, clock

    def receive(self, body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
        s, now = self._settings, self._clock()
        try:
            notice = verify(body, headers, secret=self._secret(), now=now,
                            window_seconds=s.pixverse_webhook_window_seconds, order=s.pixverse_webhook_canonical)
            self._first_use(notice.nonce, now)
        except WebhookRefused as exc:
            logger.warning("Pixverse webhook refused", extra={"reason": str(exc)})
            return 401, f"refused: {exc}"
        woken = self._waits.notify(notice.video_id)
        if woken is None:
            logger.warning("Pixverse webhook for a video no job follows", extra={"provider_video_id": notice.video_id})
            return 404, "no job follows this video"
        for job_id, token in woken.waiters.items():
            follow(job_id)
            if resume(self._sfn, token, {"video_id": notice.video_id, "status": notice.status}):
                self._waits.delivered(notice.video_id, job_id, woken.notices)
        logger.info("Pixverse webhook", extra={"provider_video_id": notice.video_id, "status": notice.status,
                                               "notices": woken.notices, "waiting": len(woken.waiters)})
        return 200, REPLY

    def _first_use(self, nonce: str, now: float) -> None:
        """Record the nonce; a second use within the window (and after, until the record expires) is a replay."""
        try:
            self._state.put_item(
                Item={"pk": NONCE_PREFIX + nonce,
                      "expires_at": int(now) + 2 * self._settings.pixverse_webhook_window_seconds},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise WebhookRefused("this nonce was used before") from exc
            raise
