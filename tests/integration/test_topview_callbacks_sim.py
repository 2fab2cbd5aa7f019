"""The TopView simulator's noticeUrl callbacks, received over loopback HTTP by a receiver that uses
the client's own parse_callback / callback_reply: delivery, duplicates, loss, delay, retries."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from reelgate.providers.topview import (
    CallbackError,
    Family,
    Notice,
    TopViewClient,
    callback_reply,
    parse_callback,
)
from werkzeug.wrappers import Request, Response

from infra.local.simulators._server import SimServer, json_response
from infra.local.simulators.topview import TopViewSimulator

UID, KEY = "sim-uid", "sim-key"
PNG = b"\x89PNG\r\n\x1a\n fake image bytes"


class Receiver:
    """Our side of the callback: parse, then reply as documented (or with a queued HTTP status)."""

    def __init__(self) -> None:
        self.notices: list[Notice] = []
        self.raw: list[dict[str, Any]] = []
        self.statuses: list[int] = []  # replies to give before the documented one
        self._cond = threading.Condition()
        self._server = SimServer(self, "127.0.0.1", 0)
        self.url = ""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        return self._answer(request)(environ, start_response)

    def _answer(self, request: Request) -> Response:
        with self._cond:
            self.raw.append({"headers": dict(request.headers), "body": request.get_data()})
            try:
                notice = parse_callback(request.get_data(), request.headers, uid=UID)
            except CallbackError as exc:
                self._cond.notify_all()
                return json_response({"error": str(exc)}, exc.status)
            self.notices.append(notice)
            self._cond.notify_all()
            if self.statuses:
                return json_response({"error": "not now"}, self.statuses.pop(0))
        return json_response(callback_reply(notice.uuid, UID))

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Notice]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.notices) >= count, timeout)
            return list(self.notices)

    def start(self) -> None:
        self.url = self._server.start() + "/callbacks/topview"

    def stop(self) -> None:
        self._server.stop()


@pytest.fixture(scope="module")
def module_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
def receiver(module_receiver: Receiver) -> Receiver:
    module_receiver.notices.clear()
    module_receiver.raw.clear()
    module_receiver.statuses.clear()
    return module_receiver


@pytest.fixture
def client(topview_sim: TopViewSimulator) -> Iterator[TopViewClient]:
    topview_sim.reset()
    topview_sim.configure(seconds_until_done=0.05)  # tasks finish (and call back) without being polled
    with TopViewClient(topview_sim.base_url, UID, KEY, timeout=5.0, check_interval_seconds=0.0) as topview:
        yield topview


def test_a_callback_is_delivered_without_polling(topview_sim: TopViewSimulator, client: TopViewClient,
                                                 receiver: Receiver) -> None:
    task = client.submit_text2video(prompt="a fox", notice_url=receiver.url)
    (notice,) = receiver.wait_for(1)
    assert (notice.task_id, notice.biz_type, notice.status) == (task.task_id, "COMMON_TASK_TEXT2VIDEO", "success")
    headers = {k.lower(): v for k, v in receiver.raw[0]["headers"].items()}
    assert headers["topview-uid"] == UID and headers["content-type"] == "application/json"
    assert not [c for c in topview_sim.state.calls if c["endpoint"].endswith("/query")]  # nobody polled
    # The attached result is the query's result object, field for field.
    assert notice.result == client.query(Family.TEXT2VIDEO, task.task_id).raw
    assert httpx.get(notice.task().video_url or "").content[4:8] == b"ftyp"
    time.sleep(0.05)
    assert [(c["acknowledged"], c["lost"]) for c in topview_sim.callbacks] == [(True, False)]


def test_the_product_avatar_chain_runs_on_callbacks(client: TopViewClient, receiver: Receiver) -> None:
    product = client.upload(PNG, "image/png")
    client.submit_product_replace(product_image_file_id=product, image_edit_prompt="hold it",
                                  avatar_id="sim-product-avatar-1", notice_url=receiver.url)
    replaced = receiver.wait_for(1)[0]
    assert replaced.biz_type == "PRODUCT_AVATAR_REPLACE_PRODUCT_IMAGE" and replaced.family == Family.PRODUCT_REPLACE
    key = replaced.task().replace_key
    assert key
    video = client.submit_product_video(replace_result_key=key, notice_url=receiver.url)
    finished = receiver.wait_for(2)[1]
    assert (finished.task_id, finished.biz_type) == (video.task_id, "PRODUCT_AVATAR_IMAGE2VIDEO")
    assert "taskStatus" in finished.result and finished.task().video_url


def test_m2v_preview_and_export_call_back_separately(client: TopViewClient, receiver: Receiver) -> None:
    preview = client.submit_m2v(product_link="https://shop.test/mug", notice_url=receiver.url)
    first = receiver.wait_for(1)[0]
    assert first.biz_type == "M2V_PREVIEW" and len(first.task().previews) == 2
    client.export_m2v(preview.task_id, script_id=1, notice_url=receiver.url)
    second = receiver.wait_for(2)[1]
    assert (second.biz_type, second.task_id) == ("M2V_EXPORT", preview.task_id)
    exported = second.task(script_id=1)
    assert exported.status == "success" and "export-1.mp4" in (exported.video_url or "")


def test_a_failure_is_called_back_with_its_error(topview_sim: TopViewSimulator, client: TopViewClient,
                                                 receiver: Receiver) -> None:
    topview_sim.configure(fail_prompts=["forbidden"])
    client.submit_text2image(prompt="something forbidden", notice_url=receiver.url)
    (notice,) = receiver.wait_for(1)
    assert (notice.status, notice.error) == ("fail", "Content moderation failed")
    assert notice.task().status == "fail"


def test_duplicates_carry_the_same_uuid(topview_sim: TopViewSimulator, client: TopViewClient,
                                        receiver: Receiver) -> None:
    topview_sim.configure(callback_duplicates=2, callback_duplicate_delay_seconds=0.02)
    task = client.submit_text2video(prompt="a fox", notice_url=receiver.url)
    notices = receiver.wait_for(3)
    assert len(notices) == 3 and {n.uuid for n in notices} == {notices[0].uuid}
    assert {n.task_id for n in notices} == {task.task_id}


def test_lost_callbacks_leave_polling_to_finish_the_task(topview_sim: TopViewSimulator, client: TopViewClient,
                                                         receiver: Receiver) -> None:
    topview_sim.configure(callback_loss=1.0)
    task = client.submit_text2video(prompt="a fox", notice_url=receiver.url)
    time.sleep(0.4)
    assert receiver.notices == [] and [c["lost"] for c in topview_sim.callbacks] == [True]
    assert client.query(Family.TEXT2VIDEO, task.task_id).status == "success"
    # A late copy on demand still arrives (never lost).
    httpx.post(f"{topview_sim.base_url}/_sim/tasks/{task.task_id}/callback").raise_for_status()
    assert receiver.wait_for(1)[0].task_id == task.task_id


def test_loss_is_a_probability(topview_sim: TopViewSimulator, client: TopViewClient, receiver: Receiver) -> None:
    topview_sim.configure(callback_loss=0.5, seed=7)
    for i in range(12):
        client.submit_text2image(prompt=f"mug {i}", notice_url=receiver.url)
    time.sleep(0.6)
    lost = sum(1 for c in topview_sim.callbacks if c["lost"])
    assert len(topview_sim.callbacks) == 12 and 0 < lost < 12 and len(receiver.notices) == 12 - lost


def test_callbacks_can_be_late(topview_sim: TopViewSimulator, client: TopViewClient, receiver: Receiver) -> None:
    topview_sim.configure(callback_delay_seconds=0.5)
    started = time.monotonic()
    client.submit_text2video(prompt="a fox", notice_url=receiver.url)
    time.sleep(0.2)
    assert receiver.notices == []
    receiver.wait_for(1)
    assert time.monotonic() - started >= 0.55 - 0.01


def test_an_unacknowledged_callback_is_retried(topview_sim: TopViewSimulator, client: TopViewClient,
                                               receiver: Receiver) -> None:
    topview_sim.configure(callback_retries=2, callback_retry_seconds=0.05)
    receiver.statuses.append(500)
    client.submit_text2video(prompt="a fox", notice_url=receiver.url)
    notices = receiver.wait_for(2)
    assert notices[0].uuid == notices[1].uuid
    time.sleep(0.1)
    assert [(c["attempt"], c["http_status"], c["acknowledged"]) for c in topview_sim.callbacks] == [
        (0, 500, False), (1, 200, True)]


def test_numeric_uuids_are_acknowledged(topview_sim: TopViewSimulator, client: TopViewClient,
                                        receiver: Receiver) -> None:
    topview_sim.configure(callback_uuid_type="int")
    client.submit_text2video(prompt="a fox", notice_url=receiver.url)
    (notice,) = receiver.wait_for(1)
    assert notice.uuid.isdigit()
    time.sleep(0.05)
    assert [c["acknowledged"] for c in topview_sim.callbacks] == [True]


def test_a_reset_drops_pending_callbacks(topview_sim: TopViewSimulator, client: TopViewClient,
                                         receiver: Receiver) -> None:
    topview_sim.configure(callback_delay_seconds=0.3)
    client.submit_text2video(prompt="a fox", notice_url=receiver.url)
    time.sleep(0.1)
    topview_sim.reset()
    time.sleep(0.4)
    assert receiver.notices == [] and topview_sim.callbacks == []
