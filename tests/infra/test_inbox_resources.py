"""Inboxes: the upload functions may only put objects under their inbox (toolkit: inbox/, mobile: inbox/mobile/),
only the image endpoints read the mobile inbox, and the trigger watches inbox/ only."""

from __future__ import annotations

from typing import Any

import pytest
from infra_helpers import Synth, actions_of, of_type, role_statements


def _role_id(synth: Synth, name: str) -> str:
    return str(synth.resources[synth.function_id(name)]["Properties"]["Role"]["Fn::GetAtt"][0])


def test_the_upload_function_may_put_objects_under_inbox_and_nothing_else_in_the_bucket(synth: Synth) -> None:
    [bucket_id] = [key for key, res in of_type(synth.resources, "AWS::S3::Bucket").items()
                   if key == synth.logical_id(synth.stack.media.bucket)]
    statements = role_statements(synth.resources, _role_id(synth, "toolkit_upload"))
    s3 = [s for s in statements if any(a.startswith("s3:") for a in actions_of([s]))]
    assert len(s3) == 1 and actions_of(s3) == {"s3:PutObject"}
    assert s3[0]["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/inbox/*"]]}
    assert not any(a.startswith(("states:", "events:", "secretsmanager:")) for a in actions_of(statements))


def test_the_ingest_trigger_watches_the_inbox_prefix_only(synth: Synth) -> None:
    [notifications] = of_type(synth.resources, "Custom::S3BucketNotifications").values()
    rules = notifications["Properties"]["NotificationConfiguration"]["LambdaFunctionConfigurations"]
    ingest = {"Fn::GetAtt": [synth.function_id("s3_ingest"), "Arn"]}
    assert [r["Filter"]["Key"]["FilterRules"] for r in rules if r["LambdaFunctionArn"] == ingest] == [
        [{"Name": "prefix", "Value": "inbox/"}]]


def _s3_statements(synth: Synth, name: str) -> list[dict[str, Any]]:
    statements = role_statements(synth.resources, _role_id(synth, name))
    return [s for s in statements if any(a.startswith("s3:") for a in actions_of([s]))]


def _under(synth: Synth, prefix: str) -> dict[str, Any]:
    return {"Fn::Join": ["", [{"Fn::GetAtt": [synth.logical_id(synth.stack.media.bucket), "Arn"]}, prefix]]}


def test_the_mobile_upload_function_may_put_objects_under_the_mobile_inbox_and_nothing_else(synth: Synth) -> None:
    [s3] = _s3_statements(synth, "mobile_upload")
    assert actions_of([s3]) == {"s3:PutObject"} and s3["Resource"] == _under(synth, "/inbox/mobile/*")
    statements = role_statements(synth.resources, _role_id(synth, "mobile_upload"))
    assert not any(a.startswith(("states:", "events:")) for a in actions_of(statements))
    assert not any("jobs" in str(s["Resource"]).lower() for s in statements)  # no job is written by an upload


@pytest.mark.parametrize("name", ["image_to_video", "topview_image_to_video", "topview_product_avatar",
                                  "topview_marketing_video"])
def test_image_endpoints_may_read_the_mobile_inbox_only(synth: Synth, name: str) -> None:
    reads = [s for s in _s3_statements(synth, name) if "s3:GetObject" in actions_of([s])]
    assert len(reads) == 1 and actions_of(reads) == {"s3:GetObject"}
    assert reads[0]["Resource"] == _under(synth, "/inbox/mobile/*")


@pytest.mark.parametrize("name", ["text_to_video", "topview_text_to_video", "topview_video_avatar", "get_status",
                                  "toolkit_upload", "s3_ingest"])
def test_functions_that_take_no_upload_key_cannot_read_or_write_the_mobile_inbox(synth: Synth, name: str) -> None:
    assert all(s["Resource"] != _under(synth, "/inbox/mobile/*") for s in _s3_statements(synth, name))


def test_no_notification_watches_the_mobile_inbox_by_itself(synth: Synth) -> None:
    """S3 filters cannot exclude a prefix: the one inbox/ rule covers inbox/mobile/ too, and s3_ingest drops
    those objects (tests/unit/test_mobile_uploads.py); no rule names the mobile prefix or any other function."""
    [notifications] = of_type(synth.resources, "Custom::S3BucketNotifications").values()
    config = notifications["Properties"]["NotificationConfiguration"]
    rules = config["LambdaFunctionConfigurations"]
    assert {r["LambdaFunctionArn"]["Fn::GetAtt"][0] for r in rules} == {synth.function_id("s3_ingest")}
    assert not any("mobile" in str(r["Filter"]) for r in rules)
    assert not config.get("QueueConfigurations") and not config.get("TopicConfigurations")
    assert not config.get("EventBridgeConfiguration")
