"""Registered apps: their Apphud key (a secret reference), Pixverse defaults and per-user limits."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from reelgate.dynamo import from_dynamo, to_dynamo

PREFIX = "app#"
DEV_BUNDLE_ID = "com.example.app"


class PixverseDefaults(BaseModel):
    model: str = "v4.5"
    quality: Literal["360p", "540p", "720p", "1080p"] = "540p"
    duration: int = Field(5, ge=1, le=15)
    aspect_ratio: str = "16:9"
    motion_mode: Literal["normal", "fast"] = "normal"


class TopViewOptions(BaseModel):
    # How long a job may wait for TopView's 4007 (an unfinished task) before it fails; 0 answers 429 at
    # once; None: the deployment's topview_busy_wait_seconds.
    busy_wait_seconds: int | None = Field(None, ge=0)


Provider = Literal["pixverse", "topview"]


class Route(BaseModel):
    """Who serves an endpoint: `primary`, and `fallback` only when the primary is unavailable."""

    primary: Provider = "pixverse"
    fallback: Provider | None = None

    @model_validator(mode="after")
    def _distinct(self) -> Route:
        if self.fallback == self.primary:
            raise ValueError("the fallback must be another provider than the primary")
        return self


class App(BaseModel):
    bundle_id: str
    # Where the app's Apphud api_key lives: "secret:<name or ARN>[#<JSON key>]" or "env:<VARIABLE>". Deployed
    # apps use the stack's apphud-app-keys secret: "secret:reelgate/<stage>/apphud-app-keys#<bundle id>".
    apphud_key_ref: str
    apphud_environment: Literal["production", "sandbox"] | None = "production"
    pixverse: PixverseDefaults = Field(default_factory=PixverseDefaults)
    monthly_generations: int = Field(100, ge=0)  # per user per calendar month (UTC); 0 = none allowed
    concurrent_generations: int = Field(2, ge=1)  # per user
    topview: TopViewOptions = Field(default_factory=TopViewOptions)
    routes: dict[Literal["text2video", "image2video"], Route] = Field(default_factory=dict)  # absent: Pixverse only


class AppRegistry:
    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, bundle_id: str) -> App | None:
        item = self._table.get_item(Key={"pk": PREFIX + bundle_id}).get("Item")
        return App.model_validate(from_dynamo(item["app"])) if item else None

    def put(self, app: App) -> App:
        self._table.put_item(Item={"pk": PREFIX + app.bundle_id, "app": to_dynamo(app.model_dump(mode="json"))})
        return app

    def list(self) -> list[App]:
        page = self._table.scan(FilterExpression="begins_with(pk, :p)", ExpressionAttributeValues={":p": PREFIX})
        return [App.model_validate(from_dynamo(item["app"])) for item in page.get("Items", [])]


class AppKeySecret:
    """The one secret deployed functions may read Apphud keys from: a JSON object, bundle id -> api key.

    Functions are granted GetSecretValue on this secret only, so an app registered with a reference to
    any other secret would fail at runtime (AccessDenied); registration checks the reference instead.
    """

    def __init__(self, client: Any, secret_id: str) -> None:
        self._client, self.secret_id = client, secret_id

    def ref(self, bundle_id: str) -> str:
        return f"secret:{self.secret_id}#{bundle_id}"

    def key_of(self, ref: str) -> str:
        """The reference's JSON key; ValueError unless the reference names this secret and a key in it."""
        kind, _, target = ref.partition(":")
        secret_id, _, key = target.partition("#")
        if kind != "secret" or not key or secret_name(secret_id) != secret_name(self.secret_id):
            raise ValueError(f"the Apphud key must live in {self.secret_id} (the only secret the functions may "
                             f"read): use secret:{self.secret_id}#<bundle id>, got {ref!r}")
        return key

    def require(self, key: str) -> None:
        if key not in self._keys():
            raise ValueError(f"{self.secret_id} has no Apphud key {key!r}: store it first (--apphud-key-stdin)")

    def store(self, key: str, api_key: str) -> None:
        """Add or replace one app's key; the other apps' keys stay as they are."""
        if not api_key.strip():
            raise ValueError("the Apphud api key is empty")
        keys = self._keys() | {key: api_key.strip()}
        self._client.put_secret_value(SecretId=self.secret_id, SecretString=json.dumps(keys, sort_keys=True))

    def _keys(self) -> dict[str, str]:
        value = self._client.get_secret_value(SecretId=self.secret_id).get("SecretString") or ""
        try:
            keys = json.loads(value)
        except ValueError:
            return {}  # the generated placeholder the stack creates: no app keys yet
        return keys if isinstance(keys, dict) else {}


