"""Toolkit inboxes: the upload function may only put objects under inbox/, and the trigger watches inbox/ only."""

from __future__ import annotations

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
