"""The fetcher's small limits, without sockets: a webhook answer is read no further than its cap, and a
fetched file is named only by a plain media-like suffix of its URL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from reelgate import fetch


def chunks(*sizes: int) -> Iterator[bytes]:
    for index, size in enumerate(sizes):
        yield bytes([index]) * size
    raise AssertionError("read past the end")


def test_an_answer_is_cut_at_the_cap() -> None:
    assert list(fetch._capped(chunks(40, 40, 40), 64)) == [b"\0" * 40, b"\1" * 24]


def test_nothing_is_read_once_the_cap_is_reached() -> None:
    capped = fetch._capped(chunks(32, 32), 64)

    assert list(capped) == [b"\0" * 32, b"\1" * 32]  # the generator's AssertionError would fail this


def test_a_short_answer_is_kept_whole() -> None:
    assert b"".join(fetch._capped(iter([b"ok"]), 64)) == b"ok"


@pytest.mark.parametrize(("url", "suffix"), [
    ("https://cdn.example/clip.MP4?X-Amz-Signature=abc", ".mp4"),
    ("https://cdn.example/a/b.webp", ".webp"),
    ("https://cdn.example/noext", ""),
    ("https://cdn.example/archive.longsuffix", ""),
    ("https://cdn.example/x.p%20g", ""),
    ("https://cdn.example/x.png/", ".png"),
    ("http://[::1/x.png", ""),
])
def test_a_file_is_named_by_a_plain_suffix_only(url: str, suffix: str) -> None:
    assert fetch._suffix(url) == suffix
