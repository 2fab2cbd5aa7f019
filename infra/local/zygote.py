"""A fork server for the local Lambda runtime: new execution environments without re-importing libraries.

Lambda's init phase imports a function's code; locally most of that time goes to third-party libraries
(boto3, pydantic, Powertools), the same for every function. This process imports them once, then
forks one child per environment. Each child starts a new session, takes the function's directory,
exact environment and log file, and runs AWS's runtime interface client, which imports the handler
(its init phase) as on Lambda. Only libraries whose import reads no environment are preloaded;
Reelgate's own package never is.

Protocol: one JSON object per line on stdin ({"cwd", "env", "handler", "log", "nice", "absent"}); the child's
pid per line on stdout. "nice" lowers the child's priority (and its subprocesses', FFmpeg's) by that much;
"absent" names top-level modules this interpreter has but the function's Lambda does not (the render
image's OpenCV and NumPy for a zip function): importing one fails as it would there.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any

PRELOAD = ("boto3", "botocore.session", "pydantic", "pydantic_settings", "httpx", "jsonschema",
           "simplejson")  # not awslambdaric: its native client initializes at import and cannot be forked


class _Absent:
    """A meta path finder refusing the named top-level modules: ModuleNotFoundError, as on the function's Lambda."""

    def __init__(self, names: frozenset[str]) -> None:
        self._names = names

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.partition(".")[0] in self._names:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


def _child(request: dict[str, Any]) -> None:
    os.setsid()
    os.nice(int(request.get("nice", 0)))
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the handler's subprocesses (FFmpeg) are waited for
    log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    layers = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
    site = [p for p in sys.path if "site-packages" in p or p.endswith(("lib-dynload", ".zip")) or "/lib/python" in p]
    sys.path[:] = [request["cwd"], *layers, *site]  # the task root and layers, as on Lambda; not this repository
    sys.meta_path.insert(0, _Absent(frozenset(request.get("absent", ()))))
    from awslambdaric import __main__ as ric

    ric.main(["awslambdaric", request["handler"]])


def main() -> None:
    for name in PRELOAD:
        __import__(name)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            try:
                _child(request)
            finally:  # a child never returns to this loop, whatever happened
                os._exit(1)
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
