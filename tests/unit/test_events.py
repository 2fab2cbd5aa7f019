"""Job state change events: the detail model, its documentation, and PutEvents failures retried and logged."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from reelgate import events
from reelgate.events import DETAIL_TYPE, SOURCE, JobEvents, JobStateChange, state_change
from reelgate.jobs import Job, JobStatus

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def _json_type(schema: dict[str, Any]) -> str:
    kinds = [option.get("type", "string") for option in schema.get("anyOf", [schema])]  # enums are strings
    return " or ".join(dict.fromkeys(kinds))


def _documented_fields() -> dict[str, tuple[str, str]]:
    section = DOC.read_text().split("## `detail`, version 1", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \| (.+) \|$", section, flags=re.MULTILINE)
    return {name: (kind.strip(), meaning.strip()) for name, kind, meaning in rows}


def test_docs_and_model_describe_the_same_detail() -> None:
    schema = JobStateChange.model_json_schema()
    in_code = {name: (_json_type(prop), prop["description"]) for name, prop in schema["properties"].items()}
    assert _documented_fields() == in_code
    text = DOC.read_text()
    assert f"| `source` | `{SOURCE}` |" in text and f"| `detail-type` | `{DETAIL_TYPE}` |" in text
    assert f"(version `{events.VERSION}`)" in text


def test_the_drift_check_notices_a_changed_row(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    changed = tmp_path / "events.md"
    changed.write_text(DOC.read_text().replace("| `error` | string or null |", "| `error` | string |"))
    monkeypatch.setattr(f"{__name__}.DOC", changed)
    with pytest.raises(AssertionError):
        test_docs_and_model_describe_the_same_detail()


def test_the_detail_of_a_finished_toolkit_job_names_its_output() -> None:
    job = Job(kind="toolkit.image_to_video", owner="key#k1", status=JobStatus.SUCCEEDED,
              output={"output_key": "outputs/j.mp4", "run_time": 1.0}, updated_at="2026-01-01T00:00:00.000001+00:00")
    detail = state_change(job, JobStatus.RUNNING)
    assert detail.model_dump(mode="json") == {
        "version": "1", "job_id": job.job_id, "kind": "toolkit.image_to_video", "owner": "key#k1",
        "provider": "reelgate", "old_status": "running", "new_status": "succeeded", "output": "outputs/j.mp4",
        "error": None, "at": "2026-01-01T00:00:00.000001+00:00"}


def test_the_detail_of_a_failed_generation_names_its_provider_and_error_but_no_output() -> None:
    job = Job(kind="pixverse.text2video", owner="app#com.app#u1", status=JobStatus.FAILED, error="moderated",
              provider={"name": "pixverse", "slot": 0}, output={"video_key": "videos/x.mp4"})
    detail = state_change(job, JobStatus.SUBMITTING)
    assert (detail.provider, detail.old_status, detail.new_status) == ("pixverse", "submitting", "failed")
    assert (detail.output, detail.error) == (None, "moderated")
    assert state_change(Job(kind="k", owner="o"), None).old_status is None


class Bus:
    """put_events answering from a script: an int is FailedEntryCount, an exception is raised."""

    def __init__(self, *script: Any) -> None:
        self.script, self.calls = list(script), []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(Entries)
        step = self.script.pop(0) if self.script else 0
        if isinstance(step, Exception):
            raise step
        if step:
            return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "ThrottlingException", "ErrorMessage": "slow"}]}
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "e1"}]}


def _job() -> Job:
    return Job(kind="toolkit.concatenate", owner="key#k1", status=JobStatus.RUNNING)


def test_an_event_is_one_entry_on_the_bus_with_the_documented_envelope() -> None:
    bus = Bus()
    assert JobEvents(bus, "reelgate-dev").changed(_job(), JobStatus.QUEUED) is True
    [[entry]] = bus.calls
    assert (entry["Source"], entry["DetailType"], entry["EventBusName"]) == (SOURCE, DETAIL_TYPE, "reelgate-dev")
    detail = JobStateChange.model_validate_json(entry["Detail"])
    assert (detail.old_status, detail.new_status) == (JobStatus.QUEUED, JobStatus.RUNNING)


def test_failed_entries_and_errors_are_retried_with_a_growing_wait() -> None:
    bus, waits = Bus(1, RuntimeError("connection reset"), 1), []
    assert JobEvents(bus, "b", sleep=waits.append).changed(_job(), JobStatus.QUEUED) is True
    assert len(bus.calls) == 4 and waits == [0.2, 0.4, 0.8]
    assert len({json.dumps(call) for call in bus.calls}) == 1  # the same event every time


def test_an_event_that_never_goes_through_is_logged_with_its_detail(caplog: pytest.LogCaptureFixture) -> None:
    bus = Bus(1, 1, 1, 1, 1)
    job = _job()
    assert JobEvents(bus, "b", sleep=lambda _: None).changed(job, JobStatus.QUEUED) is False
    assert len(bus.calls) == events.ATTEMPTS
    [lost] = [r for r in caplog.records if r.getMessage() == "job event lost after retries"]
    assert lost.levelname == "ERROR" and lost.__dict__["error"] == "ThrottlingException"
    event = lost.__dict__["event"]
    assert event["job_id"] == job.job_id and event["new_status"] == "running"


def test_without_a_bus_nothing_is_put() -> None:
    bus = Bus()
    assert JobEvents(bus, "").changed(_job(), None) is False
    assert bus.calls == []
