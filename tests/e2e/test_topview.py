"""TopView behind the mobile API over HTTP on the local cloud, against the TopView and Apphud simulators:
each common task resumed by its callback, the same with every callback lost (polling finishes it),
duplicated and forged callbacks, every row of the error table, and 4007 (an unfinished task)."""

from __future__ import annotations

import io
import itertools
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest
from PIL import Image
from reelgate.jobs import Job, JobStore
from reelgate.mobile.apps import App, AppRegistry, TopViewOptions

from tests.e2e.conftest import wait_for

APP = "com.example.app"
SIM_UID = "sim-uid"
_users = itertools.count()


@dataclass
class Cloud:
    api: str
    topview: str
    apphud: str
    jobs: JobStore
    apps: AppRegistry
    sfn: Any
    flow_arn: str

    def sim(self, path: str, body: Any = None) -> Any:
        response = httpx.post(f"{self.topview}/_sim/{path}", json=body if body is not None else {})
        response.raise_for_status()
        return response.json()

    def scenario(self, **knobs: Any) -> None:
        self.sim("scenario", knobs)

    def state(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.topview}/_sim/state").raise_for_status().json())

    def job(self, video_id: str) -> Job:
        job = self.jobs.get(video_id)
        assert job is not None
        return job

    def history(self, video_id: str) -> list[dict[str, Any]]:
        arn = f"{self.flow_arn.replace(':stateMachine:', ':execution:')}:{video_id}"
        return list(self.sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"])

    def execution_status(self, video_id: str) -> str:
        arn = f"{self.flow_arn.replace(':stateMachine:', ':execution:')}:{video_id}"
        return str(self.sfn.describe_execution(executionArn=arn)["status"])


@pytest.fixture(scope="module")
def cloud(local_cloud) -> Cloud:
    info = local_cloud.info
    session = boto3.Session(aws_access_key_id=info["aws_access_key_id"],
                            aws_secret_access_key=info["aws_secret_access_key"], region_name="us-east-1")
    endpoint = info["aws_endpoint"]
    dynamodb = session.resource("dynamodb", endpoint_url=endpoint)
    sfn = session.client("stepfunctions", endpoint_url=endpoint)
    flow = next(m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]
                if m["name"].endswith("-topview"))
    return Cloud(info["api"], info["topview"], info["apphud"], JobStore(dynamodb.Table(info["jobs_table"])),
                 AppRegistry(dynamodb.Table(info["state_table"])), sfn, flow)


@pytest.fixture(scope="module")
def http(local_cloud) -> httpx.Client:
    return local_cloud.client()


@pytest.fixture(autouse=True)
def fresh_topview(cloud) -> None:
    cloud.sim("reset")
    cloud.scenario(stall=True)  # tasks finish when a test says so (or by the scenario it sets)


def app_with(cloud: Cloud, bundle_id: str, **topview: Any) -> str:
    """A registered app like the development one, with its own TopView options."""
    dev = cloud.apps.get(APP)
    assert dev is not None
    cloud.apps.put(App.model_validate(dev.model_dump() | {"bundle_id": bundle_id,
                                                          "topview": TopViewOptions(**topview).model_dump()}))
    return bundle_id


def subscriber(cloud: Cloud) -> str:
    user = f"tv-user-{next(_users)}-{int(time.time())}"
    now = datetime.now(UTC)
    sub = {"id": user, "product_id": "pro", "group": "pro", "status": "regular",
           "expires_at": (now + timedelta(days=30)).isoformat(), "started_at": now.isoformat(), "cancelled_at": None,
           "environment": "production", "kind": "autorenewable"}
    httpx.post(f"{cloud.apphud}/_sim/users", json={"user_id": user, "subscriptions": [sub]}).raise_for_status()
    return user


def image(size: tuple[int, int] = (320, 240), fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "teal").save(buffer, fmt)
    return buffer.getvalue()


def post(http: httpx.Client, path: str, user: str, app: str = APP, **fields: Any) -> httpx.Response:
    return http.post(path, json={"app_bundle_id": app, "apphud_user_id": user} | fields)


def post_form(http: httpx.Client, path: str, user: str, files: dict[str, Any], app: str = APP,
              **fields: Any) -> httpx.Response:
    data = {"app_bundle_id": app, "apphud_user_id": user} | {k: str(v) for k, v in fields.items()}
    return http.post(path, data=data, files=files)


