"""`make dev`: the whole product on one machine, no Docker and no AWS account, as strict as AWS.

- **AWS**: moto serves the AWS APIs on a loopback port behind a gate that enforces each function's
  IAM policy, injects faults on demand and keeps moto consistent (`aws_server.py`). Step Functions
  run the real ASL files on moto's interpreter.
- **Lambda**: every invocation (API, Step Functions task, S3 event) runs in a warm worker process of
  its own function, with exactly the environment the CDK app gives that function, its timeout and
  Lambda's payload limits (`runtime.py`).
- **Providers**: simulators for Pixverse, Apphud and TopView unless real endpoints are configured.
- **API Gateway**: the gateway turns HTTP requests into proxy events, with API Gateway's limits.

The local cloud's own configuration comes from its environment (the README's table); functions never
see that environment, only the operator settings the registry says they read.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import sys
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import boto3
from reelgate import cors
from reelgate.mobile.apps import DEV_BUNDLE_ID
from werkzeug.serving import BaseWSGIServer, make_server

from infra import environment, registry
from infra.cdn_keys import new_key_pair, store_private_key
from infra.local import functions, moto_lambda
from infra.local.aws_server import AwsServer
from infra.local.cdn import LocalCdn
from infra.local.gateway import Gateway
from infra.local.policies import authorizer
from infra.local.provision import LOCAL_NAMES, LOCAL_STAGE, provision, secret_name
from infra.local.runtime import ASYNC_PAYLOAD_BYTES, STATES_PAYLOAD_BYTES, Runtime
from infra.local.seed import seed_development_data

APPHUD_SIM_KEY = "app_sim_key"
PIXVERSE_SIM_KEY = "sim-key"
TOPVIEW_SIM_UID, TOPVIEW_SIM_KEY = "sim-uid", "sim-topview-key"
ADMIN_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "reelgate-local", "AWS_SECRET_ACCESS_KEY": "reelgate-local-secret"}
STAGE = LOCAL_STAGE
# Pages served from any local port may call the local API (with credentials) unless REELGATE_CORS_ORIGINS says.
LOCAL_CORS_ORIGINS = "http://localhost:*,http://127.0.0.1:*"
STATE_DIR = registry.ROOT / ".local-cloud"
FFMPEG_BIN = registry.ROOT / "layers" / "ffmpeg" / "bin"  # the FFmpeg layer's bin/, /opt/bin on Lambda


@dataclass
class LocalCloud:
    host: str
    port: int
    aws_port: int
    config: dict[str, str] = field(default_factory=lambda: dict(os.environ))  # the cloud's own configuration
    info: dict[str, Any] = field(default_factory=dict)
    runtime: Runtime | None = None
    _servers: list[Any] = field(default_factory=list)
    _serving: bool = False
    # The simulated PixVerse account's webhook secret key, new for every run.
    _pixverse_webhook_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    @property
    def apphud_webhook_token(self) -> str:
        return self.config.get("REELGATE_APPHUD_WEBHOOK_TOKEN") or "dev-apphud-token"

    @property
    def aws_url(self) -> str:
        return f"http://{self.host}:{self.aws_port}"

    def start(self) -> dict[str, Any]:
        region = self.config.get("AWS_DEFAULT_REGION") or "us-east-1"
        # The emulator's own process: moto's ASL interpreter calls Lambda on MOTO_PORT with these.
        os.environ.update(ADMIN_CREDENTIALS | {"AWS_DEFAULT_REGION": region, "AWS_REGION": region,
                                               "AWS_ENDPOINT_URL": self.aws_url, "MOTO_PORT": str(self.aws_port)})
        aws = AwsServer(self.host, self.aws_port)
        aws.start()
        self._servers.append(aws)
        _post_json(f"{self.aws_url}/moto-api/config", {"stepfunctions": {"execute_state_machine": True}})
        session = boto3.Session(region_name=region)
        names = LOCAL_NAMES
        provision(session, names)
        providers = self._start_providers()
        cdn = self._cdn(session, names.media_bucket)
        providers["cdn"] = cdn.url  # the stage's CloudFront distribution (printed as `cdn`)
        res = _resources(session, region, names, self._secrets(session), cdn)
        settings = environment.stage_values(self._stage_settings(providers))
        work = STATE_DIR / f"run-{self.aws_port}"
        configs = functions.configs(res, STAGE, settings, aws_endpoint=self.aws_url, work_dir=work,
                                    log_level=self.config.get("LOG_LEVEL", "INFO"))
        self.runtime = runtime = Runtime(configs, log_dir=work / "logs")
        aws.gate.principals = {functions.role_of_key(functions.identity(name).access_key_id): name for name in configs}
        aws.gate.role_of_key = functions.role_of_key
        aws.gate.expire = runtime.expire
        aws.gate.lambda_report = runtime.report
        aws.gate.reset_lambda_report = runtime.reset_report
        aws.gate.urgent = frozenset(name for name, config in configs.items() if config.api)
        aws.gate.authorize = authorizer(res, session)
        moto_lambda.install(
            lambda name, event: _as_lambda(runtime, name, event, STATES_PAYLOAD_BYTES, "States.DataLimitExceeded"),
            lambda name, event: _as_lambda(runtime, name, event, ASYNC_PAYLOAD_BYTES),
        )
        api_key = self.config.get("REELGATE_DEV_API_KEY") or "rg_dev_" + secrets.token_urlsafe(24)
        seeded = seed_development_data(session, names.state_table, api_key, res.secret_arns["apphud_apps"])
        gateway: BaseWSGIServer = make_server(
            self.host, self.port, Gateway(runtime, cors_origins=cors.parse(settings["cors_origins"])), threaded=True)
        self._servers.append(gateway)
        api = f"http://{self.host}:{self.port}"
        self.info = {"api": api, "docs": f"{api}/docs", "openapi": f"{api}/openapi.json", "aws_endpoint": self.aws_url,
                     "aws_access_key_id": ADMIN_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                     "aws_secret_access_key": ADMIN_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                     "jobs_table": names.jobs_table, "state_table": names.state_table,
                     "media_bucket": names.media_bucket,
                     "events_tap": session.client("sqs").get_queue_url(QueueName=names.events_tap)["QueueUrl"],
                     **providers, **seeded,
                     "apphud_webhook_token": self.apphud_webhook_token,
                     "function_logs": str(work / "logs")}
        return self.info

    def serve_forever(self) -> None:
        self._serving = True
        self._servers[-1].serve_forever()

    def stop(self) -> None:
        gateway, *others = reversed(self._servers)
        if self._serving:
            gateway.shutdown()
        gateway.server_close()
        if self.runtime is not None:
            self.runtime.stop()
        for server in others:
            server.stop()
        moto_lambda.uninstall()

    def _start_providers(self) -> dict[str, str]:
        """A simulator for every provider without a configured real endpoint."""
        from infra.local.simulators.apphud import ApphudSimulator
        from infra.local.simulators.pixverse import PixverseSimulator
        from infra.local.simulators.topview import TopViewSimulator

        env = self.config
        out = {}
        if self._real_pixverse:
            out["pixverse"] = env["PIXVERSE_BASE_URL"]
        else:
            # Like PixVerse, videos finish on their own after a while and a signed webhook announces them
            # (0: only polls finish them; the webhook still goes out when they do).
            seconds = float(env.get("REELGATE_PIXVERSE_SIM_TASK_SECONDS", "5"))
            scenario: dict[str, Any] = {"webhook_url": f"http://{self.host}:{self.port}/callbacks/pixverse",
                                        "webhook_secret": self._pixverse_webhook_key}
            if seconds > 0:
                scenario["seconds_until_done"] = seconds
            pixverse = PixverseSimulator(host=self.host, port=int(env.get("REELGATE_PIXVERSE_SIM_PORT", "0")),
                                         api_key=PIXVERSE_SIM_KEY, scenario=scenario)
            out["pixverse"] = pixverse.start()
            self._servers.append(pixverse)
        if env.get("APPHUD_BASE_URL"):
            out["apphud"] = env["APPHUD_BASE_URL"]
        else:
            apphud = ApphudSimulator(host=self.host, port=int(env.get("REELGATE_APPHUD_SIM_PORT", "0")),
                                     api_keys=(APPHUD_SIM_KEY,))
            out["apphud"] = apphud.start()
            self._servers.append(apphud)
        if self._real_topview:
            out["topview"] = env["TOPVIEW_BASE_URL"]
        else:
            # Like TopView, tasks finish on their own after a while and call back (0: only polls finish them).
            seconds = float(env.get("REELGATE_TOPVIEW_SIM_TASK_SECONDS", "8"))
            topview = TopViewSimulator(host=self.host, port=int(env.get("REELGATE_TOPVIEW_SIM_PORT", "0")),
                                       uid=TOPVIEW_SIM_UID, api_key=TOPVIEW_SIM_KEY,
                                       scenario={"seconds_until_done": seconds} if seconds > 0 else None)
            out["topview"] = topview.start()
            self._servers.append(topview)
        return out

    @property
    def _real_pixverse(self) -> bool:
        return bool(self.config.get("PIXVERSE_BASE_URL") and self.config.get("PIXVERSE_API_KEY"))

    @property
    def _real_topview(self) -> bool:
        return all(self.config.get(name) for name in ("TOPVIEW_BASE_URL", "TOPVIEW_UID", "TOPVIEW_API_KEY"))

    def _secrets(self, session: Any) -> dict[str, str]:
        """The stack's secrets, holding the simulators' keys unless real ones are configured."""
        env = self.config
        values = {
            "pixverse": env["PIXVERSE_API_KEY"] if self._real_pixverse else PIXVERSE_SIM_KEY,
            "pixverse_webhook": env.get("PIXVERSE_WEBHOOK_KEY") if self._real_pixverse else self._pixverse_webhook_key,
            "apphud": self.apphud_webhook_token,
            "apphud_apps": json.dumps({DEV_BUNDLE_ID: env.get("REELGATE_DEV_APPHUD_API_KEY") or APPHUD_SIM_KEY}),
            "topview": env["TOPVIEW_API_KEY"] if self._real_topview else TOPVIEW_SIM_KEY,
        }
        client = session.client("secretsmanager")
        return {key: client.create_secret(Name=secret_name(STAGE, key),
                                          SecretString=value or "")["ARN"] for key, value in values.items()}

    def _cdn(self, session: Any, bucket: str) -> environment.Cdn:
        """The distribution's stand-in on its own port, with a key pair made as `infra.admin cdn-key` makes one:
        the private half in the secret the stack names, the public half (and its id) the stand-in's."""
        keys, key_pair_id = new_key_pair(), "K" + secrets.token_hex(7).upper()
        name = environment.cdn_secret_name(STAGE)
        arn = store_private_key(session.client("secretsmanager"), name, keys.private_pem,
                                description="Reelgate local: private key that signs output links")
        server = LocalCdn(session.client("s3"), bucket, key_pair_id, keys.public_pem).serve(
            self.host, int(self.config.get("REELGATE_CDN_PORT", "0")))
        self._servers.append(server)
        return environment.Cdn(url=server.root_url, key_pair_id=key_pair_id, secret_id=arn, secret_arn=arn)

    def _stage_settings(self, providers: dict[str, str]) -> dict[str, Any]:
        """Operator settings: the documented variables of the cloud's configuration, plus where the local
        parts are (simulators, the FFmpeg layer, the emulated S3 that serves presigned URLs)."""
        values: dict[str, Any] = environment.from_environment(self.config)
        values.setdefault("cors_origins", LOCAL_CORS_ORIGINS)  # REELGATE_CORS_ORIGINS overrides ("" turns CORS off)
        allow = [item for item in values.get("url_allowlist", "").split(",") if item]
        # The CDN too: on AWS outputs are public https URLs, so a job may take an earlier one's output as input.
        allow += [url.split("/")[2] for url in (self.aws_url, providers["pixverse"], providers["topview"],
                                                 providers["cdn"])]
        topview = {"topview_base_url": providers["topview"]}
        if not self._real_topview:  # the simulator calls back to this gateway; a real TopView needs a public URL
            topview["topview_uid"] = TOPVIEW_SIM_UID
            values.setdefault("topview_notice_url", f"http://{self.host}:{self.port}/callbacks/topview")
        if not self._real_pixverse:  # the simulator's console has this gateway's webhook URL registered
            values.setdefault("pixverse_webhook_url", f"http://{self.host}:{self.port}/callbacks/pixverse")
        return values | topview | {
            "pixverse_base_url": providers["pixverse"], "apphud_base_url": providers["apphud"],
            "url_allowlist": ",".join(dict.fromkeys(allow)),
            "ffmpeg_dir": str(FFMPEG_BIN),
        }


