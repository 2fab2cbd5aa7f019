"""pytest imports test modules by basename (the test folders are not packages): two files of one name in
different suites break the collection of the whole run, which only a full `make test` would show."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_every_test_file_name_is_unique_across_the_suites() -> None:
    names = Counter(path.name for path in TESTS.rglob("test_*.py"))
    assert len(names) > 50  # the suites were found
    assert [name for name, count in names.items() if count > 1] == []
