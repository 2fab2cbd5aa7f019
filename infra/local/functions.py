"""Each registry function as the local runtime runs it: its deployed environment, credentials and policy.

The environment and the IAM statements come from `infra/environment.py`, the code CDK uses; the
local cloud only adds what the Lambda platform itself provides (region, credentials, task root,
/tmp) and the one difference between clouds: the AWS endpoint.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from infra import environment, registry
from infra.local.runtime import DEFAULT_MAX_ENVIRONMENTS, FLOW_MAX_ENVIRONMENTS, FunctionConfig

ACCOUNT = "123456789012"
# The machine's own settings a process needs to reach the network (certificates, proxies), kept as-is.
MACHINE_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "HTTP_PROXY",
                     "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")


@dataclass(frozen=True)
class Identity:
    """The credentials a function's environment holds, standing for its execution role."""

    function: str
    access_key_id: str
    secret_access_key: str

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{ACCOUNT}:role/reelgate-local-{self.function}"

    @property
    def principal(self) -> str:
        return f"arn:aws:sts::{ACCOUNT}:assumed-role/reelgate-local-{self.function}/{self.function}"


ROLE_KEY_CHARS = 15  # an access key id is its role's 15-character prefix + the environment's number


def identity(name: str) -> Identity:
    digest = hashlib.sha256(name.encode()).hexdigest().upper()
    return Identity(name, "ASIALOCAL" + digest[:ROLE_KEY_CHARS - 9] + "00000", "local-" + digest[11:51].lower())


def role_of_key(access_key_id: str) -> str:
    """The role part of an access key id (every environment of a function has its own key)."""
    return access_key_id[:ROLE_KEY_CHARS]


def function_arn(name: str, region: str) -> str:
    return f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"


def python_path(spec: registry.Function) -> list[Path]:
    """What a function imports from besides its own directory: the common layer (/opt/python on Lambda), and
    for an image function the image's dependencies (requirements/render.txt) built for this interpreter."""
    path = [registry.LAYERS_DIR / "common" / "python"]
    if spec.image:
        path.append(registry.RENDER_DIR / registry.HOST / "python")
    return path


def platform_environment(spec: registry.Function, region: str, aws_endpoint: str, tmp: Path) -> dict[str, str]:
    """What Lambda's python3.12 runtime sets in every environment, with this function's role credentials."""
    who = identity(spec.name)
    tmp.mkdir(parents=True, exist_ok=True)
    machine = {name: os.environ[name] for name in MACHINE_VARIABLES if name in os.environ}
    return machine | {
        "AWS_REGION": region, "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": who.access_key_id, "AWS_SECRET_ACCESS_KEY": who.secret_access_key,
        "AWS_LAMBDA_FUNCTION_NAME": spec.name, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12", "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "LAMBDA_TASK_ROOT": str(spec.directory), "_HANDLER": "handler.handler",
        "PYTHONPATH": os.pathsep.join(str(path) for path in python_path(spec)),
        "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "en_US.UTF-8", "TZ": ":UTC",
        "TMPDIR": str(tmp), "PYTHONDONTWRITEBYTECODE": "1",
        # The one difference between clouds: where AWS is. No shared config or instance metadata.
        "AWS_ENDPOINT_URL": aws_endpoint, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "1",  # no X-Ray daemon locally
    }


def configs(res: environment.Resources, stage: str, settings: dict[str, str], *, aws_endpoint: str,
            work_dir: Path, log_level: str = "INFO") -> dict[str, FunctionConfig]:
    out = {}
    for spec in registry.FUNCTIONS:
        env = environment.function_environment(spec, res, stage, settings, log_level=log_level)
        env |= platform_environment(spec, res.region, aws_endpoint, work_dir / "tmp" / spec.name)
        out[spec.name] = FunctionConfig(
            name=spec.name, code_dir=spec.directory, handler="handler.handler", timeout=spec.timeout,
            memory=spec.memory, env=env, arn=function_arn(spec.name, res.region),
            max_environments=spec.reserved_concurrency or (
                DEFAULT_MAX_ENVIRONMENTS if spec.routes else FLOW_MAX_ENVIRONMENTS),
            absent=() if spec.image else registry.IMAGE_ONLY_MODULES,
            api=bool(spec.routes),
        )
    return out


def python() -> str:
    return sys.executable
