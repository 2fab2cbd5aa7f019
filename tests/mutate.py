"""`make mutate`: mutmut over the modules that guard money, identity and safety, each with its own tests.

mutmut 3 names a mutant by its file's path and matches it against the function's import name at run time,
so the package must sit at the top of the tree mutmut runs in (here it lives in layers/common/python).
Each module therefore runs in a workspace of its own, .mutation/<module>/, holding `reelgate/`, the tests,
`infra/`, `functions/`, `events/` and a pyproject.toml whose [tool.mutmut] section names the one file to
mutate and the test files to select from; mutmut then runs, per mutant, only the selected tests that
reached the mutated function. A workspace is rebuilt on every run, so results never mix two versions.

    python -m tests.mutate [module ...]    # default: every module below
    python -m tests.mutate --survivors [module ...]   # after new tests: re-check only what was not killed
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "layers" / "common" / "python" / "reelgate"
WORKSPACES = ROOT / ".mutation"
COPIED = ("tests", "infra", "functions", "events")
DETECTED = {"killed", "timeout", "caught by type check", "segfault"}
# Log statements are not mutated: their wording is for people, and no test should pin it.
UNMUTATED = [r"^\s*logger\.(debug|info|warning|error|exception)\("]

# module -> (files to mutate, relative to the package; the test files that exercise them)
MODULES: dict[str, tuple[list[str], list[str]]] = {
    "ledger": (["toolkit/ledger.py"], ["tests/integration/test_toolkit_ledger.py",
                                       "tests/integration/test_toolkit_admission.py",
                                       "tests/integration/test_job_events.py"]),
    "keys": (["toolkit/keys.py"], ["tests/unit/test_api_keys.py", "tests/integration/test_api_key_store.py"]),
    "access": (["mobile/access.py"], ["tests/unit/test_entitlements.py", "tests/integration/test_mobile_limits.py",
                                      *(f"tests/integration/test_mobile_identity.py::test_{name}" for name in (
                                          "no_entitlement_is_cached_only_briefly_and_an_active_one_for_longer",
                                          "apphud_lookups_are_limited_per_source_address",
                                          "apphud_lookups_are_limited_per_app_across_addresses"))]),
    "ingest": (["toolkit/ingest.py"], ["tests/integration/test_inbox.py",
                                       "tests/integration/test_toolkit_admission.py"]),
    "webhooks": (["webhooks.py"], ["tests/unit/test_webhook_schedule.py", "tests/unit/test_webhook_deadline.py",
                                   "tests/unit/test_webhook_delivery.py",
                                   "tests/integration/test_webhook_sender.py"]),
    "fetch": (["fetch.py"], ["tests/unit/test_fetch_addresses.py", "tests/unit/test_fetch_ports.py",
                             "tests/unit/test_fetch_clock.py", "tests/unit/test_fetch_limits.py",
                             "tests/integration/test_fetch.py", "tests/integration/test_fetch_answers.py",
                             "tests/integration/test_fetch_deadline.py"]),
    "media_tools": (["media/tools.py"], ["tests/integration/test_media_concat.py",
                                         "tests/integration/test_media_timeouts.py",
                                         "tests/integration/test_media_tools.py"]),
    "errors": (["mobile/errors.py"], ["tests/unit/test_mobile_rules.py"]),
}


def workspace(name: str, files: list[str], tests: list[str]) -> Path:
    ws = WORKSPACES / name
    shutil.rmtree(ws, ignore_errors=True)
    ws.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(PACKAGE, ws / "reelgate", ignore=ignore)
    for folder in COPIED:
        shutil.copytree(ROOT / folder, ws / folder, ignore=ignore)
    configure(ws, files, tests)
    return ws


def configure(ws: Path, files: list[str], tests: list[str]) -> None:
    """The workspace's pyproject.toml: the project's, plus the module's [tool.mutmut] section."""
    section = "\n".join([
        "", "[tool.mutmut]", 'source_paths = ["reelgate"]',
        f"only_mutate = {[f'reelgate/{file}' for file in files]!r}",
        f"pytest_add_cli_args_test_selection = {tests!r}",
        'pytest_add_cli_args = ["-p", "no:cacheprovider"]',
        "timeout_multiplier = 40",  # mutmut's 15 x the clean run's time is too short on a shared, loaded machine
        f"do_not_mutate_patterns = {UNMUTATED!r}",
        f"also_copy = {list(COPIED[1:])!r}", "",
    ])
    text = (ROOT / "pyproject.toml").read_text() + section.replace("'", '"')
    (ws / "pyproject.toml").write_text(text)
    if (ws / "mutants").is_dir():
        (ws / "mutants" / "pyproject.toml").write_text(text)


