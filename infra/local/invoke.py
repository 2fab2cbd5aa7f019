"""`make invoke FN=<function> EVENT=events/<file>.json`: run one function on a sample event, like
`sam local invoke`, inside a throwaway local cloud (emulated AWS, simulators, the development key
`rg_example_key` that the sample events carry)."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

from infra.local.cloud import LocalCloud
from infra.local.lambdas import invoke
from infra.registry import function


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m infra.local.invoke FUNCTION EVENT_FILE", file=sys.stderr)
        return 2
    name, event_file = argv
    function(name)  # fails early, naming the registry, for an unknown function
    event = json.loads(Path(event_file).read_text())
    os.environ.setdefault("REELGATE_DEV_API_KEY", "rg_example_key")
    cloud = LocalCloud("127.0.0.1", _free_port(), _free_port())
    cloud.start()
    try:
        result = invoke(name, event)
    finally:
        cloud.stop()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
