"""Cold start: importing each function's handler and answering its first call, in a fresh interpreter that
sees what a Lambda sees (the function's directory, the common layer, the packages of the deps layer and the
runtime's boto3, the environment the stack gives the function), against a bare Powertools handler with the
same Logger, Tracer, Metrics and REST resolver answering its one route, same run.

The first call is the event Lambda would give the function (bench/cold_calls.py), against a local cloud
started here (`make dev`'s: emulated AWS behind its IAM gate, provider simulators), with a job of its own
where the call acts on one. Tracing is on, as deployed (Powertools patches botocore; segments go to a
daemon address nobody listens on, as fire-and-forget UDP).

The deps layer is built for the Lambda runtime's Python (3.12), so the packages are the development
venv's copies of the same locked versions, and every other top-level package of the venv is hidden
(test tools that libraries import when present, such as httpx's optional CLI). Median of --runs per row,
interleaved with the baseline so the machine's drift hits both. Printed, never asserted.

The ratio is of CPU seconds (user + system of the import and first call): on a shared, loaded machine the
wall time mostly measures the scheduler (a load of 30 on 2 cores made the same import take 0.3 s or 2.5 s),
while the CPU a cold start burns is what a Lambda's init and first invocation pay for. The emulated AWS and
the simulators run in this bench's process, so their work is not counted. Wall seconds are printed beside it.

    .venv/bin/python bench/cold_start.py [--runs 10] [--only health,text_to_video] [--import-only]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common" / "python")]

from infra import registry  # noqa: E402

DEPS = ROOT / "layers" / "deps" / "x86_64" / "python"
COMMON = ROOT / "layers" / "common" / "python"
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six")
BASELINE = '''
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
logger, tracer, metrics = Logger(), Tracer(), Metrics(namespace="Bench")
app = APIGatewayRestResolver()

@app.get("/health")
def health():
    return {"status": "ok"}

@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return app.resolve(event, context)
'''
# The floor of a function whose first call reads DynamoDB: the same bare handler, whose route makes a boto3
# client and reads one item (botocore's loader, service model, endpoint rules; what no Reelgate code adds).
FLOOR = BASELINE.replace('''    return {"status": "ok"}''', '''    import os, boto3
    boto3.client("dynamodb").get_item(TableName=os.environ["REELGATE_STATE_TABLE"], Key={"pk": {"S": "floor"}},
                                      ConsistentRead=True)
    return {"status": "ok"}''')
TIMER = """
import json, sys, time
t, c = time.perf_counter(), time.process_time()
ALLOWED = set({allowed!r}) | set(sys.stdlib_module_names)

class Lambda:  # what the function's Lambda has not: ModuleNotFoundError, as there
    @staticmethod
    def find_spec(name, path=None, target=None):
        if path is None and name not in ALLOWED and not name.startswith("_"):
            raise ModuleNotFoundError(name)
        return None

class Context:
    function_name, memory_limit_in_mb, aws_request_id = {name!r}, 512, "bench-request"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + {name!r}
    def get_remaining_time_in_millis(self):
        return {remaining_ms!r}

sys.meta_path.insert(0, Lambda)
sys.path[:0] = {paths!r}
import handler
outcome = "imported"
if {event!r}:
    try:
        answer = handler.handler(json.loads({event!r}), Context())
        outcome = str(answer.get("statusCode", "ok")) if isinstance(answer, dict) else "ok"
    except Exception as exc:
        outcome = type(exc).__name__
print("COLD", time.process_time() - c, time.perf_counter() - t, outcome)
"""
# A Lambda invocation's trace header (the runtime sets it per call); with it Tracer's segments are real.
TRACE = {"_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"}
NAMES = {f.name for f in registry.FUNCTIONS}
LOCAL_ONLY = ("PYTHONPATH", "POWERTOOLS_TRACE_DISABLED")  # the local runtime's; deployed functions trace


def allowed(packages: Path = DEPS) -> list[str]:
    """Top-level modules a Lambda has: the deps layer's packages (an image function: its image's), the
    runtime's, the common layer's."""
    layer = {p.name.removesuffix(".py").split(".")[0] for p in packages.iterdir()
             if not p.name.endswith((".dist-info", ".libs"))}
    return sorted(layer | set(RUNTIME_PACKAGES) | {"reelgate", "handler", "_cffi_backend", "typing_extensions",
                                                     "typing_inspection"})


def cold(function_dir: Path, name: str, env: dict[str, str], event: Any, *, image: bool = False
         ) -> tuple[float, float, str]:
    """CPU and wall seconds of importing the handler in `function_dir` and calling it once with `event`.
    An image function finds its image's packages (the render layer built for this interpreter) first."""
    packages = registry.RENDER_DIR / registry.HOST / "python" if image else DEPS
    paths = [str(function_dir), str(COMMON), *([str(packages)] if image else []), sysconfig.get_paths()["purelib"]]
    code = TIMER.format(allowed=allowed(packages), paths=paths, name=name, event=json.dumps(event) if event else "",
                        remaining_ms=registry.function(name).timeout * 1000 if name in NAMES else 29_000)
    out = subprocess.run([sys.executable, "-S", "-c", code], env=env, capture_output=True, text=True, check=False)
    line = next((line for line in reversed(out.stdout.splitlines()) if line.startswith("COLD ")), None)
    if line is None:  # the interpreter died (a signal, a crash): a row that says so, not a lost table
        return float("nan"), float("nan"), f"died({out.returncode})"
    _, cpu, wall, outcome = line.split()
    return float(cpu), float(wall), outcome


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def function_env(cloud: Any, name: str) -> dict[str, str]:
    """The function's environment as the stack gives it, pointed at the local cloud, traced as deployed."""
    env = dict(cloud.runtime.config(name).env)
    return {k: v for k, v in env.items() if k not in LOCAL_ONLY} | TRACE


