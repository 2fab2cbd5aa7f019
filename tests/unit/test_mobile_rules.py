"""The mobile API's error tables and request checks (pure logic)."""

from __future__ import annotations

import pytest
from reelgate.mobile import errors, requests
from reelgate.mobile.errors import ApiError, from_provider


@pytest.mark.parametrize(("table", "code", "status"), [
    (errors.TEXT2VIDEO, 400012, 401), (errors.TEXT2VIDEO, 500044, 429), (errors.IMAGE2VIDEO, 500032, 415),
    (errors.IMAGE2VIDEO, 500030, 413), (errors.GET_STATUS, 500069, 503), (errors.GET_STATUS, 500064, 404),
    (errors.IMAGE2VIDEO, 500044, 429),  # outside its own table: the other tables' answer
    (errors.TEXT2VIDEO, 400013, 502),  # no table knows it: an upstream failure
])
def test_provider_codes_map_to_the_tables_statuses(table, code, status) -> None:
    error = from_provider(code, "x", table)
    assert (error.code, error.status) == (code, status)


def test_every_table_row_of_the_spec_is_present_with_its_status() -> None:
    # SPEC.md's three error tables, row by row: code -> HTTP status
    assert errors.TEXT2VIDEO == {400011: 422, 400012: 401, 400017: 422, 400018: 413, 400019: 413, 500043: 402,
                                 500090: 402, 500060: 429, 500044: 429, 500054: 403, 500063: 403, 500100: 500}
    assert errors.IMAGE2VIDEO == {400011: 422, 400017: 422, 400032: 422, 500030: 413, 500032: 415, 500033: 422,
                                  500041: 500, 500043: 402, 500090: 402, 500060: 429, 500054: 403, 500063: 403}
    assert errors.GET_STATUS == {400011: 422, 400017: 422, 500008: 404, 500020: 403, 500064: 404, 500069: 503,
                                 500100: 500}


@pytest.mark.parametrize(("code", "status"), [
    (errors.EMPTY_PARAMETER, 422), (errors.INVALID_ACCOUNT, 401), (errors.INVALID_PARAMETER, 422),
    (errors.PROMPT_TOO_LONG, 413), (errors.IMAGE_TOO_LARGE, 413), (errors.UNSUPPORTED_IMAGE, 415),
    (errors.PARALLEL_LIMIT, 429), (errors.MONTHLY_LIMIT, 429), (errors.OVERLOADED, 503), (errors.NO_ACCESS, 403),
    (errors.NOT_FOUND, 404), (errors.CONTENT_DELETED, 404), (errors.INTERNAL, 500),
])
def test_our_own_errors_answer_their_tables_status(code: int, status: int) -> None:
    error = ApiError(code, "m")
    assert (error.code, error.status, error.message, str(error)) == (code, status, "m", "m")


def test_named_codes_are_the_specs_numbers() -> None:
    assert (errors.EMPTY_PARAMETER, errors.INVALID_ACCOUNT, errors.INVALID_PARAMETER, errors.PROMPT_TOO_LONG,
            errors.IMAGE_TOO_LARGE, errors.UNSUPPORTED_IMAGE, errors.PARALLEL_LIMIT, errors.MONTHLY_LIMIT,
            errors.OVERLOADED, errors.NO_ACCESS, errors.NOT_FOUND, errors.CONTENT_DELETED, errors.INTERNAL) == (
        400011, 400012, 400017, 400018, 500030, 500032, 500044, 500060, 500069, 500020, 500008, 500064, 500100)


def test_an_explicit_status_wins_and_an_unknown_code_is_a_500() -> None:
    assert ApiError(errors.OVERLOADED, "m", 500).status == 500
    assert ApiError(123456, "m").status == 500


def test_a_provider_error_says_it_came_from_pixverse() -> None:
    assert from_provider(500054, "blocked", errors.TEXT2VIDEO).message == "Pixverse: blocked"


@pytest.mark.parametrize(("body", "code"), [
    ({}, 400011), ({"app_bundle_id": "", "apphud_user_id": "u"}, 400011), ([], 400017),
    ({"app_bundle_id": 5, "apphud_user_id": "u"}, 400017),
])
def test_caller_fields_are_checked(body, code) -> None:
    with pytest.raises(ApiError) as raised:
        requests.caller(body)
    assert raised.value.code == code


def test_prompt_limits() -> None:
    assert requests.prompt({"prompt": "x" * 2048}) == "x" * 2048
    with pytest.raises(ApiError) as raised:
        requests.prompt({"prompt": "x" * 2049})
    assert (raised.value.code, raised.value.status) == (400018, 413)


@pytest.mark.parametrize(("upload", "code"), [
    (None, 400011), (requests.Image(b"", "a.png", "image/png", ".png"), 400011),
    (requests.Image(b"GIF", "a.gif", "", ".gif"), 500032),
    (requests.Image(b"x" * (20 * 1024 * 1024 + 1), "a.jpg", "image/jpeg", ".jpg"), 500030),
])
def test_image_checks(upload, code) -> None:
    with pytest.raises(ApiError) as raised:
        requests.image(upload)
    assert raised.value.code == code
