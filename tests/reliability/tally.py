"""Cases tried and held per suite, and the table `make reliability` prints at the end.

A suite is one file of this directory (`test_fuzz.py` is the suite "fuzz"). A test adds its cases with
`Cases.check` (or `Cases.count` for a batch) and ends with `Cases.verify()`, which fails it naming every
case that did not hold; a test that records no case counts as one, held when it passed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field


@dataclass
class Row:
    tried: int = 0
    held: int = 0
    seconds: float = 0.0


ROWS: dict[str, Row] = defaultdict(Row)
NOTES: list[str] = []  # figures a suite prints under the table (throughput, latencies)


def suite_of(nodeid: str) -> str:
    """`tests/reliability/test_fuzz.py::test_x[...]` -> `fuzz`."""
    return nodeid.split("::", maxsplit=1)[0].rsplit("/", 1)[-1].removeprefix("test_").removesuffix(".py")


@dataclass
class Cases:
    suite: str
    tried: int = 0
    held: int = 0
    broken: list[str] = field(default_factory=list)

    def check(self, label: str, held: bool, detail: object = "") -> bool:
        self.tried += 1
        self.held += bool(held)
        if not held:
            self.broken.append(f"{label}: {detail}" if detail != "" else label)
        return held

    def count(self, tried: int, held: int, broken: list[str] | None = None) -> None:
        self.tried += tried
        self.held += held
        self.broken.extend(broken or [])

    def verify(self) -> None:
        assert not self.broken, f"{len(self.broken)} of {self.tried} cases did not hold:\n" + "\n".join(
            self.broken[:40])


def table(profile: str) -> list[str]:
    lines = [f"reliability (profile {profile})", f"{'suite':<16} {'cases tried':>11} {'cases held':>10} {'seconds':>8}"]
    for name, row in ROWS.items():
        lines.append(f"{name:<16} {row.tried:>11} {row.held:>10} {row.seconds:>8.1f}")
    total = Row(sum(r.tried for r in ROWS.values()), sum(r.held for r in ROWS.values()),
                sum(r.seconds for r in ROWS.values()))
    lines.append(f"{'total':<16} {total.tried:>11} {total.held:>10} {total.seconds:>8.1f}")
    return lines + NOTES
