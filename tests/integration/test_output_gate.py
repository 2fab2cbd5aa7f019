"""The output gate: a render whose file does not match the request fails the job and refunds it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from reelgate import aws, media
from reelgate.media import gate
from reelgate.media.zoom import ZoomPlan
from reelgate.toolkit.keys import ApiKeys

from infra.local.lambdas import invoke
from tests.helpers import circle_image, event, reply

KEY = "rg_gate_key"


@pytest.fixture
def key(cloud):
    return ApiKeys(aws.table(cloud.env["REELGATE_STATE_TABLE"])).create("gate", credits=100, plaintext=KEY)[1]


def submit(body: dict[str, Any]) -> tuple[int, Any]:
    return reply(invoke("toolkit_image_to_video", event("toolkit_image_to_video", body, headers={"x-api-key": KEY})))


def test_a_render_whose_output_does_not_match_fails_with_a_clear_error_and_a_refund(
        cloud, key, file_server, monkeypatch) -> None:
    # Given a renderer that writes a video twice as long as asked (24 frames asked, 48 made)
    real = media.render_image_video

    def wrong_length(image: Path, out: Path, **kw: Any) -> ZoomPlan:
        plan = real(image, out, **kw)
        real(image, out, **(kw | {"length": kw["length"] * 2}))
        return plan

    monkeypatch.setattr(media, "render_image_video", wrong_length)
    circle_image(file_server.root / "still.jpg", (320, 240))

    # When a job asks for one second at 24 fps
    status, envelope = submit({"image_url": f"{file_server.base_url}/still.jpg", "length": 1, "frame_rate": 24})

    # Then the job fails with the gate's sentence, nothing is left in the bucket and the credits come back
    assert status == 500 and envelope["code"] == 500, envelope
    assert envelope["message"] == "the output does not match the request: 48 frames instead of 24"
    assert "Contents" not in aws.client("s3").list_objects_v2(Bucket="media", Prefix=envelope["job_id"])
    assert ApiKeys(aws.table("state")).get(key.key_id).credits == 100


def test_the_gate_names_every_difference(tmp_path, file_server) -> None:
    still = circle_image(tmp_path / "s.png", (640, 480), "PNG")
    out = tmp_path / "out.mp4"
    plan = media.render_image_video(still, out, length=0.5, frame_rate=24, zoom_speed=3)
    assert gate.check_output(out, gate.for_image_video(plan)).frame_count == 12

    with pytest.raises(gate.OutputMismatch) as caught:
        gate.check_output(out, gate.Expected(codec="hevc", size=(1280, 720), frames=10, duration=3.0))
    assert str(caught.value) == (f"the output does not match the request: codec h264 instead of hevc; "
                                 f"{plan.canvas[0]}x{plan.canvas[1]} instead of 1280x720; 12 frames instead of 10; "
                                 "0.50 s instead of 3.00 s")

    out.write_bytes(b"not a video")
    with pytest.raises(gate.OutputMismatch, match="not a readable video"):
        gate.check_output(out, gate.for_image_video(plan))
