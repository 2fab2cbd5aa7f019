"""`make invoke FN=<function> EVENT=events/<file>.json`: run one function on a sample event, like
`sam local invoke`, inside a throwaway local cloud (emulated AWS, simulators, the development key
`rg_example_key` that the sample events carry), in its own Lambda environment."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

from infra.local.cloud import LocalCloud
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
    payload = Path(event_file).read_bytes()
    cloud = LocalCloud("127.0.0.1", _free_port(), _free_port(),
                       config=dict(os.environ) | {"REELGATE_DEV_API_KEY": "rg_example_key"})
    cloud.start()
    try:
        assert cloud.runtime is not None
        result = cloud.runtime.invoke(name, payload)
    finally:
        cloud.stop()
    print(json.dumps(json.loads(result.payload), indent=2))
    return 1 if result.errored else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
