"""The segmented render in the toolkit flow: a Map of frame ranges, the stream-copy join, their grants."""

from __future__ import annotations

import json
from typing import Any

from infra_helpers import Synth, actions_of, role_statements
from reelgate.settings import Settings

from infra import environment, registry

ASL: dict[str, Any] = json.loads(registry.STATEMACHINES_DIR.joinpath("toolkit.asl.json").read_text())
STATES = ASL["States"]


def test_a_render_that_lists_segments_goes_to_the_map_else_straight_to_settling() -> None:
    assert STATES["Render"]["Next"] == "Segmented"
    assert STATES["Render"]["ResultSelector"]["segments.$"] == "$.Payload.segments"
    choice = STATES["Segmented"]
    assert choice["Type"] == "Choice" and choice["Default"] == "SettleSuccess"
    assert choice["Choices"] == [{"Variable": "$.render.segmented", "BooleanEquals": True, "Next": "RenderSegments"}]


def test_the_map_renders_each_range_inline_with_the_render_function_at_the_configured_concurrency() -> None:
    fan = STATES["RenderSegments"]
    assert fan["Type"] == "Map" and fan["ItemsPath"] == "$.render.segments"
    assert fan["MaxConcurrencyPath"] == "$.render.concurrency"
    assert fan["ItemSelector"] == {"job_id.$": "$.job_id", "segment.$": "$$.Map.Item.Value"}
    processor = fan["ItemProcessor"]
    assert processor["ProcessorConfig"] == {"Mode": "INLINE"}
    task = processor["States"][processor["StartAt"]]
    assert task["Parameters"] == {"FunctionName": "${RenderFunctionArn}",
                                  "Payload": {"job_id.$": "$.job_id", "step": "segment", "segment.$": "$.segment"}}
    assert task["End"] is True and "Catch" not in task  # a failed range fails the whole Map
    throttled, *_ = task["Retry"]  # a job's ranges queue for the render function's reserved concurrency
    assert throttled["ErrorEquals"] == ["Lambda.TooManyRequestsException"]
    waits = [min(throttled["IntervalSeconds"] * throttled["BackoffRate"] ** n, throttled["MaxDelaySeconds"])
             for n in range(throttled["MaxAttempts"])]
    assert sum(waits) >= 300  # longer than several ranges take on Lambda (bench/segments.py)
    # one job's ranges at once fit in the render function's reserved concurrency
    assert Settings().toolkit_segment_concurrency <= registry.function("toolkit_render").reserved_concurrency
    assert fan["ResultPath"] is None  # the ranges' answers are not carried in the state
    assert fan["Next"] == "JoinSegments"


def test_the_join_settles_as_the_one_piece_render_does() -> None:
    join = STATES["JoinSegments"]
    assert join["Parameters"]["FunctionName"] == "${RenderFunctionArn}"
    assert join["Parameters"]["Payload"] == {"job_id.$": "$.job_id", "step": "join", "segments.$": "$.render.segments"}
    assert join["ResultSelector"] == {"output_key.$": "$.Payload.output_key", "run_time.$": "$.Payload.run_time"}
    assert join["ResultPath"] == "$.render" and join["Next"] == "SettleSuccess"
    for name in ("Render", "RenderSegments", "JoinSegments"):
        assert STATES[name]["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error",
                                          "Next": "SettleFailure"}]


def test_the_render_function_may_delete_under_segments_only(synth: Synth) -> None:
    role = synth.resources[synth.function_id("toolkit_render")]["Properties"]["Role"]["Fn::GetAtt"][0]
    deletes = [s for s in role_statements(synth.resources, role) if "s3:DeleteObject" in actions_of([s])]
    bucket = {"Fn::GetAtt": [synth.logical_id(synth.stack.media.bucket), "Arn"]}
    assert len(deletes) == 1 and actions_of(deletes) == {"s3:DeleteObject"}
    assert deletes[0]["Resource"] == {"Fn::Join": ["", [bucket, "/segments/*"]]}
    others = [fn.name for fn in registry.FUNCTIONS if "media:segments" in fn.grants]
    assert others == ["toolkit_render"]


def test_the_render_function_reads_the_segment_settings() -> None:
    reads = environment.operator_settings(registry.function("toolkit_render"))
    assert {"toolkit_segment_frames", "toolkit_segment_concurrency"} <= set(reads)
