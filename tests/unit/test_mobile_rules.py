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


def test_every_table_row_of_the_spec_is_present() -> None:
    assert set(errors.TEXT2VIDEO) == {400011, 400012, 400017, 400018, 400019, 500043, 500090, 500060, 500044,
                                      500054, 500063, 500100}
    assert set(errors.IMAGE2VIDEO) == {400011, 400017, 400032, 500030, 500032, 500033, 500041, 500043, 500090,
                                       500060, 500054, 500063}
    assert set(errors.GET_STATUS) == {400011, 400017, 500008, 500020, 500064, 500069, 500100}


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
