"""CDK entry point: `.venv/bin/python -m infra.app [-c stage=dev|prod]` writes cdk.out/ offline.

Also runs under the `cdk` CLI (cdk.json's "app"); then the CLI supplies context and outdir.
Run it as a module from the project root: as a script, `infra/constructs` would shadow `constructs`.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from aws_cdk import App, Aspects
from cdk_nag import AwsSolutionsChecks

from infra import environment, registry
from infra.account import ACCOUNT_STACK_ID, AccountStack
from infra.constants import ROOT, SERVICE, STACK_ID, StageConfig, stage_config
from infra.constructs.shared_layers import LayerSources
from infra.stack import ReelgateStack

CDK_JSON = ROOT / "cdk.json"


def build(
    context: dict[str, Any] | None = None, outdir: str | None = None, layer_sources: LayerSources | None = None
) -> tuple[App, ReelgateStack]:
    """The app with the stage's stack, the account-level stack and cdk-nag's AwsSolutions pack; tests call this too."""
    app = App(context=context, outdir=outdir, analytics_reporting=False)
    stage = stage_of(app.node.get_all_context())
    stack = ReelgateStack(
        app, STACK_ID, stage=stage, layer_sources=layer_sources,
        stack_name=f"{SERVICE}-{stage.name}",
        description=f"Reelgate serverless video backend ({stage.name})",
    )
    AccountStack(app, ACCOUNT_STACK_ID, stack_name=f"{SERVICE}-account",
                 description="API Gateway's account-level CloudWatch Logs role (shared by every stage; retained)")
    Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return app, stack


def stage_of(context: dict[str, Any]) -> StageConfig:
    """The context's stage (`-c stage=dev|prod`) as cdk.json's `stages` defines it, with its operator settings."""
    stage = stage_config(context)
    if unknown := set(stage.reserved_concurrency) - {fn.name for fn in registry.FUNCTIONS}:
        raise ValueError(f"stage {stage.name}: reserved_concurrency names unknown functions {sorted(unknown)}")
    if set(stage.schedules) != set(registry.SCHEDULED) or min(stage.schedules.values(), default=1) < 1:
        raise ValueError(f"stage {stage.name}: schedules must give each of {sorted(registry.SCHEDULED)} "
                         "its minutes between runs (at least 1)")
    return stage.model_copy(update={"settings": operator_settings(context, stage.name)})


def operator_settings(context: dict[str, Any], stage: str) -> dict[str, str]:
    """The stage's operator settings: cdk.json's `settings.<stage>`, then `-c setting.<name>=<value>` overrides;
    every setting a function reads gets a value (the model's default when none is given)."""
    values = dict((context.get("settings") or {}).get(stage) or {})
    values |= {key.removeprefix("setting."): value for key, value in context.items() if key.startswith("setting.")}
    return environment.stage_values(values)


def cli_context(argv: list[str]) -> dict[str, str]:
    """`-c key=value` / `--context key=value` pairs, as the cdk CLI accepts them."""
    pairs: dict[str, str] = {}
    for flag, value in itertools.pairwise(argv):
        if flag in ("-c", "--context"):
            key, sep, val = value.partition("=")
            if not sep:
                raise SystemExit(f"context must be key=value, got {value!r}")
            pairs[key] = val
    return pairs


def prune_stale_assets(outdir: Path) -> list[str]:
    """Delete the staged assets (`asset.*`) no asset manifest of the assembly names any more. Each change to
    the render function's code stages a new ~0.5 GB image context, and cdk.out would keep every old one."""
    named = set()
    for manifest in outdir.glob("*.assets.json"):
        for kind in ("files", "dockerImages"):
            for asset in json.loads(manifest.read_text()).get(kind, {}).values():
                named.add(asset["source"].get("directory") or asset["source"].get("path"))
    stale = sorted(path for path in outdir.glob("asset.*") if path.name not in named)
    for path in stale:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return [path.name for path in stale]


def main(argv: list[str]) -> None:
    if "CDK_CONTEXT_JSON" in os.environ:  # under the cdk CLI: it passes context and outdir itself
        prune_stale_assets(Path(build()[0].synth().directory))
        return
    settings = json.loads(CDK_JSON.read_text())
    context = {**settings.get("context", {}), **cli_context(argv)}
    outdir = str(ROOT / settings.get("output", "cdk.out"))
    prune_stale_assets(Path(build(context=context, outdir=outdir)[0].synth().directory))
    print(f"synthesized {STACK_ID} ({context.get('stage')}) -> {Path(outdir) / (STACK_ID + '.template.json')}")


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except ValueError as exc:  # a wrong stage or setting: the message says what to fix
        raise SystemExit(f"error: {exc}") from None