_ARN_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")  # Secrets Manager appends six characters to a secret's ARN


def secret_name(secret_id: str) -> str:
    """A secret's name from its name or its ARN."""
    if secret_id.startswith("arn:") and ":secret:" in secret_id:
        return _ARN_SUFFIX.sub("", secret_id.split(":secret:", 1)[1])
    return secret_id


def register_development_app(table: Any, apphud_key_ref: str) -> str:
    AppRegistry(table).put(App(bundle_id=DEV_BUNDLE_ID, apphud_key_ref=apphud_key_ref, apphud_environment=None))
    return DEV_BUNDLE_ID


def add_app_commands(groups: Any) -> None:
    apps = groups.add_parser("apps").add_subparsers(dest="action", required=True)
    put = apps.add_parser("put", help="register an app or replace its configuration")
    put.add_argument("bundle_id")
    put.add_argument("--apphud-key-ref", help="secret:<the stack's app-keys secret>#<key> (default: the bundle id)")
    put.add_argument("--apphud-key-stdin", action="store_true",
                     help="read the app's Apphud api key from stdin and store it in the stack's app-keys secret")
    put.add_argument("--apphud-environment", choices=["production", "sandbox", "any"], default="production")
    for name, default in PixverseDefaults().model_dump().items():
        put.add_argument(f"--{name.replace('_', '-')}", default=default, type=type(default))
    put.add_argument("--monthly-generations", type=int, default=100)
    put.add_argument("--concurrent-generations", type=int, default=2)
    for endpoint in ("text2video", "image2video"):
        put.add_argument(f"--{endpoint}", metavar="PRIMARY[,FALLBACK]", default="pixverse",
                         help=f"providers behind /{endpoint}: pixverse or topview, optionally a fallback")
    put.add_argument("--topview-busy-wait-seconds", type=int, default=None,
                     help="how long a job may wait for TopView's 4007; 0 answers 429 at once")
    apps.add_parser("list")


def run_app_command(registry: AppRegistry, args: argparse.Namespace, keys: AppKeySecret,
                    read_key: Callable[[], str]) -> Any:
    """`apps list`, or `apps put`: the app's key reference must name the stack's app-keys secret and a key it holds
    (stored first with --apphud-key-stdin, read by `read_key`); ValueError says what to fix."""
    if args.action == "list":
        return [app.model_dump() for app in registry.list()]
    ref = args.apphud_key_ref or keys.ref(args.bundle_id)
    key = keys.key_of(ref)
    app = _app(args, ref)  # a bad option fails before anything is stored
    if args.apphud_key_stdin:
        keys.store(key, read_key())
    keys.require(key)
    return registry.put(app).model_dump()


def _app(args: argparse.Namespace, ref: str) -> App:
    defaults = PixverseDefaults.model_validate({name: getattr(args, name) for name in PixverseDefaults.model_fields})
    app = App(bundle_id=args.bundle_id, apphud_key_ref=ref,
              apphud_environment=None if args.apphud_environment == "any" else args.apphud_environment,
              pixverse=defaults, monthly_generations=args.monthly_generations,
              concurrent_generations=args.concurrent_generations,
              topview=TopViewOptions(busy_wait_seconds=args.topview_busy_wait_seconds),
              routes={endpoint: _route(getattr(args, endpoint)) for endpoint in ("text2video", "image2video")})
    return app


def _route(value: str) -> Route:
    primary, _, fallback = value.partition(",")
    return Route.model_validate({"primary": primary.strip(), "fallback": fallback.strip() or None})