def mutate(name: str, children: int, survivors: bool = False) -> Counter[str]:
    """Run mutmut on one module; with `survivors`, keep its workspace and re-check only the mutants not yet
    detected, against the current tests (what a full run would find for them, in a fraction of its time)."""
    files, tests = MODULES[name]
    ws = WORKSPACES / name
    env = os.environ | {"REELGATE_FFMPEG_DIR": str(ROOT / "layers" / "ffmpeg" / "bin")}
    mutmut = str(Path(sys.executable).parent / "mutmut")
    names: list[str] = []
    before: dict[str, str] = {}
    if survivors and (ws / "mutants").is_dir():
        kept = ws / "statuses.json"  # the last run's statuses, earlier re-checks included
        before = json.loads(kept.read_text()) if kept.is_file() else dict(results(mutmut, ws, env))
        # a timeout on a loaded machine proves little: those are checked again too
        names = [mutant for mutant, status in before.items() if status not in DETECTED or status == "timeout"]
        for target in (ws / "tests", ws / "mutants" / "tests"):
            shutil.rmtree(target)
            shutil.copytree(ROOT / "tests", target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        configure(ws, files, tests)
    else:
        ws = workspace(name, files, tests)
    if not survivors or names:
        with (ws / "run.log").open("a" if survivors else "w") as log:
            subprocess.run([mutmut, "run", "--max-children", str(children), *names], cwd=ws, env=env, stdout=log,
                           stderr=subprocess.STDOUT, check=True)
    # mutmut marks every mutant it was not asked about as unchecked: those keep their earlier status
    statuses = [(mutant, status if mutant in names or not before else before.get(mutant, status))
                for mutant, status in results(mutmut, ws, env)]
    (ws / "statuses.json").write_text(json.dumps(dict(statuses), indent=1))
    for mutant, status in statuses:
        if status not in DETECTED:
            print(f"  {name}: {status}: {mutant}")
    return Counter(status for _, status in statuses)


def results(mutmut: str, ws: Path, env: dict[str, str]) -> list[tuple[str, str]]:
    listing = subprocess.run([mutmut, "results", "--all", "true"], cwd=ws, env=env, capture_output=True, text=True,
                             check=True).stdout
    return re.findall(r"^\s+(\S+): (.+)$", listing, flags=re.MULTILINE)


def main(args: list[str]) -> int:
    survivors = "--survivors" in args
    names = [arg for arg in args if arg != "--survivors"]
    unknown = sorted(set(names) - set(MODULES))
    if unknown:
        print(f"unknown module(s) {', '.join(unknown)}; known: {', '.join(MODULES)}")
        return 2
    children = int(os.environ.get("MUTATE_CHILDREN", "2"))
    rows = []
    for name in names or list(MODULES):
        started = time.monotonic()
        counts = mutate(name, children, survivors)
        killed = sum(n for status, n in counts.items() if status in DETECTED)
        total = sum(counts.values())
        rows.append((name, killed, total - killed, total, time.monotonic() - started))
    print(f"\n{'module':<12} {'killed':>7} {'survived':>9} {'total':>6} {'killed %':>9} {'seconds':>8}")
    for name, killed, survived, total, seconds in rows:
        print(f"{name:<12} {killed:>7} {survived:>9} {total:>6} {100 * killed / max(total, 1):>8.1f}% {seconds:>8.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
