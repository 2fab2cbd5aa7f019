"""TopView behind the mobile API over HTTP on the local cloud, against the TopView and Apphud simulators:
each common task resumed by its callback, the same with every callback lost (polling finishes it),
duplicated and forged callbacks, every row of the error table, and 4007 (an unfinished task)."""

from __future__ import annotations

import io
import itertools
import json
import time
from collections.abc import Iterator
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
def fresh_topview(cloud) -> Iterator[None]:
    cloud.sim("reset")
    cloud.scenario(stall=True)  # tasks finish when a test says so (or by the scenario it sets)
    yield
    for task in cloud.state()["tasks"]:  # end what a test left running, so no flow polls on for minutes
        if task["status"] not in ("success", "fail"):
            cloud.sim(f"tasks/{task['id']}", {"status": "fail"})


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
    assert status(http, user, video_id) == {"status": "generating", "video_url": None, "expires_at": None}

    finish_when_waiting(cloud, video_id)
    done = finished(http, user, video_id)

    assert set(done) == {"status", "video_url", "expires_at"} and done["status"] == "success"
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
    assert status(http, user, video_id) == {"status": "generating", "video_url": None, "image_url": None,
                                            "expires_at": None}
    finish_when_waiting(cloud, video_id)

    done = finished(http, user, video_id)
    assert done["status"] == "success" and done["video_url"] is None
    assert_mirrored(done["image_url"], cloud, kind="image")


# --- callbacks lost, duplicated, forged ---


def test_with_every_callback_lost_polling_finishes_the_job(http, cloud) -> None:
    cloud.scenario(callback_loss=1.0)
    user = subscriber(cloud)
    video_id = accepted(post(http, "/topview/text2video", user, prompt="A lost cat"))
    finish_when_waiting(cloud, video_id)  # TopView finishes while the flow waits; its callback is lost

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
    assert status(http, user, video_id) == {"status": "generating", "video_url": None, "expires_at": None}
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

    assert finished(http, user, video_id, app) == {"status": "error", "video_url": None, "expires_at": None}
    job = cloud.job(video_id)
    assert (job.output or {}).get("error_code") == "4007" and (job.output or {}).get("quota_returned") is True


# --- video avatar, product avatar chain, marketing videos ---


def next_task(cloud: Cloud, video_id: str, previous: str, timeout: float = 60) -> str:
    return str(wait_for(lambda: (t := (cloud.job(video_id).provider or {}).get("task_id")) not in (None, previous)
                        and t, timeout=timeout))


def finish_task_when_waiting(cloud: Cloud, video_id: str, task_id: str, outcome: str = "success") -> None:
    wait_for(lambda: awaiting(cloud, video_id) and (cloud.job(video_id).provider or {}).get("task_id") is not None)
    cloud.sim(f"tasks/{task_id}", {"status": outcome})


def states_entered(events: list[dict[str, Any]]) -> int:
    """Step Functions' billed state transitions: one per state entered."""
    return sum(1 for e in events if e["type"].endswith("StateEntered"))


def calls(cloud: Cloud, endpoint: str) -> list[dict[str, Any]]:
    return [c for c in cloud.state()["calls"] if c["endpoint"] == endpoint]


def test_video_avatar_speaks_the_text(http, cloud) -> None:
    user = subscriber(cloud)
    video_id = accepted(post(http, "/topview/video-avatar", user, avatar_id="sim-avatar-1", text="Hello there",
                             voice_id="sim-voice-1", voice_speed=1.1, aspect_ratio="9:16"))
    finish_when_waiting(cloud, video_id)

    assert_mirrored(finished(http, user, video_id)["video_url"], cloud)
    body = calls(cloud, "video_avatar/task/submit")[0]["json"]
    assert (body["avatarSourceFrom"], body["audioSourceFrom"], body["aiAvatarId"], body["ttsText"],
            body["voiceoverId"], body["voiceSpeed"]) == ("1", "1", "sim-avatar-1", "Hello there", "sim-voice-1", 1.1)


