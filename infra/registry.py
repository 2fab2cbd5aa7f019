"""The one list of Reelgate's functions, HTTP routes, flows and S3 triggers.

Both the CDK app (`infra/stack.py`) and the local cloud (`infra/local/`) are built from this module,
so what runs locally and what is deployed can never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = ROOT / "functions"
STATEMACHINES_DIR = ROOT / "infra" / "statemachines"
LAYERS_DIR = ROOT / "layers"
# Image functions' dependencies (requirements/render.txt), built by `make layers` (infra/layers.py) into
# <arch>/python for Lambda's interpreter (the image's) and HOST/python for this machine's (the local cloud's).
RENDER_DIR = LAYERS_DIR / "render"
HOST = "host"
# What requirements/render.in adds to the runtime lock: only an image function may import these modules.
IMAGE_ONLY_MODULES = ("cv2", "numpy")

Auth = Literal["none", "api_key", "app", "apphud_token", "topview_uid", "pixverse_signature"]
Arch = Literal["arm64", "x86_64"]
# What a function may touch; the CDK app turns each grant into the narrowest IAM permission.
Grant = Literal[
    "jobs:read", "jobs:write", "state:read", "state:write", "media:read", "media:write",
    "events:put", "flow:toolkit", "flow:pixverse", "secret:pixverse", "secret:apphud", "secret:apphud_apps",
    "flow:topview", "secret:topview", "secret:pixverse_webhook",
    "tasks:topview", "tasks:pixverse",  # tasks: SendTask{Success,Failure,Heartbeat} on its flow's waits
    "media:inbox",  # s3:PutObject under inbox/ only: what a presigned upload into a toolkit key's inbox needs
    "media:mobile_inbox",  # s3:PutObject under inbox/mobile/ only: a mobile caller's presigned upload (/uploads)
    "media:mobile_inbox_read",  # s3:GetObject under inbox/mobile/ only: images named by `image_key`
    "jobs:scan", "state:scan",  # dynamodb:Scan of the whole table (counter_drift's recount; no index serves it)
    "media:segments",  # s3:DeleteObject under segments/ only: a segmented render removes its parts once joined
    "cdn:sign",  # answers output links: the CDN's signing key where the stage has one (reelgate.links)
]
# Which operator settings a function reads (infra/environment.py lists each group's settings).
SettingGroup = Literal["jobs", "media_urls", "toolkit", "fetch", "webhooks", "media", "pixverse", "generation",
                       "apphud", "topview", "routing", "idempotency", "pixverse_webhooks", "uploads", "cors"]


@dataclass(frozen=True)
class Route:
    method: str
    path: str


@dataclass(frozen=True)
class Function:
    """One Lambda function: code in `functions/<name>/handler.py`, entry point `handler`."""

    name: str
    description: str
    routes: tuple[Route, ...] = ()
    auth: Auth = "none"
    memory: int = 512
    timeout: int = 29
    arch: Arch = "arm64"
    ffmpeg: bool = False  # gets the FFmpeg binaries at /opt/bin (x86_64 build, in its container image)
    # Deployed as a container image (infra/image.py: the handler, the common package, requirements/render.txt
    # and, with ffmpeg, the FFmpeg binaries) instead of a zip with layers; see docs/decisions.md.
    image: bool = False
    ephemeral_mb: int = 512
    grants: frozenset[Grant] = field(default_factory=frozenset)
    settings: tuple[SettingGroup, ...] = ()
    reserved_concurrency: int | None = None  # None: the account's unreserved pool

    @property
    def directory(self) -> Path:
        return FUNCTIONS_DIR / self.name

    @property
    def module(self) -> str:
        return f"functions.{self.name}.handler"


@dataclass(frozen=True)
class Flow:
    """One Step Functions state machine: `infra/statemachines/<asl>` with `${Key}` substitutions
    naming the functions it invokes (Key -> function name) and plain values (Key -> value)."""

    name: str
    asl: str
    functions: dict[str, str]
    values: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return STATEMACHINES_DIR / self.asl


@dataclass(frozen=True)
class S3Trigger:
    function: str
    prefix: str
    suffixes: tuple[str, ...] = ()


def _post(*paths: str) -> tuple[Route, ...]:
    return tuple(Route("POST", p) for p in paths)


# Every function that writes jobs may change a job's status, and every status change is published to the
# stack's bus (reelgate.events): "jobs:write" always comes with "events:put" (tests/infra/test_event_bus.py).
_TOOLKIT_SUBMIT: frozenset[Grant] = frozenset(
    {"jobs:read", "jobs:write", "state:read", "state:write", "media:read", "flow:toolkit", "events:put", "cdn:sign"}
)
_MOBILE_SUBMIT: frozenset[Grant] = frozenset(
    {"jobs:read", "jobs:write", "state:read", "state:write", "media:write", "flow:pixverse", "secret:pixverse",
     "secret:apphud_apps", "events:put"}
)

_TOPVIEW_SUBMIT: frozenset[Grant] = frozenset(
    {"jobs:read", "jobs:write", "state:read", "state:write", "flow:topview", "secret:topview", "secret:apphud_apps",
     "events:put"}
)
_TOPVIEW_API: tuple[SettingGroup, ...] = ("jobs", "generation", "apphud", "topview", "idempotency", "cors")
# Endpoints that take images also take keys of the caller's uploads (POST /uploads): they read them.
_UPLOADS_READ: frozenset[Grant] = frozenset({"media:mobile_inbox_read"})

# Renders are the expensive work: at most this many at once, so a burst cannot take the account's whole
# concurrency (or its bill) and every other function keeps running; further flow tasks are throttled and retried.
RENDER_CONCURRENCY = 10
_TOOLKIT_API: tuple[SettingGroup, ...] = ("jobs", "media_urls", "toolkit")
_MOBILE_API: tuple[SettingGroup, ...] = ("jobs", "media_urls", "pixverse", "generation", "apphud")
# Every function behind a route (but the liveness probe) reads the allowed browser origins ("cors"): its
# answers carry the CORS headers (reelgate.cors).
_TOOLKIT_ROUTE: tuple[SettingGroup, ...] = (*_TOOLKIT_API, "cors")
# /text2video and /image2video: Pixverse, TopView's common tasks, or one failing over to the other.
_ROUTED_SUBMIT: frozenset[Grant] = _MOBILE_SUBMIT | {"flow:topview", "secret:topview"}
_ROUTED_API: tuple[SettingGroup, ...] = (*_MOBILE_API, "pixverse_webhooks", "topview", "routing", "idempotency",
                                          "cors")

FUNCTIONS: tuple[Function, ...] = (
    Function("health", "Liveness probe", (Route("GET", "/health"),)),
    # --- Video toolkit (NCA-compatible) ---
    Function(
        "toolkit_image_to_video", "Image to zooming video (toolkit)",
        # /v1/image/transform/video: NCA's alias of the same route (NCA has no /paid/ twin of it).
        _post("/v1/image/convert/video", "/v1/image/transform/video", "/paid/image/convert/video"), auth="api_key",
        grants=_TOOLKIT_SUBMIT, settings=(*_TOOLKIT_ROUTE, "idempotency"),
    ),
    Function(
        "toolkit_concatenate", "Concatenate videos (toolkit)",
        _post("/v1/video/concatenate", "/paid/video/concatenate"), auth="api_key",
        grants=_TOOLKIT_SUBMIT, settings=(*_TOOLKIT_ROUTE, "idempotency"),
    ),
    Function(
        "toolkit_job_status", "Toolkit job status",
        _post("/v1/toolkit/job/status", "/paid/get/job/status"), auth="api_key",
        grants=frozenset({"jobs:read", "state:read", "media:read", "cdn:sign"}), settings=_TOOLKIT_ROUTE,
    ),
    Function(
        "toolkit_jobs_status", "Toolkit jobs of this key in a time window",
        _post("/v1/toolkit/jobs/status"), auth="api_key", grants=frozenset({"jobs:read", "state:read"}),
        settings=_TOOLKIT_ROUTE,
    ),
    Function(
        "toolkit_authenticate", "Toolkit API key check",
        (Route("GET", "/v1/toolkit/authenticate"),), auth="api_key", grants=frozenset({"state:read"}),
        settings=_TOOLKIT_ROUTE,
    ),
    Function(
        "toolkit_render", "Download, convert with FFmpeg and upload (toolkit flow task)",
        # 1769 MB (one vCPU): the cheapest size per rendered minute (bench/render_memory.py, docs/decisions.md)
        memory=1769, timeout=900, arch="x86_64", ffmpeg=True, image=True, ephemeral_mb=10240,
        reserved_concurrency=RENDER_CONCURRENCY,
        grants=frozenset({"jobs:read", "jobs:write", "media:read", "media:write", "media:segments", "events:put"}),
        settings=("jobs", "fetch", "media"),
    ),
    Function(
        "toolkit_settle", "Record the outcome, settle credits and the queue slot (toolkit flow task)",
        grants=frozenset({"jobs:read", "jobs:write", "state:write", "media:read", "events:put"}),
        settings=_TOOLKIT_API,
    ),
    Function(
        "toolkit_notify", "Deliver the signed webhook with retries (toolkit flow task)",
        timeout=300,
        grants=frozenset({"jobs:read", "jobs:write", "state:read", "media:read", "events:put", "cdn:sign"}),
        settings=(*_TOOLKIT_API, "fetch", "webhooks"),
    ),
    Function(
        "toolkit_upload", "Presigned upload into the key's own inbox (objects there start jobs)",
        _post("/v1/uploads"), auth="api_key", grants=frozenset({"state:read", "media:inbox"}), settings=_TOOLKIT_ROUTE,
    ),
    Function(
        "s3_ingest", "Start a toolkit job for an object put in a key's inbox (inbox/<key id>/<kind>/)",
        grants=frozenset({"jobs:read", "jobs:write", "state:read", "state:write", "media:read", "flow:toolkit",
                          "events:put"}),
        settings=_TOOLKIT_API,
    ),
    # --- Mobile video API (Pixverse) ---
    Function(
        "text_to_video", "Text to video (Pixverse, or TopView as the app's route says)", _post("/text2video"),
        auth="app", grants=_ROUTED_SUBMIT, settings=_ROUTED_API,
    ),
    Function(
        "image_to_video", "Image to video (Pixverse, or TopView as the app's route says)", _post("/image2video"),
        auth="app", grants=_ROUTED_SUBMIT | _UPLOADS_READ, settings=(*_ROUTED_API, "uploads"),
    ),
    Function(
        "mobile_upload", "Presigned upload of one image under the caller's own prefix (then sent by key)",
        _post("/uploads"), auth="app", grants=frozenset({"state:read", "state:write", "secret:apphud_apps",
                                                          "media:mobile_inbox"}),
        settings=("apphud", "uploads", "cors"),
    ),
    Function(
        "get_status", "Status of a generation", _post("/get-status"), auth="app",
        grants=frozenset({"jobs:read", "state:read", "media:read", "cdn:sign"}),
        settings=(*_MOBILE_API, "cors"),
    ),
    Function(
        "apphud_webhook", "Apphud S2S events refresh cached entitlements", _post("/webhooks/apphud"),
        auth="apphud_token", grants=frozenset({"state:read", "state:write", "secret:apphud"}),
        settings=("apphud", "cors"),
    ),
    Function(
        "pixverse_poll", "Poll Pixverse, mirror the video and finish the job (flow task)",
        memory=1024, timeout=300,
        grants=frozenset({"jobs:read", "jobs:write", "state:write", "media:write", "events:put", "secret:pixverse"}),
        settings=("jobs", "media_urls", "pixverse", "generation", "fetch", "pixverse_webhooks"),
    ),
    Function(
        "pixverse_await", "Record a Pixverse wait's task token (flow task, .waitForTaskToken)",
        grants=frozenset({"state:write", "tasks:pixverse"}), settings=("pixverse_webhooks",),
    ),
    Function(
        "pixverse_callback", "PixVerse's signed webhooks resume the waiting flows", _post("/callbacks/pixverse"),
        auth="pixverse_signature", grants=frozenset({"state:write", "tasks:pixverse", "secret:pixverse_webhook"}),
        settings=("pixverse_webhooks", "cors"),
    ),
    Function(
        "pixverse_fail", "Mark a generation failed and release its slot (flow task)",
        grants=frozenset({"jobs:read", "jobs:write", "state:write", "events:put"}),
        settings=("jobs", "generation"),
    ),
)

FUNCTIONS += (
    # --- Mobile video API (TopView) ---
    *(Function(name, description, _post(path), auth="app", grants=_TOPVIEW_SUBMIT | images,
               settings=(*_TOPVIEW_API, "uploads") if images else _TOPVIEW_API)
      for name, path, description, images in (
          ("topview_text_to_video", "/topview/text2video", "Text to video (TopView common task)", frozenset()),
          ("topview_image_to_video", "/topview/image2video", "Image to video (TopView common task)", _UPLOADS_READ),
          ("topview_text_to_image", "/topview/text2image", "Text to image (TopView common task)", frozenset()),
          ("topview_video_avatar", "/topview/video-avatar", "Talking avatar with text to speech (TopView)",
           frozenset()),
          ("topview_product_avatar", "/topview/product-avatar", "Product avatar video (TopView)", _UPLOADS_READ),
          ("topview_marketing_video", "/topview/marketing-video", "Marketing video previews (TopView M2V)",
           _UPLOADS_READ),
          ("topview_marketing_export", "/topview/marketing-video/export", "Export a marketing video (TopView M2V)",
           frozenset()),
      )),
    Function(
        "topview_callback", "TopView noticeUrl callbacks resume the waiting flows", _post("/callbacks/topview"),
        auth="topview_uid", grants=frozenset({"state:write", "tasks:topview"}), settings=("topview", "cors"),
    ),
    Function(
        "topview_step", "Look at a TopView task; copy results, submit the next task (flow task)",
        memory=1024, timeout=300,
        grants=frozenset({"jobs:read", "jobs:write", "state:read", "state:write", "media:write", "events:put",
                          "secret:topview"}),
        settings=("jobs", "media_urls", "generation", "fetch", "topview"),
    ),
    Function(
        "topview_await", "Record a TopView wait's task token (flow task, .waitForTaskToken)",
        grants=frozenset({"state:write", "tasks:topview"}), settings=("topview",),
    ),
    Function(
        "topview_fail", "Mark a TopView job failed and release its slot (flow task)",
        grants=frozenset({"jobs:read", "jobs:write", "state:write", "events:put"}),
        settings=("jobs", "generation", "topview"),
    ),
)

FUNCTIONS += (
    # --- Operations ---
    Function(
        "counter_drift", "Compare the queue and slot counters with the jobs really running (scheduled, read-only)",
        timeout=120, grants=frozenset({"jobs:scan", "state:read", "state:scan"}),
    ),
)

# Functions an EventBridge schedule invokes, every `schedules.<name>` minutes of the stage (cdk.json).
SCHEDULED: tuple[str, ...] = ("counter_drift",)

FLOWS: tuple[Flow, ...] = (
    Flow(
        "toolkit", "toolkit.asl.json",
        {"RenderFunctionArn": "toolkit_render", "SettleFunctionArn": "toolkit_settle",
         "NotifyFunctionArn": "toolkit_notify"},
    ),
    Flow(
        "pixverse", "pixverse.asl.json",
        {"PollFunctionArn": "pixverse_poll", "AwaitFunctionArn": "pixverse_await", "FailFunctionArn": "pixverse_fail"},
    ),
    Flow(
        "topview", "topview.asl.json",
        {"StepFunctionArn": "topview_step", "AwaitFunctionArn": "topview_await", "FailFunctionArn": "topview_fail"},
    ),
)

# Tenants' prefixes (inbox/<key id>/<kind>/) are not known at deploy time and S3's suffix filters are
# case-sensitive (.JPG), so the trigger takes the whole inbox and s3_ingest decides (reelgate.toolkit.ingest).
S3_TRIGGERS: tuple[S3Trigger, ...] = (
    S3Trigger("s3_ingest", "inbox/"),
)

# Tables: name -> (partition key, optional GSI (name, partition, sort)).
JOBS_TABLE_KEY = "job_id"
JOBS_OWNER_INDEX = ("owner-created", "owner", "created_at")
STATE_TABLE_KEY = "pk"


def function(name: str) -> Function:
    for fn in FUNCTIONS:
        if fn.name == name:
            return fn
    raise KeyError(f"no function named {name!r} in the registry")


def routes() -> list[tuple[Route, Function]]:
    return [(route, fn) for fn in FUNCTIONS for route in fn.routes]

# Request content types API Gateway passes to functions base64-encoded (multipart uploads, images).
BINARY_MEDIA_TYPES: tuple[str, ...] = ("multipart/form-data", "image/*")
