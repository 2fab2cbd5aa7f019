"""Operator commands against the configured AWS account (or the local cloud's endpoint).

    python -m infra.admin [--stack reelgate-<stage>] keys create NAME [--credits N]
    python -m infra.admin [--stack ...] keys list | revoke KEY_ID | top-up KEY_ID AMOUNT
    python -m infra.admin [--stack ...] apps put BUNDLE_ID [--apphud-key-stdin] [--model v4.5 ...]
    python -m infra.admin [--stack ...] apps list
    python -m infra.admin [--stack ...] queue recount [--stale-after SECONDS | --keep-stale]
    python -m infra.admin [--stack ...] counters drift
    python -m infra.admin cdn-key STAGE [--rotate]   (before the first deploy of a stage: its output links' keys)

--stack reads the deployed stack's outputs (tables, bus, flows, secrets); without it the REELGATE_*
variables name them, else the local cloud's names.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

from botocore.exceptions import ClientError
from reelgate import aws, drift
from reelgate.events import JobEvents
from reelgate.mobile.apps import AppKeySecret, AppRegistry, add_app_commands, run_app_command
from reelgate.settings import Settings, get_settings
from reelgate.toolkit.keys import ApiKeys
from reelgate.toolkit.ledger import Ledger

from infra import cdn_keys, registry
from infra.local.provision import LOCAL_NAMES, LOCAL_STAGE, secret_name
from infra.outputs import OUTPUT_SETTINGS, output_key


def deployed(stack: str) -> dict[str, str]:
    """The stack's outputs (CloudFormation describe_stacks), by the Settings field each one names."""
    try:
        (described,) = aws.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exc:
        raise SystemExit(f"stack {stack!r}: {exc.response['Error']['Message']}") from exc
    outputs = {item["OutputKey"]: item["OutputValue"] for item in described.get("Outputs", [])}
    if missing := [output_key(name) for name in OUTPUT_SETTINGS if output_key(name) not in outputs]:
        raise SystemExit(f"stack {stack!r} has no outputs {missing}: deploy the current version (make deploy)")
    return {name: outputs[output_key(name)] for name in OUTPUT_SETTINGS}


def configured(stack: str | None = None) -> Settings:
    """The settings, with the names of the stack's resources when a stack is given."""
    settings = get_settings()
    return settings.model_copy(update=deployed(stack)) if stack else settings


def state_table(s: Settings | None = None) -> str:
    """The stack's (--stack) or REELGATE_STATE_TABLE, else the local cloud's table."""
    return (s or get_settings()).state_table or LOCAL_NAMES.state_table


def jobs_table(s: Settings | None = None) -> str:
    return (s or get_settings()).jobs_table or LOCAL_NAMES.jobs_table


def event_bus(s: Settings | None = None) -> str:
    """The stack's (--stack) or REELGATE_EVENT_BUS, else the local cloud's bus."""
    return (s or get_settings()).event_bus or LOCAL_NAMES.event_bus


def app_keys_secret(s: Settings | None = None) -> str:
    """The stack's (--stack) or REELGATE_APPHUD_APP_KEYS_SECRET, else the local cloud's app-keys secret."""
    return (s or get_settings()).apphud_app_keys_secret or secret_name(LOCAL_STAGE, "apphud_apps")


def _queue(args: argparse.Namespace, s: Settings) -> Any:
    """Counters from the jobs really queued or running; jobs older than the flow's timeout settle first
    (and, like every status change, are published to the event bus)."""
    ledger = Ledger(aws.client("dynamodb"), jobs_table=jobs_table(s), state_table=state_table(s),
                    max_queue_length=s.max_queue_length, max_active_per_key=s.toolkit_max_active_jobs_per_key,
                    job_ttl_days=s.job_ttl_days, events=JobEvents(aws.client("events"), event_bus(s)))
    stale_after = None if args.keep_stale else (args.stale_after or s.toolkit_stale_job_seconds)
    return dataclasses.asdict(ledger.recount(stale_after=stale_after))


