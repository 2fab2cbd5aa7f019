"""Operator commands against the configured AWS account (or the local cloud's endpoint).

    python -m infra.admin keys create NAME [--credits N]
    python -m infra.admin keys list | revoke KEY_ID | top-up KEY_ID AMOUNT
    python -m infra.admin apps put BUNDLE_ID --apphud-key-secret NAME [--model v4.5 ...]
    python -m infra.admin apps list
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from reelgate import aws
from reelgate.mobile.apps import AppRegistry, add_app_commands, run_app_command
from reelgate.settings import get_settings
from reelgate.toolkit.keys import ApiKeys

from infra.local.provision import LOCAL_NAMES


def state_table() -> str:
    """REELGATE_STATE_TABLE, else the local cloud's table (deployed stacks: set the variable)."""
    return get_settings().state_table or LOCAL_NAMES.state_table


def _keys(args: argparse.Namespace) -> Any:
    keys = ApiKeys(aws.table(state_table()))
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


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m infra.admin", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
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
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    registry = AppRegistry(aws.table(state_table()))
    result = _keys(args) if args.group == "keys" else run_app_command(registry, args)
    json.dump(result, sys.stdout, indent=2, default=str)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
