"""CORS for browser callers: which origins may read Reelgate's answers, and the headers that say so.

Pages call with `fetch(..., {credentials: "include"})`, so `*` is never enough: an allowed origin is
echoed back with `Access-Control-Allow-Credentials: true` and `Vary: Origin`. The allowed origins are an
operator setting (`cors_origins`, comma-separated); an entry is an exact origin, or `scheme://host:*`
for any port of that host (the local cloud's default; API Gateway's preflight takes exact origins only).
The same rules serve the functions (through Powertools' CORSConfig), API Gateway's preflight (CDK) and
the local gateway.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from aws_lambda_powertools.event_handler import CORSConfig

ALLOW_METHODS = ("GET", "POST", "OPTIONS")
ALLOW_HEADERS = ("Content-Type", "X-Api-Key", "Idempotency-Key")
# Answer headers a page may read besides the CORS-safelisted ones.
EXPOSE_HEADERS = ("Idempotent-Replayed", "X-Amzn-RequestId")
MAX_AGE_SECONDS = 600  # how long a browser may reuse a preflight answer
ANY_PORT = ":*"
_ORIGIN = re.compile(r"^https?://[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:([0-9]{1,5}|\*))?$")


def parse(value: str) -> tuple[str, ...]:
    """The allowed origins of a `cors_origins` setting; a malformed entry is a ValueError naming it."""
    origins = []
    for item in value.split(","):
        origin = item.strip().lower().rstrip("/")
        if not origin:
            continue
        if not _ORIGIN.match(origin):
            raise ValueError(f"{item.strip()!r} is not an origin (scheme://host[:port], or scheme://host:* "
                             "for any port; no path, no '*' host)")
        origins.append(origin)
    return tuple(dict.fromkeys(origins))


def allows(origins: Iterable[str], origin: str | None) -> bool:
    """Whether a request's Origin header names an allowed origin (exactly, or by an `:*` entry's host)."""
    if not origin:
        return False
    origin = origin.lower()
    for allowed in origins:
        if allowed.endswith(ANY_PORT):
            host = allowed.removesuffix(ANY_PORT)
            if origin == host or re.fullmatch(re.escape(host) + r":[0-9]{1,5}", origin):
                return True
        elif origin == allowed:
            return True
    return False


def answer_headers(origin: str) -> dict[str, str]:
    """The headers every answer to an allowed origin carries."""
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true",
            "Access-Control-Expose-Headers": ",".join(EXPOSE_HEADERS), "Vary": "Origin"}


def preflight_headers(origin: str) -> dict[str, str]:
    """The headers of the answer to an allowed origin's preflight (OPTIONS)."""
    return answer_headers(origin) | {"Access-Control-Allow-Methods": ",".join(ALLOW_METHODS),
                                     "Access-Control-Allow-Headers": ",".join(ALLOW_HEADERS),
                                     "Access-Control-Max-Age": str(MAX_AGE_SECONDS)}


class OriginCors(CORSConfig):
    """Powertools' CORSConfig over the origins `origins()` gives when a request comes (the setting, not
    read at import), matched by `allows` (port wildcards included), answered with `Vary: Origin` too."""

    def __init__(self, origins: Callable[[], Iterable[str]]) -> None:
        super().__init__(allow_origin="*", allow_headers=list(ALLOW_HEADERS), expose_headers=list(EXPOSE_HEADERS),
                         max_age=MAX_AGE_SECONDS, allow_credentials=True)
        self._origins = origins

    def allowed_origin(self, extracted_origin: str | None) -> str | None:
        return extracted_origin if extracted_origin and allows(self._origins(), extracted_origin) else None

    def to_dict(self, origin: str | None) -> dict[str, str]:
        if self.allowed_origin(origin) is None:
            return {}
        assert origin is not None
        return super().to_dict(origin) | answer_headers(origin)


def from_settings() -> OriginCors:
    """The resolvers' CORS: the origins of this function's `cors_origins` setting."""
    def origins() -> tuple[str, ...]:
        from reelgate.settings import get_settings  # on a request: the settings model validates with this module

        return get_settings().allowed_origins()

    return OriginCors(origins)
