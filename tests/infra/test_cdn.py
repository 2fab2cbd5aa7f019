"""Output delivery per stage: CloudFront with origin access control and a trusted key group (the default of
both stages), the bucket policy that lets only that distribution read only the outputs, what the signing
functions are given; and a stage that chooses presigned links instead has none of it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from infra_helpers import Synth, as_list, of_type, refs_in, role_id_of, role_statements, synthesize
from pydantic import ValidationError
from reelgate.links import OUTPUT_PREFIXES

from infra import layers, registry
from infra.app import CDK_JSON, stage_of

CONTEXT = json.loads(CDK_JSON.read_text())["context"]
SIGNERS = sorted(fn.name for fn in registry.FUNCTIONS if "cdn:sign" in fn.grants)
CDN_VARIABLES = ("REELGATE_CDN_URL", "REELGATE_CDN_KEY_PAIR_ID", "REELGATE_CDN_PRIVATE_KEY_SECRET")


@pytest.fixture(scope="module")
def presigned(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The dev stage with output_delivery "presigned"."""
    stages = {**CONTEXT["stages"], "dev": {**CONTEXT["stages"]["dev"], "output_delivery": "presigned"}}
    return synthesize(tmp_path_factory.mktemp("layers"), tmp_path_factory.mktemp("cdk.out"),
                      extra_context={"stages": stages})  # type: ignore[dict-item]


def one(resources: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    (found,) = of_type(resources, kind).items()
    return found


def environment_of(synth: Synth, name: str) -> dict[str, Any]:
    return dict(synth.resources[synth.function_id(name)]["Properties"]["Environment"]["Variables"])


def test_both_stages_deliver_outputs_through_cloudfront() -> None:
    assert {name: stage["output_delivery"] for name, stage in CONTEXT["stages"].items()} == {
        "dev": "cloudfront", "prod": "cloudfront"}


def test_the_distribution_reads_the_bucket_through_origin_access_control(synth: Synth) -> None:
    oac_id, oac = one(synth.resources, "AWS::CloudFront::OriginAccessControl")
    config = oac["Properties"]["OriginAccessControlConfig"]
    assert (config["OriginAccessControlOriginType"], config["SigningBehavior"], config["SigningProtocol"]) == (
        "s3", "always", "sigv4")
    _, distribution = one(synth.resources, "AWS::CloudFront::Distribution")
    (origin,) = distribution["Properties"]["DistributionConfig"]["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [oac_id, "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # no legacy OAI
    assert origin["DomainName"] == {"Fn::GetAtt": [synth.logical_id(synth.stack.media.bucket), "RegionalDomainName"]}


def test_only_urls_signed_by_the_stages_key_are_served(synth: Synth) -> None:
    key_id, key = one(synth.resources, "AWS::CloudFront::PublicKey")
    group_id, group = one(synth.resources, "AWS::CloudFront::KeyGroup")
    _, distribution = one(synth.resources, "AWS::CloudFront::Distribution")
    behavior = distribution["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]
    assert behavior["TrustedKeyGroups"] == [{"Ref": group_id}]
    assert "CacheBehaviors" not in distribution["Properties"]["DistributionConfig"]  # no unsigned path
    assert behavior["ViewerProtocolPolicy"] == "https-only" and behavior["AllowedMethods"] == ["GET", "HEAD"]
    assert group["Properties"]["KeyGroupConfig"]["Items"] == [{"Ref": key_id}]
    # The public key is the operator's (make cdn-key), read from SSM at deploy time.
    parameter = key["Properties"]["PublicKeyConfig"]["EncodedKey"]["Ref"]
    declared = synth.template.to_json()["Parameters"][parameter]
    assert declared == {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/reelgate/dev/cdn-public-key"}


def cloudfront_statements(synth: Synth) -> list[dict[str, Any]]:
    bucket = synth.logical_id(synth.stack.media.bucket)
    (policy,) = [p for p in of_type(synth.resources, "AWS::S3::BucketPolicy").values()
                 if p["Properties"]["Bucket"] == {"Ref": bucket}]
    return [st for st in policy["Properties"]["PolicyDocument"]["Statement"]
            if st.get("Principal") == {"Service": "cloudfront.amazonaws.com"}]


def test_the_bucket_lets_only_the_distribution_read_only_the_outputs(synth: Synth) -> None:
    (statement,) = cloudfront_statements(synth)
    distribution_id, _ = one(synth.resources, "AWS::CloudFront::Distribution")
    bucket = synth.logical_id(synth.stack.media.bucket)
    assert (statement["Effect"], statement["Action"]) == ("Allow", "s3:GetObject")
    prefixes = sorted(part["Fn::Join"][1][1] for part in as_list(statement["Resource"]))
    assert prefixes == sorted(f"/{prefix}*" for prefix in OUTPUT_PREFIXES)
    assert all(refs_in(part) == {bucket} for part in as_list(statement["Resource"]))
    source = statement["Condition"]["StringEquals"]["AWS:SourceArn"]
    assert distribution_id in refs_in(source) and ":distribution/" in json.dumps(source)


@pytest.mark.parametrize("name", SIGNERS)
def test_the_signing_functions_get_the_distribution_key_and_secret(synth: Synth, name: str) -> None:
    env = environment_of(synth, name)
    distribution_id, _ = one(synth.resources, "AWS::CloudFront::Distribution")
    key_id, _ = one(synth.resources, "AWS::CloudFront::PublicKey")
    assert env["REELGATE_CDN_URL"] == {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution_id, "DomainName"]}]]}
    assert env["REELGATE_CDN_KEY_PAIR_ID"] == {"Ref": key_id}
    assert env["REELGATE_CDN_PRIVATE_KEY_SECRET"] == "reelgate/dev/cdn-private-key"
    assert env["REELGATE_CDN_URL_SECONDS"] == "604800"
    reads = [st for st in role_statements(synth.resources, role_id_of(synth.resources[synth.function_id(name)]))
             if "secretsmanager:GetSecretValue" in as_list(st["Action"]) and "cdn-private-key" in json.dumps(st)]
    assert len(reads) == 1 and ":secret:reelgate/dev/cdn-private-key-??????" in json.dumps(reads[0]["Resource"])


