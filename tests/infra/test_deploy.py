"""The deploy path: the pinned cdk CLI reads the assembly the lib writes; the outputs the admin command needs."""

from __future__ import annotations

import json
import os
import subprocess

from aws_cdk import cloud_assembly_schema
from infra_helpers import Synth

from infra.account import ACCOUNT_STACK_ID
from infra.app import CDK_JSON
from infra.constants import ROOT, STACK_ID
from infra.environment import FLOW_SETTING, RESOURCE_SETTING, SECRET_SETTING
from infra.outputs import API_URL_OUTPUT, OUTPUT_SETTINGS, output_key

CDK = ROOT / "node_modules" / ".bin" / "cdk"


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def pinned_cli() -> str:
    return str(json.loads((ROOT / "package.json").read_text())["devDependencies"]["aws-cdk"])


def test_the_cli_is_pinned_exactly_and_locked() -> None:
    pin = pinned_cli()
    assert version(pin)  # an exact version, no range
    lock = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    assert lock["node_modules/aws-cdk"]["version"] == pin
    assert lock["node_modules/aws-cdk"]["integrity"].startswith("sha512-")


def test_the_pinned_cli_is_new_enough_for_the_libs_cloud_assembly() -> None:
    # aws-cdk-lib states the oldest CLI that reads the assembly schema it writes.
    assert version(pinned_cli()) >= version(cloud_assembly_schema.Manifest.cli_version())


def test_the_installed_cli_reads_the_synthesized_assembly(synth: Synth) -> None:
    assert CDK.is_file(), "the pinned cdk CLI is not installed: run `make cli`"
    installed = json.loads((ROOT / "node_modules" / "aws-cdk" / "package.json").read_text())["version"]
    assert installed == pinned_cli()
    manifest = json.loads((synth.outdir / "manifest.json").read_text())
    assert manifest["version"] == cloud_assembly_schema.Manifest.version()
    # `cdk ls` on the assembly directory: the CLI refuses a schema newer than it knows.
    env = {**os.environ, "CDK_DISABLE_VERSION_CHECK": "1"}
    listed = subprocess.run([str(CDK), "ls", "--app", str(synth.outdir), "--no-notices"], check=False, cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert set(listed.stdout.split()) >= {STACK_ID, ACCOUNT_STACK_ID, "(reelgate-dev)", "(reelgate-account)"}


def test_cdk_json_runs_the_app_module_with_the_projects_interpreter() -> None:
    settings = json.loads(CDK_JSON.read_text())
    assert settings["app"] == ".venv/bin/python -m infra.app"
    assert settings["output"] == "cdk.out"
    assert (ROOT / "infra" / "app.py").is_file()


def test_every_name_the_admin_command_needs_is_a_stack_output(synth: Synth) -> None:
    outputs = synth.template.to_json()["Outputs"]
    assert {output_key(name) for name in OUTPUT_SETTINGS} | {API_URL_OUTPUT} <= outputs.keys()
    expected = {
        "jobs_table": synth.stack.data.jobs, "state_table": synth.stack.data.state,
        "media_bucket": synth.stack.media.bucket, "event_bus": synth.stack.integrations.bus,
        **{FLOW_SETTING[name]: machine for name, machine in synth.stack.flows.machines.items()},
        **{SECRET_SETTING[key]: secret for key, secret in synth.stack.integrations.secrets.items()},
    }
    assert set(expected) == set(OUTPUT_SETTINGS)
    for name, construct in expected.items():
        value = outputs[output_key(name)]["Value"]
        logical_id = synth.logical_id(construct)
        assert value == {"Ref": logical_id} or value == {"Fn::GetAtt": [logical_id, "Arn"]}, (name, value)
    assert set(RESOURCE_SETTING.values()) <= set(OUTPUT_SETTINGS)
