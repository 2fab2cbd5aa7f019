"""TopViewClient against the TopView simulator over real HTTP on 127.0.0.1: uploads, every family's
submit → query → success, the error table, retries and 4007."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from reelgate.providers.topview import Family, TopViewClient, TopViewError, UnfinishedTask, is_unavailable
from reelgate.providers.topview_errors import UPLOAD_FAILED

from infra.local.simulators.topview import TopViewSimulator

UID, KEY = "sim-uid", "sim-key"
PNG = b"\x89PNG\r\n\x1a\n fake image bytes"


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(topview_sim: TopViewSimulator, topview_control: httpx.Client,
           sleeps: list[float]) -> Iterator[TopViewClient]:
    with TopViewClient(topview_sim.base_url, UID, KEY, timeout=5.0, retry_base_seconds=0.01, check_interval_seconds=0.0,
                       min_attempt_seconds=0.1, sleep=sleeps.append) as topview:
        yield topview


def scenario(topview_control: httpx.Client, **knobs: Any) -> None:
    topview_control.post("/_sim/scenario", json=knobs).raise_for_status()


def sim_state(topview_control: httpx.Client) -> dict[str, Any]:
    return topview_control.get("/_sim/state").json()


def calls(topview_control: httpx.Client, endpoint: str) -> list[dict[str, Any]]:
    return [c for c in sim_state(topview_control)["calls"] if c["endpoint"] == endpoint]


def poll(client: TopViewClient, family: Family, task_id: str, **options: Any) -> list[str]:
    """Statuses seen until the task is terminal (at most 10 looks)."""
    seen = []
    for _ in range(10):
        result = client.query(family, task_id, **options)
        seen.append(result.status)
        if result.terminal:
            return seen
    raise AssertionError(f"never finished: {seen}")


def fetch(url: str | None) -> httpx.Response:
    assert url is not None
    response = httpx.get(url)
    assert response.status_code == 200
    return response


# --- uploads ---


def test_upload_returns_a_checked_file_id(client: TopViewClient, topview_control: httpx.Client) -> None:
    scenario(topview_control, check_false_polls=2)  # S3 lag: the check says false twice after the PUT
    file_id = client.upload(PNG, "image/png")
    state = sim_state(topview_control)
    assert state["uploads"] == [{"file_id": file_id, "uid": UID, "format": "png", "uploaded": True,
                                 "size": len(PNG), "content_type": "image/png"}]
    put = calls(topview_control, "upload/put")[0]
    assert "authorization" not in put["headers"] and "topview-uid" not in put["headers"]
    assert len(calls(topview_control, "upload/check")) == 3


def test_a_refused_upload_url_is_replaced(client: TopViewClient, topview_control: httpx.Client) -> None:
    scenario(topview_control,
             fail_next={"endpoint": "upload/put", "http_status": 403, "message": "Request has expired"})
    file_id = client.upload(PNG, "image/png")
    assert len(calls(topview_control, "upload/credential")) == 2 and len(calls(topview_control, "upload/put")) == 2
    assert [u["uploaded"] for u in sim_state(topview_control)["uploads"] if u["file_id"] == file_id] == [True]


def test_expired_upload_urls_fail_the_upload(client: TopViewClient, topview_control: httpx.Client) -> None:
    scenario(topview_control, upload_url_ttl_seconds=0.0)
    with pytest.raises(TopViewError) as caught:
        client.upload(PNG, "image/png")
    assert (caught.value.code, caught.value.upstream_status) == (UPLOAD_FAILED, 403)


def test_unsupported_format_is_4000(client: TopViewClient) -> None:
    with pytest.raises(TopViewError) as caught:
        client.upload(b"GIF89a", "image/gif", format="gif")
    assert caught.value.code == "4000" and caught.value.status == 422


# --- every family: submit → query → success ---


def test_product_avatar_chain(client: TopViewClient, topview_control: httpx.Client) -> None:
    product = client.upload(PNG, "image/png")
    replace = client.submit_product_replace(product_image_file_id=product, image_edit_prompt="hold the mug",
                                            avatar_id="sim-product-avatar-1", product_size="3")
    assert len(replace.task_id) == 32 and replace.status == "init"
    assert poll(client, Family.PRODUCT_REPLACE, replace.task_id) == ["init", "running", "success"]
    replaced = client.query(Family.PRODUCT_REPLACE, replace.task_id)
    assert "taskStatus" in replaced.raw and "status" not in replaced.raw  # the v1 quirk
    assert replaced.replace_key and fetch(replaced.image_url).headers["content-type"] == "image/jpeg"
    video = client.submit_product_video(replace_result_key=replaced.replace_key, mode="pro", prompt="smile")
    poll(client, Family.PRODUCT_VIDEO, video.task_id)
    done = client.query(Family.PRODUCT_VIDEO, video.task_id)
    assert done.succeeded and fetch(done.video_url).content[4:8] == b"ftyp"


def test_marketing_video_preview_then_export(client: TopViewClient, topview_control: httpx.Client) -> None:
    scenario(topview_control, m2v_preview_count=3, m2v_duration_ms=31_500)
    files = [client.upload(PNG, "image/png"), client.upload(b"\x00\x00\x00\x18ftypmp42", "video/mp4")]
    preview = client.submit_m2v(file_ids=files, product_name="Mug", product_description="A mug",
                                aspect_ratio="9:16", video_length_type=2)
    poll(client, Family.M2V, preview.task_id)
    result = client.query(Family.M2V, preview.task_id)
    assert [(p.script_id, p.duration_ms) for p in result.previews] == [(0, 31_500), (1, 31_500), (2, 31_500)]
    assert fetch(result.previews[2].cover_url).headers["content-type"] == "image/jpeg"
    export = client.export_m2v(preview.task_id, script_id=2)
    assert poll(client, Family.M2V_EXPORT, export.task_id, script_id=2)[-1] == "success"
    exported = client.query(Family.M2V_EXPORT, export.task_id, script_id=2)
    assert exported.video_url and "export-2.mp4" in exported.video_url and fetch(exported.video_url)


def test_export_answering_its_own_task_id(client: TopViewClient, topview_control: httpx.Client) -> None:
    scenario(topview_control, export_task_id="new", polls_until_done=0)
    preview = client.submit_m2v(product_link="https://shop.test/mug")
    poll(client, Family.M2V, preview.task_id)
    export = client.export_m2v(preview.task_id)
    assert export.task_id != preview.task_id
    assert poll(client, Family.M2V_EXPORT, export.task_id)[-1] == "success"


def test_video_avatar(client: TopViewClient) -> None:
    task = client.submit_video_avatar(avatar_id="sim-avatar-1", text="Hello there", voice_speed=1.2)
    poll(client, Family.VIDEO_AVATAR, task.task_id)
    assert fetch(client.query(Family.VIDEO_AVATAR, task.task_id).video_url).content[4:8] == b"ftyp"


def test_common_image2video(client: TopViewClient, topview_control: httpx.Client) -> None:
    image = client.upload(PNG, "image/png")
    task = client.submit_image2video(image_file_id=image, prompt="zoom in", duration=10, mode="pro",
                                     generating_count=2)
    poll(client, Family.IMAGE2VIDEO, task.task_id)
    result = client.query(Family.IMAGE2VIDEO, task.task_id)
    assert len(result.video_urls) == 2 and result.cost_credit == 1.0 and fetch(result.video_url)
    assert sim_state(topview_control)["balance"] == 10_000 - 1.0


def test_common_text2video(client: TopViewClient) -> None:
    task = client.submit_text2video(prompt="a fox in snow", duration=5, aspect_ratio="16:9")
    poll(client, Family.TEXT2VIDEO, task.task_id)
    assert fetch(client.query(Family.TEXT2VIDEO, task.task_id).video_url).content[4:8] == b"ftyp"


def test_common_text2image(client: TopViewClient) -> None:
    task = client.submit_text2image(prompt="a red mug", aspect_ratio="1:1", count=2)
    poll(client, Family.TEXT2IMAGE, task.task_id)
    result = client.query(Family.TEXT2IMAGE, task.task_id)
    assert len(result.image_urls) == 2 and result.video_url is None
    assert fetch(result.image_url).content[:2] == b"\xff\xd8"  # JPEG


def test_a_failing_task_ends_fail_without_a_charge(client: TopViewClient, topview_control: httpx.Client) -> None:
    scenario(topview_control, final_status="fail", fail_message="Generation failed: no product found")
    task = client.submit_text2video(prompt="a fox")
    assert poll(client, Family.TEXT2VIDEO, task.task_id)[-1] == "fail"
    result = client.query(Family.TEXT2VIDEO, task.task_id)
    assert result.error == "Generation failed: no product found" and sim_state(topview_control)["balance"] == 10_000


# --- the error table, one row at a time ---


@pytest.mark.parametrize(("code", "status"), [
    ("4000", 422), ("4001", 422), ("4002", 401), ("4003", 422), ("4004", 404), ("4005", 409), ("4006", 403),
    ("4007", 429), ("4100", 402), ("5000", 502), ("5001", 502), ("5003", 503), ("5004", 502), ("5005", 502),
    ("6001", 403), ("4999", 502),
])
def test_each_code_on_demand(client: TopViewClient, topview_control: httpx.Client, code: str, status: int) -> None:
    with pytest.raises(TopViewError) as caught:
        client.submit_text2video(prompt=f"a fox sim-error:{code}")
    assert (caught.value.code, caught.value.status) == (code, status)
    assert caught.value.body() == {"code": int(code), "message": caught.value.message, "video_id": None}
    assert sim_state(topview_control)["tasks"] == []  # refusals create no task
    assert is_unavailable(caught.value) is (status >= 500)


@pytest.mark.parametrize(("code", "http"), [("4000", 400), ("4100", 402), ("6001", 403), ("5003", 503)])
def test_codes_over_non_2xx(client: TopViewClient, topview_control: httpx.Client, code: str, http: int) -> None:
    scenario(topview_control, error_http_mode="status", fail_next={"code": code, "times": 10,
                                                           "endpoint": "common_task/text2image/task/submit"})
    with pytest.raises(TopViewError) as caught:
        client.submit_text2image(prompt="a mug")
    assert (caught.value.code, caught.value.upstream_status) == (code, http)


def test_natural_refusals(topview_sim: TopViewSimulator, client: TopViewClient, topview_control: httpx.Client) -> None:
    refusals = {
        "4003": lambda: client.submit_product_replace(product_image_file_id="", image_edit_prompt="x", avatar_id="a"),
        "4000": lambda: client.submit_image2video(image_file_id=client.upload(PNG, "image/png"), duration=7),
        "4004": lambda: client.query(Family.TEXT2VIDEO, "0" * 32),
    }
    for code, call in refusals.items():
        with pytest.raises(TopViewError) as caught:
            call()
        assert caught.value.code == code
    scenario(topview_control, balance=0.5)
    with pytest.raises(TopViewError) as broke:
        client.submit_text2video(prompt="a fox")
    assert broke.value.code == "4100"
    with TopViewClient(topview_sim.base_url, UID, "wrong-key") as stranger, pytest.raises(TopViewError) as denied:
        stranger.remaining_credit()
    assert (denied.value.code, denied.value.status) == ("4002", 401)


def test_5003_is_retried_then_succeeds(client: TopViewClient, topview_control: httpx.Client,
                                       sleeps: list[float]) -> None:
    scenario(topview_control, fail_next={"code": "5003", "times": 2, "endpoint": "common_task/text2video/task/submit"})
    task = client.submit_text2video(prompt="a fox")
    assert len(calls(topview_control, "common_task/text2video/task/submit")) == 3 and len(sleeps) == 2
    assert [t["id"] for t in sim_state(topview_control)["tasks"]] == [task.task_id]


def test_a_gateway_page_on_a_query_is_retried(client: TopViewClient, topview_control: httpx.Client) -> None:
    task = client.submit_text2video(prompt="a fox")
    scenario(topview_control, fail_next={"raw": "<html>502 Bad Gateway</html>", "http_status": 502,
                                 "endpoint": "common_task/text2video/task/query"})
    assert client.query(Family.TEXT2VIDEO, task.task_id).status == "init"


def test_4007_is_surfaced_then_the_resubmit_succeeds(client: TopViewClient, topview_control: httpx.Client,
                                                     sleeps: list[float]) -> None:
    scenario(topview_control, max_unfinished_tasks=1)
    first = client.submit_text2video(prompt="first")
    with pytest.raises(UnfinishedTask) as caught:
        client.submit_text2video(prompt="second")
    assert caught.value.status == 429 and sleeps == []
    assert len(calls(topview_control, "common_task/text2video/task/submit")) == 2  # no retry loop
    poll(client, Family.TEXT2VIDEO, first.task_id)
    assert client.submit_text2video(prompt="second").task_id