def status(http: httpx.Client, user: str, video_id: str, app: str = APP) -> dict[str, Any]:
    response = post(http, "/get-status", user, app, video_id=video_id)
    assert response.status_code == 200, response.text
    return dict(response.json())


def accepted(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"] is None
    return str(body["video_id"])


def finished(http: httpx.Client, user: str, video_id: str, app: str = APP, timeout: float = 60) -> dict[str, Any]:
    return dict(wait_for(lambda: (s := status(http, user, video_id, app))["status"] != "generating" and s,
                         timeout=timeout))


def task_of(cloud: Cloud, video_id: str) -> str:
    return str(wait_for(lambda: (cloud.job(video_id).provider or {}).get("task_id")))


def awaiting(cloud: Cloud, video_id: str) -> bool:
    """The flow sits in its .waitForTaskToken wait (entered and armed, not ended)."""
    events = cloud.history(video_id)
    return bool(events) and events[-1]["type"] == "TaskSubmitted"


def finish_when_waiting(cloud: Cloud, video_id: str, outcome: str = "success") -> str:
    task_id = task_of(cloud, video_id)
    wait_for(lambda: awaiting(cloud, video_id))
    cloud.sim(f"tasks/{task_id}", {"status": outcome})
    return task_id


def await_outcomes(events: list[dict[str, Any]]) -> list[str]:
    """How each wait for a callback ended: TaskSucceeded (resumed by a callback) or TaskTimedOut (polled)."""
    waits = [e for e in events if e["type"] in ("TaskSucceeded", "TaskTimedOut", "TaskFailed")
             and (e.get("taskSucceededEventDetails") or e.get("taskTimedOutEventDetails")
                  or e.get("taskFailedEventDetails") or {}).get("resource") == "invoke.waitForTaskToken"]
    return [e["type"] for e in waits]


def assert_mirrored(url: str, cloud: Cloud, kind: str = "video") -> bytes:
    assert url and not url.startswith(cloud.topview), url
    body = httpx.get(url, timeout=30).raise_for_status().content
    if kind == "video":
        assert body[4:8] == b"ftyp"
    else:
        assert Image.open(io.BytesIO(body)).format in ("JPEG", "PNG", "WEBP")
    return body


def assert_error(response: httpx.Response, http_status: int, code: int) -> None:
    body = response.json()
    assert (response.status_code, body["code"]) == (http_status, code), body
    assert isinstance(body["message"], str) and body["message"] and body["video_id"] is None


# --- common tasks, resumed by their callbacks ---


def test_text2video_is_resumed_by_its_callback_and_mirrored(http, cloud) -> None:
    user = subscriber(cloud)
    video_id = accepted(post(http, "/topview/text2video", user, prompt="A cat", duration=5, aspect_ratio="9:16"))
    assert status(http, user, video_id) == {"status": "generating", "video_url": None}

    finish_when_waiting(cloud, video_id)
    done = finished(http, user, video_id)

    assert set(done) == {"status", "video_url"} and done["status"] == "success"
    assert_mirrored(done["video_url"], cloud)
    assert await_outcomes(cloud.history(video_id)) == ["TaskSucceeded"]  # the callback, not a poll
    callbacks = cloud.state()["callbacks"]
    assert [(c["http_status"], c["acknowledged"]) for c in callbacks] == [(200, True)]
    submit = next(c for c in cloud.state()["calls"] if c["endpoint"] == "common_task/text2video/task/submit")
    assert submit["json"]["noticeUrl"].endswith("/callbacks/topview")
    assert (submit["json"]["prompt"], submit["json"]["duration"], submit["json"]["aspectRatio"]) == ("A cat", 5, "9:16")


def test_image2video_uploads_the_image_then_is_resumed_by_its_callback(http, cloud) -> None:
    user = subscriber(cloud)
    picture = image(fmt="JPEG")
    video_id = accepted(post_form(http, "/topview/image2video", user, {"image": ("x.png", picture, "image/png")},
                                  prompt="A dog", duration=10, mode="pro"))
    finish_when_waiting(cloud, video_id)

    assert_mirrored(finished(http, user, video_id)["video_url"], cloud)
    state = cloud.state()
    upload = state["uploads"][0]
    assert (upload["format"], upload["size"], upload["uploaded"]) == ("jpg", len(picture), True)  # by content
    submit = next(c for c in state["calls"] if c["endpoint"] == "common_task/image2video/submit")["json"]
    assert (submit["imageFileId"], submit["duration"], submit["mode"]) == (upload["file_id"], 10, "pro")
    assert await_outcomes(cloud.history(video_id)) == ["TaskSucceeded"]


def test_text2image_answers_an_image_url(http, cloud) -> None:
    user = subscriber(cloud)
    video_id = accepted(post(http, "/topview/text2image", user, prompt="A poster", aspect_ratio="1:1"))
    assert status(http, user, video_id) == {"status": "generating", "video_url": None, "image_url": None}
    finish_when_waiting(cloud, video_id)

    done = finished(http, user, video_id)
    assert done["status"] == "success" and done["video_url"] is None
    assert_mirrored(done["image_url"], cloud, kind="image")


# --- callbacks lost, duplicated, forged ---


def test_with_every_callback_lost_polling_finishes_the_job(http, cloud) -> None:
    cloud.scenario(stall=False, seconds_until_done=1.0, callback_loss=1.0)
    user = subscriber(cloud)
    video_id = accepted(post(http, "/topview/text2video", user, prompt="A lost cat"))

    done = finished(http, user, video_id)

    assert done["status"] == "success"
    assert_mirrored(done["video_url"], cloud)
    outcomes = await_outcomes(cloud.history(video_id))
    assert outcomes and set(outcomes) == {"TaskTimedOut"}  # every wait ran out; a poll saw the result
    assert all(c["lost"] for c in cloud.state()["callbacks"])


def test_duplicated_callbacks_change_nothing(http, cloud) -> None:
    cloud.scenario(callback_duplicates=3, callback_duplicate_delay_seconds=0.3)
    user = subscriber(cloud)
    video_id = accepted(post(http, "/topview/text2video", user, prompt="A cat, four times"))
    finish_when_waiting(cloud, video_id)
    done = finished(http, user, video_id)
    recorded = cloud.job(video_id)

    deliveries = wait_for(lambda: len(c := cloud.state()["callbacks"]) == 4 and c)
    time.sleep(0.5)

    assert [(d["http_status"], d["acknowledged"]) for d in deliveries] == [(200, True)] * 4  # genuine, answered
    assert cloud.job(video_id) == recorded  # not one field changed by the three copies
    assert status(http, user, video_id)["video_url"].split("?")[0] == done["video_url"].split("?")[0]
    assert cloud.execution_status(video_id) == "SUCCEEDED"
    assert len([c for c in cloud.state()["calls"] if c["endpoint"] == "common_task/text2video/task/submit"]) == 1


def callback(http: httpx.Client, body: Any, uid: str | None = SIM_UID) -> httpx.Response:
    headers = {"Topview-Uid": uid} if uid is not None else {}
    return http.post("/callbacks/topview", content=json.dumps(body), headers=headers | {
        "Content-Type": "application/json"})


def test_forged_callbacks_are_refused_and_change_nothing(http, cloud) -> None:
    user = subscriber(cloud)
    video_id = accepted(post(http, "/topview/text2video", user, prompt="A guarded cat"))
    task_id = task_of(cloud, video_id)
    wait_for(lambda: awaiting(cloud, video_id))
    before = cloud.job(video_id)
    claim = {"uuid": "forged-1", "bizType": "COMMON_TASK_TEXT2VIDEO", "taskId": task_id, "status": "success",
             "errorMsg": None, "result": {"taskId": task_id, "status": "success",
                                          "videos": [{"status": "success", "filePath": "https://evil.example/x.mp4"}]}}

    assert callback(http, claim, uid=None).status_code == 403
    assert callback(http, claim, uid="someone-else").status_code == 403
    assert callback(http, claim | {"taskId": "0" * 32}).status_code == 404
    assert callback(http, {"uuid": "x", "taskId": task_id}).status_code == 400
    assert cloud.job(video_id) == before and awaiting(cloud, video_id)

    # Our uid and a task we follow, but a false claim: answered (it cannot be told apart), yet TopView's
    # own query decides, so the job stays as it is.
    seen = len(cloud.history(video_id))
    genuine_looking = callback(http, claim)
    assert genuine_looking.status_code == 200
    assert genuine_looking.json() == {"code": "200", "message": "Success",
                                      "result": {"uuid": "forged-1", "topviewUid": SIM_UID, "result": "success"}}
    wait_for(lambda: len(cloud.history(video_id)) > seen and awaiting(cloud, video_id))  # resumed, looked, waits
    assert await_outcomes(cloud.history(video_id)) == ["TaskSucceeded"]
    assert status(http, user, video_id) == {"status": "generating", "video_url": None}
    assert cloud.job(video_id).status == before.status and cloud.job(video_id).output is None

    cloud.sim(f"tasks/{task_id}", {"status": "success"})
    assert_mirrored(finished(http, user, video_id)["video_url"], cloud)


# --- errors ---

ERROR_TABLE = [("4000", 422), ("4001", 422), ("4003", 422), ("4002", 401), ("4004", 404), ("4005", 409),
               ("4006", 403), ("6001", 403), ("4100", 402), ("5003", 503), ("5000", 502), ("5001", 502),
               ("5004", 502), ("5005", 502), ("4999", 502)]


@pytest.mark.parametrize(("code", "http_status"), ERROR_TABLE)
def test_every_row_of_the_error_table(http, cloud, code, http_status) -> None:
    cloud.scenario(fail_next={"code": code, "times": 10, "endpoint": "common_task/text2video/task/submit",
                              "message": f"sim says {code}"})
    user = subscriber(cloud)

    response = post(http, "/topview/text2video", user, prompt="A refused cat")

    assert_error(response, http_status, int(code))
    assert response.json()["message"] == f"TopView: sim says {code}"


def test_a_refused_submission_holds_no_slot_and_no_quota(http, cloud) -> None:
    user = subscriber(cloud)
    for _ in range(3):  # the app allows 2 concurrent generations: refusals must not hold them
        cloud.scenario(fail_next={"code": "4100", "endpoint": "common_task/text2video/task/submit"})
        assert_error(post(http, "/topview/text2video", user, prompt="x"), 402, 4100)
    accepted(post(http, "/topview/text2video", user, prompt="x"))
    accepted(post(http, "/topview/text2video", user, prompt="y"))


def test_topview_without_an_envelope_is_502_without_its_text(http, cloud) -> None:
    cloud.scenario(fail_next={"raw": "<html>bad gateway secret-internal</html>", "http_status": 502, "times": 10,
                              "endpoint": "common_task/text2video/task/submit"})
    response = post(http, "/topview/text2video", subscriber(cloud), prompt="A cat")
    assert_error(response, 502, 5005)
    assert "secret-internal" not in response.text and "html" not in response.text


def test_4007_with_no_waiting_budget_is_429(http, cloud) -> None:
    app = app_with(cloud, "com.example.topview.impatient", busy_wait_seconds=0)
    cloud.scenario(fail_next={"code": "4007", "endpoint": "common_task/text2video/task/submit"})
    assert_error(post(http, "/topview/text2video", subscriber(cloud), app, prompt="A cat"), 429, 4007)


def test_4007_waits_for_the_unfinished_task_then_succeeds(http, cloud) -> None:
    cloud.scenario(max_unfinished_tasks=1)
    first_user, second_user = subscriber(cloud), subscriber(cloud)
    first = accepted(post(http, "/topview/text2video", first_user, prompt="The first cat"))
    blocker = task_of(cloud, first)

    second = accepted(post(http, "/topview/text2video", second_user, prompt="The second cat"))  # 4007 absorbed
    time.sleep(2.5)
    assert status(http, second_user, second)["status"] == "generating"
    assert (cloud.job(second).provider or {}).get("task_id") is None  # waiting, resubmitting every second

    cloud.scenario(stall=False, seconds_until_done=0.5)
    cloud.sim(f"tasks/{blocker}", {"status": "success"})

    assert finished(http, second_user, second)["status"] == "success"
    assert finished(http, first_user, first)["status"] == "success"
    submits = [c for c in cloud.state()["calls"] if c["endpoint"] == "common_task/text2video/task/submit"]
    assert len(submits) >= 3  # the first, the refused second, and the second resubmitted


def test_4007_past_the_waiting_budget_ends_in_error(http, cloud) -> None:
    app = app_with(cloud, "com.example.topview.patient", busy_wait_seconds=2)
    cloud.scenario(fail_next={"code": "4007", "times": 1000, "endpoint": "common_task/text2video/task/submit"})
    user = subscriber(cloud)
    video_id = accepted(post(http, "/topview/text2video", user, app, prompt="A waiting cat"))

    assert finished(http, user, video_id, app) == {"status": "error", "video_url": None}
    job = cloud.job(video_id)
    assert (job.output or {}).get("error_code") == "4007" and (job.output or {}).get("quota_returned") is True
