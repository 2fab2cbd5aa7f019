"""One validated settings model for every function, read once per process."""

from __future__ import annotations

import tempfile
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import AfterValidator, AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from reelgate import cors


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REELGATE_", extra="ignore", populate_by_name=True)

    # --- AWS resources: set only in the functions granted them (infra/environment.py), never defaulted,
    # so a function using a resource its deployed environment lacks fails locally exactly as on AWS ---
    stage: str = "dev"
    jobs_table: str = ""
    state_table: str = ""
    media_bucket: str = ""
    event_bus: str = ""
    toolkit_flow_arn: str = ""
    pixverse_flow_arn: str = ""
    topview_flow_arn: str = ""
    job_ttl_days: int = Field(30, ge=1)
    build_number: str = "1.0.0"
    # Output links (reelgate.links): CloudFront signed URLs where the stage deploys a distribution (the stack
    # sets cdn_url, cdn_key_pair_id and cdn_private_key_secret in the functions granted "cdn:sign"), valid for
    # cdn_url_seconds; else presigned GETs, which die with the function's credentials: at most an hour.
    cdn_url: str = ""
    cdn_key_pair_id: str = ""
    cdn_private_key_secret: str = ""  # Secrets Manager name/ARN of the key pair's PEM private key
    cdn_url_seconds: int = Field(7 * 24 * 3600, ge=60, le=366 * 24 * 3600)
    presign_seconds: int = Field(3600, ge=60, le=3600)
    # Idempotency-Key on submits: how long a key is remembered; how long a repeat waits for the first answer.
    idempotency_ttl_seconds: int = Field(24 * 3600, ge=1)
    idempotency_wait_seconds: float = Field(20.0, ge=0, le=28)

    # Origins whose pages may call the API with credentials (comma-separated; reelgate.cors). Empty: none.
    cors_origins: Annotated[str, AfterValidator(lambda value: ",".join(cors.parse(value)))] = ""

    # --- Toolkit (NCA-compatible API) ---
    max_queue_length: int = Field(0, ge=0, validation_alias=_env("MAX_QUEUE_LENGTH", "REELGATE_MAX_QUEUE_LENGTH"))
    api_wait_seconds: float = Field(25.0, ge=0, le=28)
    price_image_to_video: int = Field(10, ge=0)
    price_concatenate: int = Field(35, ge=0)
    webhook_attempts: int = Field(5, ge=1, le=20)
    webhook_backoff_seconds: float = Field(1.0, ge=0)
    webhook_timeout_seconds: float = Field(10.0, gt=0)
    # Standard Webhooks schedule (seconds before each attempt: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
    # 10 h); the toolkit flow waits between attempts, each attempt is its own notify invocation.
    webhook_schedule: str = Field("0,5,300,1800,7200,18000,36000,36000", pattern=r"^\s*\d+(\s*,\s*\d+)*\s*$")

    # --- Toolkit limits (bounded work; docs/decisions.md "Toolkit money and bounded work") ---
    # Unfinished (queued or running) jobs one API key may have; more answer 429. 0 = no cap.
    toolkit_max_active_jobs_per_key: int = Field(20, ge=0)
    # Inputs are checked after download and probing, before any rendering; a job over a limit fails.
    toolkit_max_video_urls: int = Field(20, ge=1)  # items of one concatenate request (more: 400)
    toolkit_max_input_bytes: int = Field(256 * 1024 * 1024, gt=0)  # one downloaded input
    toolkit_max_total_input_bytes: int = Field(1024 * 1024 * 1024, gt=0)  # all inputs of one job
    toolkit_max_duration_seconds: float = Field(900.0, gt=0)  # one clip, and the sum of a job's clips
    toolkit_max_video_pixels: int = Field(4096 * 2160, gt=0)  # width x height of a clip's frame (DCI 4K)
    toolkit_max_image_pixels: int = Field(50_000_000, gt=0)  # width x height of a still (48 MP phones fit)
    # A job refused for its own input (over a limit, not a video/image) is refunded like any failure.
    toolkit_refund_refused_input: bool = True
    # Every FFmpeg/ffprobe run ends by the invocation's deadline minus this reserve (upload, settle)...
    ffmpeg_reserve_seconds: float = Field(30.0, ge=0)
    # ...and never runs longer than this, also outside Lambda (no deadline).
    ffmpeg_max_seconds: float = Field(870.0, gt=0)
    # `queue recount` settles an unfinished toolkit job older than this as failed (and refunds it); it
    # must exceed the toolkit flow's TimeoutSeconds (108000: the webhook schedule runs in the flow) so a
    # job whose flow still runs is never touched.
    toolkit_stale_job_seconds: int = Field(115200, ge=60)
    # An image → video job of more frames than this renders in segments of at most this many frames, in
    # parallel (a Map state, at most `toolkit_segment_concurrency` at once; 0: no limit), joined by stream
    # copy. 450: a 60 s job at 60 fps (3,600 frames) is 8 segments; 5-7 s jobs at 60 fps render in one piece.
    toolkit_segment_frames: int = Field(450, ge=2)
    toolkit_segment_concurrency: int = Field(8, ge=0, le=40)

    # --- Safe fetcher ---
    url_allowlist: str = ""  # comma-separated host:port exempt from the address checks (dev/tests only)
    fetch_timeout_seconds: float = Field(30.0, gt=0)
    fetch_max_bytes: int = Field(512 * 1024 * 1024, gt=0)
    fetch_max_redirects: int = Field(5, ge=0, le=20)

    # --- Media ---
    ffmpeg_dir: str = "/opt/bin"
    work_dir: str = Field(default_factory=tempfile.gettempdir)  # Lambda: /tmp, its only writable path

    # --- Pixverse ---
    pixverse_base_url: str = Field(
        "https://app-api.pixverse.ai/openapi/v2",
        validation_alias=_env("PIXVERSE_BASE_URL", "REELGATE_PIXVERSE_BASE_URL"),
    )
    pixverse_api_key: SecretStr | None = Field(
        None, validation_alias=_env("PIXVERSE_API_KEY", "REELGATE_PIXVERSE_API_KEY")
    )
    pixverse_api_key_secret: str = ""  # Secrets Manager name/ARN, used when pixverse_api_key is unset
    pixverse_timeout_seconds: float = Field(30.0, gt=0)
    pixverse_max_retries: int = Field(3, ge=0, le=10)
    pixverse_retry_base_seconds: float = Field(1.0, ge=0)
    # Longest wait on a 429 Retry-After (absent -> 60 s, capped); submit Lambdas have ~29 s in total.
    pixverse_max_retry_after_seconds: float = Field(10.0, ge=0)
    # PixVerse webhooks (contracts/pixverse.md §8): the public URL of POST /callbacks/pixverse, as registered
    # with PixVerse; empty: flows only poll. With it, each wait lasts `pixverse_webhook_wait_seconds` unless a
    # webhook ends it (a lost webhook costs at most that long). How the URL is registered and how the signed
    # payload is written are [UNVERIFIED]: `..._request_field` names a generate-body field carrying the URL
    # (empty: registered in PixVerse's console), `..._canonical` orders the signed pairs.
    pixverse_webhook_url: str = ""
    pixverse_webhook_wait_seconds: int = Field(120, ge=1)
    pixverse_webhook_window_seconds: int = Field(300, ge=1)
    pixverse_webhook_canonical: Literal["body", "sorted"] = "body"
    pixverse_webhook_request_field: str = ""
    pixverse_webhook_key: SecretStr | None = Field(None, validation_alias=_env("PIXVERSE_WEBHOOK_KEY"))
    pixverse_webhook_key_secret: str = ""  # Secrets Manager name/ARN, used when pixverse_webhook_key is unset
    poll_initial_seconds: int = Field(5, ge=0)
    poll_max_seconds: int = Field(30, ge=0)
    poll_growth: float = Field(2.0, ge=1.0)
    generation_deadline_seconds: int = Field(600, ge=1)

    # --- Apphud ---
    apphud_base_url: str = Field(
        "https://api.apphud.com", validation_alias=_env("APPHUD_BASE_URL", "REELGATE_APPHUD_BASE_URL")
    )
    apphud_webhook_token: SecretStr | None = None
    apphud_webhook_token_secret: str = ""  # Secrets Manager name/ARN, used when apphud_webhook_token is unset
    apphud_app_keys_secret: str = ""  # the secret holding every registered app's Apphud key (JSON by bundle id)
    apphud_timeout_seconds: float = Field(10.0, gt=0)
    entitlement_cache_seconds: int = Field(300, ge=0)

    # --- Mobile uploads (POST /uploads, then `image_key`) ---
    # An image sent through /uploads: at most this many bytes (Pixverse's and TopView's own limit is 20 MB).
    mobile_upload_max_bytes: int = Field(20 * 1024 * 1024, gt=0, le=20 * 1024 * 1024)
    # An image sent in the request itself: at most this many bytes, below what reaches a function on AWS
    # (~4.4 MB of multipart once base64-encoded into Lambda's 6 MB); larger ones go through /uploads.
    mobile_direct_image_max_bytes: int = Field(4 * 1024 * 1024, gt=0, le=20 * 1024 * 1024)
    mobile_upload_seconds: int = Field(900, ge=60, le=3600)  # how long an /uploads URL stays valid

    # --- Mobile limits (hardening) ---
    # A submission's per-user slot is a lease: held this long unless its flow takes it over. It must
    # exceed the submit functions' timeout (29 s), so a lease never expires under a live submission.
    slot_submit_lease_seconds: int = Field(60, ge=1)
    # A followed generation's lease: generation_deadline_seconds + this (poll waits, the poll task's
    # own 300 s, the Fail path's retries). The flow releases the slot earlier; the lease is the backstop.
    slot_lease_slack_seconds: int = Field(900, ge=0)
    # Seconds kept free after the last Pixverse attempt of an invocation (record the outcome, start the
    # flow): no attempt, retry or Retry-After wait may reach into them.
    pixverse_deadline_margin_seconds: float = Field(3.0, ge=0)
    # Copying a finished video into the bucket: attempts per poll and the first backoff (doubling).
    mirror_attempts: int = Field(3, ge=1, le=10)
    mirror_backoff_seconds: float = Field(1.0, ge=0)
    # "No active entitlement" is trusted this briefly (a purchase must unlock quickly).
    entitlement_negative_cache_seconds: int = Field(30, ge=0)
    # Apphud lookups (entitlement cache misses) per minute, per app and per source IP; 0 = unlimited.
    apphud_lookups_per_app_per_minute: int = Field(600, ge=0)
    apphud_lookups_per_source_per_minute: int = Field(30, ge=0)

    # --- TopView (contracts/topview.md; facts marked [?] there are settings, never hard-coded) ---
    topview_base_url: str = Field(
        "https://api.topview.ai", validation_alias=_env("TOPVIEW_BASE_URL", "REELGATE_TOPVIEW_BASE_URL")
    )
    # The account's uid: sent as Topview-Uid, and the only sender check TopView's callbacks allow.
    topview_uid: str = Field("", validation_alias=_env("TOPVIEW_UID", "REELGATE_TOPVIEW_UID"))
    topview_api_key: SecretStr | None = Field(
        None, validation_alias=_env("TOPVIEW_API_KEY", "REELGATE_TOPVIEW_API_KEY")
    )
    topview_api_key_secret: str = ""  # Secrets Manager name/ARN, used when topview_api_key is unset
    topview_timeout_seconds: float = Field(30.0, gt=0)
    topview_upload_timeout_seconds: float = Field(120.0, gt=0)
    topview_max_retries: int = Field(3, ge=0, le=10)  # 5003/5000/5001 and lost answers, within the deadline
    topview_retry_base_seconds: float = Field(2.0, ge=0)
    # The public URL of POST /callbacks/topview given to TopView as noticeUrl; empty: polling only.
    topview_notice_url: str = ""
    # With callbacks, each wait for one lasts this long, then the flow looks itself (a lost callback costs
    # at most this); without (no notice URL), polls start at poll_initial and grow to poll_max.
    topview_callback_wait_seconds: int = Field(120, ge=1)
    topview_poll_initial_seconds: int = Field(15, ge=1)
    topview_poll_max_seconds: int = Field(60, ge=1)
    topview_poll_growth: float = Field(2.0, ge=1.0)
    # A TopView job not finished by then (all its steps) ends as error.
    topview_deadline_seconds: int = Field(1800, ge=1)
    # 4007 (an unfinished task exists): the job waits and resubmits every busy_retry seconds for at
    # most busy_wait seconds, then fails; 0 refuses the submission at once (429).
    topview_busy_wait_seconds: int = Field(300, ge=0)
    topview_busy_retry_seconds: int = Field(30, ge=1)
    # [?] facts of the contract, as the client's switches.
    topview_need_cloudfront_url: bool | None = None
    topview_enum_style: Literal["str", "int"] = "str"
    topview_product_video_prompt_field: str = "image2videoPrompt"
    topview_send_masks: bool = True  # masks travel as productMaskFileId/templateMaskFileId [?]
    topview_text2video_model: str | None = None  # None: TopView's default model
    topview_text2image_model: str | None = None

    # --- Provider routing (/text2video, /image2video: an app's primary provider and optional fallback) ---
    # The breaker: this many "unavailable" failures of a provider within one window send the apps that
    # have a fallback straight to it until the window ends; 0 disables it.
    failover_breaker_failures: int = Field(5, ge=0)
    failover_breaker_window_seconds: int = Field(60, ge=1)

    # --- Local cloud ---
    host: str = "127.0.0.1"
    port: int = Field(3000, validation_alias=_env("REELGATE_PORT"))
    aws_port: int = Field(4566, validation_alias=_env("REELGATE_AWS_PORT"))
    dev_api_key: SecretStr | None = None

    def allowed_origins(self) -> tuple[str, ...]:
        return cors.parse(self.cors_origins)

    def allowlisted(self) -> frozenset[str]:
        return frozenset(item.strip().lower() for item in self.url_allowlist.split(",") if item.strip())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