def _drift(s: Settings) -> Any:
    """What the scheduled counter_drift function measures, read-only (no metric: that is the function's)."""
    found = drift.measure(aws.client("dynamodb"), jobs_table=jobs_table(s), state_table=state_table(s))
    return [dataclasses.asdict(item) for item in found]


def _keys(args: argparse.Namespace, s: Settings) -> Any:
    keys = ApiKeys(aws.table(state_table(s)))
    if args.action == "create":
        plaintext, key = keys.create(args.name, args.credits)
        return {"api_key": plaintext, "key_id": key.key_id, "credits": key.credits,
                "webhook_secret": key.webhook_secret, "note": "the API key is shown once; only its hash is stored"}
    if args.action == "list":
        return [k.model_dump(exclude={"webhook_secret"}) for k in keys.list()]
    if args.action == "revoke":
        keys.revoke(args.key_id)
        return {"revoked": args.key_id}
    return {"key_id": args.key_id, "credits": keys.top_up(args.key_id, args.amount)}


def _cdn_key(args: argparse.Namespace) -> int:
    stages = json.loads((registry.ROOT / "cdk.json").read_text())["context"]["stages"]
    try:
        if args.stage not in stages:
            raise ValueError(f"unknown stage {args.stage!r}; cdk.json's stages are {sorted(stages)}")
        result = cdn_keys.create(aws.client("secretsmanager"), aws.client("ssm"), args.stage, rotate=args.rotate)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m infra.admin", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    root.add_argument("--stack", metavar="NAME", help="a deployed stack (reelgate-dev, reelgate-prod) to operate on")
    groups = root.add_subparsers(dest="group", required=True)
    keys = groups.add_parser("keys").add_subparsers(dest="action", required=True)
    create = keys.add_parser("create")
    create.add_argument("name")
    create.add_argument("--credits", type=int, default=0)
    keys.add_parser("list")
    keys.add_parser("revoke").add_argument("key_id")
    top_up = keys.add_parser("top-up")
    top_up.add_argument("key_id")
    top_up.add_argument("amount", type=int)
    add_app_commands(groups)
    queue = groups.add_parser("queue").add_subparsers(dest="action", required=True)
    recount = queue.add_parser("recount", help="reset the toolkit's queue and per-key counters from the jobs table")
    stale = recount.add_mutually_exclusive_group()
    stale.add_argument("--stale-after", type=int, metavar="SECONDS",
                       help="settle unfinished jobs older than this as failed and refund them "
                            "(default: REELGATE_TOOLKIT_STALE_JOB_SECONDS)")
    stale.add_argument("--keep-stale", action="store_true", help="count old unfinished jobs instead of settling them")
    counters = groups.add_parser("counters").add_subparsers(dest="action", required=True)
    counters.add_parser("drift", help="how far the queue and slot counters are from the jobs running (read-only)")
    cdn = groups.add_parser("cdn-key", help="make the stage's output-link key pair (private half: Secrets Manager, "
                                            "public half: the SSM parameter the stack reads at deploy)")
    cdn.add_argument("stage", help="the stage (cdk.json's stages: dev, prod)")
    cdn.add_argument("--rotate", action="store_true", help="replace an existing pair (then deploy the stage)")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.group == "cdn-key":
        return _cdn_key(args)
    s = configured(args.stack)
    if args.group == "keys":
        result = _keys(args, s)
    elif args.group == "queue":
        result = _queue(args, s)
    elif args.group == "counters":
        result = _drift(s)
    else:
        keys = AppKeySecret(aws.client("secretsmanager"), app_keys_secret(s))
        try:
            result = run_app_command(AppRegistry(aws.table(state_table(s))), args, keys,
                                     read_key=sys.stdin.readline)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except ClientError as exc:  # the secret is missing, or this caller may not read or write it
            print(f"error: {keys.secret_id}: {exc.response['Error']['Message']}", file=sys.stderr)
            return 2
    json.dump(result, sys.stdout, indent=2, default=str)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
