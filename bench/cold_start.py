"""Cold start: importing each function's handler in a fresh interpreter that sees what a Lambda sees
(the function's directory, the common layer, the packages of the deps layer and the runtime's boto3),
against a bare Powertools handler with the same Logger, Tracer, Metrics and REST resolver, same run.

The deps layer is built for the Lambda runtime's Python (3.12), so the packages are the development
venv's copies of the same locked versions, and every other top-level package of the venv is hidden
(test tools that libraries import when present, such as httpx's optional CLI). Median of --runs per row,
interleaved with the baseline so the machine's drift hits both. Printed, never asserted.

The ratio is of CPU seconds (user + system of the import): on a shared, loaded machine the wall time
mostly measures the scheduler (a load of 30 on 2 cores made the same import take 0.3 s or 2.5 s), while
the CPU an import burns is what a Lambda's init pays for. Wall seconds are printed beside it.

    .venv/bin/python bench/cold_start.py [--runs 10] [--only health,text_to_video]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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
TIMER = """
import sys, time
t, c = time.perf_counter(), time.process_time()
ALLOWED = set({allowed!r}) | set(sys.stdlib_module_names)

class Lambda:  # what the function's Lambda has not: ModuleNotFoundError, as there
    @staticmethod
    def find_spec(name, path=None, target=None):
        if path is None and name not in ALLOWED and not name.startswith("_"):
            raise ModuleNotFoundError(name)
        return None

sys.meta_path.insert(0, Lambda)
sys.path[:0] = {paths!r}
import handler
print(time.process_time() - c, time.perf_counter() - t)
"""
ENV = {"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_SERVICE_NAME": "bench",
       "POWERTOOLS_METRICS_NAMESPACE": "Bench", "AWS_LAMBDA_FUNCTION_NAME": "bench", "PATH": "/usr/bin:/bin"}


def allowed() -> list[str]:
    """Top-level modules a Lambda has: the deps layer's packages, the runtime's, the common layer's."""
    layer = {p.name.removesuffix(".py") for p in DEPS.iterdir() if not p.name.endswith((".dist-info", ".libs"))}
    return sorted(layer | set(RUNTIME_PACKAGES) | {"reelgate", "handler", "_cffi_backend", "typing_extensions",
                                                     "typing_inspection"})


def import_seconds(function_dir: Path) -> tuple[float, float]:
    """CPU and wall seconds of importing the handler in `function_dir`."""
    paths = [str(function_dir), str(COMMON), sysconfig.get_paths()["purelib"]]
    code = TIMER.format(allowed=allowed(), paths=paths)
    out = subprocess.run([sys.executable, "-S", "-c", code], env=ENV, capture_output=True, text=True, check=True)
    cpu, wall = out.stdout.strip().splitlines()[-1].split()
    return float(cpu), float(wall)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    names = [f.name for f in registry.FUNCTIONS if not args.only or f.name in args.only.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        baseline_dir = Path(tmp) / "baseline"
        baseline_dir.mkdir()
        (baseline_dir / "handler.py").write_text(BASELINE)
        print(f"\ncold import (median of {args.runs}), the bare Powertools handler measured beside each row")
        print(f"{'function':<28}{'CPU s':>8}{'baseline':>10}{'ratio':>7}{'wall s':>9}{'baseline':>10}{'ratio':>7}")
        worst = 0.0
        for name in names:
            ours, base = [], []
            for _ in range(args.runs):
                ours.append(import_seconds(ROOT / "functions" / name))
                base.append(import_seconds(baseline_dir))
            cpu, base_cpu = (statistics.median(run[0] for run in runs) for runs in (ours, base))
            wall, base_wall = (statistics.median(run[1] for run in runs) for runs in (ours, base))
            worst = max(worst, cpu / base_cpu)
            print(f"{name:<28}{cpu:>8.3f}{base_cpu:>10.3f}{cpu / base_cpu:>7.2f}"
                  f"{wall:>9.3f}{base_wall:>10.3f}{wall / base_wall:>7.2f}")
        print(f"worst CPU ratio {worst:.2f} (goal <= 1.2)")


if __name__ == "__main__":
    main()