def _resources(session: Any, region: str, names: Any, secret_arns: dict[str, str],
               cdn: environment.Cdn | None = None) -> environment.Resources:
    account = functions.ACCOUNT
    bus = session.client("events").describe_event_bus(Name=names.event_bus)["Arn"]
    flows = {m["name"].removeprefix("reelgate-"): m["stateMachineArn"]
             for m in session.client("stepfunctions").list_state_machines()["stateMachines"]}
    table = f"arn:aws:dynamodb:{region}:{account}:table/"
    return environment.Resources(
        account=account, region=region, jobs_table=names.jobs_table, jobs_table_arn=table + names.jobs_table,
        state_table=names.state_table, state_table_arn=table + names.state_table,
        media_bucket=names.media_bucket, media_bucket_arn=f"arn:aws:s3:::{names.media_bucket}",
        event_bus=names.event_bus, event_bus_arn=bus, secret_arns=secret_arns, flow_arns=flows, cdn=cdn,
    )


def _as_lambda(runtime: Runtime, name: str, event: Any, limit: int,
               limit_error: str = "RequestEntityTooLargeException") -> tuple[str, bool]:
    result = runtime.invoke(name, json.dumps(event).encode(), limit=limit, limit_error=limit_error)
    return result.payload.decode("utf-8", "replace"), result.errored


def _post_json(url: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per emulated AWS call is noise
    host = os.environ.get("REELGATE_HOST", "127.0.0.1")
    cloud = LocalCloud(host, int(os.environ.get("REELGATE_PORT", "3000")),
                       int(os.environ.get("REELGATE_AWS_PORT", "4566")))
    info = cloud.start()
    print("Reelgate local cloud is up", flush=True)
    for key, value in info.items():
        print(f"  {key:<22} {value}", flush=True)
    print("READY " + json.dumps(info), flush=True)
    signal.signal(signal.SIGTERM, _stop_signal)  # `kill` stops it as Ctrl-C does: workers too
    try:
        cloud.serve_forever()
    except KeyboardInterrupt:
        cloud.stop()
        sys.exit(0)


def _stop_signal(number: int, frame: Any) -> None:
    print(f"Reelgate local cloud: stopping on {signal.Signals(number).name}", file=sys.stderr, flush=True)
    raise KeyboardInterrupt