def test_functions_that_answer_no_links_get_no_key(synth: Synth) -> None:
    for fn in registry.FUNCTIONS:
        if fn.name not in SIGNERS:
            env = environment_of(synth, fn.name)
            assert not set(CDN_VARIABLES) & env.keys(), fn.name
            statements = role_statements(synth.resources, role_id_of(synth.resources[synth.function_id(fn.name)]))
            assert "cdn-private-key" not in json.dumps(statements), fn.name


def test_prod_signs_with_its_own_key(prod: Synth) -> None:
    assert environment_of(prod, "get_status")["REELGATE_CDN_PRIVATE_KEY_SECRET"] == "reelgate/prod/cdn-private-key"
    _, key = one(prod.resources, "AWS::CloudFront::PublicKey")
    parameter = key["Properties"]["PublicKeyConfig"]["EncodedKey"]["Ref"]
    assert prod.template.to_json()["Parameters"][parameter]["Default"] == "/reelgate/prod/cdn-public-key"


def test_the_stack_outputs_the_distributions_url(synth: Synth, presigned: Synth) -> None:
    outputs = synth.template.to_json()["Outputs"]
    distribution_id, _ = one(synth.resources, "AWS::CloudFront::Distribution")
    assert distribution_id in refs_in(outputs["OutputsUrl"]["Value"])
    assert "OutputsUrl" not in presigned.template.to_json()["Outputs"]


def test_a_presigned_stage_has_no_distribution_key_or_cloudfront_read(presigned: Synth) -> None:
    assert not [r for r in presigned.resources.values() if r["Type"].startswith("AWS::CloudFront::")]
    assert "Parameters" not in presigned.template.to_json() or not any(
        "cdn-public-key" in json.dumps(p) for p in presigned.template.to_json()["Parameters"].values())
    assert cloudfront_statements(presigned) == []
    for name in SIGNERS:
        env = environment_of(presigned, name)
        assert not set(CDN_VARIABLES) & env.keys() and env["REELGATE_PRESIGN_SECONDS"] == "3600"
        statements = role_statements(presigned.resources,
                                     role_id_of(presigned.resources[presigned.function_id(name)]))
        assert "secretsmanager" not in json.dumps(statements)  # presigned GETs need s3:GetObject only
        assert any("s3:GetObject" in as_list(st["Action"]) for st in statements)


@pytest.mark.parametrize(("value", "error"), [("s3", "output_delivery"), (None, "output_delivery")])
def test_a_wrong_output_delivery_fails_the_synth(value: Any, error: str) -> None:
    dev = {**CONTEXT["stages"]["dev"], "output_delivery": value}
    if value is None:
        del dev["output_delivery"]
    with pytest.raises((ValueError, ValidationError), match=error):
        stage_of({**CONTEXT, "stage": "dev", "stages": {"dev": dev}})


def test_every_signer_gets_cryptography() -> None:
    names = {pin.split("==")[0] for pin in layers.pinned_requirements()}
    assert SIGNERS and all(not registry.function(name).image for name in SIGNERS)  # zip functions: the deps layer
    assert "cryptography" in names
