"""The session's synthesized stack and small readers over its template."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# jsii's banners about Node 20 would bury the test output.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import Stack
from aws_cdk.assertions import Annotations, Template

from infra import registry
from infra.account import ACCOUNT_STACK_ID
from infra.app import CDK_JSON, build
from infra.constants import COMMON_LAYER_DIR, STACK_ID
from infra.constructs.shared_layers import FFMPEG_BINARIES, LayerSources
from infra.stack import ReelgateStack


@dataclass
class Synth:
    stack: ReelgateStack
    template: Template
    annotations: Annotations
    outdir: Path
    resources: dict[str, Any]
    account_resources: dict[str, Any]  # the ReelgateAccount stack's

    @property
    def template_path(self) -> Path:
        return self.outdir / f"{STACK_ID}.template.json"

    def logical_id(self, construct: Any) -> str:
        return Stack.of(self.stack).get_logical_id(construct.node.default_child)

    def function_id(self, name: str) -> str:
        return self.logical_id(self.stack.functions.by_name[name])


def fake_layer_sources(root: Path) -> LayerSources:
    """Tiny stand-ins for `make layers` output, so the suite needs neither PyPI nor 200 MB of ffmpeg."""
    for arch in {fn.arch for fn in registry.FUNCTIONS}:
        for tree in ("deps", "render"):
            (root / tree / arch / "python").mkdir(parents=True)
            (root / tree / arch / "python" / "stub.py").write_text("# stand-in\n")
    (root / "ffmpeg" / "bin").mkdir(parents=True)
    for binary in FFMPEG_BINARIES:
        (root / "ffmpeg" / "bin" / binary).write_text("#!/bin/sh\n")
    return LayerSources(common=COMMON_LAYER_DIR, deps=root / "deps", ffmpeg=root / "ffmpeg", render=root / "render")


def synthesize(layers_root: Path, outdir: Path, stage: str = "dev",
               extra_context: dict[str, str] | None = None) -> Synth:
    context = {**json.loads(CDK_JSON.read_text())["context"], "stage": stage, **(extra_context or {})}
    app, stack = build(context=context, outdir=str(outdir), layer_sources=fake_layer_sources(layers_root))
    template = Template.from_stack(stack)
    account = Template.from_stack(app.node.find_child(ACCOUNT_STACK_ID)).to_json()["Resources"]
    return Synth(stack, template, Annotations.from_stack(stack), outdir, template.to_json()["Resources"], account)


def of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {key: res for key, res in resources.items() if res["Type"] == kind}


def role_statements(resources: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    """Every statement of the inline policies attached to one role."""
    statements: list[dict[str, Any]] = []
    for policy in of_type(resources, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def actions_of(statements: list[dict[str, Any]]) -> set[str]:
    return {action for st in statements for action in as_list(st["Action"])}


def role_id_of(function: dict[str, Any]) -> str:
    return function["Properties"]["Role"]["Fn::GetAtt"][0]


def refs_in(value: Any) -> set[str]:
    """Logical ids referenced anywhere inside a template value (Ref and Fn::GetAtt)."""
    found: set[str] = set()
    if isinstance(value, dict):
        if "Ref" in value:
            found.add(value["Ref"])
        if "Fn::GetAtt" in value:
            found.add(value["Fn::GetAtt"][0])
        for item in value.values():
            found |= refs_in(item)
    elif isinstance(value, list):
        for item in value:
            found |= refs_in(item)
    return found


def resource_paths(template_resources: dict[str, Any]) -> dict[str, str]:
    """Logical id of each API resource -> its full path, rebuilt from ParentId/PathPart."""
    resources = of_type(template_resources, "AWS::ApiGateway::Resource")
    paths: dict[str, str] = {}

    def path_of(key: str) -> str:
        if key not in paths:
            props = resources[key]["Properties"]
            parent = props["ParentId"]
            prefix = path_of(parent["Ref"]) if "Ref" in parent else ""
            paths[key] = f"{prefix}/{props['PathPart']}"
        return paths[key]

    for key in resources:
        path_of(key)
    return paths
