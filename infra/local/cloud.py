"""`make dev`: the whole product on one machine, no Docker and no AWS account.

moto serves the AWS APIs on a loopback port (Step Functions executed by its ASL interpreter,
Lambda invokes routed to the real handlers in this process), the provider simulators stand in
for Pixverse and Apphud unless real endpoints are configured, and a gateway serves the API.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto.server import ThreadedMotoServer
from werkzeug.serving import BaseWSGIServer, make_server

from infra.local import moto_lambda
from infra.local.gateway import Gateway
from infra.local.lambdas import invoke
from infra.local.provision import Names, provision

APPHUD_SIM_KEY = "app_sim_key"
DEV_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "reelgate-local", "AWS_SECRET_ACCESS_KEY": "reelgate-local-secret"}


@dataclass
class LocalCloud:
    host: str
    port: int
    aws_port: int
    info: dict[str, Any] = field(default_factory=dict)
    _servers: list[Any] = field(default_factory=list)
    _serving: bool = False

    def start(self) -> dict[str, Any]:
        aws_url = f"http://{self.host}:{self.aws_port}"
        os.environ.update(DEV_CREDENTIALS | {
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            "AWS_ENDPOINT_URL": aws_url,
            "MOTO_PORT": str(self.aws_port),  # moto's ASL interpreter calls Lambda on this port
            "POWERTOOLS_TRACE_DISABLED": "1",  # no X-Ray daemon locally
        })
        os.environ.setdefault("AWS_REGION", os.environ["AWS_DEFAULT_REGION"])
        moto_lambda.install()
        moto = ThreadedMotoServer(ip_address=self.host, port=self.aws_port, verbose=False)
        moto.start()
        self._servers.append(moto)
        _post_json(f"{aws_url}/moto-api/config", {"stepfunctions": {"execute_state_machine": True}})
        os.environ.update(provision(boto3.Session(), _names()))
        self.info = {"api": f"http://{self.host}:{self.port}", "aws_endpoint": aws_url,
                     "aws_access_key_id": DEV_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                     "aws_secret_access_key": DEV_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}
        self.info |= _start_providers(self._servers, self.host)
        self.info |= _seed()
        gateway: BaseWSGIServer = make_server(self.host, self.port, Gateway(invoke), threaded=True)
        self._servers.append(gateway)
        return self.info

    def serve_forever(self) -> None:
        self._serving = True
        self._servers[-1].serve_forever()

    def stop(self) -> None:
        gateway, *others = reversed(self._servers)
        if self._serving:
            gateway.shutdown()
        gateway.server_close()
        for server in others:
            server.stop()
        moto_lambda.uninstall()


def _names() -> Names:
    env = os.environ
    return Names(
        jobs_table=env.setdefault("REELGATE_JOBS_TABLE", "reelgate-jobs"),
        state_table=env.setdefault("REELGATE_STATE_TABLE", "reelgate-state"),
        media_bucket=env.setdefault("REELGATE_MEDIA_BUCKET", "reelgate-media"),
    )


def _post_json(url: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass


def _allow(host_port: str) -> None:
    current = [item for item in os.environ.get("REELGATE_URL_ALLOWLIST", "").split(",") if item]
    os.environ["REELGATE_URL_ALLOWLIST"] = ",".join([*current, host_port])


def _start_providers(servers: list[Any], host: str) -> dict[str, Any]:
    """Start a simulator for every provider without a configured real endpoint."""
    from infra.local.simulators.apphud import ApphudSimulator
    from infra.local.simulators.pixverse import PixverseSimulator

    info: dict[str, Any] = {}
    if not (os.environ.get("PIXVERSE_BASE_URL") and os.environ.get("PIXVERSE_API_KEY")):
        key = os.environ.setdefault("PIXVERSE_API_KEY", "sim-key")
        port = int(os.environ.get("REELGATE_PIXVERSE_SIM_PORT", "0"))
        pixverse = PixverseSimulator(host=host, port=port, api_key=key)
        os.environ["PIXVERSE_BASE_URL"] = pixverse.start()
        servers.append(pixverse)
        _allow(os.environ["PIXVERSE_BASE_URL"].split("/")[2])  # mirrored videos come from the simulator
    if not os.environ.get("APPHUD_BASE_URL"):
        apphud = ApphudSimulator(host=host, port=int(os.environ.get("REELGATE_APPHUD_SIM_PORT", "0")),
                                 api_keys=(APPHUD_SIM_KEY,))
        os.environ["APPHUD_BASE_URL"] = apphud.start()
        servers.append(apphud)
    info["pixverse"] = os.environ["PIXVERSE_BASE_URL"]
    info["apphud"] = os.environ["APPHUD_BASE_URL"]
    return info


def _seed() -> dict[str, Any]:
    """The development API key and the development app, so the API is usable at once."""
    from infra.local.seed import seed_development_data

    api_key = os.environ.setdefault("REELGATE_DEV_API_KEY", "rg_dev_" + secrets.token_urlsafe(24))
    os.environ.setdefault("REELGATE_APPHUD_WEBHOOK_TOKEN", "dev-apphud-token")
    return seed_development_data(api_key, os.environ.get("REELGATE_DEV_APPHUD_API_KEY", APPHUD_SIM_KEY))


def main() -> None:
    from reelgate.settings import Settings

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per emulated AWS call is noise

    settings = Settings()
    cloud = LocalCloud(settings.host, settings.port, settings.aws_port)
    info = cloud.start()
    print("Reelgate local cloud is up", flush=True)
    for key, value in info.items():
        print(f"  {key:<22} {value}", flush=True)
    print("READY " + json.dumps(info), flush=True)
    try:
        cloud.serve_forever()
    except KeyboardInterrupt:
        cloud.stop()
        sys.exit(0)
