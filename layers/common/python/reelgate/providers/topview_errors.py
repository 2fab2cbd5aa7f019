"""TopView error codes (contracts/topview.md §2): the one table that maps them to our HTTP answers,
the exceptions the client raises, and which failures count as "provider unavailable" (failover)."""

from __future__ import annotations

from typing import Any

from reelgate.deadline import DeadlineExceeded

SUCCESS = "200"

# Local codes for failures that carry no TopView code (negative, so they never collide with TopView's).
NO_RESPONSE = "-1"  # transport failure or timeout after the last retry
BAD_RESPONSE = "-2"  # an answer that is not the {"code","message","result"} envelope, or a result we cannot read
GATEWAY_ERROR = "-3"  # HTTP 429/5xx without an envelope (a load balancer's page)
UPLOAD_FAILED = "-4"  # the PUT to the upload URL was refused, or the check never turned true

# §2, as documented (AFX-S root table).
MESSAGES: dict[str, str] = {
    "4000": "Request parameter error",
    "4001": "Request data format does not match!",
    "4002": "Request digital signature does not match!",
    "4003": "Required parameter cannot be null",
    "4004": "Resource not found!",
    "4005": "Name duplicated",
    "4006": "Request refuse",
    "4007": "Exists unfinished task, please wait until the previous task is completed.",
    "4100": "Credit not enough",
    "5000": "Internal server error!",
    "5001": "Feign invoke error",
    "5003": "Server is busy, please try again later!",
    "5004": "I/O error occurred",
    "5005": "Unknown error occurred",
    "6001": "Security problem detect",
}

# Issue 9: how Reelgate answers each TopView code. Anything else (including the local codes) is 502.
HTTP_STATUS: dict[str, int] = {
    "4000": 422, "4001": 422, "4003": 422,
    "4002": 401,
    "4004": 404,
    "4005": 409,
    "4006": 403, "6001": 403,
    "4007": 429,
    "4100": 402,
    "5003": 503,
    "5000": 502, "5001": 502, "5004": 502, "5005": 502,
}
UNKNOWN_STATUS = 502

UNFINISHED_TASK = "4007"
CREDIT_NOT_ENOUGH = "4100"
SECURITY = "6001"
# OSK error_handling.md: 5003 "wait and retry", 5000/5001 "retry once"; our retry budget decides how often.
DEFAULT_RETRY_CODES = frozenset({"5003", "5000", "5001"})


def http_status(code: str) -> int:
    """The HTTP status Reelgate answers for a TopView code (unknown codes: 502)."""
    return HTTP_STATUS.get(str(code), UNKNOWN_STATUS)


def _wire_code(code: str) -> int | str:
    # Part A's error bodies carry numeric codes; TopView's numeric strings become numbers the same way.
    try:
        return int(code)
    except ValueError:
        return code


class TopViewError(Exception):
    """A TopView refusal or failure. `code` is TopView's string code (or a local negative one),
    `upstream_status` the HTTP status TopView answered with (0 when there was no answer), and
    `maybe_submitted` is True when a submit may have created a task although we saw no answer."""

    def __init__(
        self, code: str, message: str, upstream_status: int = 200, *, maybe_submitted: bool = False
    ) -> None:
        super().__init__(f"TopView error {code} (HTTP {upstream_status}): {message}")
        self.code = str(code)
        self.message = message
        self.upstream_status = upstream_status
        self.maybe_submitted = maybe_submitted

    @property
    def status(self) -> int:
        """Reelgate's HTTP status for this error (the one table above)."""
        return http_status(self.code)

    def body(self) -> dict[str, Any]:
        """The answer body of a submit that TopView refused: `{"code", "message", "video_id": null}`."""
        return {"code": _wire_code(self.code), "message": self.message, "video_id": None}

    def answer(self) -> tuple[int, dict[str, Any]]:
        return self.status, self.body()


class UnfinishedTask(TopViewError):
    """4007: the account has an unfinished task. The caller's job waits and resubmits later; the
    client never loops on it. Answered 429 only when the waiting budget is spent."""


def error_for(code: str, message: str, upstream_status: int = 200) -> TopViewError:
    """The exception for a TopView code; an empty message gets the documented wording."""
    code = str(code)
    text = message or MESSAGES.get(code, "unknown error")
    kind = UnfinishedTask if code == UNFINISHED_TASK else TopViewError
    return kind(code, text, upstream_status)


def is_unavailable(exc: BaseException) -> bool:
    """True when the failure says TopView itself is down or overloaded (5xx-class codes, timeouts, no
    answer, a gateway page): another provider may serve the request. False for caller errors,
    moderation (4006/6001), credit (4100), auth/config errors, 4007 and our own invocation deadline."""
    if isinstance(exc, DeadlineExceeded):
        return False
    if isinstance(exc, TopViewError):
        return http_status(exc.code) >= 500
    import httpx  # here: the submit functions' error table imports this module, not the client

    return isinstance(exc, httpx.TransportError | TimeoutError)