@pytest.mark.parametrize("speed", [0.7, 1.25, "fast"])
def test_video_avatar_voice_speed_outside_08_12_is_refused_before_topview(http, cloud, speed) -> None:
    response = post(http, "/topview/video-avatar", subscriber(cloud), avatar_id="a", text="t", voice_id="v",
                    voice_speed=speed)
    assert_error(response, 422, 400017)
    assert "voice_speed" in response.json()["message"] and not calls(cloud, "video_avatar/task/submit")


def product_avatar(http: httpx.Client, user: str, **overrides: Any) -> httpx.Response:
    files = {"product_image": ("p.png", image((320, 240)), "image/png"),
             "product_mask": ("pm.png", image((320, 240)), "image/png"),
             "template_image": ("t.jpg", image((400, 300), "JPEG"), "image/jpeg"),
             "template_mask": ("tm.png", image((400, 300)), "image/png")} | overrides.pop("files", {})
    fields = {"prompt": "Put the mug in her hand", "mode": "pro", "product_size": "3"} | overrides
    return post_form(http, "/topview/product-avatar", user, {k: v for k, v in files.items() if v}, **fields)


def test_product_avatar_chain_resumed_by_callbacks(http, cloud) -> None:
    user = subscriber(cloud)
    video_id = accepted(product_avatar(http, user))
    replace = task_of(cloud, video_id)
    finish_task_when_waiting(cloud, video_id, replace)

    animate = next_task(cloud, video_id, replace)
    middle = status(http, user, video_id)
    assert middle["status"] == "generating" and middle["video_url"] is None
    assert_mirrored(middle["image_url"], cloud, kind="image")  # the replaced product image, already ours
    finish_task_when_waiting(cloud, video_id, animate)
    done = finished(http, user, video_id)

    assert done["status"] == "success"
    assert_mirrored(done["video_url"], cloud)
    assert_mirrored(done["image_url"], cloud, kind="image")
    state = cloud.state()
    assert len(state["uploads"]) == 4 and all(u["uploaded"] for u in state["uploads"])
    ids = [u["file_id"] for u in state["uploads"]]
    replace_body = calls(cloud, "product_avatar/task/image_replace/submit")[0]["json"]
    assert {replace_body[k] for k in ("productImageFileId", "productMaskFileId", "templateImageFileId",
                                      "templateMaskFileId")} == set(ids)
    assert (replace_body["imageEditPrompt"], replace_body["productSize"]) == ("Put the mug in her hand", "3")
    video_body = calls(cloud, "product_avatar/task/image2Video/submit")[0]["json"]
    replaced = httpx.get(f"{cloud.topview}/v1/product_avatar/task/image_replace/result", params={"taskId": replace},
                         headers={"Topview-Uid": SIM_UID, "Authorization": "Bearer sim-topview-key"}).json()
    assert video_body["productReplaceResultKey"] == replaced["result"]["productReplaceResult"][0]["key"]
    assert video_body["mode"] == "pro"
    events = cloud.history(video_id)
    assert await_outcomes(events) == ["TaskSucceeded", "TaskSucceeded"]  # both steps resumed by callbacks
    assert states_entered(events) == 9  # Step, Next, Await, Step, Next, Await, Step, Next, Done
    assert [(c["biz_type"], c["acknowledged"]) for c in state["callbacks"]] == [
        ("PRODUCT_AVATAR_REPLACE_PRODUCT_IMAGE", True), ("PRODUCT_AVATAR_IMAGE2VIDEO", True)]


