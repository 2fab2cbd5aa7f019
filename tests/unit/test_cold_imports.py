"""Cold start regression guard: importing a function's handler loads none of the heavy libraries.

Handlers import their adapter; the adapter's composition roots import settings (pydantic), the domain,
the providers (httpx), jsonschema and Pillow on the first request (docs/decisions.md, "Cold start").
One import in this process would make the later ones free, so a fresh interpreter imports every
handler in turn, forgetting the modules each one loaded before the next.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra import registry

ROOT = Path(__file__).resolve().parents[2]
COMMON = ROOT / "layers" / "common" / "python"
HEAVY = ("pydantic", "pydantic_settings", "httpx", "jsonschema", "PIL")  # each costs tens of ms of CPU to import

PROBE = """
import importlib.util, json, sys
found = {}
for name, path in json.loads(sys.argv[1]).items():
    before = set(sys.modules)
    spec = importlib.util.spec_from_file_location("handler_" + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert callable(module.handler)
    loaded = set(sys.modules) - before
    found[name] = sorted({m.split(".")[0] for m in loaded})
    for m in loaded:
        del sys.modules[m]
print(json.dumps(found))
"""


def loaded_by(names: tuple[str, ...], paths: tuple[str, ...]) -> dict[str, list[str]]:
    """The top-level packages each handler's import loaded, in one fresh interpreter (a few CPU seconds;
    the timeout is generous because a loaded machine stretches the wall time many times over)."""
    env = os.environ | {"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
                        "PYTHONPATH": os.pathsep.join([str(COMMON), str(ROOT)])}
    argument = json.dumps(dict(zip(names, paths, strict=True)))
    out = subprocess.run([sys.executable, "-c", PROBE, argument], env=env, capture_output=True, text=True,
                         check=True, timeout=1200)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def handlers() -> dict[str, list[str]]:
    """Run once for the module (a failure too is reported once per function, not run again)."""
    names = tuple(fn.name for fn in registry.FUNCTIONS)
    return loaded_by(names, tuple(str(ROOT / "functions" / name / "handler.py") for name in names))


@pytest.mark.parametrize("name", [fn.name for fn in registry.FUNCTIONS])
def test_handler_import_loads_no_heavy_library(handlers: dict[str, list[str]], name: str) -> None:
    heavy = sorted(set(handlers[name]) & set(HEAVY))
    assert heavy == [], f"importing functions/{name}/handler.py loads {heavy}: import them where they are used"


def test_the_probe_sees_heavy_imports(tmp_path: Path) -> None:
    """The guard can fail: a handler that imports the toolkit's tasks at module level is caught."""
    bad = tmp_path / "handler.py"
    bad.write_text("from reelgate.toolkit import tasks\nhandler = tasks.render\n")
    found = loaded_by(("bad",), (str(bad),))["bad"]
    assert {"pydantic", "httpx", "PIL"} <= set(found)
