"""A concatenation's clips may carry fields of the caller's own (the schema allows them, as NCA does): the
job keeps only each clip's `video_url`, so such fields (numbers DynamoDB cannot store, bulk) never reach the
jobs table. Found by `make reliability`'s fuzz suite (a 500 on a clip carrying 1e300)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from reelgate.errors import InsufficientCredits
from reelgate.jobs import Job
from reelgate.settings import Settings
from reelgate.toolkit.schemas import CONCATENATE_OP
from reelgate.toolkit.service import Toolkit


class Ledger:
    max_queue_length = 0

    def __init__(self) -> None:
        self.admitted: list[Job] = []

    def admit(self, job: Job, key: Any, cost: int) -> None:
        self.admitted.append(job)
        raise InsufficientCredits("not enough credits")

    def queue_length(self) -> int:
        return 0


def test_only_each_clips_video_url_is_recorded() -> None:
    ledger, none = Ledger(), None
    toolkit = Toolkit(jobs=none, keys=none, ledger=ledger, media=none, sfn=none,  # type: ignore[arg-type]
                      settings=Settings())
    clips = [{"video_url": "https://example.com/a.mp4", "extra": {"n": 1e300}}, {"video_url": "https://example.com/b.mp4"}]

    answer = toolkit.submit(SimpleNamespace(owner="key#k"), CONCATENATE_OP, {"video_urls": clips, "id": "r"})

    assert answer.status == 402
    assert ledger.admitted[0].input["video_urls"] == [{"video_url": "https://example.com/a.mp4"},
                                                      {"video_url": "https://example.com/b.mp4"}]