def test_product_avatar_chain_with_every_callback_lost_is_finished_by_polling(http, cloud) -> None:
    cloud.scenario(callback_loss=1.0)
    user = subscriber(cloud)
    video_id = accepted(product_avatar(http, user, files={"template_image": None, "template_mask": None},
                                       avatar_id="sim-product-avatar-1"))
    replace = task_of(cloud, video_id)
    finish_task_when_waiting(cloud, video_id, replace)
    finish_task_when_waiting(cloud, video_id, next_task(cloud, video_id, replace))
    done = finished(http, user, video_id, timeout=90)

    assert done["status"] == "success"
    assert_mirrored(done["video_url"], cloud)
    assert_mirrored(done["image_url"], cloud, kind="image")
    outcomes = await_outcomes(cloud.history(video_id))
    assert len(outcomes) >= 2 and set(outcomes) == {"TaskTimedOut"}
    assert all(c["lost"] for c in cloud.state()["callbacks"]) and len(cloud.state()["callbacks"]) == 2
    assert calls(cloud, "product_avatar/task/image_replace/submit")[0]["json"]["avatarId"] == "sim-product-avatar-1"


def test_product_avatar_refuses_a_mask_of_another_size_before_uploading(http, cloud) -> None:
    response = product_avatar(http, subscriber(cloud), files={"template_mask": ("tm.png", image((300, 300)),
                                                                                "image/png")})
    assert_error(response, 422, 400017)
    assert "template_mask is 300x300" in response.json()["message"]
    assert "template_image is 400x300" in response.json()["message"]
    assert cloud.state()["uploads"] == [] and not calls(cloud, "upload/credential")


def test_product_avatar_step_two_failing_ends_the_job_in_error(http, cloud) -> None:
    user = subscriber(cloud)
    video_id = accepted(product_avatar(http, user))
    replace = task_of(cloud, video_id)
    finish_task_when_waiting(cloud, video_id, replace)
    animate = next_task(cloud, video_id, replace)
    finish_task_when_waiting(cloud, video_id, animate, outcome="fail")

    done = finished(http, user, video_id)
    assert done["status"] == "error" and done["video_url"] is None
    assert done["image_url"]  # the first step's result stays available


def test_marketing_video_previews_then_export(http, cloud) -> None:
    user = subscriber(cloud)
    preview_id = accepted(post(http, "/topview/marketing-video", user, product_link="https://shop.example/mug",
                               aspect_ratio="9:16", language="en", video_length_type=2))
    m2v_task = finish_when_waiting(cloud, preview_id)
    preview = finished(http, user, preview_id)

    assert preview["status"] == "success" and len(preview["previews"]) == 2
    assert [p["script_id"] for p in preview["previews"]] == [0, 1]
    for item in preview["previews"]:
        assert item["duration_ms"] == 30000
        assert_mirrored(item["video_url"], cloud)
        assert_mirrored(item["cover_url"], cloud, kind="image")
    assert preview["video_url"].split("?")[0] == preview["previews"][0]["video_url"].split("?")[0]

    export_id = accepted(post(http, "/topview/marketing-video/export", user, video_id=preview_id, script_id=1))
    export_task = wait_for(lambda: next((t["id"] for t in cloud.state()["tasks"]
                                         if t["family"] == "m2v_export" and t["parent"] == m2v_task), None))
    finish_task_when_waiting(cloud, export_id, export_task)
    exported = finished(http, user, export_id)

    assert set(exported) == {"status", "video_url", "expires_at"} and exported["status"] == "success"
    assert_mirrored(exported["video_url"], cloud)
    assert calls(cloud, "m2v/export")[0]["json"] | {"noticeUrl": None} == {"taskId": m2v_task, "scriptId": 1,
                                                                          "noticeUrl": None}
    assert await_outcomes(cloud.history(export_id)) == ["TaskSucceeded"]  # the M2V_EXPORT callback resumed it
    assert status(http, user, preview_id)["status"] == "success"  # the preview job is untouched


