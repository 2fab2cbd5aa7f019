"""The public error tables of /text2video, /image2video and /get-status, and Pixverse's codes mapped to them."""

from __future__ import annotations

from reelgate.errors import ReelgateError

TEXT2VIDEO: dict[int, int] = {
    400011: 422, 400012: 401, 400017: 422, 400018: 413, 400019: 413, 500043: 402, 500090: 402,
    500060: 429, 500044: 429, 500054: 403, 500063: 403, 500100: 500,
}
IMAGE2VIDEO: dict[int, int] = {
    400011: 422, 400017: 422, 400032: 422, 500030: 413, 500032: 415, 500033: 422, 500041: 500,
    500043: 402, 500090: 402, 500060: 429, 500054: 403, 500063: 403,
}
GET_STATUS: dict[int, int] = {
    400011: 422, 400017: 422, 500008: 404, 500020: 403, 500064: 404, 500069: 503, 500100: 500,
}
# Codes outside an endpoint's own table keep the status the other tables give them.
ANY_TABLE: dict[int, int] = GET_STATUS | IMAGE2VIDEO | TEXT2VIDEO

EMPTY_PARAMETER = 400011
INVALID_ACCOUNT = 400012
INVALID_PARAMETER = 400017
PROMPT_TOO_LONG = 400018
INVALID_IMAGE_ID = 400032  # an uploaded image's key names nothing
IMAGE_TOO_LARGE = 500030
UNSUPPORTED_IMAGE = 500032
PARALLEL_LIMIT = 500044
MONTHLY_LIMIT = 500060
OVERLOADED = 500069
NO_ACCESS = 500020
NOT_FOUND = 500008
CONTENT_DELETED = 500064
INTERNAL = 500100


class ApiError(ReelgateError):
    """An answer from one of the error tables: HTTP status, numeric code, human-readable message."""

    def __init__(self, code: int, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status if status is not None else ANY_TABLE.get(code, 500)


def from_provider(code: int, message: str, table: dict[int, int]) -> ApiError:
    """A Pixverse ErrCode as the endpoint's table answers it; unknown codes are upstream failures (502)."""
    status = table.get(code) or ANY_TABLE.get(code) or 502
    return ApiError(code, f"Pixverse: {message}", status)