def start_cloud() -> Any:
    """A local cloud of this bench's own (its own ports), whose flows record executions without running them."""
    from infra.local import cloud as local

    config = {k: v for k, v in os.environ.items() if not k.startswith(("REELGATE_", "AWS_", "PIXVERSE_", "APPHUD_",
                                                                        "TOPVIEW_"))}
    config |= {"REELGATE_TOOLKIT_MAX_ACTIVE_JOBS_PER_KEY": "0", "REELGATE_PIXVERSE_SIM_TASK_SECONDS": "0",
               "REELGATE_TOPVIEW_SIM_TASK_SECONDS": "0"}
    cloud = local.LocalCloud("127.0.0.1", free_port(), free_port(), config=config)
    # The cloud turns moto's flow interpreter on before it creates the state machines (which then live in
    # that backend): here it is left off, so executions are recorded and nothing runs behind the calls.
    post = local._post_json
    local._post_json = lambda url, body: post(url, {"stepfunctions": {"execute_state_machine": False}})
    try:
        cloud.start()
    finally:
        local._post_json = post
    import threading

    threading.Thread(target=cloud.serve_forever, daemon=True).start()
    return cloud


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per emulated AWS call is noise
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--only", default="")
    parser.add_argument("--import-only", action="store_true", help="time the import alone, as before")
    args = parser.parse_args()
    names = [f.name for f in registry.FUNCTIONS if not args.only or f.name in args.only.split(",")]
    cloud = start_cloud()
    from bench.cold_calls import FirstCalls

    calls = FirstCalls(cloud)
    what = "import" if args.import_only else "import + first call"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            bare, floor = Path(tmp) / "baseline", Path(tmp) / "floor"
            for directory, code in ((bare, BASELINE), (floor, FLOOR)):
                directory.mkdir()
                (directory / "handler.py").write_text(code)

            def baseline(directory: Path = bare, env_of: str = "health") -> tuple[float, float]:
                event = None if args.import_only else calls.event("health")
                return cold(directory, "health", function_env(cloud, env_of), event)[:2]

            print(f"\ncold {what} (median of {args.runs}), the bare Powertools handler measured beside each row")
            if not args.import_only:
                pairs = [(baseline(floor, "toolkit_authenticate"), baseline()) for _ in range(args.runs)]
                floor_cpu, floor_base = (statistics.median(p[i][0] for p in pairs) for i in (0, 1))
                print(f"floor: the bare handler whose route makes a boto3 DynamoDB client and reads one item: "
                      f"{floor_cpu:.3f} s CPU, {floor_cpu / floor_base:.2f}x the bare handler ({floor_base:.3f} s)")
            print(f"{'function':<28}{'CPU s':>8}{'baseline':>10}{'ratio':>7}{'wall s':>9}{'baseline':>10}{'ratio':>7}"
                  "  first answer")
            worst = 0.0
            for name in names:
                ours, base, outcomes = [], [], set()
                for _ in range(args.runs):
                    event = None if args.import_only else calls.event(name)
                    cpu, wall, outcome = cold(ROOT / "functions" / name, name, function_env(cloud, name), event,
                                              image=registry.function(name).image)
                    ours.append((cpu, wall))
                    outcomes.add(outcome)
                    base.append(baseline())
                ours = [run for run in ours if run[0] == run[0]] or [(float("nan"), float("nan"))]  # NaN: died
                cpu, base_cpu = (statistics.median(run[0] for run in runs) for runs in (ours, base))
                wall, base_wall = (statistics.median(run[1] for run in runs) for runs in (ours, base))
                worst = max(worst, cpu / base_cpu)
                print(f"{name:<28}{cpu:>8.3f}{base_cpu:>10.3f}{cpu / base_cpu:>7.2f}{wall:>9.3f}{base_wall:>10.3f}"
                      f"{wall / base_wall:>7.2f}  {','.join(sorted(outcomes))}", flush=True)
            print(f"worst CPU ratio {worst:.2f} (goal <= 1.2)")
    finally:
        cloud.stop()


if __name__ == "__main__":
    main()