def test_marketing_video_from_files(http, cloud) -> None:
    from infra.local.simulators.topview import SAMPLE_MP4

    user = subscriber(cloud)
    files = [("files", ("a.png", image(), "image/png")), ("files", ("b.bin", SAMPLE_MP4.read_bytes(), "video/mp4"))]
    response = http.post("/topview/marketing-video", files=files, data={
        "app_bundle_id": APP, "apphud_user_id": user, "product_name": "Mug", "product_description": "A red mug"})
    video_id = accepted(response)
    finish_when_waiting(cloud, video_id)

    assert finished(http, user, video_id)["status"] == "success"
    body = calls(cloud, "m2v/task/submit")[0]["json"]
    assert [u["format"] for u in cloud.state()["uploads"]] == ["png", "mp4"]
    assert body["fileIds"] == [u["file_id"] for u in cloud.state()["uploads"]]
    assert (body["productName"], body["productDescription"]) == ("Mug", "A red mug")


def test_export_needs_a_finished_preview_of_the_same_caller(http, cloud) -> None:
    owner, stranger = subscriber(cloud), subscriber(cloud)
    preview_id = accepted(post(http, "/topview/marketing-video", owner, product_link="https://shop.example/cup"))

    assert_error(post(http, "/topview/marketing-video/export", owner, video_id=preview_id), 422, 400017)  # unfinished
    finish_when_waiting(cloud, preview_id)
    finished(http, owner, preview_id)
    assert_error(post(http, "/topview/marketing-video/export", stranger, video_id=preview_id), 404, 500008)
    assert_error(post(http, "/topview/marketing-video/export", owner, video_id=preview_id, script_id=7), 422, 400017)
    assert_error(post(http, "/topview/marketing-video/export", owner, video_id="nope"), 404, 500008)


# --- provider routing: /text2video and /image2video ---


@pytest.fixture
def pixverse(local_cloud) -> Iterator[str]:
    base = local_cloud.info["pixverse"].removesuffix("/openapi/v2")
    httpx.post(f"{base}/_sim/reset").raise_for_status()
    httpx.post(f"{base}/_sim/scenario", json={"polls_until_done": 1}).raise_for_status()
    yield base
    httpx.post(f"{base}/_sim/reset").raise_for_status()


def pixverse_fails(base: str, code: int, endpoint: str = "video/text/generate") -> None:
    httpx.post(f"{base}/_sim/scenario", json={"fail_next": {"code": code, "times": 10, "endpoint": endpoint}}
               ).raise_for_status()


def routed_app(cloud: Cloud, name: str, **routes: dict[str, Any]) -> str:
    dev = cloud.apps.get(APP)
    assert dev is not None
    cloud.apps.put(App.model_validate(dev.model_dump() | {"bundle_id": name, "routes": routes}))
    return name


def test_an_unavailable_pixverse_fails_over_to_topview(http, cloud, pixverse) -> None:
    app = routed_app(cloud, "com.example.failover", text2video={"primary": "pixverse", "fallback": "topview"})
    pixverse_fails(pixverse, 500100)
    user = subscriber(cloud)

    video_id = accepted(post(http, "/text2video", user, app, prompt="A resilient cat"))

    job = cloud.job(video_id)
    assert job.kind == "topview.text2video" and (job.provider or {})["name"] == "topview"
    finish_when_waiting(cloud, video_id)
    done = finished(http, user, video_id, app)
    assert set(done) == {"status", "video_url", "expires_at"} and done["status"] == "success"  # Part A's, + expires_at
    assert_mirrored(done["video_url"], cloud)


@pytest.mark.parametrize(("code", "http_status"), [(500054, 403), (500063, 403), (500043, 402), (400017, 422)])
def test_no_failover_after_a_moderation_credit_or_caller_refusal(http, cloud, pixverse, code, http_status) -> None:
    app = routed_app(cloud, "com.example.failover", text2video={"primary": "pixverse", "fallback": "topview"})
    pixverse_fails(pixverse, code)

    response = post(http, "/text2video", subscriber(cloud), app, prompt="A refused cat")

    body = response.json()
    assert (response.status_code, body["code"], body["video_id"]) == (http_status, code, None)
    assert not calls(cloud, "common_task/text2video/task/submit")


def test_an_app_without_a_fallback_answers_pixverse_unavailability(http, cloud, pixverse) -> None:
    pixverse_fails(pixverse, 500100)
    response = post(http, "/text2video", subscriber(cloud), APP, prompt="A cat")
    assert response.status_code == 500 and response.json()["code"] == 500100
    assert not calls(cloud, "common_task/text2video/task/submit")


def test_topview_as_the_primary_of_image2video(http, cloud) -> None:
    app = routed_app(cloud, "com.example.topview.first", image2video={"primary": "topview"})
    user = subscriber(cloud)
    files = {"image": ("dog.png", image(), "image/png")}

    video_id = accepted(post_form(http, "/image2video", user, files, app, prompt="A dog"))

    assert cloud.job(video_id).kind == "topview.image2video"
    finish_when_waiting(cloud, video_id)
    assert finished(http, user, video_id, app)["status"] == "success"
    assert calls(cloud, "common_task/image2video/submit")[0]["json"]["prompt"] == "A dog"


def test_an_unavailable_topview_fails_over_to_pixverse(http, cloud, pixverse) -> None:
    app = routed_app(cloud, "com.example.topview.backup", text2video={"primary": "topview", "fallback": "pixverse"})
    cloud.scenario(fail_next={"code": "5003", "times": 10, "endpoint": "common_task/text2video/task/submit"})
    user = subscriber(cloud)

    video_id = accepted(post(http, "/text2video", user, app, prompt="A patient cat"))

    assert cloud.job(video_id).kind == "pixverse.text2video"
    assert finished(http, user, video_id, app)["status"] == "success"


def test_topview_refusing_as_the_primary_answers_its_table(http, cloud, pixverse) -> None:
    app = routed_app(cloud, "com.example.topview.backup", text2video={"primary": "topview", "fallback": "pixverse"})
    cloud.scenario(fail_next={"code": "6001", "endpoint": "common_task/text2video/task/submit"})
    assert_error(post(http, "/text2video", subscriber(cloud), app, prompt="A cat"), 403, 6001)


def test_a_refused_second_step_ends_the_job_and_a_moderated_one_stays_counted(http, cloud) -> None:
    for code, returned in (("6001", False), ("4100", True)):
        cloud.sim("reset")
        cloud.scenario(stall=True, fail_next={"code": code, "endpoint": "product_avatar/task/image2Video/submit"})
        user = subscriber(cloud)
        video_id = accepted(product_avatar(http, user))
        finish_task_when_waiting(cloud, video_id, task_of(cloud, video_id))

        assert finished(http, user, video_id)["status"] == "error"
        output = cloud.job(video_id).output or {}
        assert (output["error_code"], output["quota_returned"]) == (code, returned)


def test_a_second_step_waits_while_topview_is_unavailable(http, cloud) -> None:
    cloud.scenario(fail_next={"code": "5003", "times": 8, "endpoint": "product_avatar/task/image2Video/submit"})
    user = subscriber(cloud)
    video_id = accepted(product_avatar(http, user))
    replace = task_of(cloud, video_id)
    finish_task_when_waiting(cloud, video_id, replace)
    animate = next_task(cloud, video_id, replace, timeout=30)  # after 5003 kept answering (retried, then waited)
    finish_task_when_waiting(cloud, video_id, animate)
    assert finished(http, user, video_id)["status"] == "success"


def test_the_callback_path_answers_within_a_second(http, cloud) -> None:
    user = subscriber(cloud)
    video_id = accepted(post(http, "/topview/text2video", user, prompt="A timed cat"))
    task_id = task_of(cloud, video_id)
    wait_for(lambda: awaiting(cloud, video_id))
    body = {"uuid": "u", "bizType": "COMMON_TASK_TEXT2VIDEO", "taskId": task_id, "status": "success",
            "errorMsg": None, "result": {}}
    took = []
    for i in range(20):
        started = time.perf_counter()
        assert callback(http, body | {"uuid": f"u{i}"}).status_code == 200
        took.append(time.perf_counter() - started)
    assert sorted(took)[18] < 1.0, took  # p95 of 20 sequential genuine callbacks, each resuming the flow
